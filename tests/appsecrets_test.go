package tests

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/fly"
)

const routeFlyBulk = "POST /v1/apps/{app}/secrets"

// appSecretsProgram is a YAML FlyAppSecrets called resource on app demo, with the given secrets
// and extra properties (indented YAML lines).
func appSecretsProgram(resource string, secrets map[string]string, properties string) string {
	var b strings.Builder
	b.WriteString("  " + resource + ":\n    type: edgesecrets:fly:FlyAppSecrets\n    properties:\n      app: demo\n")
	b.WriteString(properties)
	b.WriteString("      secrets:\n        fn::secret:\n")
	for _, k := range slices.Sorted(maps.Keys(secrets)) {
		b.WriteString("          " + k + ": " + secrets[k] + "\n")
	}
	return b.String()
}

// flyNames are the names of the app's secrets the emulator holds now, sorted.
func (h *harness) flyNames(app string) []string {
	var names []string
	for _, a := range h.contents().Fly.Apps {
		if a.Name == app {
			for _, s := range a.Secrets {
				names = append(names, s.Name)
			}
		}
	}
	slices.Sort(names)
	return names
}

// A FlyAppSecrets of 200 keys is one write to create, one to change 5 values and remove 3 keys,
// and one to destroy, through the CLI against the emulator with Fly's rate limit on.
func TestFlyAppSecretsIsOneWritePerUp(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	secrets := map[string]string{}
	for i := range 200 {
		secrets[fmt.Sprintf("KEY_%03d", i)] = uniqueValue(fmt.Sprintf("v%03d-", i))
	}
	dir := yamlProgram(t, h, appSecretsProgram("app", secrets, ""))
	h.emulator.ResetStats()
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	h.assertWrites("create of 200 keys", map[string]int{routeFlyBulk: 1})
	if got := len(h.flyNames(flyApp)); got != 200 {
		t.Fatalf("the app holds %d secrets, want 200", got)
	}

	for i := range 5 {
		secrets[fmt.Sprintf("KEY_%03d", i)] = uniqueValue("changed-")
	}
	removed := []string{"KEY_100", "KEY_101", "KEY_102"}
	for _, k := range removed {
		delete(secrets, k)
	}
	rewrite(t, dir, appSecretsProgram("app", secrets, ""))
	h.emulator.ResetStats()
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	h.assertWrites("5 changed, 3 removed", map[string]int{routeFlyBulk: 1})
	names := h.flyNames(flyApp)
	for _, k := range removed {
		if slices.Contains(names, k) {
			t.Errorf("%s is still on the app after its removal from the program", k)
		}
	}
	if s, _ := h.contents().flySecret(flyApp, "KEY_000"); s.Value != secrets["KEY_000"] {
		t.Error("KEY_000 does not hold the program's new value")
	}
	h.pulumi(dir, "", "preview", "--expect-no-changes")
	h.pulumi(dir, "", "refresh", "--yes", "--expect-no-changes")
	assertNoPlaintext(t, slices.Collect(maps.Values(secrets)), h.backendDir)

	h.emulator.ResetStats()
	h.pulumi(dir, "", "destroy", "--yes", "--skip-preview")
	h.assertWrites("destroy", map[string]int{routeFlyBulk: 1})
	h.assertEmulatorEmpty("after destroy")
}

