package tests

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// Issue 18's sequences, through the CLI against the default emulator (Fly reads lag writes):
// each ends with every key the programs declare on the app, and each refusal names what it must.

// A FlyAppSecrets and a FlySecret declaring one key are refused at preview, naming both; the
// move the refusal advises (take the key out of one, add it to the other with adopt, in one up)
// loses nothing, and the next preview is clean.
func TestKeyMovedFromAppSecretsToFlySecret(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	moved := uniqueValue("moved-")
	both := appSecretsProgram("app", map[string]string{"MOVED": moved, "STAY": "s"}, "")
	dir := yamlProgram(t, h, both)
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")

	rewrite(t, dir, both+flySecretProgram("moved", "MOVED", moved, "      adopt: true\n"))
	out := h.pulumiFails(dir, "", "preview")
	if !strings.Contains(out, `"MOVED" is declared by both fly:`) ||
		!strings.Contains(out, `fly:FlyAppSecrets "app"`) || !strings.Contains(out, `fly:FlySecret "moved"`) {
		t.Errorf("the preview does not refuse one key declared by two resources, naming both:\n%s", out)
	}

	rewrite(t, dir, appSecretsProgram("app", map[string]string{"STAY": "s"}, "")+
		flySecretProgram("moved", "MOVED", moved, "      adopt: true\n"))
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	if s, ok := h.contents().flySecret(flyApp, "MOVED"); !ok || s.Value != moved {
		t.Fatalf("MOVED is gone (or changed) after its move to a FlySecret (present: %v)", ok)
	}
	h.pulumi(dir, "", "preview", "--expect-no-changes")
}

// The "app already has secrets" error advises an import of the program's keys only; following
// it, the next up manages those and leaves every other secret of the app alone.
func TestImportAdviceTakesOnlyTheProgramsKeys(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedFly(flyApp, time.Hour, map[string]string{"DB_URL": "old", "OTHER_TEAM": "theirs"})
	value := uniqueValue("db-")
	dir := yamlProgram(t, h, appSecretsProgram("app", map[string]string{"DB_URL": value}, ""))
	out := h.pulumiFails(dir, "", "up", "--yes", "--skip-preview")
	want := "pulumi import edgesecrets:fly:FlyAppSecrets app 'demo?keys=DB_URL'"
	if !strings.Contains(out, want) || strings.Contains(out, "OTHER_TEAM") {
		t.Fatalf("the error does not advise %q alone:\n%s", want, out)
	}
	h.pulumi(dir, "", "import", "edgesecrets:fly:FlyAppSecrets", "app", flyApp+"?keys=DB_URL", "--yes",
		"--protect=false")
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	c := h.contents()
	if s, ok := c.flySecret(flyApp, "DB_URL"); !ok || s.Value != value {
		t.Error("DB_URL does not hold the program's value after the import and up")
	}
	if _, ok := c.flySecret(flyApp, "OTHER_TEAM"); !ok {
		t.Fatal("following the import advice unset OTHER_TEAM, a key the program never named")
	}
	h.pulumi(dir, "", "destroy", "--yes", "--skip-preview")
	if _, ok := h.contents().flySecret(flyApp, "OTHER_TEAM"); !ok {
		t.Fatal("the destroy unset OTHER_TEAM")
	}
}

// A prune whose scope holds a key that the program declares out of its sight keeps the key: a
// FlySecret served by an explicit provider instance (another provider process), and an
// `up --target` of the pruning resource alone (the engine checks no other resource).
func TestPruneKeepsKeysDeclaredOutOfItsSight(t *testing.T) {
	t.Parallel()
	prune := appSecretsProgram("prod", map[string]string{"API_KEY": "a"}, "      keyTemplate: PROD_{{key}}\n"+
		"      prune: true\n")
	assertKept := func(t *testing.T, h *harness, out string, names ...string) {
		t.Helper()
		for _, name := range names {
			if _, ok := h.contents().flySecret(flyApp, name); !ok {
				t.Errorf("the prune unset %s, which the program declares:\n%s", name, out)
			}
		}
		if _, ok := h.contents().flySecret(flyApp, "PROD_STRAY"); ok {
			t.Errorf("the prune kept PROD_STRAY, an old stray no resource declares")
		}
	}

	t.Run("explicit provider", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.seedFly(flyApp, time.Hour, map[string]string{"PROD_STRAY": "s"})
		explicit := "  other:\n    type: pulumi:providers:edgesecrets\n" +
			flySecretProgram("elsewhere", "PROD_ELSEWHERE", "e", "    options:\n      provider: ${other}\n")
		dir := yamlProgram(t, h, prune+explicit)
		out := h.pulumi(dir, "", "up", "--yes", "--skip-preview")
		assertKept(t, h, out, "PROD_ELSEWHERE", "PROD_API_KEY")
		h.pulumi(dir, "", "up", "--yes", "--skip-preview")
		assertKept(t, h, out, "PROD_ELSEWHERE", "PROD_API_KEY")
	})

	t.Run("up --target", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.seedFly(flyApp, time.Hour, map[string]string{"PROD_STRAY": "s"})
		dir := yamlProgram(t, h, flySecretProgram("mine", "PROD_MINE", "m", ""))
		h.pulumi(dir, "", "up", "--yes", "--skip-preview")
		rewrite(t, dir, flySecretProgram("mine", "PROD_MINE", "m", "")+prune)
		out := h.pulumi(dir, "", "up", "--yes", "--skip-preview", "--target",
			urnIn(t, dir, "edgesecrets:fly:FlyAppSecrets", "prod"))
		if !strings.Contains(out, "prune kept Fly.io secret demo/PROD_MINE") {
			t.Errorf("the up does not say why it kept PROD_MINE:\n%s", out)
		}
		assertKept(t, h, out, "PROD_MINE", "PROD_API_KEY")
	})
}

