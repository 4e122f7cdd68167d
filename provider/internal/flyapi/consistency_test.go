package flyapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/emulatortest"
)

// waitLog records what a client says it waits for.
type waitLog struct {
	mu    sync.Mutex
	whys  []string
	total time.Duration
}

func (l *waitLog) notify(_ context.Context, d time.Duration, why string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.whys = append(l.whys, why)
	l.total += d
}

func (l *waitLog) said(part string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, why := range l.whys {
		if strings.Contains(why, part) {
			return true
		}
	}
	return false
}

// Reads ask for the newest secrets version known: the caller's, or one this process wrote.
func TestReadsAskForTheVersionWritten(t *testing.T) {
	var queries []string
	var mu sync.Mutex
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
			writeBody(w, `{"name":"A","digest":"d","version":7}`)
			return
		}
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		mu.Unlock()
		writeBody(w, `{"name":"A","digest":"d","secrets":[]}`)
	})
	ctx := context.Background()
	if _, err := c.GetSecret(ctx, "my-app", "A", 3); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SetSecret(ctx, "my-app", "A", "v"); err != nil {
		t.Fatal(err)
	}
	for _, read := range []func() error{
		func() error { _, err := c.GetSecret(ctx, "my-app", "A", 0); return err },
		func() error { _, err := c.GetSecret(ctx, "my-app", "A", 9); return err },
		func() error { _, err := c.ListSecrets(ctx, "my-app", 0); return err },
	} {
		if err := read(); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"version=3", "version=7", "version=9", "version=7"}
	if strings.Join(queries, " ") != strings.Join(want, " ") {
		t.Errorf("queries %q, want %q", queries, want)
	}
}

// A 412 (version not there yet) is lag: waited out, never an error of the user's.
func TestVersionNotYetAvailableIsRetried(t *testing.T) {
	var requests atomic.Int32
	log := &waitLog{}
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) <= 2 {
			writeError(w, http.StatusPreconditionFailed, `{"error":"min_secrets_version 4 is not yet available"}`)
			return
		}
		writeBody(w, `{"name":"A","digest":"d"}`)
	}, WithWaitNotifier(log.notify))
	if _, err := c.GetSecret(context.Background(), "my-app", "A", 4); err != nil {
		t.Fatal(err)
	}
	if requests.Load() != 3 || !log.said(`has not caught up with app "my-app"`) {
		t.Errorf("requests %d, waits %v", requests.Load(), log.whys)
	}
}

// A 404 that may be lag (no version to ask for) is retried for the read lag, then returned.
func TestLagging404IsRetriedForTheReadLag(t *testing.T) {
	var requests atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) <= 2 {
			writeError(w, http.StatusNotFound, `{"error":"secret not found"}`)
			return
		}
		writeBody(w, `{"name":"A","digest":"d"}`)
	}, WithReadLag(time.Second))
	if _, err := c.GetSecret(context.Background(), "my-app", "A", 0); err != nil {
		t.Fatalf("a secret that shows up within the lag: %v", err)
	}

	requests.Store(0)
	c, sleeps := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		writeError(w, http.StatusNotFound, `{"error":"secret not found"}`)
	}, WithReadLag(time.Second))
	_, err := c.GetSecret(context.Background(), "my-app", "A", 0)
	// Waited out to the end of the window, not a backoff beyond it.
	if !IsNotFound(err) || requests.Load() < 2 || sleeps.total() != time.Second {
		t.Errorf("err %v after %d requests and %v of waiting; want a 404 after 1s", err, requests.Load(), sleeps.total())
	}

	// Within the lag of this process's own write, a 404 is lag even with a version to ask for.
	requests.Store(0)
	c, _ = newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodDelete:
			writeBody(w, `{"version":5}`)
		case requests.Add(1) == 1:
			writeError(w, http.StatusNotFound, `{"error":"secret not found"}`)
		default:
			writeBody(w, `{"name":"A","digest":"d"}`)
		}
	}, WithReadLag(time.Second))
	if _, err := c.DeleteSecret(context.Background(), "my-app", "B"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetSecret(context.Background(), "my-app", "A", 5); err != nil || requests.Load() != 2 {
		t.Errorf("err %v after %d reads", err, requests.Load())
	}
}

// Requests to one app and action are paced to Fly's documented limit (1/s, bursts of 3);
// other apps and actions have their own pace.
func TestPacing(t *testing.T) {
	sleeps := &sleepRecorder{}
	log := &waitLog{}
	srv := func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		writeBody(w, `{"name":"A","version":1}`)
	}
	c, _ := newTestClient(t, srv)
	c = New(c.baseURL, testToken, withClock(sleeps.now, sleeps.sleep),
		WithShared(NewShared(SharedOptions{PerSecond: FlyRequestsPerSecond, Burst: FlyRequestBurst})),
		WithWaitNotifier(log.notify))
	ctx := context.Background()
	for i := range 6 {
		if _, err := c.SetSecret(ctx, "my-app", fmt.Sprintf("K%d", i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	// Three at once, then one a second.
	if got := sleeps.recorded(); len(got) != 3 ||
		sleeps.total() < 2900*time.Millisecond || sleeps.total() > 3100*time.Millisecond {
		t.Errorf("waits %v, want three of about 1s", got)
	}
	if !log.said(`pacing requests to app "my-app"`) {
		t.Errorf("waits said %v", log.whys)
	}
	before := len(sleeps.recorded())
	if _, err := c.SetSecret(ctx, "other-app", "A", "v"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteSecret(ctx, "my-app", "A"); err != nil {
		t.Fatal(err)
	}
	if len(sleeps.recorded()) != before {
		t.Errorf("another app or action waited: %v", sleeps.recorded()[before:])
	}
}

// The first failure: a dozen secrets written at once to one app, against Fly's rate
// limit (the emulator's default), all succeed: the process's clients queue within the limit.
func TestConcurrentWritesToOneAppStayWithinTheRateLimit(t *testing.T) {
	t.Parallel()
	srv, ts := emulatortest.Start(t, emulator.Options{FlyApps: []string{"busy"}})
	shared := NewShared(FlyPacing())
	var wg sync.WaitGroup
	errs := make([]error, 12)
	for i := range errs {
		wg.Go(func() {
			c := New(ts.URL, emulator.DefaultFlyToken, WithShared(shared))
			_, errs[i] = c.SetSecret(context.Background(), "busy", fmt.Sprintf("SECRET_%02d", i), "value")
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	// Paced, at most a request or two meets a 429 through timing jitter; unpaced, 9 of the 12
	// would at once, and their retries again.
	if n := srv.Stats().Routes["POST /v1/apps/{app}/secrets/{name}"]; n > 14 {
		t.Errorf("%d requests for 12 writes: the writes were not paced", n)
	}
}
