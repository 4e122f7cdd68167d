package tests

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

// TestUpgradeFrom010 takes a stack that edgesecrets 0.1.0 deployed (tests/testdata/upgrade: the
// program, its stack export and stack config, and what the emulator then held) and runs the
// current provider on it: preview, refresh and preview again find no change, and destroy
// removes what the stack made. The state was recorded by building 0.1.0 (commit 99beda5) and
// running the program against its emulator.
func TestUpgradeFrom010(t *testing.T) {
	t.Parallel()
	recorded := filepath.Join(repoRoot, "tests", "testdata", "upgrade", "v0.1.0")
	h := newHarnessWith(t, emulator.Options{
		FlyApps:   []string{flyApp},
		StatePath: filepath.Join(recorded, "emulator-state.json"),
	})
	h.fixtures = nil // the store in the recorded state is the stack's own
	h.setEnv("PULUMI_CONFIG_PASSPHRASE", "edgesecrets-upgrade")

	dir := copyDir(t, filepath.Join(repoRoot, "tests", "testdata", "upgrade", "program"))
	config, err := os.ReadFile(filepath.Join(recorded, "Pulumi.upgrade.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.upgrade.yaml"), config, 0o644); err != nil {
		t.Fatal(err)
	}
	requireCommand(t, "pulumi-language-yaml", "run `make tools`")
	h.pulumi(dir, "", "stack", "init", "upgrade")
	h.pulumi(dir, "", "stack", "import", "--file", filepath.Join(recorded, "stack.json"))

	h.emulator.ResetStats()
	timed(t, "preview (0.1.0 state)", func() string { return h.pulumi(dir, "", "preview", "--expect-no-changes") })
	timed(t, "refresh", func() string {
		return h.pulumi(dir, "", "refresh", "--yes", "--skip-preview", "--expect-no-changes")
	})
	timed(t, "preview (refreshed)", func() string { return h.pulumi(dir, "", "preview", "--expect-no-changes") })
	h.assertWrites("preview and refresh of the 0.1.0 state", map[string]int{})

	timed(t, "destroy", func() string { return h.pulumi(dir, "", "destroy", "--yes", "--skip-preview") })
	h.assertEmulatorEmpty("after destroy")
}
