package tests

import (
	"reflect"
	"testing"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

// exampleRunner runs one example program by one language's means (the CLI for YAML, the
// Automation API for the others). Every method stops the test on failure.
type exampleRunner interface {
	// setSecretConfig sets the stack's config keys, as `pulumi config set --secret` would.
	setSecretConfig(values map[string]string)
	up() opResult
	preview() opResult
	refresh() opResult
	destroy() opResult
	// stateDirs are the directories where Pulumi keeps this program's state and stack
	// config, for the plaintext check.
	stateDirs() []string
}

// exampleConfig is the config every example reads, with values unique to one test run.
func exampleConfig() map[string]string {
	return map[string]string{
		"databaseUrl":   uniqueValue("postgres://e2e:pw-") + "@db.internal:5432/app",
		"apiKey":        uniqueValue("e2e-api-key-"),
		"sessionKey":    uniqueValue("e2e-session-key-"),
		"webhookSecret": uniqueValue("e2e-webhook-secret-"),
	}
}

// secretValues are the values of configs, for the plaintext check.
func secretValues(configs ...map[string]string) []string {
	var values []string
	for _, c := range configs {
		for _, v := range c {
			values = append(values, v)
		}
	}
	return values
}

// Every example declares the same five resources (FlySecret, SecretsStore, Secret,
// SecretsDeployment, FlyAppSecrets); Pulumi counts the stack as a sixth.
const exampleResources = 6

// exampleMachines is how many started machines the examples' app has: the rollouts of
// SecretsDeployment and FlyAppSecrets' deploy: rolling reach each of them.
const exampleMachines = 2

// newExampleHarness is newHarness with the app's machines.
func newExampleHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, emulator.Options{FlyApps: []string{flyApp}, FlyMachines: exampleMachines})
}

// exampleWrites are the writes of an up in which every example value changed: the Fly secrets'
// in one or two bulk calls (flyBulkWrites), one Cloudflare write, and one rollout for the
// deployment and the deploy together, with one restart per machine.
func (h *harness) exampleWrites(cloudflareRoute string) map[string]int {
	return map[string]int{
		routeFlyBulk: h.flyBulkWrites(), cloudflareRoute: 1,
		routeFlyLease: exampleMachines, routeFlyMachine: exampleMachines, routeFlyLeaseRelease: exampleMachines,
	}
}

// flyBulkWrites is what the example's Fly writes of one up cost: the FlySecret's write and the
// FlyAppSecrets' share one bulk call when the engine runs them at once, else take one each. Of
// the bulk calls the emulator saw, one or two is right (anything else comes back as two, which
// the caller's exact comparison then fails).
func (h *harness) flyBulkWrites() int {
	if h.emulator.Stats().Routes[routeFlyBulk] == 1 {
		return 1
	}
	return 2
}

// testLifecycle runs one example through what users do: up, a no-change preview, a changed
// value updated in place, a no-change refresh, destroy. It checks the stack's outputs, the
// values the APIs received, the API calls made, and that state holds no plaintext secret.
func testLifecycle(t *testing.T, h *harness, p exampleRunner) {
	first := exampleConfig()
	p.setSecretConfig(first)

	h.emulator.ResetStats()
	created := timed(t, "up (create)", p.up)
	assertChanges(t, "first up", created.Changes, map[string]int{"create": exampleResources})
	h.assertWrites("first up", h.exampleWrites(routeCloudflareCreate))
	h.assertExampleDeployed(t, "after the first up", created.Outputs, first)
	h.assertRollout("after the first up", 1)
	before := h.contents()
	storeID, apiKey, _ := before.cloudflareSecret("API_KEY")

	previewed := timed(t, "preview (no changes)", p.preview)
	assertChanges(t, "preview after up", previewed.Changes, map[string]int{"same": exampleResources})

	// New values for every secret: one in-place write per secret resource, nothing is replaced,
	// and the deployment follows DATABASE_URL's new version.
	second := exampleConfig()
	p.setSecretConfig(second)
	h.emulator.ResetStats()
	updated := timed(t, "up (update in place)", p.up)
	assertChanges(t, "up with new values", updated.Changes,
		map[string]int{"update": 4, "same": exampleResources - 4})
	h.assertWrites("up with new values", h.exampleWrites(routeCloudflarePatch))
	h.assertExampleDeployed(t, "after the update", updated.Outputs, second)
	h.assertRollout("after the update", 2)
	if created.Outputs["databaseUrlDigest"] == updated.Outputs["databaseUrlDigest"] {
		t.Errorf("databaseUrlDigest did not change with the value: %v", updated.Outputs["databaseUrlDigest"])
	}
	newStoreID, newAPIKey, _ := h.contents().cloudflareSecret("API_KEY")
	if newStoreID != storeID || newAPIKey.ID != apiKey.ID {
		t.Errorf("the Cloudflare secret was replaced: store/secret %s/%s became %s/%s",
			storeID, apiKey.ID, newStoreID, newAPIKey.ID)
	}

	h.emulator.ResetStats()
	refreshed := timed(t, "refresh (no changes)", p.refresh)
	assertChanges(t, "refresh", refreshed.Changes, map[string]int{"same": exampleResources})
	h.assertWrites("refresh", map[string]int{})
	h.assertRollout("after the refresh", 2)

	assertNoPlaintext(t, secretValues(first, second), p.stateDirs()...)

	// One delete per secret resource (the two of FlyAppSecrets in one bulk write), no restart,
	// and the account's store stays.
	h.emulator.ResetStats()
	destroyed := timed(t, "destroy", p.destroy)
	assertChanges(t, "destroy", destroyed.Changes, map[string]int{"delete": exampleResources})
	h.assertWrites("destroy", map[string]int{routeFlyBulk: h.flyBulkWrites(), routeCloudflareDelete: 1})
	h.assertEmulatorEmpty("after destroy")
}

