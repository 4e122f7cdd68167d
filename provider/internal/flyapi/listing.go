package flyapi

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/coalesce"
)

// listing is what one token sees of one app's secrets, fetched with one list call and shared by
// every reader of the process that coalesces (WithCoalescing).
//
// Fly's reads are eventually consistent, and a read asks (?version=N) for the newest version it
// must see. What a reader must see, and how a listing shows it:
//   - this process's own writes (own, the newest version it wrote): each write's answer is
//     applied to the listing, or the listing is dropped, so a listing that shows own shows them;
//   - the version its caller names (stated), which comes from state an earlier operation wrote,
//     so that write was answered before this process began. A listing shows it if it asked for
//     it, or if it was fetched a read lag after the process began (Shared.started): by then every
//     write answered before the process began is visible.
//
// Fetching again for every higher stated version would cost one call per round of the engine's
// parallel reads. So once a listing has been fetched, a reader whose stated version it may not
// show waits for the one listing fetched at the end of the read lag, or for an earlier one that
// asks for enough (a fetch for this process's own write goes at once, and asks for every waiting
// reader's version). A process lists an app about twice for its state's versions, however many
// secrets it reads.
type listing struct {
	started time.Time
	arrived chan struct{} // poked when a reader joins the next fetch

	mu       sync.Mutex
	snap     *snapshot
	inflight *listFetch // sent, not answered yet
	next     *listFetch // gathering readers, not sent yet
	fetched  bool       // a listing has been asked for and not failed
	writing  int        // writes in flight
	writes   int        // writes started, ever
}

// snapshot is one listing, changed only by copying.
type snapshot struct {
	secrets map[string]Secret
	version int64     // it shows at least this version; exactly, once a write followed on from it
	at      time.Time // when it was asked for
}

// listFetch is one list call and the readers waiting for it.
type listFetch struct {
	c         *Client
	ctx       context.Context // the first reader's, without its cancellation
	window    coalesce.Window
	version   int64 // what to ask for: the highest any reader needs
	notBefore time.Time
	urgent    bool // a reader needs this process's own write: no waiting for the read lag
	listeners []listener
	at        time.Time
	done      chan struct{}
	snap      *snapshot
	err       error
}

type listener struct {
	ctx    context.Context
	notify WaitNotifier
}

func tellListeners(ls []listener) func(time.Duration, string) {
	return func(wait time.Duration, why string) {
		for _, l := range ls {
			l.notify(l.ctx, wait, why)
		}
	}
}

// need is what a reader must see (see listing).
type need struct {
	stated, own int64
	// freshAfter, when set, is the time after which a listing must have been asked for: the
	// reader looks for a secret a listing did not show, with no version to go by, and only a
	// listing a read lag later shows that it is not a write just made (as a GET's 404 is retried
	// for the read lag).
	freshAfter time.Time
	lag        time.Duration
	// name and written, when set, say what the reader's stated version is: the write of
	// secret name answered with updated_at written (state records both). A listing that shows
	// the secret updated at or after it shows that write, whatever version it asked for.
	name    string
	written time.Time
}

func (c *Client) need(app string, stated int64) need {
	own, _ := c.shared.lastWrite(c.baseURL, app)
	return need{stated: stated, own: own, lag: c.readLag}
}

// meets says whether a listing that asked for version at time at shows what n needs.
func (l *listing) meets(n need, version int64, at time.Time) bool {
	settled := !at.IsZero() && !at.Before(l.started.Add(n.lag))
	if !n.freshAfter.IsZero() && (at.IsZero() || at.Before(n.freshAfter)) {
		return false
	}
	return version >= n.own && (version >= n.stated || settled)
}

// shows says whether a listing shows what n needs: by the version it asked for and when, or by
// the secret n names, updated at or after the write n knows of.
func (l *listing) shows(n need, s *snapshot) bool {
	if l.meets(n, s.version, s.at) {
		return true
	}
	if n.name == "" || n.written.IsZero() || !n.freshAfter.IsZero() || s.version < n.own {
		return false
	}
	secret, ok := s.secrets[n.name]
	return ok && !secret.UpdatedAt.Before(n.written)
}

