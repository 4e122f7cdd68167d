package coalesce

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// batches records the batches a Batcher sends; each send takes a while, as an API call does.
type batches struct {
	mu   sync.Mutex
	sent [][]string
}

func (b *batches) send(items []string) []Result[int] {
	time.Sleep(20 * time.Millisecond)
	b.mu.Lock()
	b.sent = append(b.sent, slices.Clone(items))
	b.mu.Unlock()
	out := make([]Result[int], len(items))
	for i, item := range items {
		out[i] = Result[int]{Value: len(item)}
	}
	return out
}

// enterAll enters n operations on "k" that will reach "write": a batch waits for all of them.
func enterAll(f *InFlight, n int) []*Op {
	ops := make([]*Op, n)
	for i := range ops {
		ops[i] = f.Enter("k", "write")
	}
	return ops
}

// Calls on their way share a batch; a call that does not fit with one already taken waits for
// the next; a batch takes at most Limit; each caller gets its own answer.
func TestBatcher(t *testing.T) {
	rec := &batches{}
	var f InFlight
	b := &Batcher[string, int]{
		InFlight: &f, Key: "k", Stage: "write", Grace: time.Hour,
		Fits:  func(taken []string, item string) bool { return !slices.Contains(taken, item) },
		Limit: 3,
		Send:  rec.send,
	}
	items := []string{"a", "bb", "a", "ccc", "dddd"}
	ops := enterAll(&f, len(items))
	var wg sync.WaitGroup
	for i, item := range items {
		wg.Go(func() {
			defer ops[i].End()
			if got, err := b.doReached(ops[i], item); err != nil || got != len(item) {
				t.Errorf("%q answered %d, %v", item, got, err)
			}
		})
		// Queued in this order, by construction: the batch is decided by the order of arrival,
		// not by which goroutine the scheduler runs first.
		for f.Pending("k", "write") > len(items)-1-i {
			time.Sleep(time.Millisecond)
		}
	}
	wg.Wait()
	total := 0
	for _, batch := range rec.sent {
		total += len(batch)
		slices.Sort(batch)
		if len(batch) > 3 || len(slices.Compact(slices.Clone(batch))) != len(batch) {
			t.Errorf("batch %v: more than 3, or a name twice", batch)
		}
	}
	// Two: the first takes 3 in order of arrival, leaving the second "a" behind; the next the
	// other 2.
	want := [][]string{{"a", "bb", "ccc"}, {"a", "dddd"}}
	if total != len(items) || !slices.EqualFunc(rec.sent, want, slices.Equal) {
		t.Errorf("batches %v", rec.sent)
	}
}

// doReached queues item for op, which has then reached its stage.
func (b *Batcher[T, R]) doReached(op *Op, item T) (R, error) {
	return b.Do(context.Background(), item, op)
}

// A lone call waits for nothing: the first batch goes as soon as nothing else is on its way.
func TestALoneCallGoesAtOnce(t *testing.T) {
	rec := &batches{}
	b := &Batcher[string, int]{Grace: time.Hour, Send: rec.send}
	if _, err := b.Do(context.Background(), "lone", nil); err != nil || len(rec.sent) != 1 {
		t.Errorf("%v, batches %v", err, rec.sent)
	}
}

// A caller whose context ends while it queues is withdrawn; the rest are sent.
func TestBatcherWithdrawsACancelledCall(t *testing.T) {
	rec := &batches{}
	var f InFlight
	hold := f.Enter("k", "write") // keeps the batch from closing until it ends
	b := &Batcher[string, int]{InFlight: &f, Key: "k", Stage: "write", Send: rec.send}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var withdrawn error
	wg.Go(func() { _, withdrawn = b.Do(ctx, "gone", nil) })
	wg.Go(func() { _, _ = b.Do(context.Background(), "kept", nil) })
	for len(b.waiting()) < 2 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	for len(b.waiting()) > 1 {
		time.Sleep(time.Millisecond)
	}
	hold.End()
	wg.Wait()
	if withdrawn == nil || len(rec.sent) != 1 || !slices.Equal(rec.sent[0], []string{"kept"}) {
		t.Errorf("withdrawn %v; batches %v", withdrawn, rec.sent)
	}
}

