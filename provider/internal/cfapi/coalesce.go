package cfapi

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/coalesce"
)

// maxBatchCreates bounds how many callers one create call carries (an account holds about 100
// secrets anyway).
const maxBatchCreates = 100

// StageCreate is the stage an operation reaches when it hands its create to the store's queue.
const StageCreate coalesce.Stage = "cloudflare-secrets-create"

// Shared is what the Clients of one provider instance share about each store, by API URL,
// token, account and store: the queue of creates, the activation waits (AwaitActive), what has
// been seen of its secrets (LookUpSecret), the names being created (claims), and the operations
// in flight per store (InFlight). Nothing here outlives the instance.
type Shared struct {
	// InFlight is what the instance's operations are on their way to do, by store (Begin).
	InFlight coalesce.InFlight
	// Grace bounds a create batch's wait for a round as large as the last (coalesce.Batcher).
	Grace time.Duration

	// KeepWorkerSecret, when set, says why a removal of a Worker secret by the resource ownerURN
	// must be dropped ("" when it need not): another resource of the program declares the name.
	KeepWorkerSecret func(account string, script WorkerScript, name, ownerURN string) string

	claims         claimSet
	creates        coalesce.Keyed[createQueue]
	activations    coalesce.Keyed[activation]
	listings       coalesce.Keyed[listing]
	workerWrites   coalesce.Keyed[workerQueue]
	workerListings coalesce.Keyed[workerListing]
	gauges         coalesce.Keyed[rateGauge]
}

// gauge is what is known of the rate limit of the token key names (Client.gaugeKey).
func (s *Shared) gauge(key string) *rateGauge {
	return s.gauges.Get(key, func() *rateGauge { return &rateGauge{} })
}

// Begin enters an operation that may create secrets in storeID: the store's create batch waits
// for it (see Options.Shared). End it when the operation returns; it has reached its create
// once it calls CreateSecrets.
func (c *Client) Begin(storeID string) *coalesce.Op {
	return c.shared.InFlight.Enter(c.flightKey(storeID), StageCreate)
}

// flightKey names a store at one API and account, whatever the token.
func (c *Client) flightKey(storeID string) string {
	return c.baseURL + "\x00" + c.accountID + "\x00" + storeID
}

func tokenKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// storeKey names what one token sees of one store.
func (c *Client) storeKey(storeID string) string {
	return c.baseURL + "\x00" + c.tokenKey + "\x00" + c.accountID + "\x00" + storeID
}

type createQueue = coalesce.Batcher[*queuedCreate, map[string]Secret]

// queuedCreate is one caller's CreateSecrets, its names claimed.
type queuedCreate struct {
	c       *Client
	ctx     context.Context
	op      string
	secrets []NewSecret
}

func (c *Client) createQueue(storeID string) *createQueue {
	return c.shared.creates.Get(c.storeKey(storeID), func() *createQueue {
		return &createQueue{
			InFlight: &c.shared.InFlight,
			Key:      c.flightKey(storeID),
			Stage:    StageCreate,
			Grace:    c.shared.Grace,
			Limit:    maxBatchCreates,
			Send: func(creates []*queuedCreate) []coalesce.Result[map[string]Secret] {
				return sendCreates(storeID, creates)
			},
		}
	})
}

// sendCreates makes one create call for every caller, and gives each its own secrets. A call
// refused for its content created nothing (the API validates all first), and is sent again one
// caller at a time.
func sendCreates(storeID string, creates []*queuedCreate) []coalesce.Result[map[string]Secret] {
	var all []NewSecret
	ctxs := make([]context.Context, len(creates))
	for i, q := range creates {
		all = append(all, q.secrets...)
		ctxs[i] = q.ctx
	}
	ctx, cancel := coalesce.Context(ctxs)
	defer cancel()
	batch := *creates[0].c
	batch.retry.Notify = func(_ context.Context, wait time.Duration, why string) {
		for _, q := range creates {
			q.c.retry.Notify(q.ctx, wait, why)
		}
	}
	op := fmt.Sprintf("create secret %s in store %s", secretNames(all), storeID)
	ours, before, err := batch.createRecovering(ctx, op, storeID, all)
	results := make([]coalesce.Result[map[string]Secret], len(creates))
	if err != nil && len(creates) > 1 && refusedForContent(err) {
		for i, q := range creates {
			ours, before, err := q.c.createRecovering(q.ctx, q.op, storeID, q.secrets)
			results[i] = q.result(ours, before, err)
		}
		return results
	}
	for i, q := range creates {
		results[i] = q.result(ours, before, err)
	}
	return results
}

