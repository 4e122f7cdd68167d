// Package coalesce combines calls that arrive together into one: the Pulumi engine runs up to
// --parallel resource operations at once, each making its own API call, while the APIs take
// many items per call and limit calls, not items. Both API clients use it; it has no Pulumi
// imports and knows nothing of either API.
package coalesce

import (
	"context"
	"sync"
	"time"
)

// Window is how long a batch gathers before it is sent: until no call has arrived for Gap, and
// at most Max after gathering began, so that a steady stream of arrivals cannot hold a batch
// back for ever.
type Window struct {
	Gap, Max time.Duration
}

// DefaultWindow suits calls the engine starts together: the engine hands its next operations
// to the provider a few milliseconds apart (it records each finished one first), so a gap of
// tens of milliseconds gathers all of them, and costs little next to an API call.
var DefaultWindow = Window{Gap: 30 * time.Millisecond, Max: 300 * time.Millisecond}

// Or returns w with zero fields taken from def.
func (w Window) Or(def Window) Window {
	if w.Gap <= 0 {
		w.Gap = def.Gap
	}
	if w.Max <= 0 {
		w.Max = def.Max
	}
	return w
}

// Gather waits until no signal has come on arrived for w.Gap, or w.Max has passed since it
// began, or ctx ends. With enough (optional), a quiet gap ends it only once enough reports
// true: gathering goes on, up to w.Max, for calls still expected.
func (w Window) Gather(ctx context.Context, arrived <-chan struct{}, enough func() bool) {
	deadline := time.Now().Add(w.Max)
	for {
		wait := min(w.Gap, time.Until(deadline))
		if wait <= 0 {
			return
		}
		timer := time.NewTimer(wait)
		select {
		case <-arrived:
			timer.Stop()
		case <-timer.C:
			if enough == nil || enough() {
				return
			}
		case <-ctx.Done():
			timer.Stop()
			return
		}
	}
}

// Signal makes a channel for Gather, and Poke signals on it without blocking.
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

// Batcher sends items in batches, one batch at a time: while a batch gathers, waits for its
// turn or is in flight, new items queue, and the next batch takes all that queued.
//
// A batch gathers (Window) until no item has come for a while and it holds as many as the last
// batch did, or for Window.Max: the engine runs its operations in rounds of the same size (its
// parallelism), handing the provider each round's items a few milliseconds apart, so the last
// batch's size is the best guess of how many are still to come. The functions are called
// from the batcher's own goroutine, never two at once.
type Batcher[T, R any] struct {
	// Window is how long each batch gathers once it is ready to go.
	Window Window
	// Ready runs once each batch has gathered, with the items waiting then, before the batch
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
	last    int // the last batch's size
}

type call[T, R any] struct {
	item  T
	taken bool // in a batch: the caller waits for its answer, whatever its context does
	done  chan struct{}
	res   Result[R]
}

// Do queues item and returns its answer. If ctx ends before the item is in a batch, it is
// withdrawn and ctx's error returned; once in a batch, Do waits for the batch, so that a write
// never goes unreported.
func (b *Batcher[T, R]) Do(ctx context.Context, item T) (R, error) {
	c := &call[T, R]{item: item, done: make(chan struct{})}
	b.mu.Lock()
	if b.arrived == nil {
		b.arrived = Signal()
	}
	b.pending = append(b.pending, c)
	start := !b.running
	b.running = true
	b.mu.Unlock()
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
		b.Window.Gather(context.Background(), b.arrived, b.asManyAsLast)
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

// asManyAsLast reports whether as many items wait as the last batch took.
func (b *Batcher[T, R]) asManyAsLast() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending) >= b.last
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
	return batch
}

// Context is the context of a call made for several callers: it lasts while any of theirs does,
// and carries the first one's values. cancel releases it.
func Context(callers []context.Context) (ctx context.Context, cancel context.CancelFunc) {
	ctx, cancelAll := context.WithCancel(context.WithoutCancel(callers[0]))
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
		cancelAll()
	}()
	return ctx, func() {
		for _, stop := range stops {
			stop()
		}
		cancelAll()
	}
}
