package cfapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/emulatortest"
)

const routeCreateSecrets = "POST /client/v4/accounts/{account_id}/secrets_store/stores/{store_id}/secrets"

// A create the server applied but whose answer was lost is recovered with one lookup, never
// repeated: the "already exists ... set adopt: true" on every later up.
func TestLostCreateAnswerIsRecoveredNotRepeated(t *testing.T) {
	srv, ts := emulatortest.Start(t, emulator.Options{LostResponseRate: 1})
	c := New(ts.URL+"/client/v4", emulator.DefaultCloudflareToken, account, Options{})
	store := accountStore(t, c)
	srv.ResetStats()
	created, err := c.CreateSecrets(t.Context(), store.ID, []NewSecret{
		{Name: "A", Value: "a", Scopes: []string{"workers"}}, {Name: "B", Value: "b", Scopes: []string{"workers"}},
	}, nil)
	require.NoError(t, err)
	require.Len(t, created, 2)
	assert.Equal(t, []string{"A", "B"}, []string{created[0].Name, created[1].Name})
	assert.NotEmpty(t, created[0].ID)
	assert.Equal(t, 1, srv.Stats().Routes[routeCreateSecrets], "the create is sent once")
	all, err := c.ListSecrets(t.Context(), store.ID, "")
	require.NoError(t, err)
	assert.Len(t, all, 2, "no duplicate")

	// A secret that was there before the create is not taken as the create's own.
	_, err = c.CreateSecrets(t.Context(), store.ID,
		[]NewSecret{{Name: "A", Value: "other", Scopes: []string{"workers"}}}, nil)
	assert.True(t, NameMayBeTaken(err), "%v", err)
}

func TestLostStoreCreateAnswerIsRecovered(t *testing.T) {
	srv, ts := emulatortest.Start(t, emulator.Options{LostResponseRate: 1, CloudflareEmptyAccount: true})
	c := New(ts.URL+"/client/v4", emulator.DefaultCloudflareToken, account, Options{})
	store, err := c.CreateStore(t.Context(), "edge")
	require.NoError(t, err)
	assert.Equal(t, "edge", store.Name)
	assert.Equal(t, 1, srv.Stats().Routes["POST /client/v4/accounts/{account_id}/secrets_store/stores"])
	stores, err := c.ListStores(t.Context())
	require.NoError(t, err)
	assert.Len(t, stores, 1)
	// The account's one store, made before: a second create fails as the API would.
	_, err = c.CreateStore(t.Context(), "edge")
	assert.True(t, StoreLimitReached(err), "%v", err)
}

// Two creates of one name in one process at once: the second fails at once, so that only
// one caller can ever take the secret as its own.
func TestConcurrentCreatesOfOneNameAreRefused(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(arrived) })
		<-release
		w.Header().Set("Content-Type", "application/json")
		writeBody(w, `{"success":true,"errors":[],"messages":[],`+
			`"result":[{"id":"`+fmt.Sprintf("%032d", 1)+`","name":"A","status":"pending"}]}`)
	}))
	defer ts.Close()
	c := New(ts.URL, "t", account, Options{})
	store := fmt.Sprintf("%032d", 7)
	first := make(chan error, 1)
	go func() {
		_, err := c.CreateSecrets(context.Background(), store,
			[]NewSecret{{Name: "A", Value: "1", Scopes: []string{"workers"}}}, nil)
		first <- err
	}()
	<-arrived
	_, err := c.CreateSecrets(t.Context(), store, []NewSecret{{Name: "A", Value: "2", Scopes: []string{"workers"}}}, nil)
	assert.ErrorContains(t, err, "another resource of this program is creating \"A\"")
	close(release)
	require.NoError(t, <-first)
	// Once the first is done, the name is free again.
	_, err = c.CreateSecrets(t.Context(), store, []NewSecret{{Name: "A", Value: "3", Scopes: []string{"workers"}}}, nil)
	assert.NoError(t, err)
}

// fakeClock is a client's clock that moves only when the client sleeps: a wait of minutes takes
// no time, and what the client told of each wait is recorded.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
	told  []string
}

func (f *fakeClock) install(c *Client, start time.Time) {
	f.now = start
	c.now = func() time.Time { f.mu.Lock(); defer f.mu.Unlock(); return f.now }
	c.sleep = func(ctx context.Context, d time.Duration) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.now = f.now.Add(d)
		f.slept = append(f.slept, d)
		return ctx.Err()
	}
	c.retry.Notify = func(_ context.Context, d time.Duration, why string) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.told = append(f.told, fmt.Sprintf("%s: %s", d, why))
	}
}

// rateLimitedServer refuses its first answer with 429 and Retry-After seconds (the lockout),
// then answers with Ratelimit saying left requests remain for reset seconds.
func rateLimitedServer(t *testing.T, retryAfter string, left, reset int) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if calls.Add(1) == 1 && retryAfter != "" {
			w.Header().Set("Ratelimit", `"default";r=0;t=`+retryAfter)
			w.Header().Set("Retry-After", retryAfter)
			w.WriteHeader(http.StatusTooManyRequests)
			writeBody(w, `{"success":false,"errors":[{"code":971,"message":"Please wait"}],"messages":[],"result":null}`)
			return
		}
		w.Header().Set("Ratelimit", fmt.Sprintf(`"default";r=%d;t=%d`, left, reset))
		w.Header().Set("Ratelimit-Policy", `"default";q=1200;w=300`)
		writeBody(w, `{"success":true,"errors":[],"messages":[],"result":{"secrets":{"quota":100,"usage":0}}}`)
	}))
	t.Cleanup(ts.Close)
	return ts, &calls
}

