package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestImport brings secrets that already exist under management, as users do: a Fly.io secret
// and a Cloudflare store and secret are created straight through the APIs, imported with
// `pulumi import`, and then the YAML example, which declares them, is deployed. Pulumi does
// not know the imported values, so the up writes the program's values: exactly one in-place
// write per imported secret, and nothing imported is created, deleted or replaced. The
// example's other two resources, which nothing existed for, are created: appSecrets' keys in
// one bulk write, and one rollout for both deploys.
func TestImport(t *testing.T) {
	t.Parallel()
	h := newExampleHarness(t)
	p := newCLIProgram(t, h, filepath.Join(repoRoot, "examples", "yaml"))
	values := exampleConfig()
	p.setSecretConfig(values)

	// What existed before Pulumi: older values, made without the provider.
	oldDatabaseURL, oldAPIKey := uniqueValue("postgres://legacy:pw-"), uniqueValue("legacy-api-key-")
	h.apiJSON("POST", "/v1/apps/"+flyApp+"/secrets/DATABASE_URL", map[string]string{"value": oldDatabaseURL}, nil)
	account := h.envVars["CLOUDFLARE_ACCOUNT_ID"]
	storesPath := "/client/v4/accounts/" + account + "/secrets_store/stores"
	// The account's default store, which every account that has used Secrets Store holds.
	var stores struct {
		Result []struct {
			ID string `json:"id"`
		} `json:"result"`
	}
	h.apiJSON("GET", storesPath, nil, &stores)
	if len(stores.Result) != 1 {
		t.Fatalf("the account holds %d stores, want its default store", len(stores.Result))
	}
	storeID := stores.Result[0].ID
	var secrets struct {
		Result []struct {
			ID string `json:"id"`
		} `json:"result"`
	}
	h.apiJSON("POST", storesPath+"/"+storeID+"/secrets", []map[string]any{{
		"name": "API_KEY", "value": oldAPIKey, "scopes": []string{"workers"}, "comment": "API key for the edge Worker",
	}}, &secrets)
	if len(secrets.Result) != 1 {
		t.Fatalf("creating API_KEY: the API answered %d secrets, want 1", len(secrets.Result))
	}
	apiKeyID := secrets.Result[0].ID
	before := h.contents()
	flyBefore, _ := before.flySecret(flyApp, "DATABASE_URL")

	// Import under the names the program gives the resources. --protect=false so that the
	// test can destroy them at the end.
	h.emulator.ResetStats()
	imports := []struct{ typ, name, id string }{
		{"edgesecrets:fly:FlySecret", "databaseUrlSecret", flyApp + "/DATABASE_URL"},
		{"edgesecrets:cloudflare:SecretsStore", "store", account + "/" + storeID},
		{"edgesecrets:cloudflare:Secret", "apiKeySecret", account + "/" + storeID + "/" + apiKeyID},
	}
	for _, imp := range imports {
		generated := filepath.Join(t.TempDir(), "generated.yaml")
		timed(t, "import "+imp.typ, func() string {
			return h.pulumi(p.dir, "", "import", imp.typ, imp.name, imp.id, "--yes", "--protect=false", "--out", generated)
		})
		if code, err := os.ReadFile(generated); err != nil || !strings.Contains(string(code), imp.typ) {
			t.Errorf("pulumi import %s: the generated code does not declare the resource (%v):\n%s", imp.typ, err, code)
		}
	}
	h.assertWrites("pulumi import", map[string]int{})

	// The program's values differ from the imported (unknown) ones: two updates, in place; the
	// deployment and appSecrets are new.
	afterImport := map[string]int{"update": 2, "create": 2, "same": exampleResources - 4}
	previewed := timed(t, "preview (after import)", p.preview)
	assertChanges(t, "preview after import", previewed.Changes, afterImport)

	h.emulator.ResetStats()
	updated := timed(t, "up (write program values)", p.up)
	assertChanges(t, "up after import", updated.Changes, afterImport)
	h.assertWrites("up after import", h.exampleWrites(routeCloudflarePatch))
	h.assertExampleDeployed(t, "after the up", updated.Outputs, values)
	h.assertRollout("after the up", 1)

	// The very secrets that existed before, not new ones of the same names.
	after := h.contents()
	if gotStore, gotSecret, _ := after.cloudflareSecret("API_KEY"); gotStore != storeID || gotSecret.ID != apiKeyID {
		t.Errorf("API_KEY is %s/%s after the up, want the imported %s/%s", gotStore, gotSecret.ID, storeID, apiKeyID)
	}
	if flyAfter, _ := after.flySecret(flyApp, "DATABASE_URL"); !flyAfter.CreatedAt.Equal(flyBefore.CreatedAt) {
		t.Errorf("DATABASE_URL was created anew at %v; it was created at %v before the import",
			flyAfter.CreatedAt, flyBefore.CreatedAt)
	}

	h.emulator.ResetStats()
	again := timed(t, "preview (no changes)", p.preview)
	assertChanges(t, "preview after the up", again.Changes, map[string]int{"same": exampleResources})

	assertNoPlaintext(t, secretValues(values), p.stateDirs()...)

	destroyed := timed(t, "destroy", p.destroy)
	assertChanges(t, "destroy", destroyed.Changes, map[string]int{"delete": exampleResources})
	h.assertEmulatorEmpty("after destroy")
}
