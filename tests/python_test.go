package tests

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPython runs examples/python's edge_secrets() as an Automation API inline program, with
// PyPI pulumi and the built SDK wheel in the venv `make e2e-deps` makes (.cache/e2e-venv, or
// the interpreter EDGESECRETS_E2E_PYTHON names).
func TestPython(t *testing.T) {
	t.Parallel()
	h := newExampleHarness(t)
	testLifecycle(t, h, pythonExample(t, h))
}

// pythonExample returns examples/python ready to run with h.
func pythonExample(t *testing.T, h *harness) *driverProgram {
	t.Helper()
	python := os.Getenv("EDGESECRETS_E2E_PYTHON")
	if python == "" {
		python = filepath.Join(repoRoot, ".cache", "e2e-venv", "bin", "python")
	}
	requireFile(t, python, "run `make e2e-deps`")
	// Fail early, and clearly, if the venv lacks a package.
	h.run(repoRoot, "", python, "-c", "import pulumi.automation, pulumi_edgesecrets")

	return &driverProgram{
		t:       t,
		h:       h,
		command: []string{python, filepath.Join(repoRoot, "tests", "testdata", "python", "driver.py")},
		env: []string{
			"E2E_PROGRAM_DIR=" + filepath.Join(repoRoot, "examples", "python"),
			"E2E_PROJECT=edgesecrets-example-python",
			"PYTHONDONTWRITEBYTECODE=1", // leave no __pycache__ in examples/python
		},
		workDir: t.TempDir(),
	}
}
