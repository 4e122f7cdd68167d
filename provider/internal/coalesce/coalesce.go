// Package coalesce combines calls that arrive together into one: the Pulumi engine runs up to
// --parallel resource operations at once, each making its own API call, while the APIs take
// many items per call and limit calls, not items. Both API clients use it; it has no Pulumi
// imports and knows nothing of either API.
package coalesce

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Signal makes a channel for a batcher's arrivals, and Poke signals on it without blocking.
func Signal() chan struct{} { return make(chan struct{}, 1) }

// Poke signals on ch without blocking; a signal already pending is enough.
func Poke(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Result is one item's answer from a batch.
type Result[R any] struct {
	Value R
	Err   error
}

// Batcher sends items in batches, one batch at a time: while a batch waits for its turn or is in
// flight, new items queue, and the next batch takes all that queued.
//
// A batch closes on what is known to be on its way, not on a timer:
//   - while an operation that entered on Key (InFlight) may still reach Stage, the batch waits
//     for it;
//   - the first batch then goes at once: a lone call waits for nothing; so do items a batch
//     left behind (they did not fit in it);
//   - a later batch also waits until as many items queue as the last batch took, when that was
//     more than one: the engine runs its operations in rounds of its parallelism, and hands the
//     provider each round's operations one at a time, a Check between each;
//   - Grace is the only clock, and only the liveness bound of that wait: a round smaller than
//     the last (the program's last one, or one that shares the engine with other resources)
//     goes once no item has queued and no operation has entered for Grace.
//
// The functions are called from the batcher's own goroutine, never two at once.
type Batcher[T, R any] struct {
	// InFlight, Key and Stage, when set, say which operations a batch waits for.
	InFlight *InFlight
	Key      string
	Stage    Stage
	// Grace ends the wait for a round as large as the last (default DefaultGrace).
	Grace time.Duration
	// Ready runs once each batch may close, with the items waiting then, before the batch
	// takes them (pacing to a rate limit goes here: arrivals during it join the batch). Optional.
	Ready func(waiting []T)
	// Fits says whether item may join a batch that already holds taken (e.g. no name twice in
	// one call); an item that does not fit waits for the next batch. Optional: all fit.
	Fits func(taken []T, item T) bool
	// Limit is the most items one batch takes; 0 is no limit.
	Limit int
	// Send sends one batch and returns one result per item, in order.
	Send func(items []T) []Result[R]

	mu      sync.Mutex
	pending []*call[T, R]
	running bool
	arrived chan struct{}
	last    int  // the last batch's size
	sent    int  // batches sent
	carried bool // the last batch left queued items behind (Fits, Limit): they go next, at once
}

// DefaultGrace is Batcher.Grace's default: far longer than the engine takes between two
// operations of one round, even on a busy machine, so that a round is never split by it.
const DefaultGrace = time.Second

type call[T, R any] struct {
	item  T
	taken bool // in a batch: the caller waits for its answer, whatever its context does
	done  chan struct{}
	res   Result[R]
}

// Do queues item and returns its answer. If ctx ends before the item is in a batch, it is
// withdrawn and ctx's error returned; once in a batch, Do waits for the batch, so that a write
// never goes unreported. op, when not nil, is the operation the item comes from: it reaches the
// batcher's Stage once the item is queued.
func (b *Batcher[T, R]) Do(ctx context.Context, item T, op *Op) (R, error) {
	c := &call[T, R]{item: item, done: make(chan struct{})}
	b.mu.Lock()
	if b.arrived == nil {
		b.arrived = Signal()
	}
	b.pending = append(b.pending, c)
	start := !b.running
	b.running = true
	b.mu.Unlock()
	op.Reached(b.Stage)
	Poke(b.arrived)
	if start {
		go b.run()
	}
	select {
	case <-c.done:
	case <-ctx.Done():
		if b.withdraw(c) {
			var zero R
			return zero, ctx.Err()
		}
		<-c.done
	}
	return c.res.Value, c.res.Err
}

func (b *Batcher[T, R]) withdraw(c *call[T, R]) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c.taken {
		return false
	}
	for i, p := range b.pending {
		if p == c {
			b.pending = append(b.pending[:i], b.pending[i+1:]...)
			break
		}
	}
	return true
}

// waiting lists the items queued now.
func (b *Batcher[T, R]) waiting() []T {
	b.mu.Lock()
	defer b.mu.Unlock()
	items := make([]T, len(b.pending))
	for i, p := range b.pending {
		items[i] = p.item
	}
	return items
}