// keyTemplate names the keys; prune unsets an unmanaged key in the template's scope that was
// written before the margin, names it in the preview, and leaves one outside the scope and one
// written just now. A FlySecret that declares a key inside the scope is refused (one owner).
func TestFlyAppSecretsTemplateAndPrune(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedFly(flyApp, time.Hour, map[string]string{"PROD_STALE": "s", "STAGING_KEEP": "k"})
	h.seedFly(flyApp, 0, map[string]string{"PROD_MANUAL": "m", "PROD_NEW": "n"})
	prod := appSecretsProgram("prod", map[string]string{"API_KEY": "a", "DB_URL": "d"},
		"      keyTemplate: PROD_{{key}}\n      prune: true\n")

	manual := flySecretProgram("manual", "PROD_MANUAL", "m", "      adopt: true\n")
	dir := yamlProgram(t, h, manual+prod)
	out := h.pulumiFails(dir, "", "preview")
	if !strings.Contains(out, `"PROD_MANUAL" is inside the prune scope PROD_*`) {
		t.Errorf("the preview does not refuse a FlySecret inside the prune scope:\n%s", out)
	}

	// Created without prune, then prune turned on: the preview names the stray it will unset,
	// and the up says it unset it.
	rewrite(t, dir, strings.Replace(prod, "      prune: true\n", "", 1))
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	rewrite(t, dir, prod)
	out = h.pulumi(dir, "", "preview", "--diff")
	// The detailed diff shows each key the prune unsets as a delete.
	if !strings.Contains(out, "- PROD_STALE") || strings.Contains(out, "PROD_NEW") {
		t.Errorf("the preview does not name exactly the stray the prune unsets:\n%s", out)
	}
	out = h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	if !strings.Contains(out, "unset Fly.io secret demo/PROD_STALE") {
		t.Errorf("the up does not name the secret it unset:\n%s", out)
	}
	want := []string{"PROD_API_KEY", "PROD_DB_URL", "PROD_MANUAL", "PROD_NEW", "STAGING_KEEP"}
	if got := h.flyNames(flyApp); !slices.Equal(got, want) {
		t.Fatalf("the app holds %v, want %v: only the old stray in scope, PROD_STALE, unset", got, want)
	}
	h.pulumi(dir, "", "preview", "--expect-no-changes")
}

// Import of an app's secrets into FlyAppSecrets, then one up: one write, of the program's values.
func TestFlyAppSecretsImportThenOneWrite(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for name, value := range map[string]string{"A": "old-a", "B": "old-b", "C": "old-c"} {
		h.apiJSON("POST", "/v1/apps/"+flyApp+"/secrets/"+name, map[string]string{"value": value}, nil)
	}
	secrets := map[string]string{"A": uniqueValue("a-"), "B": uniqueValue("b-"), "C": uniqueValue("c-")}
	dir := yamlProgram(t, h, appSecretsProgram("app", secrets, ""))
	generated := filepath.Join(t.TempDir(), "generated.yaml")
	h.emulator.ResetStats()
	h.pulumi(dir, "", "import", "edgesecrets:fly:FlyAppSecrets", "app", flyApp,
		"--yes", "--protect=false", "--out", generated)
	h.assertWrites("pulumi import", map[string]int{})
	if code, err := os.ReadFile(generated); err != nil ||
		!strings.Contains(string(code), "edgesecrets:fly:FlyAppSecrets") {
		t.Errorf("the generated code does not declare the resource (%v):\n%s", err, code)
	}
	h.emulator.ResetStats()
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	h.assertWrites("the up after import", map[string]int{routeFlyBulk: 1})
	for name, value := range secrets {
		if s, _ := h.contents().flySecret(flyApp, name); s.Value != value {
			t.Errorf("%s does not hold the program's value", name)
		}
	}
	h.pulumi(dir, "", "preview", "--expect-no-changes")
}

