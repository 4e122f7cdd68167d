package flyapi

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/coalesce"
)

// readNeed is what a read served from the desk's listing must see.
type readNeed struct {
	// version is the secrets version the caller's state names: a write answered before this
	// instance began, which a listing asked for at least that version shows.
	version int64
	// name and written, when set, say what that version is: the write of secret name that
	// answered updated_at written. A listing that shows the secret updated then or later shows
	// that write, whatever version it asked for (so a refresh of secrets written in many
	// versions costs one listing).
	name    string
	written time.Time
	// freshAfter, when set, is the time after which the listing must have been asked for.
	freshAfter time.Time
}

// metBy says whether snap serves the read of client c (maxAge: how old a listing may be).
func (n readNeed) metBy(snap *snapshot, c *Client, maxAge time.Duration) bool {
	if snap == nil || snap.auth != c.authorization || c.now().Sub(snap.at) >= maxAge ||
		(!n.freshAfter.IsZero() && snap.at.Before(n.freshAfter)) {
		return false
	}
	if snap.version >= n.version || snap.current {
		return true
	}
	if n.name == "" || n.written.IsZero() {
		return false
	}
	s, ok := snap.get(n.name)
	return ok && !s.UpdatedAt.Before(n.written)
}

// readCall is a read waiting at the desk for a listing.
type readCall struct {
	c    *Client
	ctx  context.Context
	need readNeed
	done chan struct{}
	snap *snapshot
	err  error
}

// read returns a listing of the app that meets need: the desk's, or a new one shared by every
// read waiting when it is fetched.
func (d *desk) read(ctx context.Context, c *Client, need readNeed) (*snapshot, error) {
	d.mu.Lock()
	if snap := d.snap; need.metBy(snap, c, d.s.opts.ListingMaxAge) {
		d.mu.Unlock()
		return snap, nil
	}
	r := &readCall{c: c, ctx: ctx, need: need, done: make(chan struct{})}
	d.reads = append(d.reads, r)
	d.startLocked()
	d.mu.Unlock()
	select {
	case <-r.done:
		return r.snap, r.err
	case <-ctx.Done():
		d.mu.Lock()
		defer d.mu.Unlock()
		if i := slices.Index(d.reads, r); i >= 0 {
			d.reads = slices.Delete(d.reads, i, i+1)
			return nil, ctx.Err()
		}
		<-r.done
		return r.snap, r.err
	}
}

// answerReadsLocked answers the reads the desk's listing serves. The caller holds d.mu.
func (d *desk) answerReadsLocked() {
	d.reads = slices.DeleteFunc(d.reads, func(r *readCall) bool {
		if !r.need.metBy(d.snap, r.c, d.s.opts.ListingMaxAge) {
			return false
		}
		r.snap = d.snap
		close(r.done)
		return true
	})
}

// fetchForReads fetches one listing for every read waiting, asking for the highest version any
// of them needs. A read's freshAfter has passed when it is made (its caller waits for it).
func (d *desk) fetchForReads() {
	d.mu.Lock()
	reads := slices.Clone(d.reads)
	d.mu.Unlock()
	if len(reads) == 0 {
		return
	}
	c := reads[0].c
	var version int64
	ctxs := make([]context.Context, len(reads))
	for i, r := range reads {
		version = max(version, r.need.version)
		ctxs[i] = r.ctx
	}
	ctx, cancel := coalesce.Context(ctxs)
	defer cancel()
	_, err := d.fetch(ctx, c, version, tellReads(reads))
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		for _, r := range reads {
			if i := slices.Index(d.reads, r); i >= 0 {
				d.reads = slices.Delete(d.reads, i, i+1)
				r.err = err
				close(r.done)
			}
		}
		return
	}
	d.answerReadsLocked()
}

func tellReads(reads []*readCall) func(time.Duration, string) {
	return func(wait time.Duration, why string) {
		for _, r := range reads {
			r.c.notify(r.ctx, wait, why)
		}
	}
}

// listedSecret serves GetSecretWritten through the desk; written is when the write that
// minVersion names set the secret (zero if unknown). A secret the listing does not show is
// gone, unless the caller has no version to go by (an import): then a listing a read lag later
// decides, as a GET's 404 is retried for the read lag.
func (c *Client) listedSecret(
	ctx context.Context, op, app, name string, minVersion int64, written time.Time,
) (Secret, error) {
	if _, err := secretPath(op, app, name); err != nil {
		return Secret{}, err
	}
	d := c.desk(app)
	need := readNeed{version: minVersion, name: name, written: written}
	for {
		snap, err := d.read(ctx, c, need)
		if err != nil {
			return Secret{}, err
		}
		if s, ok := snap.get(name); ok {
			return s, nil
		}
		if !need.freshAfter.IsZero() || minVersion > 0 || d.s.opts.ReadLag == 0 {
			return Secret{}, &APIError{StatusCode: http.StatusNotFound, Message: "secret not found", Op: op}
		}
		need.freshAfter = c.now().Add(d.s.opts.ReadLag)
		c.notify(ctx, d.s.opts.ReadLag, fmt.Sprintf("secret %q is not on app %q yet: waiting for Fly.io to show "+
			"every recent write before deciding that it does not exist", name, app))
		if err := c.sleep(ctx, d.s.opts.ReadLag); err != nil {
			return Secret{}, fmt.Errorf("fly: %s: %w", op, err)
		}
	}
}

// listedSecrets serves ListSecrets through the desk, sorted by name.
func (c *Client) listedSecrets(ctx context.Context, app string, minVersion int64) ([]Secret, error) {
	if _, err := secretsPath("list secrets", app); err != nil {
		return nil, err
	}
	snap, err := c.desk(app).read(ctx, c, readNeed{version: minVersion})
	if err != nil {
		return nil, err
	}
	return snap.sorted(), nil
}

// Confirm checks, once Shared.ConfirmDelay has passed since the write answered at at, that each
// secret of written still holds that write (its digest), and returns the names that are gone:
// Fly has no conditional delete, so another process may have unset a secret it did not see
// this write take over. The caller writes those again (and confirms again). A secret holding
// another digest was written by someone since: it is reported in changed, and left.
func (o *Op) Confirm(
	ctx context.Context, at time.Time, version int64, written map[string]Secret,
) (gone, changed []string, err error) {
	if len(written) == 0 {
		return nil, nil, nil
	}
	c := o.c
	ready := at.Add(c.shared.ConfirmDelay())
	if wait := ready.Sub(c.now()); wait > 0 {
		c.notify(ctx, wait, fmt.Sprintf("confirming that app %q still holds the %d secret(s) this operation took over, "+
			"in case another stack or process was unsetting them", o.app, len(written)))
		if err := c.sleep(ctx, wait); err != nil {
			return nil, nil, fmt.Errorf("fly: confirm secrets of app %q: %w", o.app, err)
		}
	}
	snap, err := c.desk(o.app).read(ctx, c, readNeed{version: version, freshAfter: ready})
	if err != nil {
		return nil, nil, err
	}
	for _, name := range sortedKeys(written) {
		s, ok := snap.get(name)
		switch {
		case !ok:
			gone = append(gone, name)
		case s.Digest != written[name].Digest:
			changed = append(changed, name)
		}
	}
	return gone, changed, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
