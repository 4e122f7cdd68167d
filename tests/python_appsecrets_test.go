package tests

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

// A Python program of a FlyAppSecrets with deploy: rolling and getFlySecrets, through the
// Automation API with the built SDK: each up is one bulk write and one restart per machine, and
// the function returns what the emulator holds.
func TestPythonFlyAppSecretsDeployAndLookup(t *testing.T) {
	t.Parallel()
	python := os.Getenv("EDGESECRETS_E2E_PYTHON")
	if python == "" {
		python = filepath.Join(repoRoot, ".cache", "e2e-venv", "bin", "python")
	}
	requireFile(t, python, "run `make e2e-deps`")
	h := newHarnessWith(t, emulator.Options{FlyApps: []string{flyApp}, FlyMachines: 2})
	// An unmanaged name under the template, written long ago: prune unsets it in the first up's one write.
	h.seedFly(flyApp, time.Hour, map[string]string{"APP_STALE": "stale", "OTHER": "kept"})
	p := &driverProgram{
		t:       t,
		h:       h,
		command: []string{python, filepath.Join(repoRoot, "tests", "testdata", "python", "driver.py")},
		env: []string{
			"E2E_PROGRAM_DIR=" + filepath.Join(repoRoot, "tests", "testdata", "python-appsecrets"),
			"E2E_PROJECT=edgesecrets-appsecrets-python",
			"PYTHONDONTWRITEBYTECODE=1",
		},
		workDir: t.TempDir(),
	}

	first := exampleConfig()
	p.setSecretConfig(first)
	h.emulator.ResetStats()
	created := timed(t, "up (create)", p.up)
	h.assertSecretWrites("the first up", map[string]int{routeFlyBulk: 1})
	h.assertRollout("the first up", 1)
	names := []any{"APP_API_KEY", "APP_DATABASE_URL"}
	if !reflect.DeepEqual(created.Outputs["names"], names) {
		t.Errorf("names output is %v, want %v", created.Outputs["names"], names)
	}
	want := []any{"APP_API_KEY", "APP_DATABASE_URL", "OTHER"}
	if got := created.Outputs["listedNames"]; !reflect.DeepEqual(got, want) {
		t.Errorf("getFlySecrets lists %v, want %v", got, want)
	}
	if created.Outputs["deployedVersion"] != created.Outputs["version"] {
		t.Errorf(
			"deployedVersion %v, want the version written, %v",
			created.Outputs["deployedVersion"],
			created.Outputs["version"],
		)
	}
	if s, _ := h.contents().flySecret(flyApp, "APP_DATABASE_URL"); s.Value != first["databaseUrl"] {
		t.Error("APP_DATABASE_URL does not hold the config's databaseUrl")
	}

	second := exampleConfig()
	p.setSecretConfig(second)
	h.emulator.ResetStats()
	timed(t, "up (new values)", p.up)
	h.assertSecretWrites("the second up", map[string]int{routeFlyBulk: 1})
	h.assertRollout("the second up", 2)

	refreshed := timed(t, "refresh", p.refresh)
	assertChanges(t, "refresh", refreshed.Changes, map[string]int{"same": 2})
	values := []string{first["databaseUrl"], first["apiKey"], second["databaseUrl"], second["apiKey"]}
	assertNoPlaintext(t, values, p.stateDirs()...)
	timed(t, "destroy", p.destroy)
	if got := h.flyNames(flyApp); !reflect.DeepEqual(got, []string{"OTHER"}) {
		t.Errorf("after destroy the app holds %v, want only the unmanaged OTHER", got)
	}
}
