package flyapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/backoff"
)

const testToken = "fm2_test-token-0123456789"

// sleepRecorder stands in for the clock: it records each wait and returns at once, moving its
// time on by the wait, so retry tests run fast and can assert the waits.
type sleepRecorder struct {
	mu      sync.Mutex
	waits   []time.Duration
	elapsed time.Duration
}

var clockStart = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func (s *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.elapsed += d
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleepRecorder) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return clockStart.Add(s.elapsed)
}

// options make a client use this clock and pace nothing (these tests are about one request's
// retries; TestPacing is about pacing).
func (s *sleepRecorder) options() []Option {
	return []Option{withClock(s.now, s.sleep), WithShared(NewShared(SharedOptions{}))}
}

func (s *sleepRecorder) total() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.elapsed
}

func (s *sleepRecorder) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// newTestClient serves handler on a real HTTP server and returns a client for it whose waits are
// recorded instead of taken.
func newTestClient(t *testing.T, handler http.HandlerFunc, opts ...Option) (*Client, *sleepRecorder) {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	sleeps := &sleepRecorder{}
	// The trailing slash checks that New trims it.
	opts = append(sleeps.options(), opts...)
	return New(srv.URL+"/", testToken, opts...), sleeps
}

// dropConnection closes the connection without answering, like a proxy or a crashed server.
func dropConnection(t *testing.T, w http.ResponseWriter) {
	t.Helper()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Errorf("hijack: %v", err)
		return
	}
	_ = conn.Close() // dropped unanswered, as a crash would: the close has nothing to report
}

func writeError(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	writeBody(w, body)
}

// writeBody writes a fake handler's answer. The write fails only when the client has gone (a
// timeout, a dropped connection), which the test sees on the client's side: it is ignored.
func writeBody(w io.Writer, body string) {
	_, _ = io.WriteString(w, body)
}

func TestNewDefaults(t *testing.T) {
	c := New("", "tok")
	if c.baseURL != DefaultBaseURL {
		t.Errorf("baseURL = %q", c.baseURL)
	}
	if c.retry != (retryPolicy{budget: 2 * time.Minute, minBackoff: 250 * time.Millisecond, maxBackoff: 8 * time.Second}) {
		t.Errorf("retry = %+v", c.retry)
	}
	if got := New(" http://127.0.0.1:4280// ", "tok").baseURL; got != "http://127.0.0.1:4280" {
		t.Errorf("baseURL = %q", got)
	}
	if got := New("", "", WithUserAgent("x/1")).userAgent; got != "x/1" {
		t.Errorf("userAgent = %q", got)
	}
	hc := &http.Client{}
	if New("", "", WithHTTPClient(hc)).httpClient != hc {
		t.Error("WithHTTPClient ignored")
	}
	if c.attemptTimeout != 60*time.Second || c.readLag != 2*time.Second {
		t.Errorf("attempt timeout %v, read lag %v", c.attemptTimeout, c.readLag)
	}
	// No two clients share anything unless told to: there is no process-wide state.
	if other := New("", ""); c.shared == nil || other.shared == c.shared || c.shared.opts.PerSecond == 0 {
		t.Errorf("clients made alone share %p and %p, pacing %v", c.shared, other.shared, c.shared.opts.PerSecond)
	}
	if got := New("", "", WithRetries(-1, 0, -1)).retry; got != (retryPolicy{0, defaultMinBackoff, defaultMinBackoff}) {
		t.Errorf("WithRetries with bad bounds = %+v", got)
	}
}

func TestNotFound(t *testing.T) {
	tests := []struct {
		body    string
		appGone bool
	}{
		{`{"error":"app not found"}`, true},
		{`{"error":"secret not found"}`, false},
		{`not json`, false},
	}
	for _, tt := range tests {
		body := tt.body
		c, sleeps := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			writeError(w, http.StatusNotFound, body)
		})
		// With a version to ask for and no recent write, a 404 is an answer, not lag.
		_, err := c.GetSecret(context.Background(), "my-app", "A", 1)
		if !IsNotFound(err) {
			t.Errorf("%s: IsNotFound(%v) = false", body, err)
		}
		if IsAppNotFound(err) != tt.appGone {
			t.Errorf("%s: IsAppNotFound(%v) = %v", body, err, !tt.appGone)
		}
		if IsUnauthorized(err) {
			t.Errorf("%s: IsUnauthorized(%v) = true", body, err)
		}
		if n := len(sleeps.recorded()); n != 0 {
			t.Errorf("%s: 404 was retried %d times", body, n)
		}
	}
	if IsNotFound(nil) || IsNotFound(errors.New("404")) {
		t.Error("IsNotFound is true for an error that is not an APIError")
	}
}

