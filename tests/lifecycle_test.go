package tests

import (
	"reflect"
	"testing"
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
		"databaseUrl": uniqueValue("postgres://e2e:pw-") + "@db.internal:5432/app",
		"apiKey":      uniqueValue("e2e-api-key-"),
	}
}

// Every example declares the same three resources; Pulumi counts the stack as a fourth.
const exampleResources = 4

// testLifecycle runs one example through what users do: up, a no-change preview, a changed
// value updated in place, a no-change refresh, destroy. It checks the stack's outputs, the
// values the APIs received, the API calls made, and that state holds no plaintext secret.
func testLifecycle(t *testing.T, h *harness, p exampleRunner) {
	first := exampleConfig()
	p.setSecretConfig(first)

	created := timed(t, "up (create)", p.up)
	assertChanges(t, "first up", created.Changes, map[string]int{"create": exampleResources})
	h.assertExampleDeployed(t, "after the first up", created.Outputs, first)
	before := h.contents()
	storeID, apiKey, _ := before.cloudflareSecret("API_KEY")

	previewed := timed(t, "preview (no changes)", p.preview)
	assertChanges(t, "preview after up", previewed.Changes, map[string]int{"same": exampleResources})

	// New values for both secrets: each is one in-place write, nothing is replaced.
	second := exampleConfig()
	p.setSecretConfig(second)
	h.emulator.ResetStats()
	updated := timed(t, "up (update in place)", p.up)
	assertChanges(t, "up with new values", updated.Changes,
		map[string]int{"update": 2, "same": exampleResources - 2})
	h.assertWrites("up with new values", map[string]int{routeFlySetSecret: 1, routeCloudflarePatch: 1})
	h.assertExampleDeployed(t, "after the update", updated.Outputs, second)
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

	assertNoPlaintext(t, []string{first["databaseUrl"], first["apiKey"], second["databaseUrl"], second["apiKey"]},
		p.stateDirs()...)

	destroyed := timed(t, "destroy", p.destroy)
	assertChanges(t, "destroy", destroyed.Changes, map[string]int{"delete": exampleResources})
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

	want := map[string]any{
		"databaseUrlDigest": h.flyDigest(flyApp, "DATABASE_URL"),
		"storeId":           storeID,
		"apiKeyBinding": map[string]any{
			"type":       "secrets_store_secret",
			"storeId":    storeID,
			"secretName": "API_KEY",
		},
	}
	if !reflect.DeepEqual(outputs, want) {
		t.Errorf("%s: stack outputs are\n  %v\nwant\n  %v", step, outputs, want)
	}
}
