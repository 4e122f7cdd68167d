package flyapi

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/coalesce"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/instant"
)

// StageWrite is the stage an operation reaches when it hands its write to the app's desk.
const StageWrite coalesce.Stage = "fly-secrets-write"

// Op is one resource operation on one app, from the moment the engine started it: the app's desk
// holds its bulk writes while an operation that entered may still bring a write, so that the
// operations the engine runs together share one call. End it when the operation returns. An
// operation must reach its write without waiting for another write of the app.
type Op struct {
	c      *Client
	app    string
	flight *coalesce.Op
}

// Begin enters an operation on app that may write its secrets, and may reach the other stages
// (a deploy); id is its resource's URN ("" for none), which consumes its announcement.
func (c *Client) Begin(app, id string, stages ...coalesce.Stage) *Op {
	flight := c.shared.InFlight.EnterAs(deskKey(c.baseURL, app), id, append(stages, StageWrite)...)
	return &Op{c: c, app: app, flight: flight}
}

// AnnounceBound bounds how long an announced operation is waited for: the engine starts an
// operation right after it checks its resource, unless all its workers are busy.
const AnnounceBound = 3 * time.Second

// Announce says that the resource id (a URN) has been checked and its operation on app, which
// may reach stages, is about to start: a rollout waits for it (see coalesce.InFlight.Announce).
func (c *Client) Announce(app, id string, stages ...coalesce.Stage) {
	c.shared.InFlight.Announce(deskKey(c.baseURL, app), id, AnnounceBound, stages...)
}

// Retract says that the announced operation of id will not start.
func (c *Client) Retract(id string) { c.shared.InFlight.Retract(id) }

// Reached says the operation got to stage (or will not): what waits for it goes on.
func (o *Op) Reached(stage coalesce.Stage) { o.flight.Reached(stage) }

// End says the operation returned.
func (o *Op) End() { o.flight.End() }

// Client is the operation's client.
func (o *Op) Client() *Client { return o.c }

// OnTheirWay counts the operations on app that entered (Begin) and may still reach stage, and
// returns a channel closed at the next change: what a gathering of their calls waits for.
func (c *Client) OnTheirWay(app string, stage coalesce.Stage) (int, <-chan struct{}) {
	key := deskKey(c.baseURL, app)
	changed := c.shared.InFlight.Changed(key)
	return c.shared.InFlight.Pending(key, stage), changed
}

// Change is one secret in a Write.
type Change struct {
	Name string
	Kind ChangeKind
	// Value is what Set and Create write.
	Value string
	// Written is what the owner recorded of its last write of the secret, for Unset: the secret
	// is unset only if it still shows that write.
	Written Written
}

// ChangeKind says what a Change does.
type ChangeKind int

const (
	// Set writes the value, whatever the app holds.
	Set ChangeKind = iota
	// Create writes the value only if the app has no secret of that name: the whole Write is
	// refused (*ExistsError) otherwise.
	Create
	// Take writes the value like Set, and reports in WriteResult.Taken whether the app had the
	// secret: a takeover, which the caller confirms (Op.Confirm).
	Take
	// Unset removes the secret only if it still shows the owner's last write (Written): a
	// secret written since (another stack, a resource that took it over, a person) is left, and
	// so is one that another resource of the program writes or declares.
	Unset
)

// Written is what an owner recorded of its last write of a secret.
type Written struct {
	// At is the write's updated_at as answered; Digest its digest; Version the app's secrets
	// version after it (0 when unknown).
	At      time.Time
	Digest  string
	Version int64
}

// Write is one resource's changes to an app's secrets, made in one bulk call with the other
// writes of the moment. Every condition (Create, Unset, Prune) is decided when the call is sent,
// from a listing that shows every earlier write of this instance and is recent enough.
type Write struct {
	// Owner names the resource that writes, for the program's declarations (SharedOptions.Keep)
	// and for messages, e.g. "FlyAppSecrets app-secrets".
	Owner   string
	Changes []Change
	// Prune, when set, also unsets the app's secrets that it selects (see Prune).
	Prune *Prune
}

// Prune selects secrets a Write unsets although it does not name them.
type Prune struct {
	// Match says whether a name is inside the prune's scope.
	Match func(name string) bool
	// Managed are the names the owner manages (never pruned: its changes say what to do).
	Managed []string
	// Before: only secrets last written before it are pruned. A secret written into the scope
	// later is someone else's (another resource, stack or person): it is kept and reported.
	Before time.Time
}

// WriteResult is what a Write did.
type WriteResult struct {
	// Version is the app's secrets version after the call (the version before, when nothing
	// was sent).
	Version int64
	// Secrets are the secrets set, as answered, by name.
	Secrets map[string]Secret
	// Unset are the names unset (Unset changes that applied, and pruned names); Pruned, the
	// pruned ones among them.
	Unset, Pruned []string
	// Left are secrets the write did not unset, by name, with the reason: changes to Unset that
	// did not apply, and names inside a prune's scope that it kept.
	Left map[string]string
	// Taken are the names of Take changes that the app had before the write.
	Taken []string
	// At is when the call was answered (local clock).
	At time.Time
}

// ExistsError is a Write's answer when a Create names a secret the app already has.
type ExistsError struct {
	App     string
	Secrets []Secret // the existing ones, sorted by name
}

func (e *ExistsError) Error() string {
	names := make([]string, len(e.Secrets))
	for i, s := range e.Secrets {
		names[i] = fmt.Sprintf("%q", s.Name)
	}
	return fmt.Sprintf("fly: app %q already has secret(s) %s", e.App, strings.Join(names, ", "))
}

