package emulator_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

// Cloudflare's limit is per user: a user's two tokens, and the Secrets Store and Workers routes,
// spend one count; the request past it locks the user out, every route refuses with
// retry-after the time left, and every answer carries Ratelimit and Ratelimit-Policy.
func TestCloudflareLimitIsPerUserWithALockout(t *testing.T) {
	_, base := start(t, emulator.Options{
		CloudflareOtherTokens: []string{"second-token"},
		CloudflareWorkers:     []string{"api"},
		CloudflareRateLimit:   4, CloudflareRateWindow: time.Minute, CloudflareLockout: 10 * time.Minute,
	})
	account := base + "/client/v4/accounts/" + emulator.DefaultCloudflareAccount
	first, second := "Bearer "+emulator.DefaultCloudflareToken, "Bearer second-token"
	stores, script := account+"/secrets_store/stores", account+"/workers/scripts/api/secrets"

	for i, c := range []struct{ url, auth string }{{stores, first}, {script, second}, {stores, second}, {script, first}} {
		r := call(t, "GET", c.url, c.auth, nil).want(t, http.StatusOK)
		if got, want := r.header.Get("Ratelimit"), `"default";r=`+strconv.Itoa(3-i)+`;t=60`; got != want {
			t.Errorf("request %d: Ratelimit %q, want %q", i, got, want)
		}
		if got := r.header.Get("Ratelimit-Policy"); got != `"default";q=4;w=60` {
			t.Errorf("request %d: Ratelimit-Policy %q", i, got)
		}
		if r.header.Get("Retry-After") != "" {
			t.Errorf("request %d: retry-after on an answer that was not refused", i)
		}
	}
	for _, c := range []struct{ url, auth string }{{stores, first}, {script, second}} {
		r := call(t, "GET", c.url, c.auth, nil).want(t, http.StatusTooManyRequests)
		if after, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || after < 599 || after > 600 {
			t.Errorf("locked out: retry-after %q, want the lockout's 600s", r.header.Get("Retry-After"))
		}
		if r.header.Get("Ratelimit") == "" {
			t.Error("a refusal without Ratelimit")
		}
	}
	// A token the emulator does not know is refused as Cloudflare does (403, code 10000), and
	// counts apart from the user.
	call(t, "GET", stores, "Bearer stranger", nil).want(t, http.StatusForbidden)
}
