package tests

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// TestTypeScript runs examples/typescript's edgeSecrets() as an Automation API inline program,
// with npm @pulumi/pulumi and the built TypeScript SDK (installed by `make e2e-deps` into
// testdata/nodejs). The example is type-checked and compiled first, so a type error in it, or
// an SDK that no longer fits it, fails the test.
func TestTypeScript(t *testing.T) {
	t.Parallel()
	h := newExampleHarness(t)
	testLifecycle(t, h, typeScriptExample(t, h))
}

// typeScriptExample compiles examples/typescript and returns it ready to run with h.
func typeScriptExample(t *testing.T, h *harness) *driverProgram {
	t.Helper()
	nodeDir := filepath.Join(repoRoot, "tests", "testdata", "nodejs")
	node := requireCommand(t, "node", "install Node.js")
	for _, pkg := range []string{"@pulumi/pulumi", "@edgesecrets/pulumi", "typescript"} {
		requireFile(t, filepath.Join(nodeDir, "node_modules", pkg, "package.json"), "run `make e2e-deps`")
	}

	buildDir := t.TempDir()
	timed(t, "tsc (examples/typescript)", func() string {
		return h.run(nodeDir, "", node, filepath.Join(nodeDir, "node_modules", "typescript", "bin", "tsc"),
			"-p", filepath.Join(nodeDir, "tsconfig.json"), "--outDir", buildDir)
	})
	// The compiled program sits outside testdata/nodejs: NODE_PATH lets it find the same
	// @pulumi/pulumi and SDK the driver loads.
	h.env = append(h.env, "NODE_PATH="+filepath.Join(nodeDir, "node_modules"))

	return &driverProgram{
		t:       t,
		h:       h,
		command: []string{node, filepath.Join(nodeDir, "driver.js")},
		env: []string{
			"E2E_PROGRAM=" + filepath.Join(buildDir, "program.js"),
			"E2E_PROJECT=edgesecrets-example-typescript",
		},
		workDir: t.TempDir(),
	}
}

// driverProgram runs an example through a driver script (testdata/nodejs/driver.js,
// testdata/python/driver.py): one process per operation, which prints its result as JSON.
type driverProgram struct {
	t       *testing.T
	h       *harness
	command []string // the interpreter and the driver script
	env     []string // where the driver finds the program, the project name, ...
	workDir string   // the Automation API workspace: the stack's config lives here
	config  map[string]string
}

func (p *driverProgram) setSecretConfig(values map[string]string) { p.config = values }

func (p *driverProgram) up() opResult      { return p.run("up") }
func (p *driverProgram) preview() opResult { return p.run("preview") }
func (p *driverProgram) refresh() opResult { return p.run("refresh") }
func (p *driverProgram) destroy() opResult { return p.run("destroy") }

func (p *driverProgram) stateDirs() []string { return []string{p.h.backendDir, p.workDir} }

func (p *driverProgram) run(op string) opResult {
	p.t.Helper()
	config, err := json.Marshal(p.config)
	if err != nil {
		p.t.Fatal(err)
	}
	saved := p.h.env
	defer func() { p.h.env = saved }()
	p.h.env = append(append(append([]string{}, saved...), p.env...),
		"E2E_STACK=e2e", "E2E_WORK_DIR="+p.workDir, "E2E_SECRET_CONFIG="+string(config))

	out := p.h.run(repoRoot, "", p.command[0], append(p.command[1:], op)...)
	var res struct {
		Changes map[string]int `json:"changes"`
		Outputs map[string]any `json:"outputs"`
	}
	jsonLastLine(p.t, "driver "+op, out, &res)
	return opResult{Changes: res.Changes, Outputs: res.Outputs}
}