// result is the caller's part of a create call's answer.
func (q *queuedCreate) result(ours map[string]Secret, before []string, err error) coalesce.Result[map[string]Secret] {
	if err != nil {
		return coalesce.Result[map[string]Secret]{Err: err}
	}
	mine := map[string]Secret{}
	for _, s := range q.secrets {
		if slices.Contains(before, s.Name) {
			return coalesce.Result[map[string]Secret]{Err: nameExists(q.op)}
		}
		mine[s.Name] = ours[s.Name]
	}
	return coalesce.Result[map[string]Secret]{Value: mine}
}

// refusedForContent reports a refusal that may be one caller's fault, not everyone's: not
// authentication, a missing store, rate limits or server trouble.
func refusedForContent(err error) bool {
	var apiErr *APIError
	if !errors.As(err, &apiErr) || IsNotFound(err) || IsUnauthorized(err) {
		return false
	}
	switch status := apiErr.StatusCode; {
	case status < 400 || status >= 500:
		return false
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return false
	}
	return true
}

// PendingError is AwaitActive's answer when secrets are still pending after Options.ActiveWait.
type PendingError struct {
	StoreID string
	// Pending are the secrets still pending, as last listed (only the ID for one never listed).
	Pending []Secret
	Waited  time.Duration
}

func (e *PendingError) Error() string {
	names := make([]string, len(e.Pending))
	for i, s := range e.Pending {
		names[i] = fmt.Sprintf("%q", cmp.Or(s.Name, s.ID))
	}
	return fmt.Sprintf("cloudflare: secrets %s of store %s are still pending after %s",
		strings.Join(names, ", "), e.StoreID, e.Waited.Round(time.Second))
}

// AwaitActive waits until none of the secrets is pending (a Worker deploy that binds a pending
// secret fails), and returns them as last listed, in the order asked (a secret never listed has
// only its ID). Every caller waiting on one store shares one listing per look: a caller is due
// for a look Options.ActivePoll after it began waiting, then at doubling intervals up to a
// second, and a look lists the store for everyone waiting. So a round of creates the engine runs
// together costs one look when its secrets are active by then, however many secrets each waits
// for. A secret not listed yet is taken as still pending. After Options.ActiveWait it answers
// *PendingError with the secrets as last seen.
func (c *Client) AwaitActive(ctx context.Context, storeID string, secretIDs ...string) ([]Secret, error) {
	if len(secretIDs) == 0 {
		return nil, nil
	}
	now := time.Now()
	w := &activeWaiter{c: c, ctx: ctx, ids: secretIDs, seen: map[string]Secret{}, interval: c.retry.ActivePoll,
		due: now.Add(c.retry.ActivePoll), deadline: now.Add(c.retry.ActiveWait), done: make(chan struct{})}
	a := c.activation(storeID)
	a.add(w)
	select {
	case <-w.done:
	case <-ctx.Done():
		if a.remove(w) {
			a.mu.Lock()
			defer a.mu.Unlock()
			return w.secrets(), ctx.Err()
		}
		<-w.done
	}
	return w.secrets(), w.err
}

// activation is the one wait for new secrets of a store to become active.
type activation struct {
	storeID string
	wake    chan struct{} // a waiter joined: when the next look is due may have changed
	mu      sync.Mutex
	waiters []*activeWaiter
	running bool
}

type activeWaiter struct {
	c   *Client
	ctx context.Context
	ids []string
	// guarded by the activation's mu until done is closed:
	seen     map[string]Secret
	interval time.Duration // until its next look, doubling up to a second
	due      time.Time     // when it is owed a look
	deadline time.Time
	done     chan struct{}
	err      error
}

func (w *activeWaiter) secrets() []Secret {
	out := make([]Secret, len(w.ids))
	for i, id := range w.ids {
		s, ok := w.seen[id]
		if !ok {
			s = Secret{ID: id}
		}
		out[i] = s
	}
	return out
}

