package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

// liveEnv switches the live suite on: `make test-live` sets it. The test command never does, so
// a shell that happens to hold real tokens never runs it by accident.
const liveEnv = "EDGESECRETS_LIVE"

// liveFlyAppEnv names the scratch Fly.io app the live suite writes DATABASE_URL to.
const liveFlyAppEnv = "EDGESECRETS_LIVE_FLY_APP"

// TestLive runs every example's lifecycle against the real Fly.io and Cloudflare APIs, one
// language after another (they share the app's DATABASE_URL and the store's API_KEY): up, a
// no-change preview, new values updated in place, a no-change refresh and preview, destroy. It
// is how the API facts the emulator assumes get confirmed. It needs a scratch app and account:
// EDGESECRETS_LIVE_FLY_APP (an app that holds no DATABASE_URL), FLY_API_TOKEN (a token for it),
// CLOUDFLARE_API_TOKEN ("Secrets Store Write") and CLOUDFLARE_ACCOUNT_ID (an account whose store,
// if it has one, is default_secrets_store and holds no API_KEY). Without EDGESECRETS_LIVE=1 and
// all four it is skipped, never failed. Each language destroys what it made, also when it fails.
func TestLive(t *testing.T) {
	if os.Getenv(liveEnv) != "1" {
		t.Skipf("skipping: the live suite runs with %s=1 (`make test-live`)", liveEnv)
	}
	apiEnv := map[string]string{}
	var missing []string
	for _, name := range []string{liveFlyAppEnv, "FLY_API_TOKEN", "CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID"} {
		if v := os.Getenv(name); v != "" {
			apiEnv[name] = v
		} else {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Skipf("skipping: the live suite needs %s", strings.Join(missing, ", "))
	}
	app := apiEnv[liveFlyAppEnv]
	delete(apiEnv, liveFlyAppEnv)
	// Endpoints other than the real ones (a staging API, say) pass through; by default the
	// provider's own defaults are the real APIs.
	for _, name := range emulator.EnvNames {
		if v := os.Getenv(name); v != "" && strings.HasSuffix(name, "_BASE_URL") {
			apiEnv[name] = v
		}
	}

	for _, example := range []struct {
		name string
		new  func(*testing.T, *harness) exampleRunner
	}{
		{"yaml", func(t *testing.T, h *harness) exampleRunner {
			return newCLIProgram(t, h, filepath.Join(repoRoot, "examples", "yaml"))
		}},
		{"typescript", func(t *testing.T, h *harness) exampleRunner { return typeScriptExample(t, h) }},
		{"python", func(t *testing.T, h *harness) exampleRunner { return pythonExample(t, h) }},
		{"go", func(t *testing.T, h *harness) exampleRunner { return goExample(t, h) }},
	} {
		t.Run(example.name, func(t *testing.T) {
			h := newLiveHarness(t, apiEnv)
			testLiveLifecycle(t, example.new(t, h), app)
		})
	}
}

// newLiveHarness is newHarness without an emulator: the Pulumi processes reach the APIs apiEnv
// names with its credentials.
func newLiveHarness(t *testing.T, apiEnv map[string]string) *harness {
	t.Helper()
	provider := filepath.Join(repoRoot, "bin", "pulumi-resource-edgesecrets")
	requireFile(t, provider, "run `make build`")
	requireCommand(t, "pulumi", "run `make tools`")
	h := &harness{t: t}
	env := map[string]string{}
	for k, v := range apiEnv {
		env[k] = v
	}
	h.isolate(env)
	h.installProvider(provider)
	return h
}

// testLiveLifecycle is testLifecycle with only what Pulumi reports to check by: the real APIs
// return no values, and their request counts are not ours to see.
func testLiveLifecycle(t *testing.T, p exampleRunner, app string) {
	destroyed := false
	t.Cleanup(func() {
		if !destroyed {
			t.Log("cleaning up: destroying what the failed run made")
			p.destroy()
		}
	})
	config := func() map[string]string {
		values := exampleConfig()
		values["flyApp"] = app
		return values
	}

	first := config()
	p.setSecretConfig(first)
	created := timed(t, "up (create)", p.up)
	assertChanges(t, "first up", created.Changes, map[string]int{"create": exampleResources})
	assertLiveOutputs(t, "after the first up", created.Outputs)

	assertChanges(t, "preview after up", timed(t, "preview (no changes)", p.preview).Changes,
		map[string]int{"same": exampleResources})

	second := config()
	p.setSecretConfig(second)
	updated := timed(t, "up (update in place)", p.up)
	assertChanges(t, "up with new values", updated.Changes, map[string]int{"update": 4, "same": exampleResources - 4})
	assertLiveOutputs(t, "after the update", updated.Outputs)
	if created.Outputs["databaseUrlDigest"] == updated.Outputs["databaseUrlDigest"] {
		t.Errorf("databaseUrlDigest did not change with the value: %v", updated.Outputs["databaseUrlDigest"])
	}
	if created.Outputs["storeId"] != updated.Outputs["storeId"] {
		t.Errorf("the store changed from %v to %v", created.Outputs["storeId"], updated.Outputs["storeId"])
	}

	// Right after a write: the refresh must find what was written, not a lagging read.
	assertChanges(t, "refresh", timed(t, "refresh (no changes)", p.refresh).Changes,
		map[string]int{"same": exampleResources})
	assertChanges(t, "preview after refresh", timed(t, "preview (no changes)", p.preview).Changes,
		map[string]int{"same": exampleResources})

	var values []string
	for _, config := range []map[string]string{first, second} {
		for key, value := range config {
			if key != "flyApp" {
				values = append(values, value)
			}
		}
	}
	assertNoPlaintext(t, values, p.stateDirs()...)

	done := timed(t, "destroy", p.destroy)
	destroyed = true
	assertChanges(t, "destroy", done.Changes, map[string]int{"delete": exampleResources})
}

// assertLiveOutputs checks the stack's outputs describe a Fly.io secret and a Cloudflare secret
// in the store.
func assertLiveOutputs(t *testing.T, step string, outputs map[string]any) {
	t.Helper()
	digest, _ := outputs["databaseUrlDigest"].(string)
	storeID, _ := outputs["storeId"].(string)
	binding, _ := outputs["apiKeyBinding"].(map[string]any)
	if digest == "" || storeID == "" || binding["type"] != "secrets_store_secret" ||
		binding["storeId"] != storeID || binding["secretName"] != "API_KEY" {
		t.Errorf("%s: stack outputs are %v, want a digest, a store ID and API_KEY's binding in that store", step, outputs)
	}
}