func (b *Batcher[T, R]) run() {
	for {
		waiting := b.waiting()
		if len(waiting) == 0 {
			if b.stopIfIdle() {
				return
			}
			continue
		}
		b.gather()
		if waiting = b.waiting(); b.Ready != nil && len(waiting) > 0 {
			b.Ready(waiting)
		}
		batch := b.take()
		if batch == nil {
			return
		}
		items := make([]T, len(batch))
		for i, c := range batch {
			items[i] = c.item
		}
		results := b.Send(items)
		for i, c := range batch {
			c.res = results[i]
			close(c.done)
		}
	}
}

// gather waits until the batch may close (see Batcher).
func (b *Batcher[T, R]) gather() {
	grace := b.Grace
	if grace <= 0 {
		grace = DefaultGrace
	}
	quietSince := time.Now()
	for {
		var changed <-chan struct{}
		if b.InFlight != nil {
			changed = b.InFlight.Changed(b.Key)
			if b.InFlight.Pending(b.Key, b.Stage) > 0 {
				select {
				case <-changed:
				case <-b.arrived:
				}
				quietSince = time.Now()
				continue
			}
		}
		if b.roundComplete() {
			return
		}
		wait := time.Until(quietSince.Add(grace))
		if wait <= 0 {
			return
		}
		timer := time.NewTimer(wait)
		select {
		case <-changed:
			quietSince = time.Now()
		case <-b.arrived:
			quietSince = time.Now()
		case <-timer.C:
		}
		timer.Stop()
	}
}

// roundComplete says whether the batch holds what is known to come: anything, for the first
// batch; as many as the last took, when that was more than one.
func (b *Batcher[T, R]) roundComplete() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sent == 0 || b.carried || (b.last > 1 && len(b.pending) >= b.last)
}

// stopIfIdle ends the run when nothing is queued (under the lock, so that an arrival either
// sees the run going or starts a new one).
func (b *Batcher[T, R]) stopIfIdle() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pending) > 0 {
		return false
	}
	b.running = false
	return true
}

// take moves the queued items that fit into a batch; nil (and the batcher stops) when none is
// queued.
func (b *Batcher[T, R]) take() []*call[T, R] {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pending) == 0 {
		b.running = false
		return nil
	}
	var batch, rest []*call[T, R]
	var taken []T
	for _, c := range b.pending {
		full := b.Limit > 0 && len(batch) >= b.Limit
		if full || (b.Fits != nil && len(taken) > 0 && !b.Fits(taken, c.item)) {
			rest = append(rest, c)
			continue
		}
		c.taken = true
		batch = append(batch, c)
		taken = append(taken, c.item)
	}
	b.pending = rest
	b.last = len(batch)
	b.sent++
	b.carried = len(rest) > 0
	return batch
}

// Context is the context of a call made for several callers: it lasts while any of theirs does,
// and carries the first one's values. When every caller has a deadline it has the latest of
// them, and callers that all timed out leave it ended by that deadline (its error says the
// timeout, not a cancellation). cancel releases it.
func Context(callers []context.Context) (ctx context.Context, cancel context.CancelFunc) {
	base := context.WithoutCancel(callers[0])
	releaseDeadline := context.CancelFunc(func() {})
	if latest, ok := latestDeadline(callers); ok {
		base, releaseDeadline = context.WithDeadline(base, latest)
	}
	ctx, cancelAll := context.WithCancel(base)
	left := make(chan struct{}, len(callers))
	stops := make([]func() bool, len(callers))
	for i, caller := range callers {
		stops[i] = context.AfterFunc(caller, func() { left <- struct{}{} })
	}
	go func() {
		for range callers {
			select {
			case <-left:
			case <-ctx.Done():
				return
			}
		}
		if allTimedOut(callers) {
			return // the latest deadline has passed: ctx ends by it
		}
		cancelAll()
	}()
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancelAll()
		releaseDeadline()
	}
}

func latestDeadline(callers []context.Context) (time.Time, bool) {
	var latest time.Time
	for _, caller := range callers {
		d, ok := caller.Deadline()
		if !ok {
			return time.Time{}, false
		}
		if d.After(latest) {
			latest = d
		}
	}
	return latest, true
}

func allTimedOut(callers []context.Context) bool {
	for _, caller := range callers {
		if !errors.Is(caller.Err(), context.DeadlineExceeded) {
			return false
		}
	}
	return true
}