func TestUnauthorizedErrorText(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Fly-Request-Id", "01HZXREQUEST")
		writeError(w, http.StatusUnauthorized, `{"error":"Authenticate: token validation error"}`)
	})
	_, err := c.SetSecret(context.Background(), "my-app", "DATABASE_URL", "postgres://x")
	want := `fly: set secret "DATABASE_URL" on app "my-app": 401 Authenticate: token validation error ` +
		`(request id 01HZXREQUEST)`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant  %s", err, want)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.RequestID != "01HZXREQUEST" ||
		apiErr.Op != `set secret "DATABASE_URL" on app "my-app"` || apiErr.Attempts != 1 {
		t.Errorf("APIError = %#v", apiErr)
	}
	if !IsUnauthorized(err) {
		t.Error("IsUnauthorized = false for 401")
	}
}

func TestErrorMessages(t *testing.T) {
	long := strings.Repeat("<p>bad gateway</p>\n", 100)
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"error and message", 403, `{"error":"unauthorized","message":"token lacks app scope","status":403}`,
			`fly: get secret "A" on app "my-app": 403 unauthorized: token lacks app scope`},
		{"message only", 400, `{"message":"\"a-b\" is not a valid secret name"}`,
			`fly: get secret "A" on app "my-app": 400 "a-b" is not a valid secret name`},
		{"empty body", 400, ``, `fly: get secret "A" on app "my-app": 400 Bad Request`},
		{"plain text", 400, "bad\n  request\n", `fly: get secret "A" on app "my-app": 400 bad request`},
		{"long html is shortened", 502, long,
			`fly: get secret "A" on app "my-app": 502 ` +
				strings.TrimSpace(strings.Repeat("<p>bad gateway</p> ", 100))[:maxErrorTextRunes] + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				writeError(w, tt.status, tt.body)
			}, WithRetries(0, time.Millisecond, time.Millisecond))
			_, err := c.GetSecret(context.Background(), "my-app", "A", 1)
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v\nwant  %s", err, tt.want)
			}
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	var requests atomic.Int32
	c, sleeps := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) <= 2 {
			w.Header().Set("Retry-After", "3")
			writeError(w, http.StatusTooManyRequests, `{"error":"rate limited"}`)
			return
		}
		writeBody(w, `{"version":2}`)
	})
	if _, err := c.DeleteSecret(context.Background(), "my-app", "A"); err != nil {
		t.Fatal(err)
	}
	if got := sleeps.recorded(); len(got) != 2 || got[0] != 3*time.Second || got[1] != 3*time.Second {
		t.Errorf("waits = %v, want [3s 3s]", got)
	}
	if n := requests.Load(); n != 3 {
		t.Errorf("requests = %d, want 3", n)
	}
}

func TestRetryAfterForms(t *testing.T) {
	tests := []struct {
		name       string
		retryAfter func() string
		min, max   time.Duration
	}{
		{"seconds beyond maxBackoff are capped", func() string { return "120" }, 8 * time.Second, 8 * time.Second},
		{"zero", func() string { return "0" }, 0, 0},
		{"HTTP date", func() string { return clockStart.Add(5 * time.Second).UTC().Format(http.TimeFormat) },
			3 * time.Second, 5 * time.Second},
		{"HTTP date in the past", func() string { return "Mon, 02 Jan 2006 15:04:05 GMT" }, 0, 0},
		{"unreadable falls back to backoff", func() string { return "soon" }, 125 * time.Millisecond, 250 * time.Millisecond},
		// Fly documents no Retry-After on its 429s: without one, the client backs off.
		{"absent falls back to backoff", func() string { return "" }, 125 * time.Millisecond, 250 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var requests atomic.Int32
			c, sleeps := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				if requests.Add(1) == 1 {
					if v := tt.retryAfter(); v != "" {
						w.Header().Set("Retry-After", v)
					}
					writeError(w, http.StatusTooManyRequests, `{"error":"rate limited"}`)
					return
				}
				writeBody(w, `{"version":2}`)
			})
			if _, err := c.DeleteSecret(context.Background(), "my-app", "A"); err != nil {
				t.Fatal(err)
			}
			got := sleeps.recorded()
			if len(got) != 1 || got[0] < tt.min || got[0] > tt.max {
				t.Errorf("waits = %v, want one in [%v, %v]", got, tt.min, tt.max)
			}
		})
	}
}

