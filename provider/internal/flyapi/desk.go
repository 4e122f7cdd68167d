package flyapi

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/coalesce"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/instant"
)

// maxBatchWrites bounds how many callers' writes one bulk call carries. Fly documents no limit;
// this keeps a body well within what a proxy takes.
const maxBatchWrites = 500

// WithDesk makes the client's reads and Writes go through the app's desk in its Shared: every
// Write of the instance's clients to one app is decided and sent by the desk, in one bulk call
// with the others of the moment, and reads are served from the desk's listing.
//
// A desk sends one call at a time (a bulk write, or a listing), so that whatever it decides
// shows every earlier write of the instance:
//   - A bulk write waits while an operation that entered the app (Begin) has not reached its
//     write, and for the app's rate limit (Fly's sustained rate, no burst, after the first): the
//     operations the engine runs together, and those that arrive during the wait, share it. A
//     lone write goes at once.
//   - Its conditions (Create: absent; Unset: still this owner's write; Prune) are decided when it
//     is sent, from the desk's listing of the app, fetched first if it is missing, older than
//     SharedOptions.UnsetFreshness (unsets) or ListingMaxAge (creates), or older than a version
//     an unset needs. The listing is kept current from the desk's own writes' answers, and
//     dropped when an answer shows that someone else wrote in between.
//   - A call refused for its content (a 4xx other than auth, app not found, rate limits) is sent
//     again one caller at a time, so that one bad key fails only its own caller.
//   - Reads (GetSecret, GetSecretWritten, ListSecrets) are served from the listing when it shows
//     what they need (the version their state names, or the secret updated at or after its
//     write), else from a new listing that every reader waiting then shares.
func WithDesk() Option { return func(c *Client) { c.coordinated = true } }

// desk is one app's coordinator in a Shared (see WithDesk).
type desk struct {
	s       *Shared
	baseURL string
	app     string

	mu      sync.Mutex
	snap    *snapshot
	writes  []*writeCall
	reads   []*readCall
	running bool
	poke    chan struct{}
}

// snapshot is one listing of the app, kept current from the desk's writes. Changed only by
// copying.
type snapshot struct {
	secrets map[string]Secret
	// version is the app's secrets version it shows at least; exact once a write of the desk
	// followed on from it (then exactly).
	version int64
	exact   bool
	// current says the app could not show version (it was made again): the listing is the app
	// as it is now, and serves a read that asks for any version.
	current bool
	// at is when the listing was asked for: a write someone else made a read lag before it, or
	// since, may be missing from it.
	at time.Time
	// auth is the Authorization it was fetched with: a read with another token lists with its
	// own (a token the API refuses must not read through another's listing).
	auth string
}

func (s *snapshot) get(name string) (Secret, bool) {
	sec, ok := s.secrets[name]
	return sec, ok
}

