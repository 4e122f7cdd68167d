package emulator

import (
	"math"
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

// Cloudflare's documented API limit: 1,200 requests per 5 minutes per user, a
// bucket that refills at 4 requests/s.
const (
	cloudflareRateBurst     = 1200.0
	cloudflareRatePerSecond = cloudflareRateBurst / 300
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