// assertExampleDeployed checks the APIs hold the example's resources with values, and that the
// stack's outputs describe them.
func (h *harness) assertExampleDeployed(t *testing.T, step string, outputs map[string]any, values map[string]string) {
	t.Helper()
	c := h.contents()

	databaseURL, ok := c.flySecret(flyApp, "DATABASE_URL")
	if !ok {
		t.Fatalf("%s: Fly.io app %s has no DATABASE_URL secret", step, flyApp)
	}
	if databaseURL.Value != values["databaseUrl"] {
		t.Errorf("%s: Fly.io holds a DATABASE_URL other than the config's databaseUrl", step)
	}
	for name, key := range map[string]string{"APP_SESSION_KEY": "sessionKey", "APP_WEBHOOK_SECRET": "webhookSecret"} {
		if s, ok := c.flySecret(flyApp, name); !ok || s.Value != values[key] {
			t.Errorf("%s: Fly.io app %s has no %s holding the config's %s (found: %v)", step, flyApp, name, key, ok)
		}
	}
	var appVersion uint64
	for _, a := range c.Fly.Apps {
		if a.Name == flyApp {
			appVersion = a.Version
		}
	}

	stores := c.stores()
	if len(stores) != 1 {
		t.Fatalf("%s: the emulator holds %d Cloudflare stores, want 1", step, len(stores))
	}
	storeID, apiKey, ok := c.cloudflareSecret("API_KEY")
	if !ok {
		t.Fatalf("%s: the Cloudflare store has no API_KEY secret", step)
	}
	if apiKey.Value != values["apiKey"] {
		t.Errorf("%s: Cloudflare holds an API_KEY other than the config's apiKey", step)
	}
	if !reflect.DeepEqual(apiKey.Scopes, []string{"workers"}) || apiKey.Comment != "API key for the edge Worker" {
		t.Errorf("%s: API_KEY has scopes %v and comment %q, want [workers] and the example's comment",
			step, apiKey.Scopes, apiKey.Comment)
	}

	// The app holds these three and nothing else, and getFlySecrets lists all of them.
	held := []string{"APP_SESSION_KEY", "APP_WEBHOOK_SECRET", "DATABASE_URL"}
	if got := h.flyNames(flyApp); !reflect.DeepEqual(got, held) {
		t.Errorf("%s: Fly.io app %s holds %v, want DATABASE_URL and appSecrets' two", step, flyApp, got)
	}
	want := map[string]any{
		"databaseUrlDigest": h.flyDigest(flyApp, "DATABASE_URL"),
		"storeId":           storeID,
		"apiKeyBinding": map[string]any{
			"type":       "secrets_store_secret",
			"storeId":    storeID,
			"secretName": "API_KEY",
		},
		"appSecretNames": []any{"APP_SESSION_KEY", "APP_WEBHOOK_SECRET"},
		// The up's one rollout went to the app's newest version, whichever write made it.
		"deployedVersion": float64(appVersion),
		"storeName":       stores[0].Name,
		"flySecretNames":  []any{"APP_SESSION_KEY", "APP_WEBHOOK_SECRET", "DATABASE_URL"},
	}
	if !reflect.DeepEqual(outputs, want) {
		t.Errorf("%s: stack outputs are\n  %v\nwant\n  %v", step, outputs, want)
	}
}