func (s *snapshot) sorted() []Secret {
	out := slices.Collect(maps.Values(s.secrets))
	slices.SortFunc(out, func(a, b Secret) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// after is the listing as the desk's write left the app, or nil when the answer's version shows
// another write in between (a listing showed its version exactly only if the next write answers
// one more).
func (s *snapshot) after(values map[string]*string, res UpdateSecretsResponse) *snapshot {
	if s.exact && res.Version != s.version+1 && res.Version != s.version {
		return nil
	}
	answered := make(map[string]Secret, len(res.Secrets))
	for _, sec := range res.Secrets {
		answered[sec.Name] = sec
	}
	next := maps.Clone(s.secrets)
	for name, v := range values {
		if v == nil {
			delete(next, name)
			continue
		}
		sec, ok := answered[name]
		if !ok {
			return nil
		}
		next[name] = sec
	}
	return &snapshot{secrets: next, version: res.Version, exact: true, at: s.at, auth: s.auth}
}

func (c *Client) desk(app string) *desk {
	return c.shared.desks.Get(deskKey(c.baseURL, app), func() *desk {
		return &desk{s: c.shared, baseURL: c.baseURL, app: app, poke: coalesce.Signal()}
	})
}

// dropListing forgets the listing: a write went around the desk.
func (d *desk) dropListing() {
	d.mu.Lock()
	d.snap = nil
	d.mu.Unlock()
}

func (d *desk) enqueue(w *writeCall) {
	d.mu.Lock()
	d.writes = append(d.writes, w)
	d.startLocked()
	d.mu.Unlock()
}

// withdraw takes a call out before it is in a batch; false when it is being sent already.
func (d *desk) withdraw(w *writeCall) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if w.taken {
		return false
	}
	d.writes = slices.DeleteFunc(d.writes, func(q *writeCall) bool { return q == w })
	return true
}

func (d *desk) startLocked() {
	if !d.running {
		d.running = true
		go d.run()
	}
	coalesce.Poke(d.poke)
}

// run does the desk's calls one at a time until nothing waits: reads the listing serves are
// answered, a batch of writes goes once no operation on its way may still join it and its slot
// in the rate limit has come, and a listing is fetched when a read or a batch needs one. Reads
// are served while writes wait, so that an operation that reads before it writes never holds
// up the batch it is waited for in.
func (d *desk) run() {
	key := deskKey(d.baseURL, d.app)
	slotTaken, prefetched := false, false
	for {
		d.mu.Lock()
		d.answerReadsLocked()
		if len(d.writes) == 0 && len(d.reads) == 0 {
			d.running = false
			d.mu.Unlock()
			return
		}
		waitingReads, waiting := len(d.reads) > 0, slices.Clone(d.writes)
		d.mu.Unlock()

		changed := d.s.InFlight.Changed(key)
		if len(waiting) == 0 || d.s.InFlight.Pending(key, StageWrite) > 0 {
			if waitingReads {
				d.fetchForReads()
				continue
			}
			select {
			case <-changed:
			case <-d.poke:
			}
			continue
		}
		// The listing the writes' conditions need comes first: operations that arrive while it is
		// fetched join the batch.
		if !prefetched {
			if fetched, err := d.prefetch(waiting); err != nil || fetched {
				prefetched = err == nil
				continue
			}
		}
		if !slotTaken {
			lead := waiting[0].c
			if wait, _, ok := d.s.reserve(d.baseURL, d.app, actionBulkWrite, lead.now()); ok && wait > 0 {
				tellCalls(waiting)(wait, pacingReason(d.app))
				_ = lead.sleep(context.Background(), wait) // the slot is taken either way
				slotTaken = true
				continue // operations that entered during the wait join the batch
			}
		}
		slotTaken, prefetched = false, false
		d.sendBatch()
	}
}

// sendBatch takes every write that fits one call, decides their conditions from a listing recent
// enough, and sends them.
func (d *desk) sendBatch() {
	batch := d.take()
	if len(batch) == 0 {
		return
	}
	lead := batch[0].c
	ctx, cancel := coalesce.Context(callContexts(batch))
	defer cancel()
	snap, err := d.listingFor(ctx, batch)
	if err != nil {
		d.finish(batch, UpdateSecretsResponse{}, err)
		return
	}
	setByOthers := d.setBy(batch)
	var send []*writeCall
	for _, w := range batch {
		others := map[string]bool{}
		for name, by := range setByOthers {
			if by != w {
				others[name] = true
			}
		}
		keep := func(name string) string {
			if d.s.opts.Keep == nil {
				return ""
			}
			return d.s.opts.Keep(d.app, name, w.w.Owner)
		}
		if w.decide(d.app, snap, others, keep) {
			close(w.done)
			continue
		}
		send = append(send, w)
	}
	values := map[string]*string{}
	for _, w := range send {
		maps.Copy(values, w.values)
	}
	if len(values) == 0 {
		d.finish(send, UpdateSecretsResponse{Version: snap.version}, nil)
		return
	}
	res, err := lead.updateSecrets(ctx, d.app, values, request{prepaced: true, tell: tellCalls(send)})
	if err != nil && len(send) > 1 && refusedForContent(err) {
		d.setListing(nil)
		for _, w := range send {
			res, err := w.c.updateSecrets(w.ctx, d.app, w.values, request{})
			if err == nil && len(w.values) > 0 {
				d.applyToListing(w.values, res)
			}
			d.finish([]*writeCall{w}, res, err)
		}
		return
	}
	if err != nil {
		d.setListing(nil) // the write may or may not have been applied
	} else {
		d.applyToListing(values, res)
	}
	d.finish(send, res, err)
}

// take moves the queued writes that fit one call into a batch: one token, no name set twice.
func (d *desk) take() []*writeCall {
	d.mu.Lock()
	defer d.mu.Unlock()
	var batch, rest []*writeCall
	names := map[string]bool{}
	for _, w := range d.writes {
		fits := len(batch) < maxBatchWrites && (len(batch) == 0 || w.c.authorization == batch[0].c.authorization)
		for _, name := range w.names() {
			fits = fits && !names[name]
		}
		if !fits {
			rest = append(rest, w)
			continue
		}
		for _, name := range w.names() {
			names[name] = true
		}
		w.taken = true
		batch = append(batch, w)
	}
	d.writes = rest
	return batch
}

// names are every name a call changes.
func (w *writeCall) names() []string {
	out := make([]string, len(w.w.Changes))
	for i, ch := range w.w.Changes {
		out[i] = ch.Name
	}
	return out
}

// setBy are the names the batch's calls set, and the calls queued behind it (whose write comes
// next: an unset of the name now would only open a gap), by the call that sets it.
func (d *desk) setBy(batch []*writeCall) map[string]*writeCall {
	out := map[string]*writeCall{}
	d.mu.Lock()
	queued := slices.Clone(d.writes)
	d.mu.Unlock()
	for _, w := range append(slices.Clone(batch), queued...) {
		for _, name := range w.sets() {
			if _, ok := out[name]; !ok {
				out[name] = w
			}
		}
	}
	return out
}

// prefetch fetches the listing the waiting writes need, if the desk's will not do; fetched says
// it did. An error fails the calls that needed it.
func (d *desk) prefetch(waiting []*writeCall) (fetched bool, err error) {
	if d.listingServes(waiting) {
		return false, nil
	}
	ctx, cancel := coalesce.Context(callContexts(waiting))
	defer cancel()
	if _, err = d.listingFor(ctx, waiting); err != nil {
		d.mu.Lock()
		d.writes = slices.DeleteFunc(d.writes, func(w *writeCall) bool { return slices.Contains(waiting, w) })
		d.mu.Unlock()
		d.finish(waiting, UpdateSecretsResponse{}, err)
	}
	return true, err
}

// listingServes says whether the desk's listing will do for the calls' conditions.
func (d *desk) listingServes(calls []*writeCall) bool {
	need, unset, _ := d.need(calls)
	if !need {
		return true
	}
	d.mu.Lock()
	snap := d.snap
	d.mu.Unlock()
	maxAge := d.s.opts.ListingMaxAge
	if unset {
		maxAge = d.s.opts.UnsetFreshness
	}
	return snap != nil && calls[0].c.now().Sub(snap.at) < maxAge && d.showsUnsets(snap, calls)
}

func (d *desk) need(calls []*writeCall) (need, unset bool, version int64) {
	for _, w := range calls {
		n, u, v := w.needs()
		need, unset, version = need || n, unset || u, max(version, v)
	}
	return need, unset, version
}

// listingFor returns a listing the batch's conditions may be decided from, fetching one when the
// desk's will not do.
func (d *desk) listingFor(ctx context.Context, batch []*writeCall) (*snapshot, error) {
	need, _, version := d.need(batch)
	d.mu.Lock()
	snap := d.snap
	d.mu.Unlock()
	if d.listingServes(batch) {
		if snap == nil || !need {
			// Nothing to decide: a plain write needs no listing, and keeps none it cannot update.
			return &snapshot{secrets: map[string]Secret{}}, nil
		}
		return snap, nil
	}
	return d.fetch(ctx, batch[0].c, version, tellCalls(batch))
}

// showsUnsets says whether snap shows the last write each unset of the batch names: the version,
// or the secret as written then or later (or gone).
func (d *desk) showsUnsets(snap *snapshot, batch []*writeCall) bool {
	for _, w := range batch {
		for _, ch := range w.w.Changes {
			if ch.Kind != Unset || ch.Written.Version <= snap.version {
				continue
			}
			if s, ok := snap.get(ch.Name); !ok || !instant.NotBefore(s.UpdatedAt, ch.Written.At) {
				return false
			}
		}
	}
	return true
}

// fetch lists the app (asking for at least version, and the newest version this instance wrote)
// and keeps the listing.
func (d *desk) fetch(
	ctx context.Context, c *Client, version int64, tell func(time.Duration, string),
) (*snapshot, error) {
	own, _ := d.s.lastWrite(d.baseURL, d.app)
	version = max(version, own)
	var at time.Time
	// When the version does not come (see readAt), the app as it is now (current) is what every
	// read waiting for it gets, whatever version each asked for.
	secrets, current, err := c.listOnce(ctx, d.app, version, tell, func(t time.Time) { at = t })
	if err != nil {
		return nil, err
	}
	byName := make(map[string]Secret, len(secrets))
	for _, s := range secrets {
		byName[s.Name] = s
	}
	snap := &snapshot{secrets: byName, version: version, current: current, at: at, auth: c.authorization}
	d.setListing(snap)
	return snap, nil
}

func (d *desk) setListing(s *snapshot) {
	d.mu.Lock()
	d.snap = s
	d.mu.Unlock()
}

// applyToListing keeps the listing current from a write's answer (or drops it).
func (d *desk) applyToListing(values map[string]*string, res UpdateSecretsResponse) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.snap != nil {
		d.snap = d.snap.after(values, res)
	}
}