func TestRetriesOn503ThenSucceeds(t *testing.T) {
	var requests atomic.Int32
	c, sleeps := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) <= 2 {
			writeError(w, http.StatusServiceUnavailable, `{"error":"try again"}`)
			return
		}
		writeBody(w, `{"secrets":[]}`)
	})
	if _, err := c.ListSecrets(context.Background(), "my-app", 0); err != nil {
		t.Fatal(err)
	}
	got := sleeps.recorded()
	if len(got) != 2 {
		t.Fatalf("waits = %v, want 2", got)
	}
	// Exponential with equal jitter: step 250ms then 500ms, each waited between half and all of it.
	if got[0] < 125*time.Millisecond || got[0] > 250*time.Millisecond ||
		got[1] < 250*time.Millisecond || got[1] > 500*time.Millisecond {
		t.Errorf("waits = %v, want ~[125ms..250ms, 250ms..500ms]", got)
	}
}

func TestRetriesOnDroppedConnectionReplayingTheBody(t *testing.T) {
	var (
		mu     sync.Mutex
		bodies []string
	)
	c, sleeps := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(body))
		first := len(bodies) == 1
		mu.Unlock()
		if first {
			dropConnection(t, w)
			return
		}
		w.WriteHeader(http.StatusCreated)
		writeBody(w, `{"name":"A","version":3}`)
	})
	res, err := c.SetSecret(context.Background(), "my-app", "A", "v1")
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != 3 {
		t.Errorf("version = %d", res.Version)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 || bodies[0] != `{"value":"v1"}` || bodies[1] != bodies[0] {
		t.Errorf("bodies = %q, want the same body twice", bodies)
	}
	if n := len(sleeps.recorded()); n != 1 {
		t.Errorf("waits = %d, want 1", n)
	}
}

// The budget is time, not attempts: with a Retry-After of 1s, a 2.5s budget allows two waits.
func TestGivesUpWhenTheBudgetIsSpent(t *testing.T) {
	var requests atomic.Int32
	c, sleeps := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Fly-Request-Id", fmt.Sprintf("req-%d", requests.Load()))
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, `{"error":"overloaded"}`)
	}, WithRetries(2500*time.Millisecond, time.Second, time.Second))
	_, err := c.GetSecret(context.Background(), "my-app", "A", 1)
	if n := requests.Load(); n != 3 {
		t.Errorf("requests = %d, want 3", n)
	}
	if n := len(sleeps.recorded()); n != 2 {
		t.Errorf("waits = %d, want 2", n)
	}
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || apiErr.Attempts != 3 {
		t.Fatalf("err = %#v", err)
	}
	// The last attempt's error is returned.
	want := `fly: get secret "A" on app "my-app": 503 overloaded (request id req-3, after 3 attempts)`
	if err.Error() != want {
		t.Errorf("err = %v\nwant  %s", err, want)
	}
}

func TestGivesUpOnDroppedConnections(t *testing.T) {
	var requests atomic.Int32
	const budget = 10 * time.Millisecond
	c, sleeps := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		dropConnection(t, w)
	}, WithRetries(budget, time.Millisecond, time.Millisecond))
	_, err := c.SetSecret(context.Background(), "my-app", "A", "v")
	n := requests.Load()
	if n < 3 || sleeps.total() > budget {
		t.Errorf("requests = %d, waited %v; want several within %v", n, sleeps.total(), budget)
	}
	if err == nil || !strings.HasPrefix(err.Error(), `fly: set secret "A" on app "my-app": `) ||
		!strings.HasSuffix(err.Error(), fmt.Sprintf("(after %d attempts)", n)) {
		t.Errorf("err = %v", err)
	}
}