// Two stacks hand a key over: stack A's FlyAppSecrets is destroyed while stack B adopts the key
// as a FlySecret, B's up started at offsets of 0 to 200 ms after A's destroy. Each stack is its
// own provider process: A's unset may be decided from a listing that does not show B's write
// yet (Fly has no conditional delete), and B's takeover, which confirms its write once such an
// unset would show, writes it again. No offset may lose the key.
func TestTwoStacksHandOverAKey(t *testing.T) {
	t.Parallel()
	for _, offset := range []time.Duration{0, 50 * time.Millisecond, 100 * time.Millisecond,
		150 * time.Millisecond, 200 * time.Millisecond} {
		t.Run(fmt.Sprintf("offset %v", offset), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			a := yamlProgram(t, h, appSecretsProgram("app", map[string]string{"HANDED": "from-a", "A_ONLY": "x"}, ""))
			h.pulumi(a, "", "up", "--yes", "--skip-preview")
			value := uniqueValue("from-b-")
			b := yamlProgram(t, h, flySecretProgram("handed", "HANDED", value, "      adopt: true\n"))

			var wg sync.WaitGroup
			var outA, outB string
			var errA, errB error
			wg.Add(2)
			go func() {
				defer wg.Done()
				outA, errA = h.combined(pulumiCmd{dir: a, args: []string{"destroy", "--yes", "--skip-preview",
					"--non-interactive"}})
			}()
			go func() {
				defer wg.Done()
				time.Sleep(offset)
				outB, errB = h.combined(pulumiCmd{dir: b, args: []string{"up", "--yes", "--skip-preview",
					"--non-interactive"}})
			}()
			wg.Wait()
			if errA != nil || errB != nil {
				t.Fatalf("destroy of A: %v\n%s\nup of B: %v\n%s", errA, tail(outA, 30), errB, tail(outB, 30))
			}
			rewritten := strings.Contains(outB, "writing them again")
			t.Logf("offset %v: B's takeover wrote the key again: %v", offset, rewritten)
			if s, ok := h.contents().flySecret(flyApp, "HANDED"); !ok || s.Value != value {
				t.Fatalf("offset %v: HANDED is lost (present: %v) after the handover\nA:\n%s\nB:\n%s",
					offset, ok, tail(outA, 30), tail(outB, 30))
			}
			if _, ok := h.contents().flySecret(flyApp, "A_ONLY"); ok {
				t.Error("A's destroy left A_ONLY, which only A wrote")
			}
			h.pulumi(b, "", "preview", "--expect-no-changes")
		})
	}
}

// A FlySecret that depends on the pruning FlyAppSecrets is checked only after the prune ran: the
// prune keeps its key (written after the FlyAppSecrets took its scope over), and the FlySecret's
// check then refuses the program, naming both.
func TestPruneKeepsTheKeyOfADependent(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.seedFly(flyApp, time.Hour, map[string]string{"PROD_STRAY": "s"})
	dir := yamlProgram(t, h, flySecretProgram("later", "PROD_LATER", "l", ""))
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	rewrite(t, dir, appSecretsProgram("prod", map[string]string{"API_KEY": "a"},
		"      keyTemplate: PROD_{{key}}\n      prune: true\n")+
		flySecretProgram("later", "PROD_LATER", "l", "    options:\n      dependsOn:\n        - ${prod}\n"))
	out := h.pulumiFails(dir, "", "up", "--yes", "--skip-preview")
	if !strings.Contains(out, `"PROD_LATER" is inside the prune scope PROD_* of fly:FlyAppSecrets "prod"`) {
		t.Errorf("the up does not refuse the dependent inside the prune scope, naming both:\n%s", out)
	}
	if _, ok := h.contents().flySecret(flyApp, "PROD_LATER"); !ok {
		t.Fatalf("the prune unset PROD_LATER, which a dependent FlySecret declares:\n%s", out)
	}
}

// A secret moved from a SecretsStore's inline map to a Secret (adopt: true) in one up is never
// deleted: the store releases it, the Secret takes it over.
func TestInlineSecretMovedToASecretInOneUp(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	moved := uniqueValue("moved-")
	store := func(inline string) string {
		return "  store:\n    type: edgesecrets:cloudflare:SecretsStore\n    properties:\n      secrets:\n" + inline
	}
	dir := yamlProgram(t, h, store("        MOVED: "+moved+"\n        KEEP: k\n"))
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	rewrite(t, dir, store("        KEEP: k\n")+"  moved:\n    type: edgesecrets:cloudflare:Secret\n    properties:\n"+
		"      storeId: ${store.storeId}\n      name: MOVED\n      adopt: true\n      value:\n        fn::secret: "+
		moved+"\n")
	h.emulator.ResetStats()
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	if n := h.emulator.Stats().Routes[routeCloudflareDelete]; n != 0 {
		t.Errorf("the move made %d deletes", n)
	}
	if _, s, ok := h.contents().cloudflareSecret("MOVED"); !ok || s.Value != moved {
		t.Fatalf("MOVED is gone (or changed) after its move to a Secret (present: %v)", ok)
	}
	h.pulumi(dir, "", "up", "--yes", "--skip-preview") // the released secret's follow-up
	if _, s, ok := h.contents().cloudflareSecret("MOVED"); !ok || s.Value != moved {
		t.Fatal("MOVED is gone after the up that follows the move")
	}
	h.pulumi(dir, "", "preview", "--expect-no-changes")
}