// finish answers the calls: res for each (its own part of it), or err.
func (d *desk) finish(calls []*writeCall, res UpdateSecretsResponse, err error) {
	if len(calls) == 0 {
		return
	}
	at := calls[0].c.now()
	if err == nil {
		d.s.wrote(d.baseURL, d.app, res.Version, at)
	}
	for _, w := range calls {
		if err != nil {
			w.err = err
		} else {
			w.answer(res, at)
		}
		close(w.done)
	}
}

func callContexts(calls []*writeCall) []context.Context {
	out := make([]context.Context, len(calls))
	for i, w := range calls {
		out[i] = w.ctx
	}
	return out
}

// tellCalls tells every caller of a batch of a wait.
func tellCalls(calls []*writeCall) func(time.Duration, string) {
	return func(wait time.Duration, why string) {
		for _, w := range calls {
			w.c.notify(w.ctx, wait, why)
		}
	}
}

// listOnce is one list of the app asking for version (0 for any; see readAt for current).
func (c *Client) listOnce(ctx context.Context, app string, version int64, tell func(time.Duration, string),
	sent func(time.Time)) (secrets []Secret, current bool, err error) {
	op := fmt.Sprintf("list secrets on app %q", app)
	path, err := secretsPath(op, app)
	if err != nil {
		return nil, false, err
	}
	req := request{op: op, app: app, action: "list", method: http.MethodGet, path: path, tell: tell, sent: sent}
	var out listSecretsJSON
	if current, err = c.readAt(ctx, req, version, &out, tell); err != nil {
		return nil, false, err
	}
	return secretsFromJSON(out.Secrets), current, nil
}

// refusedForContent reports a refusal that may be one key's fault (a bad name, a value too
// large, a body too big), not everyone's: not authentication, a missing app, rate limits,
// racing writes or server trouble, which the retries have already had their say on.
func refusedForContent(err error) bool {
	status := statusOf(err)
	switch {
	case status < 400 || status >= 500:
		return false
	case status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusNotFound,
		status == http.StatusRequestTimeout, status == http.StatusConflict, status == http.StatusTooManyRequests:
		return false
	}
	return true
}
