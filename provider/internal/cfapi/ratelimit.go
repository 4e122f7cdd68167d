package cfapi

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Cloudflare's API limit is global, per user across all of the user's tokens (1,200 requests
// per 5 minutes), and the request past it locks the user out: every call is refused with 429
// for the next 5 minutes. A client that learns of the limit from a refusal has already cost its
// user those 5 minutes, so the client paces from what every answer tells: the Ratelimit header
// says how many requests are left in the window and when it resets; Retry-After (on refusals
// only) how long the lockout lasts. See docs/contract-cloudflare-secrets-store.md.

// rateReserve is how many requests of a window the provider leaves to the user's other tools
// (the dashboard, wrangler), which spend from the same count.
const rateReserve = 2

// DefaultRateLimitWait is how long, in all, an operation with no timeout of its own waits for
// Cloudflare's rate limit: two lockouts. An operation with a timeout (customTimeouts) waits as
// long as its timeout allows.
const DefaultRateLimitWait = 10 * time.Minute

// rateGauge is what Cloudflare has said of one token's rate limit, less the requests sent since.
// The Clients of a provider instance with one API URL and token share one (Shared.gauge).
type rateGauge struct {
	mu          sync.Mutex
	known       bool      // an answer carried Ratelimit since the window last reset
	remaining   int       // requests left in the window
	resetAt     time.Time // when the window resets
	lockedUntil time.Time // when a lockout ends (from a refusal's Retry-After)
}

// admit takes a request from what is left, or says how long until one may go and why.
func (g *rateGauge) admit(now time.Time) (wait time.Duration, until time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.Before(g.lockedUntil) {
		return g.lockedUntil.Sub(now), g.lockedUntil
	}
	if g.known && !now.Before(g.resetAt) {
		g.known = false // a new window: the next answer tells what is left of it
	}
	if g.known {
		if g.remaining <= rateReserve {
			return g.resetAt.Sub(now), g.resetAt
		}
		g.remaining--
	}
	return 0, time.Time{}
}

// observe records what an answer said: what is left of the window, and on a refusal how long
// until calls are answered again.
func (g *rateGauge) observe(h http.Header, status int, received time.Time, retryAfter time.Duration) {
	remaining, reset, ok := parseRatelimit(h.Get("Ratelimit"))
	g.mu.Lock()
	defer g.mu.Unlock()
	if ok {
		resetAt := received.Add(reset)
		// Answers to requests sent together arrive in any order: within one window, the
		// smallest count is the latest.
		if !g.known || resetAt.Sub(g.resetAt) > time.Second || remaining < g.remaining {
			g.remaining = remaining
		}
		g.known, g.resetAt = true, resetAt
	}
	if status == http.StatusTooManyRequests {
		wait := retryAfter
		if wait < 0 {
			wait = time.Second // a refusal that says nothing: try again soon, paced
		}
		if until := received.Add(wait); until.After(g.lockedUntil) {
			g.lockedUntil = until
		}
	}
}

// parseRatelimit reads the Ratelimit header (the IETF draft's structured list, e.g.
// `"default";r=50;t=30`): the fewest requests left (r) of its items, and that item's seconds to
// reset (t).
func parseRatelimit(v string) (remaining int, reset time.Duration, ok bool) {
	for item := range strings.SplitSeq(v, ",") {
		r, t := -1, -1
		for param := range strings.SplitSeq(item, ";") {
			key, value, found := strings.Cut(strings.TrimSpace(param), "=")
			if !found {
				continue
			}
			n, err := strconv.Atoi(strings.TrimSpace(value))
			if err != nil || n < 0 {
				continue
			}
			switch key {
			case "r":
				r = n
			case "t":
				t = n
			}
		}
		if r >= 0 && t >= 0 && (!ok || r < remaining) {
			remaining, reset, ok = r, time.Duration(t)*time.Second, true
		}
	}
	return remaining, reset, ok
}

// RateLimitedError is an operation that cannot wait for Cloudflare's rate limit: the calls
// resume after its timeout (or DefaultRateLimitWait) ends.
type RateLimitedError struct {
	Op    string
	Left  time.Duration // until calls are answered again
	Until time.Time
}

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("cloudflare: %s: Cloudflare's API rate limit (1,200 requests per 5 minutes per user, "+
		"all of the user's tokens together) is spent, and calls resume in %s, at %s, after this operation's "+
		"timeout: set the resource's customTimeouts (create, update, delete) longer than that, or run again after %s",
		e.Op, e.Left.Round(time.Second), e.Until.UTC().Format("15:04:05 UTC"), e.Until.UTC().Format("15:04:05 UTC"))
}

// countdownStep is how often a long wait for the rate limit says how much of it is left.
const countdownStep = 10 * time.Second

// awaitRateLimit waits until the token may send a request, telling the wait as a countdown, as
// long as ctx's deadline (or, without one, the rest of DefaultRateLimitWait since start) allows;
// otherwise it fails at once, naming the time left.
func (c *Client) awaitRateLimit(ctx context.Context, op string, start time.Time) error {
	for {
		now := c.now()
		wait, until := c.shared.gauge(c.gaugeKey()).admit(now)
		if wait <= 0 {
			return nil
		}
		deadline, ok := ctx.Deadline()
		if !ok {
			deadline = start.Add(c.retry.RateLimitWait)
		}
		if until.After(deadline) {
			return &RateLimitedError{Op: op, Left: wait, Until: until}
		}
		c.retry.Notify(ctx, wait, fmt.Sprintf("Cloudflare's API rate limit: calls resume at %s",
			until.UTC().Format("15:04:05 UTC")))
		if err := c.sleep(ctx, min(wait, countdownStep)); err != nil {
			return fmt.Errorf("cloudflare: %s: waiting for the API rate limit: %w", op, err)
		}
	}
}

func (c *Client) gaugeKey() string { return c.baseURL + "\x00" + c.tokenKey }
