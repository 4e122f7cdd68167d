package tests

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

// lockOut spends the Cloudflare user's whole rate limit and one request more, as another tool of
// the user would: every call is refused until the lockout ends.
func (h *harness) lockOut(limit int) {
	h.t.Helper()
	url := h.emulatorURL + "/client/v4/accounts/" + h.envVars["CLOUDFLARE_ACCOUNT_ID"] + "/secrets_store/stores"
	for i := 0; i <= limit; i++ {
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			h.t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+h.envVars["CLOUDFLARE_API_TOKEN"])
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			h.t.Fatal(err)
		}
		_ = res.Body.Close()
		if want := http.StatusOK; i == limit {
			want = http.StatusTooManyRequests
			if res.StatusCode != want {
				h.t.Fatalf("request %d past the limit answered %d, want %d", i, res.StatusCode, want)
			}
		} else if res.StatusCode != want {
			h.t.Fatalf("request %d of the limit answered %d, want %d", i, res.StatusCode, want)
		}
	}
}

// rateLimitedCloudflare is the emulator's defaults with Cloudflare's limit shrunk so that a test
// reaches it: limit requests per window, and a lockout past it.
func rateLimitedCloudflare(limit int, window, lockout time.Duration) emulator.Options {
	return emulator.Options{
		FlyApps:             []string{flyApp},
		CloudflareRateLimit: limit, CloudflareRateWindow: window, CloudflareLockout: lockout,
	}
}

// Under a lockout (Cloudflare's 5 minutes, shortened here), an up waits it out and finishes,
// saying what it waits for; and a destroy of more secrets than a window allows paces itself from
// the Ratelimit headers instead of locking the user out again.
func TestCloudflareLockoutIsWaitedOut(t *testing.T) {
	t.Parallel()
	const limit, lockout, secrets = 25, 15 * time.Second, 30
	h := newHarnessWith(t, rateLimitedCloudflare(limit, lockout, lockout))
	p := newManyProgram(t, h, cloudflareSecretsScenario(secrets), 8)
	h.lockOut(limit)
	start := time.Now()
	out := p.run("up", "--yes", "--skip-preview")
	took := time.Since(start)
	if !strings.Contains(out, "Cloudflare's API rate limit: calls resume at") {
		t.Errorf("the up did not say what it waited for:\n%s", tail(out, 30))
	}
	if took < lockout-2*time.Second {
		t.Errorf("the up took %s, less than the lockout of %s it had to wait out", took, lockout)
	}
	if stores := h.contents().stores(); len(stores) != 1 || len(stores[0].Secrets) != secrets {
		t.Fatalf("after the up: %d stores; want one with %d secrets", len(stores), secrets)
	}
	// The destroy (a listing and one DELETE per secret) needs more requests than a window
	// holds, and must pace itself rather than be refused.
	h.emulator.ResetStats()
	p.run("destroy", "--yes", "--skip-preview")
	if refused := h.emulator.Stats().Faults["rate_limited"]; refused != 0 {
		t.Errorf("the destroy was refused %d times by the rate limit: it did not pace from the Ratelimit headers",
			refused)
	}
	h.assertEmulatorEmpty("after destroy")
}

// A lockout that outlasts the operation's customTimeouts fails the up at once, naming the time
// left and what to do, instead of retrying into it.
func TestCloudflareLockoutLongerThanTheTimeoutFailsAtOnce(t *testing.T) {
	t.Parallel()
	const limit = 5
	h := newHarnessWith(t, rateLimitedCloudflare(limit, time.Hour, time.Hour))
	store := h.fixtures[0].ID
	dir := yamlProgram(t, h, fmt.Sprintf(`  key:
    type: edgesecrets:cloudflare:Secret
    properties:
      storeId: %s
      name: API_KEY
      value:
        fn::secret: %s
    options:
      customTimeouts:
        create: 30s
`, store, uniqueValue("lockout-")))
	h.lockOut(limit)
	start := time.Now()
	out := h.pulumiFails(dir, "", "up", "--yes", "--skip-preview")
	if took := time.Since(start); took > 25*time.Second {
		t.Errorf("the up took %s to fail: it waited for a lockout it could not outlast", took)
	}
	for _, want := range []string{"Cloudflare's API rate limit", "calls resume in 59m", "customTimeouts"} {
		if !strings.Contains(out, want) {
			t.Errorf("the failure does not say %q:\n%s", want, tail(out, 30))
		}
	}
}