// A lockout is waited out whole (cloudflare-go would sleep it silently; a cap of seconds would
// spend the retries inside it), told as a countdown, and then the call goes again.
func TestALockoutIsWaitedOutWithACountdown(t *testing.T) {
	ts, calls := rateLimitedServer(t, "25", 1000, 300)
	c := New(ts.URL, "t", account, Options{MaxBackoff: 20 * time.Millisecond})
	clock := &fakeClock{}
	clock.install(c, time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	_, err := c.GetQuota(t.Context())
	require.NoError(t, err)
	assert.Equal(t, int32(2), calls.Load())
	assert.Equal(t, []time.Duration{10 * time.Second, 10 * time.Second, 5 * time.Second}, clock.slept)
	assert.Equal(t, []string{
		"25s: Cloudflare's API rate limit: calls resume at 12:00:25 UTC",
		"15s: Cloudflare's API rate limit: calls resume at 12:00:25 UTC",
		"5s: Cloudflare's API rate limit: calls resume at 12:00:25 UTC",
	}, clock.told)
}

// A lockout that outlasts the operation's timeout fails at once, naming the time left and what
// to do, and sends nothing more.
func TestALockoutLongerThanTheTimeoutFailsAtOnce(t *testing.T) {
	ts, calls := rateLimitedServer(t, "300", 1000, 300)
	c := New(ts.URL, "t", account, Options{})
	clock := &fakeClock{}
	clock.install(c, time.Now()) // a real deadline: the operation's timeout
	ctx, cancel := context.WithDeadline(t.Context(), clock.now.Add(time.Minute))
	defer cancel()
	_, err := c.GetQuota(ctx)
	var limited *RateLimitedError
	require.ErrorAs(t, err, &limited)
	assert.Equal(t, 5*time.Minute, limited.Left)
	assert.ErrorContains(t, err, "calls resume in 5m0s, at "+clock.now.Add(5*time.Minute).UTC().Format("15:04:05 UTC"))
	assert.ErrorContains(t, err, "customTimeouts")
	assert.Equal(t, int32(1), calls.Load())
	assert.Empty(t, clock.slept)
}

// The client paces before it is refused: when an answer says no more than the reserve is left,
// the next request waits for the window to reset instead of locking the user out.
func TestRequestsWaitForTheWindowWhenLittleIsLeft(t *testing.T) {
	ts, calls := rateLimitedServer(t, "", rateReserve, 40)
	c := New(ts.URL, "t", account, Options{})
	clock := &fakeClock{}
	clock.install(c, time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC))
	_, err := c.GetQuota(t.Context())
	require.NoError(t, err)
	assert.Empty(t, clock.slept, "the first request waits for nothing")
	_, err = c.GetQuota(t.Context())
	require.NoError(t, err)
	assert.Equal(t, int32(2), calls.Load())
	assert.Equal(t, []time.Duration{10 * time.Second, 10 * time.Second, 10 * time.Second, 10 * time.Second},
		clock.slept, "the second waited the 40s to the window's reset")
}

// The header's structured list: the item with the fewest requests left decides.
func TestParseRatelimit(t *testing.T) {
	for _, c := range []struct {
		in     string
		left   int
		reset  time.Duration
		parsed bool
	}{
		{`"default";r=50;t=30`, 50, 30 * time.Second, true},
		{`"default";r=50;t=30, "burst";r=3;t=1`, 3, time.Second, true},
		{` "default" ; r=7 ; t=2 `, 7, 2 * time.Second, true},
		{``, 0, 0, false},
		{`"default";r=x;t=30`, 0, 0, false},
		{`"default";t=30`, 0, 0, false},
	} {
		left, reset, ok := parseRatelimit(c.in)
		assert.Equal(t, []any{c.left, c.reset, c.parsed}, []any{left, reset, ok}, c.in)
	}
}

// A create that met a 5xx is never sent again blindly (the 5xx may come from a proxy after the
// write): it is looked up, and sent again only when it is not there.
func TestCreateAfterServerErrorIsLookedUpFirst(t *testing.T) {
	srv, ts := emulatortest.Start(t, emulator.Options{FailRate: 1})
	c := New(ts.URL+"/client/v4", emulator.DefaultCloudflareToken, account,
		Options{RetryBudget: 50 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	_, err := c.CreateSecrets(t.Context(), fmt.Sprintf("%032d", 3),
		[]NewSecret{{Name: "A", Value: "v", Scopes: []string{"workers"}}}, nil)
	require.Error(t, err)
	assert.Equal(t, 1, srv.Stats().Routes[routeCreateSecrets], "a create that met a 5xx is not repeated before a lookup")
}
