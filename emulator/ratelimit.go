package emulator

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Fly's documented Machines API limits: 1 request/s per action, with bursts
// of 3, per machine for the routes of one machine and per app for the others;
// getting one machine has 5 requests/s with bursts of 10.
const (
	flyRatePerSecond           = 1.0
	flyRateBurst               = 3.0
	flyGetMachineRatePerSecond = 5.0
	flyGetMachineRateBurst     = 10.0
)

// flyGetMachinePattern is the route with its own, higher limit.
const flyGetMachinePattern = "GET /v1/apps/{app}/machines/{id}"

// Cloudflare's documented API limit: 1,200 requests per 5 minutes per user (all of a user's
// tokens together); past it, every call of the user is refused for the next 5 minutes.
const (
	DefaultCloudflareRateLimit  = 1200
	DefaultCloudflareRateWindow = 5 * time.Minute
	DefaultCloudflareLockout    = 5 * time.Minute
)

// rateLimiter is a set of token buckets, one per key.
type rateLimiter struct {
	perSecond float64
	burst     float64
	now       func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newRateLimiter(perSecond, burst float64, now func() time.Time) *rateLimiter {
	return &rateLimiter{perSecond: perSecond, burst: burst, now: now, buckets: map[string]*bucket{}}
}

// take spends a token for key. When none is left it reports how long until
// one is.
func (l *rateLimiter) take(key string) (ok bool, retryAfter time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, found := l.buckets[key]
	if !found {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.perSecond)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.perSecond * float64(time.Second))
}

func (l *rateLimiter) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buckets = map[string]*bucket{}
}

// retryAfterSeconds renders a wait as a Retry-After value: whole seconds,
// rounded up, at least 1.
func retryAfterSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

// windowLimiter is Cloudflare's limit: a count of requests per user in a window that starts
// with the user's first request; the request past the limit locks the user out, every request
// until the lockout ends is refused, and a new window starts then.
type windowLimiter struct {
	limit           int
	window, lockout time.Duration
	now             func() time.Time

	mu    sync.Mutex
	users map[string]*userWindow
}

type userWindow struct {
	start       time.Time
	count       int
	lockedUntil time.Time
}

// windowAnswer is what the limiter says of one request: whether it may go, what is left of
// the window (the Ratelimit header), and when refused how long until the next may.
type windowAnswer struct {
	ok         bool
	remaining  int
	reset      time.Duration // until the window (or the lockout) ends
	retryAfter time.Duration
}

func newWindowLimiter(limit int, window, lockout time.Duration, now func() time.Time) *windowLimiter {
	return &windowLimiter{limit: limit, window: window, lockout: lockout, now: now, users: map[string]*userWindow{}}
}

func (l *windowLimiter) take(user string) windowAnswer {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	u, found := l.users[user]
	if !found {
		u = &userWindow{start: now}
		l.users[user] = u
	}
	if now.Before(u.lockedUntil) {
		left := u.lockedUntil.Sub(now)
		return windowAnswer{reset: left, retryAfter: left}
	}
	if !now.Before(u.start.Add(l.window)) {
		u.start, u.count = now, 0
	}
	u.count++
	if u.count > l.limit {
		u.lockedUntil = now.Add(l.lockout)
		u.start, u.count = u.lockedUntil, 0
		return windowAnswer{reset: l.lockout, retryAfter: l.lockout}
	}
	return windowAnswer{ok: true, remaining: l.limit - u.count, reset: u.start.Add(l.window).Sub(now)}
}

func (l *windowLimiter) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.users = map[string]*userWindow{}
}

// headers writes Cloudflare's rate-limit headers (the IETF draft's structured form, on every
// answer): Ratelimit with what is left of the window and when it resets, Ratelimit-Policy
// with the quota and its window, and Retry-After on a refusal only.
func (l *windowLimiter) headers(h http.Header, a windowAnswer) {
	h.Set("Ratelimit", fmt.Sprintf(`"default";r=%d;t=%d`, a.remaining, retryAfterSeconds(a.reset)))
	h.Set("Ratelimit-Policy", fmt.Sprintf(`"default";q=%d;w=%d`, l.limit, retryAfterSeconds(l.window)))
	if !a.ok {
		h.Set("Retry-After", strconv.Itoa(retryAfterSeconds(a.retryAfter)))
	}
}
