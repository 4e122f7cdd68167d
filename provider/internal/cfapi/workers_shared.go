package cfapi

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/coalesce"
)

// StageWorkerWrite is the stage an operation reaches when it hands its write of a script's
// secrets to the script's queue.
const StageWorkerWrite coalesce.Stage = "cloudflare-worker-secrets-write"

// WorkerWrite is one resource's change to a script's secrets.
type WorkerWrite struct {
	// Set are the secret_text values to write, by name.
	Set map[string]string
	// Create are names of Set that must not exist yet: a create that does not adopt.
	Create []string
	// Remove are names to remove. One that another resource of the program declares is kept
	// (Shared.KeepWorkerSecret), and so is one another write of the same call sets.
	Remove []string
	// Owner is the writing resource's URN.
	Owner string
	// Prune, when set, also removes the script's secrets in its scope that Set does not hold.
	Prune *WorkerPrune
}

// WorkerPrune says which secrets a write may remove that its resource does not manage.
type WorkerPrune struct {
	// Match is the scope: the names prune may remove; Describe names it in messages.
	Match    func(name string) bool
	Describe string
	// Before: only a secret the script already had in its newest version made before this is
	// removed; one that appeared since is someone else's.
	Before time.Time
	// Managed are the names the resource manages: never strays, whether or not the write sets
	// them (an update sets only what changed).
	Managed []string
	// RemovedSince are the names the resource removed from the script after Before: one that is
	// listed again was written since by someone else, though the version before Before has it.
	RemovedSince []string
}

// WorkerWriteResult is what a write did.
type WorkerWriteResult struct {
	// At is when the call that carried it was answered (the server's clock); the time of the
	// listing when nothing needed sending.
	At time.Time
	// Removed are the names it removed (of Remove, and prune's strays).
	Removed []string
	// Kept are the removals it left in place, and why.
	Kept map[string]string
}

// WorkerExistsError is a create of names the script already has.
type WorkerExistsError struct {
	Script WorkerScript
	Names  []string
}

func (e *WorkerExistsError) Error() string {
	return fmt.Sprintf("Worker %q already has secrets %s", e.Script.String(), quotedNames(e.Names))
}

// names are every name the write touches.
func (w WorkerWrite) names() []string {
	out := slices.Collect(maps.Keys(w.Set))
	return append(out, w.Remove...)
}

type workerQueue = coalesce.Batcher[*queuedWorkerWrite, WorkerWriteResult]

type queuedWorkerWrite struct {
	c     *Client
	ctx   context.Context
	write WorkerWrite
}

// BeginWorker enters an operation that may write script's secrets: the script's write batch
// waits for it. End it when the operation returns.
func (c *Client) BeginWorker(script WorkerScript) *coalesce.Op {
	return c.shared.InFlight.Enter(c.workerKey(script), StageWorkerWrite)
}

// workerKey names a script at one API and account, whatever the token.
func (c *Client) workerKey(script WorkerScript) string {
	return c.baseURL + "\x00" + c.accountID + "\x00worker\x00" + script.Namespace + "\x00" + script.Name
}

// WriteWorkerSecrets applies w to script. With Options.Shared the writes of every client of the
// provider instance to one script that arrive together (the engine's parallel creates, updates
// and deletes) are one secrets-bulk call, one new version of the script, as coalesce.Batcher
// gathers them; op, when not nil, is the operation (BeginWorker) the write comes from. Whatever
// a write decides from what the script holds (a create of a name that exists fails with
// *WorkerExistsError and is not sent; prune's strays) is decided from one listing taken when the
// call is sent, after this instance's earlier writes were answered. A call the API refuses for
// its content is sent again write by write, so that one resource's bad value is not its
// neighbours' failure.
func (c *Client) WriteWorkerSecrets(
	ctx context.Context, script WorkerScript, w WorkerWrite, op *coalesce.Op,
) (WorkerWriteResult, error) {
	defer op.Reached(StageWorkerWrite)
	q := &queuedWorkerWrite{c: c, ctx: ctx, write: w}
	if !c.coordinated {
		r := c.sendWorkerWrites(script, []*queuedWorkerWrite{q})[0]
		return r.Value, r.Err
	}
	return c.workerQueue(script).Do(ctx, q, op)
}

func (c *Client) workerQueue(script WorkerScript) *workerQueue {
	return c.shared.workerWrites.Get(c.workerKey(script)+"\x00"+c.tokenKey, func() *workerQueue {
		return &workerQueue{
			InFlight: &c.shared.InFlight,
			Key:      c.workerKey(script),
			Stage:    StageWorkerWrite,
			Grace:    c.shared.Grace,
			Fits: func(taken []*queuedWorkerWrite, item *queuedWorkerWrite) bool {
				mine := item.write.names()
				for _, t := range taken {
					for _, name := range t.write.names() {
						if slices.Contains(mine, name) {
							return false // one name once per call: which write wins would be the API's choice
						}
					}
				}
				return true
			},
			Send: func(items []*queuedWorkerWrite) []coalesce.Result[WorkerWriteResult] {
				return c.sendWorkerWrites(script, items)
			},
		}
	})
}

