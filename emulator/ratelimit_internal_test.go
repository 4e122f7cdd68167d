package emulator

import (
	"net/http"
	"testing"
	"time"
)

func TestTokenBucket(t *testing.T) {
	now := time.Unix(0, 0)
	l := newRateLimiter(flyRatePerSecond, flyRateBurst, func() time.Time { return now })

	for i := range 3 {
		if ok, _ := l.take("a"); !ok {
			t.Fatalf("request %d of the burst refused", i)
		}
	}
	ok, wait := l.take("a")
	if ok || wait != time.Second || retryAfterSeconds(wait) != 1 {
		t.Fatalf("4th request: ok %v wait %v", ok, wait)
	}
	if ok, _ := l.take("b"); !ok {
		t.Error("key b shares a's bucket")
	}

	now = now.Add(400 * time.Millisecond)
	if ok, wait := l.take("a"); ok || wait != 600*time.Millisecond || retryAfterSeconds(wait) != 1 {
		t.Errorf("after 0.4s: ok %v wait %v", ok, wait)
	}
	now = now.Add(600 * time.Millisecond)
	if ok, _ := l.take("a"); !ok {
		t.Error("after 1s a token should be back")
	}
	// Idle time refills up to the burst, not beyond.
	now = now.Add(time.Hour)
	for i := range 3 {
		if ok, _ := l.take("a"); !ok {
			t.Fatalf("refilled burst: request %d refused", i)
		}
	}
	if ok, _ := l.take("a"); ok {
		t.Error("bucket held more than the burst")
	}
	l.reset()
	if ok, _ := l.take("a"); !ok {
		t.Error("reset did not refill")
	}
}

func TestLostResponseBand(t *testing.T) {
	f := newFaultInjector(Options{LostResponseRate: 0.5, Seed: 3})
	counts := map[int]int{}
	for range 4000 {
		kind, status := f.next(true, false)
		if kind == faultLostResponse {
			counts[status]++
		}
		if kind, _ := f.next(false, false); kind != noFault {
			t.Fatalf("a read got fault %v", kind)
		}
	}
	// Half dropped connections (status 0), half 502s.
	if counts[0] < 800 || counts[502] < 800 || len(counts) != 2 {
		t.Errorf("lost responses by status %v", counts)
	}
}

func TestFaultBands(t *testing.T) {
	f := newFaultInjector(Options{FailRate: 0.5, ThrottleRate: 0.25, ConflictRate: 0.25, Seed: 1})
	counts := map[fault]int{}
	for range 4000 {
		kind, status := f.next(true, true)
		counts[kind]++
		if kind == faultServerError && status != 500 && status != 502 && status != 503 {
			t.Fatalf("server error status %d", status)
		}
	}
	if counts[noFault] != 0 || counts[faultServerError] < 1800 || counts[faultThrottle] < 800 ||
		counts[faultConflict] < 800 {
		t.Errorf("bands %v", counts)
	}
	// Reads never get a conflict.
	for range 1000 {
		if kind, _ := f.next(false, true); kind == faultConflict {
			t.Fatal("conflict on a read")
		}
		if kind, _ := f.next(true, false); kind == faultConflict {
			t.Fatal("conflict on an API without them")
		}
	}
	if kind, _ := newFaultInjector(Options{}).next(true, true); kind != noFault {
		t.Error("fault with zero rates")
	}
}

// Cloudflare's limit: N requests per window per user; the one past it locks the user out for the
// lockout, whatever the window; a new window starts when the lockout ends.
func TestCloudflareWindowAndLockout(t *testing.T) {
	now := time.Unix(0, 0)
	l := newWindowLimiter(3, time.Minute, 5*time.Minute, func() time.Time { return now })
	for i := range 3 {
		if a := l.take("u"); !a.ok || a.remaining != 2-i || a.reset != time.Minute {
			t.Fatalf("request %d: %+v", i, a)
		}
	}
	if a := l.take("other"); !a.ok {
		t.Error("another user shares u's count")
	}
	a := l.take("u")
	if a.ok || a.retryAfter != 5*time.Minute || a.remaining != 0 {
		t.Fatalf("4th request: %+v", a)
	}
	// The window's end does not end the lockout.
	now = now.Add(2 * time.Minute)
	if a := l.take("u"); a.ok || a.retryAfter != 3*time.Minute {
		t.Fatalf("locked out, after the window: %+v", a)
	}
	now = now.Add(3 * time.Minute)
	if a := l.take("u"); !a.ok || a.remaining != 2 || a.reset != time.Minute {
		t.Fatalf("after the lockout: %+v", a)
	}
	h := http.Header{}
	l.headers(h, windowAnswer{ok: false, reset: 90 * time.Second, retryAfter: 90 * time.Second})
	if h.Get("Ratelimit") != `"default";r=0;t=90` || h.Get("Ratelimit-Policy") != `"default";q=3;w=60` ||
		h.Get("Retry-After") != "90" {
		t.Errorf("headers %v", h)
	}
	h = http.Header{}
	l.headers(h, windowAnswer{ok: true, remaining: 2, reset: time.Minute})
	if h.Get("Retry-After") != "" {
		t.Errorf("retry-after on an answer that was not refused: %v", h)
	}
}