// The functions return what the emulator holds.
func TestFunctionsReturnWhatTheAPIsHold(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.apiJSON("POST", "/v1/apps/"+flyApp+"/secrets/DATABASE_URL", map[string]string{"value": "never-shown"}, nil)
	secret := "  apiKey:\n    type: edgesecrets:cloudflare:Secret\n    properties:\n      name: API_KEY\n" +
		"      value:\n        fn::secret: also-never-shown\n"
	lookups := `variables:
  flySecrets:
    fn::invoke:
      function: edgesecrets:fly:getFlySecrets
      arguments:
        app: demo
  store:
    fn::invoke:
      function: edgesecrets:cloudflare:getSecretsStore
      arguments: {}
`
	outputs := `outputs:
  flyNames: ${flySecrets.names}
  flyDigest: ${flySecrets.secrets[0].digest}
  storeId: ${store.storeId}
  storeName: ${store.name}
  apiKeyBinding: ${apiKey.binding}
`
	dir := yamlProgram(t, h, secret+lookups+outputs)
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	// getSecret reads the secret once it exists: the program gains the lookup.
	rewrite(t, dir, secret+lookups+`  found:
    fn::invoke:
      function: edgesecrets:cloudflare:getSecret
      arguments:
        name: API_KEY
`+outputs+`  foundId: ${found.secretId}
  foundStatus: ${found.status}
`)
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	var out map[string]any
	if err := json.Unmarshal([]byte(h.pulumi(dir, "", "stack", "output", "--json")), &out); err != nil {
		t.Fatal(err)
	}
	storeID, apiKey, _ := h.contents().cloudflareSecret("API_KEY")
	want := map[string]any{
		"flyNames":      []any{"DATABASE_URL"},
		"flyDigest":     h.flyDigest(flyApp, "DATABASE_URL"),
		"storeId":       storeID,
		"storeName":     "default_secrets_store",
		"apiKeyBinding": map[string]any{"type": "secrets_store_secret", "storeId": storeID, "secretName": "API_KEY"},
		"foundId":       apiKey.ID,
		"foundStatus":   "active",
	}
	if !reflect.DeepEqual(out, want) {
		t.Errorf("stack outputs are\n  %v\nwant\n  %v", out, want)
	}
}

// seedFly puts secrets on the app as someone wrote them age ago (0: now), straight into the
// emulator's state (no API call: seeding spends none of the rate limit). A prune unsets only a
// stray older than its margin: one written just now may be a write of another owner in flight.
func (h *harness) seedFly(app string, age time.Duration, secrets map[string]string) {
	h.t.Helper()
	st := h.emulator.Fly().Snapshot()
	at := time.Now().Add(-age)
	for i := range st.Apps {
		if st.Apps[i].Name != app {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(secrets)) {
			seeded := fly.SecretState{Name: name, Value: secrets[name], CreatedAt: at, UpdatedAt: at}
			st.Apps[i].Secrets = append(st.Apps[i].Secrets, seeded)
		}
		st.Apps[i].Version++
	}
	if err := h.emulator.Fly().Restore(st); err != nil {
		h.t.Fatal(err)
	}
}

// A FlyAppSecrets created with prune: the engine asks no Diff of a create, so the preview warns
// of each secret the first up unsets (and of none it keeps), the up names each it unset, and a
// refresh after it finds nothing to change (the prune settles).
func TestFlyAppSecretsCreatedWithPruneNamesItsStrays(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedFly(flyApp, time.Hour, map[string]string{"PROD_STALE": "s", "PROD_OLD": "o", "STAGING_KEEP": "k"})
	h.seedFly(flyApp, 0, map[string]string{"PROD_NEW": "n"})
	dir := yamlProgram(t, h, appSecretsProgram("prod", map[string]string{"API_KEY": "a"},
		"      keyTemplate: PROD_{{key}}\n      prune: true\n"))

	out := h.runBoth(h.pulumiArgs("preview"))
	for _, name := range []string{"PROD_OLD", "PROD_STALE"} {
		if !strings.Contains(out, "prune will unset Fly.io secret demo/"+name+": it is in the prune scope PROD_*") {
			t.Errorf("the create's preview does not name %s, which its prune unsets:\n%s", name, out)
		}
	}
	if strings.Contains(out, "unset Fly.io secret demo/PROD_NEW") || strings.Contains(out, "STAGING_KEEP") {
		t.Errorf("the preview names a secret the prune keeps:\n%s", out)
	}
	out = h.runBoth(h.pulumiArgs("up", "--yes", "--skip-preview"))
	for _, name := range []string{"PROD_OLD", "PROD_STALE"} {
		if !strings.Contains(out, "unset Fly.io secret demo/"+name) {
			t.Errorf("the up does not name %s, which it unset:\n%s", name, out)
		}
	}
	want := []string{"PROD_API_KEY", "PROD_NEW", "STAGING_KEEP"}
	if got := h.flyNames(flyApp); !slices.Equal(got, want) {
		t.Fatalf("the app holds %v, want %v", got, want)
	}
	h.pulumi(dir, "", "refresh", "--yes", "--skip-preview", "--expect-no-changes")
	h.pulumi(dir, "", "preview", "--expect-no-changes")
}