// listing returns the app's listing for this client's token, made on first use.
func (c *Client) listing(app string) *listing {
	return c.shared.listings.Get(c.sharedKey(app), func() *listing {
		return &listing{started: c.shared.operationStart(c.baseURL), arrived: coalesce.Signal()}
	})
}

// get returns a listing that shows what n needs: the one held, one on its way, or a new one.
func (l *listing) get(ctx context.Context, c *Client, app string, n need) (*snapshot, error) {
	for {
		l.mu.Lock()
		if s := l.snap; s != nil && l.shows(n, s) {
			l.mu.Unlock()
			return s, nil
		}
		// A listing on its way is waited for if it will do, or may (by the secret's time).
		f := l.inflight
		if f == nil || !(l.meets(n, f.version, f.at) || (n.name != "" && !n.written.IsZero() && n.freshAfter.IsZero())) {
			f = l.join(ctx, c, app, n)
		}
		l.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if f.err != nil {
			return nil, f.err
		}
		if l.shows(n, f.snap) {
			return f.snap, nil
		}
		// An early fetch (for another reader's write) that a fresh need cannot use: wait on.
	}
}

// join adds a reader to the next fetch, making it if need be. The caller holds l.mu.
func (l *listing) join(ctx context.Context, c *Client, app string, n need) *listFetch {
	f := l.next
	if f == nil {
		f = &listFetch{c: c, ctx: context.WithoutCancel(ctx), window: c.window, done: make(chan struct{})}
		l.next = f
		go l.send(f, app)
	}
	f.version = max(f.version, n.stated, n.own)
	f.listeners = append(f.listeners, listener{ctx: ctx, notify: c.notify})
	var known int64
	if l.snap != nil {
		known = l.snap.version
	}
	switch {
	case n.own > known:
		f.urgent = true
	case !n.freshAfter.IsZero():
		f.notBefore = later(f.notBefore, n.freshAfter)
	case l.fetched:
		f.notBefore = later(f.notBefore, l.started.Add(n.lag))
	}
	coalesce.Poke(l.arrived)
	return f
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// send gathers readers for a moment, waits for the end of the read lag if the fetch is for
// versions from state, then lists the app once for all of them. The listing is kept unless a
// write overlapped it (it may or may not show that write).
func (l *listing) send(f *listFetch, app string) {
	f.window.Gather(context.Background(), l.arrived, nil)
	l.mu.Lock()
	for wait := time.Until(f.notBefore); !f.urgent && wait > 0; wait = time.Until(f.notBefore) {
		tell := tellListeners(slices.Clone(f.listeners))
		l.mu.Unlock()
		tell(wait, fmt.Sprintf("waiting for Fly.io to show app %q's newest secrets to every read, to read them once for all", app))
		timer := time.NewTimer(wait)
		select {
		case <-timer.C:
		case <-l.arrived: // a reader may have made it urgent
			timer.Stop()
		}
		l.mu.Lock()
	}
	l.next, l.inflight, l.fetched = nil, f, true
	f.at = time.Now()
	version, writes, writing := f.version, l.writes, l.writing
	tell := tellListeners(slices.Clone(f.listeners))
	l.mu.Unlock()

	secrets, err := f.c.listOnce(f.ctx, app, version, tell)

	l.mu.Lock()
	if l.inflight == f {
		l.inflight = nil
	}
	if err != nil {
		f.err = err
		l.fetched = l.snap != nil
	} else {
		byName := make(map[string]Secret, len(secrets))
		for _, s := range secrets {
			byName[s.Name] = s
		}
		f.snap = &snapshot{secrets: byName, version: version, at: f.at}
		if writing == 0 && writes == l.writes && (l.snap == nil || l.snap.version <= version) {
			l.snap = f.snap
		}
	}
	l.mu.Unlock()
	close(f.done)
}

// listOnce is one list call asking for version (0 for any).
func (c *Client) listOnce(ctx context.Context, app string, version int64, tell func(time.Duration, string)) ([]Secret, error) {
	op := fmt.Sprintf("list secrets on app %q", app)
	path, err := secretsPath(op, app)
	if err != nil {
		return nil, err
	}
	if version > 0 {
		path += "?version=" + strconv.FormatInt(version, 10)
	}
	var out listSecretsJSON
	req := request{op: op, app: app, action: "list", method: http.MethodGet, path: path, tell: tell}
	if err := c.do(ctx, req, &out); err != nil {
		return nil, err
	}
	return secretsFromJSON(out.Secrets), nil
}

// writeStarted notes a write about to be sent, and returns the listing it may follow on from.
func (l *listing) writeStarted() *snapshot {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writing++
	l.writes++
	return l.snap
}

// writeDone applies a write's answer (nil: the write failed, and may or may not have been
// applied) to the listing it followed on from, or drops the listing when it cannot: someone
// else wrote in between, or the answer does not say what it set.
func (l *listing) writeDone(before *snapshot, values map[string]*string, answer *UpdateSecretsResponse) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.writing--
	if l.snap == nil {
		return
	}
	var next *snapshot
	if answer != nil && l.snap == before {
		next = before.after(values, *answer)
	}
	l.snap = next
}

