package tests

import (
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/workers"
)

// A Python program of a WorkerSecret, a WorkerSecrets under a keyTemplate and getWorkerSecrets,
// through the Automation API with the built SDK: create, a preview and a refresh that change
// nothing and write nothing, an update of every value, a script upload that drops the secrets
// (refresh shows it, one up restores them) and destroy; the values never reach the state.
func TestPythonWorkerSecretsLifecycle(t *testing.T) {
	t.Parallel()
	python := os.Getenv("EDGESECRETS_E2E_PYTHON")
	if python == "" {
		python = filepath.Join(repoRoot, ".cache", "e2e-venv", "bin", "python")
	}
	requireFile(t, python, "run `make e2e-deps`")
	h := newHarnessWith(t, emulator.Options{FlyApps: []string{flyApp}, CloudflareWorkers: []string{workerScript}})
	p := &driverProgram{
		t:       t,
		h:       h,
		command: []string{python, filepath.Join(repoRoot, "tests", "testdata", "python", "driver.py")},
		env: []string{
			"E2E_PROGRAM_DIR=" + filepath.Join(repoRoot, "tests", "testdata", "python-workers"),
			"E2E_PROJECT=edgesecrets-workers-python",
			"PYTHONDONTWRITEBYTECODE=1",
		},
		workDir: t.TempDir(),
	}
	expect := func(step string, config map[string]string) {
		t.Helper()
		want := map[string]string{"API_KEY": config["apiKey"], "APP_DATABASE_URL": config["databaseUrl"],
			"APP_REGION": "eu"}
		if got := h.workerSecrets(workerScript); !maps.Equal(got, want) {
			t.Fatalf("%s: the script holds %v, want %v (or other values)", step, names(got), names(want))
		}
	}

	first := exampleConfig()
	p.setSecretConfig(first)
	created := timed(t, "up (create)", p.up)
	assertChanges(t, "create", created.Changes, map[string]int{"create": 3})
	expect("create", first)
	wantNames := []any{"APP_DATABASE_URL", "APP_REGION"}
	if !reflect.DeepEqual(created.Outputs["names"], wantNames) {
		t.Errorf("names output is %v, want %v", created.Outputs["names"], wantNames)
	}
	if got, want := created.Outputs["listedNames"], []any{"API_KEY", "APP_DATABASE_URL", "APP_REGION"}; !reflect.
		DeepEqual(got, want) {
		t.Errorf("getWorkerSecrets lists %v, want %v", got, want)
	}

	h.emulator.ResetStats()
	assertChanges(t, "preview", timed(t, "preview", p.preview).Changes, map[string]int{"same": 3})
	assertChanges(t, "refresh", timed(t, "refresh", p.refresh).Changes, map[string]int{"same": 3})
	h.assertWrites("preview and refresh", map[string]int{})

	second := exampleConfig()
	p.setSecretConfig(second)
	updated := timed(t, "up (new values)", p.up)
	assertChanges(t, "update", updated.Changes, map[string]int{"same": 1, "update": 2})
	expect("update", second)

	if err := h.emulator.Workers().DropSecrets(workers.ScriptRef{Name: workerScript}); err != nil {
		t.Fatal(err)
	}
	refreshed := timed(t, "refresh (secrets dropped)", p.refresh)
	if refreshed.Changes["same"] == 3 {
		t.Errorf("the refresh after the secrets were dropped changes nothing: %v", refreshed.Changes)
	}
	timed(t, "up (restore)", p.up)
	expect("restore", second)
	assertChanges(t, "refresh after the restore", timed(t, "refresh", p.refresh).Changes, map[string]int{"same": 3})

	timed(t, "destroy", p.destroy)
	if got := h.workerSecrets(workerScript); len(got) != 0 {
		t.Errorf("destroy left %v", names(got))
	}
	assertNoPlaintext(t, secretValues(first, second), p.stateDirs()...)
}