// A per-attempt timeout ends a hung attempt, which is then retried like a dropped connection.
func TestAttemptTimeoutRetriesAHungRequest(t *testing.T) {
	var requests atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 {
			<-r.Context().Done() // hangs until the client gives up on the attempt
			return
		}
		writeBody(w, `{"secrets":[]}`)
	}, WithAttemptTimeout(50*time.Millisecond))
	start := time.Now()
	if _, err := c.ListSecrets(context.Background(), "my-app", 0); err != nil {
		t.Fatal(err)
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("requests = %d, want 2", n)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("took %v: the hung attempt was not cut short", elapsed)
	}
}

func TestRetriesWhenConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	// Nothing listens there now.
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	sleeps := &sleepRecorder{}
	opts := append(sleeps.options(), WithRetries(2500*time.Millisecond, time.Second, time.Second))
	c := New("http://"+addr, testToken, opts...)
	_, err = c.ListSecrets(context.Background(), "my-app", 0)
	// Waits of 0.5s to 1s within 2.5s: between 2 and 4 of them.
	n := len(sleeps.recorded())
	if n < 2 || n > 4 || err == nil || !strings.Contains(err.Error(), fmt.Sprintf("after %d attempts", n+1)) {
		t.Errorf("err = %v after %d waits", err, n)
	}
}

