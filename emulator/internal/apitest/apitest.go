// Package apitest holds what the emulator's own tests share: building and
// sending a request, a settable clock, and a JSON round trip. Only _test.go
// files import it.
package apitest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// NewRequest builds a request. A nil body sends none, a string is sent as
// is (for malformed bodies), anything else is JSON-encoded. An empty
// authorization sends no Authorization header.
func NewRequest(t testing.TB, method, url, authorization string, body any) *http.Request {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return req
}

// Send sends NewRequest's request with http.DefaultClient and reads the
// whole answer; any error fails the test. The returned body is closed.
func Send(t testing.TB, method, url, authorization string, body any) (*http.Response, []byte) {
	t.Helper()
	res, err := http.DefaultClient.Do(NewRequest(t, method, url, authorization, body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, data
}

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads start until advanced.
func NewClock(start time.Time) *Clock {
	return &Clock{now: start}
}

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// JSONRoundTrip encodes v as JSON and decodes it into a new T, as a value
// saved to disk and read back would be.
func JSONRoundTrip[T any](t testing.TB, v T) T {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// HasToken reports whether an API error message is token, alone or followed by ": " and detail:
// the emulator's Cloudflare messages, like the real API's, may carry the name or id concerned.
func HasToken(message, token string) bool {
	return message == token || strings.HasPrefix(message, token+": ")
}
