package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

// flySecretProgram is a YAML program of one FlySecret called resource, on app demo.
func flySecretProgram(resource, name, value, options string) string {
	return "  " + resource + ":\n    type: edgesecrets:fly:FlySecret\n    properties:\n      app: demo\n" +
		"      name: " + name + "\n      value:\n        fn::secret: " + value + "\n" + options
}

// rewrite replaces a program's resources, as a user edits Pulumi.yaml.
func rewrite(t *testing.T, dir, resources string) {
	t.Helper()
	path := filepath.Join(dir, "Pulumi.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(data), "resources:\n")
	if err := os.WriteFile(path, []byte(head+"resources:\n"+resources), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Renaming a FlySecret's logical name without an alias used to delete the secret (the engine
// creates the "new" one, then deletes the old). Now the up fails at the create and says what to
// do; the secret is still there; the alias it names makes the rename a no-op.
func TestRenameWithoutAliasKeepsTheSecret(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	value := uniqueValue("rename-")
	dir := yamlProgram(t, h, flySecretProgram("db", "DATABASE_URL", value, ""))
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")

	rewrite(t, dir, flySecretProgram("database", "DATABASE_URL", value, ""))
	out := h.pulumiFails(dir, "", "up", "--yes", "--skip-preview")
	for _, want := range []string{"already has a secret \"DATABASE_URL\"", "`aliases`",
		"pulumi import edgesecrets:fly:FlySecret database demo/DATABASE_URL"} {
		if !strings.Contains(out, want) {
			t.Errorf("the failed up does not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, value) {
		t.Errorf("the output prints the value:\n%s", out)
	}
	if s, ok := h.contents().flySecret(flyApp, "DATABASE_URL"); !ok || s.Value != value {
		t.Fatalf("the secret is gone or changed after the failed rename")
	}

	alias := "    options:\n      aliases:\n        - " + urnIn(t, dir, "edgesecrets:fly:FlySecret", "db") + "\n"
	rewrite(t, dir, flySecretProgram("database", "DATABASE_URL", value, alias))
	h.emulator.ResetStats()
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	h.assertWrites("the aliased rename", map[string]int{})
	h.pulumi(dir, "", "preview", "--expect-no-changes")
	if _, ok := h.contents().flySecret(flyApp, "DATABASE_URL"); !ok {
		t.Fatal("the secret is gone after the aliased rename")
	}
}

// Following the advice instead (adopt: true on the renamed resource): the new resource takes the
// secret over, and the old one's delete leaves it, with a warning. Nothing is lost, and the
// next preview is clean.
func TestRenameWithAdoptKeepsTheSecret(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	value := uniqueValue("adopt-")
	apiKey := func(resource, options string) string {
		return "  " + resource + ":\n    type: edgesecrets:cloudflare:Secret\n    properties:\n      name: API_KEY\n" +
			"      value:\n        fn::secret: " + value + "\n" + options
	}
	dir := yamlProgram(t, h, flySecretProgram("db", "DATABASE_URL", value, "")+apiKey("api", ""))
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")

	// Renamed without an alias: both creates fail, naming the fix; nothing is deleted.
	rewrite(t, dir, flySecretProgram("database", "DATABASE_URL", value, "")+apiKey("apiKey", ""))
	out := h.pulumiFails(dir, "", "up", "--yes", "--skip-preview")
	if !strings.Contains(out, "already has a secret named \"API_KEY\"") ||
		!strings.Contains(out, "pulumi import edgesecrets:cloudflare:Secret apiKey ") {
		t.Errorf("the up does not say the Cloudflare secret exists and how to import it:\n%s", out)
	}
	if _, _, ok := h.contents().cloudflareSecret("API_KEY"); !ok {
		t.Fatal("the failed rename deleted the Cloudflare secret")
	}

	rewrite(t, dir, flySecretProgram("database", "DATABASE_URL", value, "      adopt: true\n")+
		apiKey("apiKey", "      adopt: true\n"))
	out = h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	if !strings.Contains(out, "left Fly.io secret demo/DATABASE_URL in place") ||
		!strings.Contains(out, "left Cloudflare secret \"API_KEY\"") {
		t.Errorf("the up does not warn that it left the adopted secrets:\n%s", out)
	}
	c := h.contents()
	if _, ok := c.flySecret(flyApp, "DATABASE_URL"); !ok {
		t.Error("the Fly secret is gone")
	}
	if _, _, ok := c.cloudflareSecret("API_KEY"); !ok {
		t.Error("the Cloudflare secret is gone")
	}
	h.pulumi(dir, "", "preview", "--expect-no-changes")
	h.pulumi(dir, "", "destroy", "--yes", "--skip-preview")
	h.assertEmulatorEmpty("after destroy")
}

// Two stacks declaring one Fly secret: the second's up fails instead of overwriting; with adopt
// it takes the secret over, and destroying the first stack then leaves it to the second.
func TestTwoStacksOneSecret(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	first := yamlProgram(t, h, flySecretProgram("shared", "SHARED", "from-first", ""))
	h.pulumi(first, "", "up", "--yes", "--skip-preview")

	second := yamlProgram(t, h, flySecretProgram("shared", "SHARED", "from-second", ""))
	out := h.pulumiFails(second, "", "up", "--yes", "--skip-preview")
	if !strings.Contains(out, "already has a secret \"SHARED\"") {
		t.Errorf("the second stack's up does not say the secret exists:\n%s", out)
	}
	if s, _ := h.contents().flySecret(flyApp, "SHARED"); s.Value != "from-first" {
		t.Fatal("the second stack overwrote the first's secret")
	}

	rewrite(t, second, flySecretProgram("shared", "SHARED", "from-second", "      adopt: true\n"))
	h.pulumi(second, "", "up", "--yes", "--skip-preview")
	h.pulumi(first, "", "destroy", "--yes", "--skip-preview")
	if s, ok := h.contents().flySecret(flyApp, "SHARED"); !ok || s.Value != "from-second" {
		t.Fatal("destroying the first stack deleted the second's secret")
	}
	h.pulumi(second, "", "preview", "--expect-no-changes")
}

// Two FlySecrets of one app and name in one program: the engine creates them at once, and the
// up fails for one of them instead of both "succeeding" with the last writer winning.
func TestOneSecretTwiceInAProgram(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := yamlProgram(t, h, flySecretProgram("first", "TWICE", "one", "")+flySecretProgram("second", "TWICE", "two", ""))
	out := h.pulumiFails(dir, "", "up", "--yes", "--skip-preview")
	if !strings.Contains(out, `"TWICE" is declared by both fly:FlySecret "`) {
		t.Errorf("the up does not say the secret is declared twice:\n%s", out)
	}
}

// Renaming a store that also holds a secret nobody manages fails before anything is deleted:
// at preview for the account's default store (kept: an account holds one store), and in the
// store's delete, before its inline secrets go, for a store the stack created.
func TestStoreRenameLosesNothing(t *testing.T) {
	t.Parallel()
	store := func(name string) string {
		return "  store:\n    type: edgesecrets:cloudflare:SecretsStore\n    properties:\n      name: " + name +
			"\n      secrets:\n        INLINE: inline-value\n"
	}
	handMade := func(h *harness) {
		c := h.contents()
		stores := c.stores()
		if len(stores) != 1 {
			t.Fatalf("%d stores", len(stores))
		}
		path := "/client/v4/accounts/" + h.envVars["CLOUDFLARE_ACCOUNT_ID"] +
			"/secrets_store/stores/" + stores[0].ID + "/secrets"
		h.apiJSON("POST", path, []map[string]any{{"name": "HAND_MADE", "value": "x", "scopes": []string{"workers"}}}, nil)
	}
	assertKept := func(h *harness, step string) {
		c := h.contents()
		for _, name := range []string{"INLINE", "HAND_MADE"} {
			if _, _, ok := c.cloudflareSecret(name); !ok {
				t.Errorf("%s: %s is gone", step, name)
			}
		}
	}

	t.Run("the account's default store", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		dir := yamlProgram(t, h, store("default_secrets_store"))
		h.pulumi(dir, "", "up", "--yes", "--skip-preview")
		handMade(h)
		rewrite(t, dir, store("renamed"))
		out := h.pulumiFails(dir, "", "preview")
		if !strings.Contains(out, "cannot be replaced") {
			t.Errorf("the preview does not say the store cannot be replaced:\n%s", out)
		}
		h.pulumiFails(dir, "", "up", "--yes", "--skip-preview")
		assertKept(h, "after the failed up")
	})

	t.Run("a store the stack created", func(t *testing.T) {
		t.Parallel()
		h := newHarnessWith(t, emulator.Options{FlyApps: []string{flyApp}, CloudflareEmptyAccount: true})
		dir := yamlProgram(t, h, store("edge"))
		h.pulumi(dir, "", "up", "--yes", "--skip-preview")
		handMade(h)
		rewrite(t, dir, store("renamed"))
		out := h.pulumiFails(dir, "", "up", "--yes", "--skip-preview")
		if !strings.Contains(out, "HAND_MADE") || !strings.Contains(out, "nothing was deleted") {
			t.Errorf("the up does not name the unmanaged secret:\n%s", out)
		}
		assertKept(h, "after the failed up")
		rewrite(t, dir, store("edge"))
		h.pulumi(dir, "", "preview", "--expect-no-changes")
	})
}

// Values changed by hand, for a FlySecret, a Secret and an inline secret alike: refresh records
// it, the preview shows the write-back with a warning that says so, one up writes the program's
// values back, and a refresh after it finds nothing.
func TestDriftIsVisibleAndWrittenBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := yamlProgram(t, h, flySecretProgram("db", "DATABASE_URL", "program-fly", "")+`
  store:
    type: edgesecrets:cloudflare:SecretsStore
    properties:
      secrets:
        INLINE: program-inline
  key:
    type: edgesecrets:cloudflare:Secret
    properties:
      storeId: ${store.storeId}
      name: API_KEY
      value:
        fn::secret: program-cloudflare
`)
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")

	// By hand: flyctl secrets set, and edits in the Cloudflare dashboard.
	h.apiJSON("POST", "/v1/apps/"+flyApp+"/secrets/DATABASE_URL", map[string]string{"value": "by-hand"}, nil)
	storeID, apiKey, _ := h.contents().cloudflareSecret("API_KEY")
	_, inline, _ := h.contents().cloudflareSecret("INLINE")
	secretsPath := "/client/v4/accounts/" + h.envVars["CLOUDFLARE_ACCOUNT_ID"] +
		"/secrets_store/stores/" + storeID + "/secrets/"
	for _, id := range []string{apiKey.ID, inline.ID} {
		h.apiJSON("PATCH", secretsPath+id, map[string]string{"value": "by-hand"}, nil)
	}
	time.Sleep(emulator.DefaultFlyReadLag) // time passes before the refresh, as it would

	refresh := h.pulumi(dir, "", "refresh", "--yes", "--skip-preview")
	for _, want := range []string{"the value of Fly.io secret demo/DATABASE_URL was changed outside Pulumi",
		"Cloudflare secret \"API_KEY\" was modified outside Pulumi", "inline secrets INLINE of store"} {
		if !strings.Contains(refresh, want) {
			t.Errorf("the refresh does not say %q:\n%s", want, refresh)
		}
	}
	preview := h.pulumi(dir, "", "preview", "--json")
	if !strings.Contains(preview, `"update": 3`) {
		t.Errorf("the preview does not write the three values back:\n%s", preview)
	}
	h.emulator.ResetStats()
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	c := h.contents()
	fly, _ := c.flySecret(flyApp, "DATABASE_URL")
	_, key, _ := c.cloudflareSecret("API_KEY")
	_, in, _ := c.cloudflareSecret("INLINE")
	if fly.Value != "program-fly" || key.Value != "program-cloudflare" || in.Value != "program-inline" {
		t.Errorf("the up did not write the program's values back")
	}
	h.pulumi(dir, "", "refresh", "--yes", "--skip-preview", "--expect-no-changes")
	h.pulumi(dir, "", "preview", "--expect-no-changes")
}