// Racing writes are retried like any transient failure, for the whole budget: a stack under
// 409s must converge, and a 409 that never ends still comes back as itself.
func TestConflictIsRetriedWithinTheBudget(t *testing.T) {
	var requests atomic.Int32
	c, sleeps := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) <= 5 {
			writeError(w, http.StatusConflict, `{"error":"concurrent update"}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
		writeBody(w, `{"name":"A","version":6}`)
	})
	if _, err := c.SetSecret(context.Background(), "my-app", "A", "v"); err != nil {
		t.Fatalf("five 409s then a success: %v", err)
	}
	if n := len(sleeps.recorded()); n != 5 {
		t.Errorf("waits = %d, want 5", n)
	}

	const budget = 5 * time.Second
	c, sleeps = newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusConflict, `{"error":"concurrent update"}`)
	}, WithRetries(budget, 250*time.Millisecond, time.Second))
	_, err := c.SetSecret(context.Background(), "my-app", "A", "v")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusConflict || sleeps.total() > budget {
		t.Errorf("err = %v after waiting %v", err, sleeps.total())
	}
}

func TestNoRetryOnOtherClientErrors(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 412, 422} {
		var requests atomic.Int32
		c, sleeps := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			writeError(w, status, `{"error":"no"}`)
		})
		_, err := c.SetSecret(context.Background(), "my-app", "A", "v")
		if statusOf(err) != status || requests.Load() != 1 || len(sleeps.recorded()) != 0 {
			t.Errorf("%d: err = %v after %d requests, %d waits; want one request",
				status, err, requests.Load(), len(sleeps.recorded()))
		}
	}
}

func TestCancellationStopsRetrying(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		writeError(w, http.StatusServiceUnavailable, `{"error":"down"}`)
	}))
	defer srv.Close()
	// The real sleep with a wait long enough that only cancellation can end it; the caller gives
	// up just as the client starts waiting.
	cancelThenSleep := func(ctx context.Context, d time.Duration) error {
		cancel()
		return backoff.Sleep(ctx, d)
	}
	c := New(srv.URL, testToken, WithRetries(10*time.Hour, time.Hour, time.Hour), withClock(time.Now, cancelThenSleep))
	start := time.Now()
	_, err := c.GetSecret(ctx, "my-app", "A", 1)
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("took %v", elapsed)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if statusOf(err) != 503 {
		t.Errorf("err = %v, want the last APIError inside", err)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("requests = %d, want 1", n)
	}
}

func TestCanceledContextMakesNoRetries(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c, sleeps := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		t.Error("request sent with a canceled context")
	})
	if _, err := c.ListSecrets(ctx, "my-app", 0); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
	if n := len(sleeps.recorded()); n != 0 {
		t.Errorf("waits = %d", n)
	}
}

func TestErrorsNeverContainValueOrToken(t *testing.T) {
	const (
		token = "FlyV1 fm1r_macaroon-part-one,fm2_macaroon-part-two"
		value = `s3cr3t-"value"-<&>`
	)
	forbidden := []string{value, `s3cr3t-\"value\"-\u003c\u0026\u003e`, `s3cr3t-\"value\"-<&>`,
		"fm1r_macaroon-part-one", "fm2_macaroon-part-two", "macaroon-part"}

	echo := func(r *http.Request) string {
		body, _ := io.ReadAll(r.Body)
		return fmt.Sprintf("got %s with auth %s", body, r.Header.Get("Authorization"))
	}
	handlers := map[string]http.HandlerFunc{
		"400 JSON echoing the request": func(w http.ResponseWriter, r *http.Request) {
			writeError(w, 400, fmt.Sprintf(`{"error":%q,"message":%q}`, echo(r), value))
		},
		"401 plain text echoing the request": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(401)
			writeBody(w, echo(r))
		},
		"500 long text echoing the request past the cut": func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(500)
			writeBody(w, strings.Repeat("x", maxErrorTextRunes-5)+echo(r))
		},
		"409 until giving up": func(w http.ResponseWriter, r *http.Request) {
			writeError(w, 409, fmt.Sprintf(`{"error":%q}`, echo(r)))
		},
		"dropped connection": func(w http.ResponseWriter, r *http.Request) {
			dropConnection(t, w)
		},
		"undecodable success": func(w http.ResponseWriter, r *http.Request) {
			writeBody(w, `{"name": `+value)
		},
	}
	ctx := context.Background()
	calls := map[string]func(*Client) error{
		"SetSecret": func(c *Client) error { _, err := c.SetSecret(ctx, "my-app", "A", value); return err },
		"UpdateSecrets": func(c *Client) error {
			v := value
			_, err := c.UpdateSecrets(ctx, "my-app", map[string]*string{"A": &v, "B": nil})
			return err
		},
	}
	check := func(t *testing.T, err error) {
		t.Helper()
		if err == nil {
			t.Fatal("no error")
		}
		texts := []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)}
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			texts = append(texts, fmt.Sprintf("%#v", *apiErr))
		}
		for _, text := range texts {
			for _, secret := range forbidden {
				if strings.Contains(text, secret) {
					t.Errorf("error text contains %q:\n%s", secret, text)
				}
			}
		}
	}
	for hname, handler := range handlers {
		for cname, call := range calls {
			t.Run(hname+"/"+cname, func(t *testing.T) {
				srv := httptest.NewServer(handler)
				defer srv.Close()
				sleeps := &sleepRecorder{}
				opts := append(sleeps.options(), WithRetries(5*time.Millisecond, time.Millisecond, time.Millisecond))
				check(t, call(New(srv.URL, token, opts...)))
			})
		}
	}
	t.Run("canceled while waiting", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			writeError(w, 503, fmt.Sprintf(`{"error":%q}`, echo(r)))
		}))
		defer srv.Close()
		cancelThenSleep := func(ctx context.Context, d time.Duration) error {
			cancel()
			return backoff.Sleep(ctx, d)
		}
		c := New(srv.URL, token, WithRetries(10*time.Hour, time.Hour, time.Hour), withClock(time.Now, cancelThenSleep))
		_, err := c.SetSecret(ctx, "my-app", "A", value)
		check(t, err)
	})
	t.Run("server echo is redacted, not dropped", func(t *testing.T) {
		srv := httptest.NewServer(handlers["400 JSON echoing the request"])
		defer srv.Close()
		_, err := New(srv.URL, token).SetSecret(ctx, "my-app", "A", value)
		if err == nil || !strings.Contains(err.Error(), redacted) {
			t.Errorf("err = %v, want %s in place of the secrets", err, redacted)
		}
	})
}