// after is the listing as a write that followed on from it left the app, or nil when the
// answer's version shows another write in between (the listing showed version V exactly only
// if a write sent after it answers V+1, or V for a write that changed nothing).
func (s *snapshot) after(values map[string]*string, res UpdateSecretsResponse) *snapshot {
	sets := false
	for _, v := range values {
		sets = sets || v != nil
	}
	if res.Version != s.version+1 && (res.Version != s.version || sets) {
		return nil
	}
	answered := make(map[string]Secret, len(res.Secrets))
	for _, sec := range res.Secrets {
		answered[sec.Name] = sec
	}
	byName := maps.Clone(s.secrets)
	for name, v := range values {
		if v == nil {
			delete(byName, name)
			continue
		}
		sec, ok := answered[name]
		if !ok {
			return nil
		}
		byName[name] = sec
	}
	return &snapshot{secrets: byName, version: res.Version, at: s.at}
}

// listedSecret serves GetSecret (and CreateSecret's look, mayLag false) from the listing;
// written is when the write that minVersion names set the secret (zero if unknown).
func (c *Client) listedSecret(ctx context.Context, op, app, name string, minVersion int64, written time.Time, mayLag bool) (Secret, error) {
	if _, err := secretPath(op, app, name); err != nil {
		return Secret{}, err
	}
	n := c.need(app, minVersion)
	n.name, n.written = name, written
	for {
		snap, err := c.listing(app).get(ctx, c, app, n)
		if err != nil {
			return Secret{}, err
		}
		if s, ok := snap.secrets[name]; ok {
			return s, nil
		}
		// With no version from the caller (an import), a secret set a moment ago by someone
		// else may not show yet, even in a listing that shows this process's own writes.
		if !mayLag || !n.freshAfter.IsZero() || n.stated > 0 || n.lag == 0 {
			return Secret{}, &APIError{StatusCode: http.StatusNotFound, Message: "secret not found", Op: op}
		}
		n.freshAfter = time.Now().Add(n.lag) // nothing to go by: it may be lag, as for a GET
	}
}

// listedSecrets serves ListSecrets from the listing, sorted by name.
func (c *Client) listedSecrets(ctx context.Context, app string, minVersion int64) ([]Secret, error) {
	snap, err := c.listing(app).get(ctx, c, app, c.need(app, minVersion))
	if err != nil {
		return nil, err
	}
	out := slices.Collect(maps.Values(snap.secrets))
	slices.SortFunc(out, func(a, b Secret) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