// sendWorkerWrites sends one batch: one listing when a write needs to know what the script holds,
// then one secrets-bulk call for every write that goes (see WriteWorkerSecrets).
func (c *Client) sendWorkerWrites(
	script WorkerScript, items []*queuedWorkerWrite,
) []coalesce.Result[WorkerWriteResult] {
	ctxs := make([]context.Context, len(items))
	for i, q := range items {
		ctxs[i] = q.ctx
	}
	ctx, cancel := coalesce.Context(ctxs)
	defer cancel()
	batch := *items[0].c
	batch.retry.Notify = func(_ context.Context, wait time.Duration, why string) {
		for _, q := range items {
			q.c.retry.Notify(q.ctx, wait, why)
		}
	}
	results := make([]coalesce.Result[WorkerWriteResult], len(items))
	plans := make([]workerPlan, len(items))
	listedAt := batch.now().UTC()
	var listed map[string]bool
	if slices.ContainsFunc(items, func(q *queuedWorkerWrite) bool {
		return len(q.write.Create) > 0 || len(q.write.Remove) > 0 || q.write.Prune != nil
	}) {
		secrets, err := batch.ListWorkerSecrets(ctx, script)
		if err != nil {
			for i := range results {
				results[i].Err = err
			}
			return results
		}
		listed = map[string]bool{}
		for _, s := range secrets {
			listed[s.Name] = true
		}
	}
	var sets []string
	for _, q := range items {
		sets = append(sets, slices.Collect(maps.Keys(q.write.Set))...)
	}
	var going []int
	for i, q := range items {
		plans[i], results[i].Err = batch.planWorkerWrite(ctx, script, q.write, listed, sets)
		if results[i].Err == nil && len(plans[i].changes) > 0 {
			going = append(going, i)
		}
		results[i].Value = WorkerWriteResult{At: listedAt, Removed: plans[i].removed, Kept: plans[i].kept}
	}
	send := func(c *Client, ctx context.Context, idx []int) {
		changes := map[string]*string{}
		for _, i := range idx {
			maps.Copy(changes, plans[i].changes)
		}
		at, err := c.PatchWorkerSecrets(ctx, script, changes)
		for _, i := range idx {
			if err != nil {
				results[i] = coalesce.Result[WorkerWriteResult]{Err: err}
			} else {
				results[i].Value.At = at
			}
		}
	}
	if len(going) == 0 {
		return results
	}
	send(&batch, ctx, going)
	if len(going) > 1 && refusedForContent(results[going[0]].Err) {
		for _, i := range going {
			results[i].Err = nil
			results[i].Value = WorkerWriteResult{Removed: plans[i].removed, Kept: plans[i].kept}
			send(items[i].c, items[i].ctx, []int{i})
		}
	}
	return results
}

// workerPlan is one write as it goes in a call: its changes (nil removes), and what it removes
// and keeps.
type workerPlan struct {
	changes map[string]*string
	removed []string
	kept    map[string]string
}

// planWorkerWrite decides one write from the listing taken for its call (nil when none was
// needed); sets are every name the call writes.
func (c *Client) planWorkerWrite(
	ctx context.Context, script WorkerScript, w WorkerWrite, listed map[string]bool, sets []string,
) (workerPlan, error) {
	plan := workerPlan{changes: map[string]*string{}, kept: map[string]string{}}
	var taken []string
	for _, name := range w.Create {
		if listed[name] {
			taken = append(taken, name)
		}
	}
	if len(taken) > 0 {
		slices.Sort(taken)
		return workerPlan{}, &WorkerExistsError{Script: script, Names: taken}
	}
	for name, value := range w.Set {
		plan.changes[name] = &value
	}
	remove := func(name string) {
		why := ""
		if c.shared.KeepWorkerSecret != nil {
			why = c.shared.KeepWorkerSecret(c.accountID, script, name, w.Owner)
		}
		if why == "" && slices.Contains(sets, name) {
			why = "another resource of the program writes it in the same call"
		}
		if why != "" {
			plan.kept[name] = why
			return
		}
		if listed[name] {
			plan.changes[name] = nil
			plan.removed = append(plan.removed, name)
		}
	}
	for _, name := range w.Remove {
		remove(name)
	}
	if w.Prune != nil {
		strays, kept, err := c.workerStrays(ctx, script, *w.Prune, w.Set, listed)
		if err != nil {
			return workerPlan{}, err
		}
		maps.Copy(plan.kept, kept)
		for _, name := range strays {
			remove(name)
		}
	}
	slices.Sort(plan.removed)
	return plan, nil
}

