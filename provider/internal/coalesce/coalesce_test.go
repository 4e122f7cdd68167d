package coalesce

import (
	"context"
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

// Calls that arrive together share a batch; a call that does not fit with one already taken
// waits for the next; a batch takes at most Limit; each caller gets its own answer.
func TestBatcher(t *testing.T) {
	rec := &batches{}
	b := &Batcher[string, int]{
		Window: Window{Gap: 20 * time.Millisecond, Max: time.Second},
		Fits:   func(taken []string, item string) bool { return !slices.Contains(taken, item) },
		Limit:  3,
		Send:   rec.send,
	}
	items := []string{"a", "bb", "a", "ccc", "dddd"}
	var wg sync.WaitGroup
	for _, item := range items {
		wg.Go(func() {
			if got, err := b.Do(context.Background(), item); err != nil || got != len(item) {
				t.Errorf("%q answered %d, %v", item, got, err)
			}
		})
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
	// Three at most: the first takes 3, the next what fits of the rest ("a" twice does not).
	if total != len(items) || len(rec.sent[0]) != 3 || len(rec.sent) > 3 {
		t.Errorf("batches %v", rec.sent)
	}
}

// A caller whose context ends while it queues is withdrawn; the rest are sent.
func TestBatcherWithdrawsACancelledCall(t *testing.T) {
	rec := &batches{}
	release := make(chan struct{})
	b := &Batcher[string, int]{Window: Window{Gap: time.Millisecond, Max: time.Millisecond},
		Ready: func([]string) { <-release }, Send: rec.send}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var withdrawn error
	wg.Go(func() { _, withdrawn = b.Do(ctx, "gone") })
	wg.Go(func() { _, _ = b.Do(context.Background(), "kept") })
	time.Sleep(20 * time.Millisecond)
	cancel()
	time.Sleep(20 * time.Millisecond)
	close(release)
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

// After a batch of n, the next gathers past quiet gaps until n have come (the engine's next
// round, handed over a few at a time), within Window.Max.
func TestBatcherWaitsForAsManyAsLastTime(t *testing.T) {
	rec := &batches{}
	b := &Batcher[string, int]{Window: Window{Gap: 10 * time.Millisecond, Max: 2 * time.Second}, Send: rec.send}
	round := func(stagger time.Duration) {
		var wg sync.WaitGroup
		for i := range 4 {
			wg.Go(func() { _, _ = b.Do(context.Background(), strings.Repeat("x", i+1)) })
			time.Sleep(stagger)
		}
		wg.Wait()
	}
	round(0)
	round(30 * time.Millisecond) // three quiet gaps on the way
	if len(rec.sent) != 2 || len(rec.sent[1]) != 4 {
		t.Errorf("batches %v, want two of 4", rec.sent)
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