// A context made for several callers ends when all of theirs have, not before.
func TestContextLastsWhileAnyCallerWaits(t *testing.T) {
	a, cancelA := context.WithCancel(context.Background())
	b, cancelB := context.WithCancel(context.Background())
	ctx, release := Context([]context.Context{a, b})
	defer release()
	cancelA()
	select {
	case <-ctx.Done():
		t.Fatal("ended while a caller still waits")
	case <-time.After(20 * time.Millisecond):
	}
	cancelB()
	select {
	case <-ctx.Done():
	case <-time.After(time.Second):
		t.Fatal("still going after every caller left")
	}
}

// Callers that all timed out end the shared context by a deadline: the call's error says the
// timeout (as each caller's would), not a cancellation.
func TestContextOfCallersThatTimedOutSaysDeadline(t *testing.T) {
	a, cancelA := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancelA()
	b, cancelB := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancelB()
	ctx, release := Context([]context.Context{a, b})
	defer release()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("still going after every caller timed out")
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Errorf("ended with %v, want the deadline", ctx.Err())
	}
	// Not before the latest caller's deadline (b's timer may fire a moment after ctx's: both
	// are due at one instant).
	if latest, _ := b.Deadline(); time.Now().Before(latest) {
		t.Error("ended before its callers' deadlines")
	}
}

// After a batch of n, the next waits until n have come (the engine's next round, handed over one
// at a time), however far apart they come: Grace is far away.
func TestBatcherWaitsForAsManyAsLastTime(t *testing.T) {
	rec := &batches{}
	var f InFlight
	b := &Batcher[string, int]{InFlight: &f, Key: "k", Stage: "write", Grace: time.Hour, Send: rec.send}
	round := func(n int, stagger time.Duration) {
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { _, _ = b.Do(context.Background(), strings.Repeat("x", i+1), nil) })
			time.Sleep(stagger)
		}
		wg.Wait()
	}
	ops := enterAll(&f, 4)
	var wg sync.WaitGroup
	for i, op := range ops {
		wg.Go(func() { defer op.End(); _, _ = b.doReached(op, strings.Repeat("y", i+1)) })
	}
	wg.Wait()                     // a round of 4, on its way together
	round(4, 30*time.Millisecond) // the next round, one at a time
	if len(rec.sent) != 2 || len(rec.sent[0]) != 4 || len(rec.sent[1]) != 4 {
		t.Errorf("batches %v, want two of 4", rec.sent)
	}
}

// A round smaller than the last goes once nothing has come for Grace: the wait for as many as
// last time has a bound.
func TestASmallerRoundGoesAfterTheGrace(t *testing.T) {
	rec := &batches{}
	var f InFlight
	b := &Batcher[string, int]{InFlight: &f, Key: "k", Stage: "write", Grace: 50 * time.Millisecond, Send: rec.send}
	for _, n := range []int{4, 4, 2} {
		ops := enterAll(&f, n)
		var wg sync.WaitGroup
		for i, op := range ops {
			wg.Go(func() { defer op.End(); _, _ = b.doReached(op, fmt.Sprint(n, i)) })
		}
		wg.Wait()
	}
	if len(rec.sent) != 3 || len(rec.sent[2]) != 2 {
		t.Errorf("batches %v", rec.sent)
	}
}

func TestKeyedMakesOnceAndDropsByPrefix(t *testing.T) {
	var k Keyed[int]
	made := 0
	next := func() *int { made++; v := made; return &v }
	a := k.Get("api-a\x00app", next)
	if b := k.Get("api-a\x00app", next); b != a || made != 1 {
		t.Fatalf("a second Get made another value (%d made)", made)
	}
	other := k.Get("api-b\x00app", next)
	k.DropPrefix("api-a\x00")
	if c := k.Get("api-a\x00app", next); c == a || made != 3 {
		t.Errorf("after DropPrefix, Get returned the dropped value (%d made)", made)
	}
	if d := k.Get("api-b\x00app", next); d != other {
		t.Errorf("DropPrefix dropped a key of another prefix")
	}
}