// WorkerStrays are the secrets of script that a write with prune would remove now, from a fresh
// listing, and those in its scope it keeps, and why: the rule WriteWorkerSecrets applies, for a
// preview and a refresh to show. managed are the names the resource writes.
func (c *Client) WorkerStrays(
	ctx context.Context, script WorkerScript, prune WorkerPrune, managed []string, ownerURN string,
) (strays []string, kept map[string]string, err error) {
	secrets, err := c.LookUpWorkerSecrets(ctx, script)
	if err != nil {
		return nil, nil, err
	}
	listed := map[string]bool{}
	for _, s := range secrets {
		listed[s.Name] = true
	}
	set := map[string]string{}
	for _, name := range managed {
		set[name] = ""
	}
	strays, kept, err = c.workerStrays(ctx, script, prune, set, listed)
	if err != nil {
		return nil, nil, err
	}
	var out []string
	for _, name := range strays {
		why := ""
		if c.shared.KeepWorkerSecret != nil {
			why = c.shared.KeepWorkerSecret(c.accountID, script, name, ownerURN)
		}
		if why != "" {
			kept[name] = why
		} else {
			out = append(out, name)
		}
	}
	return out, kept, nil
}

// workerStrays are the listed secrets in prune's scope that managed does not hold and that the
// script already had before prune.Before; kept are those in scope it leaves, and why.
func (c *Client) workerStrays(
	ctx context.Context, script WorkerScript, prune WorkerPrune, managed map[string]string, listed map[string]bool,
) (strays []string, kept map[string]string, err error) {
	kept = map[string]string{}
	var candidates []string
	for name := range listed {
		if _, ours := managed[name]; !ours && !slices.Contains(prune.Managed, name) && prune.Match(name) {
			candidates = append(candidates, name)
		}
	}
	if len(candidates) == 0 {
		return nil, kept, nil
	}
	slices.Sort(candidates)
	before, known, err := c.WorkerSecretNamesBefore(ctx, script, prune.Before)
	if err != nil {
		return nil, nil, err
	}
	for _, name := range candidates {
		switch {
		case !known:
			kept[name] = fmt.Sprintf("Cloudflare keeps no version history of Worker %q from before this resource took "+
				"its prune scope %s over, so the secret cannot be told to be older than that", script.String(),
				prune.Describe)
		case !slices.Contains(before, name):
			kept[name] = fmt.Sprintf("it appeared after this resource took its prune scope %s over: another resource, "+
				"stack or person writes it", prune.Describe)
		case slices.Contains(prune.RemovedSince, name):
			kept[name] = fmt.Sprintf("this resource removed it after taking its prune scope %s over, so it was written "+
				"again since: another resource, stack or person writes it", prune.Describe)
		default:
			strays = append(strays, name)
		}
	}
	return strays, kept, nil
}

// workerListing is what the instance has seen of one script's secrets, as one token sees them:
// the last listing and this instance's writes since, so that a refresh of many resources of one
// script costs one listing.
type workerListing struct {
	mu     sync.Mutex
	at     time.Time // when the listing was asked for; zero: none yet
	byName map[string]WorkerSecret
	fetch  chan struct{} // closed when the listing in flight is answered
	err    error
}

func (c *Client) workerListing(script WorkerScript) *workerListing {
	return c.shared.workerListings.Get(c.workerKey(script)+"\x00"+c.tokenKey, func() *workerListing {
		return &workerListing{}
	})
}

// observeWorker records what an answer at at showed of a script: a whole listing (full), or
// secrets written and removed.
func (c *Client) observeWorker(script WorkerScript, at time.Time, written []WorkerSecret, removed []string, full bool) {
	if !c.coordinated {
		return
	}
	l := c.workerListing(script)
	l.mu.Lock()
	defer l.mu.Unlock()
	if full {
		if at.Before(l.at) {
			return
		}
		l.at, l.byName = at, map[string]WorkerSecret{}
	}
	if l.byName == nil {
		return // no listing yet: the next look lists
	}
	for _, s := range written {
		l.byName[s.Name] = s
	}
	for _, name := range removed {
		delete(l.byName, name)
	}
}

// LookUpWorkerSecrets lists a script's secrets as the instance's shared listing of it shows them
// (at most ListingMaxAge old, with this instance's writes since): the reads of one operation
// share one list call per script. Without Options.Shared it is ListWorkerSecrets.
func (c *Client) LookUpWorkerSecrets(ctx context.Context, script WorkerScript) ([]WorkerSecret, error) {
	if !c.coordinated {
		return c.ListWorkerSecrets(ctx, script)
	}
	l := c.workerListing(script)
	for {
		l.mu.Lock()
		if l.byName != nil && c.now().Sub(l.at) < ListingMaxAge {
			out := slices.SortedFunc(maps.Values(l.byName), func(a, b WorkerSecret) int {
				return strings.Compare(a.Name, b.Name)
			})
			l.mu.Unlock()
			if out == nil {
				out = []WorkerSecret{}
			}
			return out, nil
		}
		fetch := l.fetch
		if fetch == nil {
			fetch = make(chan struct{})
			l.fetch = fetch
			go func() {
				_, err := c.ListWorkerSecrets(context.WithoutCancel(ctx), script)
				l.mu.Lock()
				l.err, l.fetch = err, nil
				l.mu.Unlock()
				close(fetch)
			}()
		}
		l.mu.Unlock()
		select {
		case <-fetch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		l.mu.Lock()
		err := l.err
		l.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
}