// Write hands w to the app's desk and returns what it did. The operation has reached its write
// once this is called. Without WithDesk it is one call of its own, decided from a listing of
// its own.
func (o *Op) Write(ctx context.Context, w Write) (WriteResult, error) {
	defer o.Reached(StageWrite)
	if _, err := secretsPath("write secrets", o.app); err != nil {
		return WriteResult{}, err
	}
	for _, ch := range w.Changes {
		if _, err := secretPath("write secrets", o.app, ch.Name); err != nil {
			return WriteResult{}, err
		}
	}
	call := &writeCall{c: o.c, ctx: ctx, w: w, done: make(chan struct{})}
	d := o.c.desk(o.app)
	d.enqueue(call)
	o.Reached(StageWrite)
	select {
	case <-call.done:
	case <-ctx.Done():
		if d.withdraw(call) {
			return WriteResult{}, ctx.Err()
		}
		<-call.done // in a batch already: its answer says what happened
	}
	return call.res, call.err
}

// writeCall is one Write waiting at the desk.
type writeCall struct {
	c     *Client
	ctx   context.Context
	w     Write
	taken bool // in a batch: the caller waits for its answer
	done  chan struct{}
	res   WriteResult
	err   error
	// values is what the call sends once its conditions are decided (nil unsets).
	values map[string]*string
}

// sets are the names the call writes a value to.
func (w *writeCall) sets() []string {
	var out []string
	for _, ch := range w.w.Changes {
		if ch.Kind != Unset {
			out = append(out, ch.Name)
		}
	}
	return out
}

// needs says what listing the call's conditions need: none (false), or one asked for at least
// version, recent enough for an unset (unset) or for a create check.
func (w *writeCall) needs() (listing, unset bool, version int64) {
	for _, ch := range w.w.Changes {
		switch ch.Kind {
		case Create, Take:
			listing = true
		case Unset:
			listing, unset = true, true
			version = max(version, ch.Written.Version)
		}
	}
	if w.w.Prune != nil {
		listing, unset = true, true
	}
	return listing, unset, version
}

// decide works out what the call sends, from the listing snap and the names that other calls of
// the batch, or queued behind it, set (setByOthers). It answers the call at once (true) when it
// is refused.
func (w *writeCall) decide(app string, snap *snapshot, setByOthers map[string]bool, keep func(string) string) bool {
	w.values = map[string]*string{}
	w.res = WriteResult{Left: map[string]string{}}
	var taken []Secret
	for _, ch := range w.w.Changes {
		if s, exists := snap.get(ch.Name); ch.Kind == Create && exists {
			taken = append(taken, s)
		}
	}
	if len(taken) > 0 {
		slices.SortFunc(taken, func(a, b Secret) int { return strings.Compare(a.Name, b.Name) })
		w.err = &ExistsError{App: app, Secrets: taken}
		return true
	}
	for _, ch := range w.w.Changes {
		if ch.Kind != Unset {
			value := ch.Value
			w.values[ch.Name] = &value
			if _, exists := snap.get(ch.Name); ch.Kind == Take && exists {
				w.res.Taken = append(w.res.Taken, ch.Name)
			}
			continue
		}
		if why := w.leaveReason(ch, snap, setByOthers, keep); why != "" {
			w.res.Left[ch.Name] = why
			continue
		}
		w.values[ch.Name] = nil
	}
	if p := w.w.Prune; p != nil {
		for _, s := range snap.sorted() {
			if _, planned := w.values[s.Name]; planned || !p.Match(s.Name) || slices.Contains(p.Managed, s.Name) {
				continue
			}
			why := ""
			switch by := keep(s.Name); {
			case setByOthers[s.Name]:
				why = "another resource of this program writes it now"
			case by != "":
				why = "declared by " + by
			case instant.NotBefore(s.UpdatedAt, p.Before):
				why = fmt.Sprintf("written at %s, after this resource took over its prune scope: another resource, "+
					"stack or person writes it", s.UpdatedAt.UTC().Format(time.RFC3339))
			}
			if why != "" {
				w.res.Left[s.Name] = why
				continue
			}
			w.values[s.Name] = nil
			w.res.Pruned = append(w.res.Pruned, s.Name)
		}
	}
	return false
}

// leaveReason says why an Unset change must not apply ("" when it may): the secret is gone,
// another resource of the program writes or declares it, or it was written since the owner's
// last write.
func (w *writeCall) leaveReason(
	ch Change, snap *snapshot, setByOthers map[string]bool, keep func(string) string,
) string {
	if setByOthers[ch.Name] {
		return "another resource of this program writes it now"
	}
	if by := keep(ch.Name); by != "" {
		return "declared by " + by
	}
	s, exists := snap.get(ch.Name)
	switch {
	case !exists:
		return "gone already"
	case !instant.Same(s.UpdatedAt, ch.Written.At) || (ch.Written.Digest != "" && s.Digest != ch.Written.Digest):
		return fmt.Sprintf("written at %s, after this resource last wrote it (%s): another stack, resource or "+
			"person owns it now", s.UpdatedAt.UTC().Format(time.RFC3339Nano), ch.Written.At.UTC().Format(time.RFC3339Nano))
	}
	return ""
}

// answer fills the call's result from the bulk call's answer.
func (w *writeCall) answer(res UpdateSecretsResponse, at time.Time) {
	byName := make(map[string]Secret, len(res.Secrets))
	for _, s := range res.Secrets {
		byName[s.Name] = s
	}
	w.res.Version, w.res.At = res.Version, at
	w.res.Secrets = map[string]Secret{}
	for name, v := range w.values {
		if v == nil {
			w.res.Unset = append(w.res.Unset, name)
			continue
		}
		if s, ok := byName[name]; ok {
			w.res.Secrets[name] = s
		}
	}
	slices.Sort(w.res.Unset)
	slices.Sort(w.res.Pruned)
	slices.Sort(w.res.Taken)
}