// pending lists the secrets not yet seen active (or deleted).
func (w *activeWaiter) pending() []Secret {
	var out []Secret
	for _, s := range w.secrets() {
		if s.Status == "" || s.Status == StatusPending {
			out = append(out, s)
		}
	}
	return out
}

func (c *Client) activation(storeID string) *activation {
	return c.shared.activations.Get(c.storeKey(storeID), func() *activation {
		return &activation{storeID: storeID, wake: make(chan struct{}, 1)}
	})
}

func (a *activation) add(w *activeWaiter) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.waiters = append(a.waiters, w)
	if !a.running {
		a.running = true
		go a.run()
		return
	}
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// remove takes a waiter out before it is answered; false when it is being answered already.
func (a *activation) remove(w *activeWaiter) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	i := slices.Index(a.waiters, w)
	if i < 0 {
		return false
	}
	a.waiters = slices.Delete(a.waiters, i, i+1)
	return true
}

// nextDue is when the earliest waiter is owed a look; false when no one waits (and the loop
// stops: the next waiter starts another).
func (a *activation) nextDue() (time.Time, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.waiters) == 0 {
		a.running = false
		return time.Time{}, false
	}
	due := a.waiters[0].due
	for _, w := range a.waiters[1:] {
		if w.due.Before(due) {
			due = w.due
		}
	}
	return due, true
}

// run lists the store whenever a waiter is due a look, for all of them, and answers each once
// its secrets are active, or its wait has run out, until no one waits.
func (a *activation) run() {
	told := map[*activeWaiter]time.Time{}
	for {
		due, ok := a.nextDue()
		if !ok {
			return
		}
		if wait := time.Until(due); wait > 0 {
			a.mu.Lock()
			next := map[*activeWaiter]time.Time{}
			for _, w := range a.waiters {
				if told[w] != w.due {
					w.c.retry.Notify(w.ctx, time.Until(w.due), fmt.Sprintf(
						"waiting for Cloudflare to make %d new secret(s) of store %s active", len(w.pending()), a.storeID))
				}
				next[w] = w.due
			}
			told = next // each waiter is told of each wait once
			a.mu.Unlock()
			timer := time.NewTimer(wait)
			select {
			case <-timer.C:
			case <-a.wake:
				timer.Stop()
				continue
			}
		}
		a.mu.Lock()
		waiters := slices.Clone(a.waiters)
		a.mu.Unlock()
		if len(waiters) == 0 {
			continue
		}
		listed, err := a.list(waiters)
		now := time.Now()
		var answered []*activeWaiter
		a.mu.Lock()
		for _, w := range a.waiters { // not those that left meanwhile
			for id, s := range listed {
				if slices.Contains(w.ids, id) {
					w.seen[id] = s
				}
			}
			switch pending := w.pending(); {
			case err != nil:
				w.err = err
			case len(pending) == 0:
			case now.After(w.deadline):
				w.err = &PendingError{StoreID: a.storeID, Pending: pending, Waited: w.c.retry.ActiveWait}
			default:
				if !w.due.After(now) { // a look it was owed: the next one is further off
					w.interval = min(w.interval*2, time.Second)
					w.due = now.Add(w.interval)
				}
				continue
			}
			answered = append(answered, w)
		}
		a.waiters = slices.DeleteFunc(a.waiters, func(w *activeWaiter) bool { return slices.Contains(answered, w) })
		a.mu.Unlock()
		for _, w := range answered {
			close(w.done)
		}
	}
}

// list lists the store once for every waiter, as far as the secrets they wait for.
func (a *activation) list(waiters []*activeWaiter) (map[string]Secret, error) {
	want := map[string]bool{}
	ctxs := make([]context.Context, len(waiters))
	for i, w := range waiters {
		for _, s := range w.pending() {
			want[s.ID] = true
		}
		ctxs[i] = w.ctx
	}
	ctx, cancel := coalesce.Context(ctxs)
	defer cancel()
	c := waiters[0].c
	at := c.now()
	secrets, _, err := c.listSecretsUntil(ctx, a.storeID, want)
	if err != nil {
		return nil, err
	}
	c.observe(a.storeID, at, secrets...)
	byID := map[string]Secret{}
	for _, s := range secrets {
		if want[s.ID] {
			byID[s.ID] = s
		}
	}
	return byID, nil
}
