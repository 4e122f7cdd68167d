package tests

import (
	"bytes"
	"context"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"

	"github.com/edgesecrets/pulumi-edgesecrets/examples/go/program"
)

// TestGo runs examples/go's program.EdgeSecrets as an Automation API inline program: the
// program runs in this test process, on the generated Go SDK.
func TestGo(t *testing.T) {
	t.Parallel()
	h := newExampleHarness(t)
	testLifecycle(t, h, goExample(t, h))
}

// goExample returns examples/go's program as an inline program of a new stack run with h.
func goExample(t *testing.T, h *harness) *autoProgram {
	t.Helper()
	workDir := t.TempDir()
	stack, err := auto.UpsertStackInlineSource(context.Background(), "e2e", "edgesecrets-example-go",
		program.EdgeSecrets, auto.WorkDir(workDir), auto.EnvVars(h.envVars))
	if err != nil {
		t.Fatalf("creating the stack: %v", err)
	}
	return &autoProgram{t: t, stack: stack, workDir: workDir, backendDir: h.backendDir}
}

// autoProgram is a Go inline program driven by the Automation API. Progress output is kept
// and shown only when an operation fails.
type autoProgram struct {
	t          *testing.T
	stack      auto.Stack
	workDir    string
	backendDir string
}

func (p *autoProgram) setSecretConfig(values map[string]string) {
	p.t.Helper()
	config := auto.ConfigMap{}
	for key, value := range values {
		config[key] = auto.ConfigValue{Value: value, Secret: true}
	}
	if err := p.stack.SetAllConfig(context.Background(), config); err != nil {
		p.t.Fatalf("setting config: %v", err)
	}
}

func (p *autoProgram) up() opResult {
	p.t.Helper()
	var progress bytes.Buffer
	res, err := p.stack.Up(context.Background(), optup.ProgressStreams(&progress))
	p.check("up", err, &progress)
	assertInstalledPlugin(p.t, progress.String())
	outputs := map[string]any{}
	for name, out := range res.Outputs {
		outputs[name] = out.Value
		if out.Secret {
			outputs[name] = "[secret]"
		}
	}
	return opResult{Changes: derefChanges(res.Summary.ResourceChanges), Outputs: outputs}
}

func (p *autoProgram) preview() opResult {
	p.t.Helper()
	var progress bytes.Buffer
	res, err := p.stack.Preview(context.Background(), optpreview.ProgressStreams(&progress))
	p.check("preview", err, &progress)
	changes := map[string]int{}
	for op, n := range res.ChangeSummary {
		changes[string(op)] = n
	}
	return opResult{Changes: changes}
}

func (p *autoProgram) refresh() opResult {
	p.t.Helper()
	var progress bytes.Buffer
	res, err := p.stack.Refresh(context.Background(), optrefresh.ProgressStreams(&progress))
	p.check("refresh", err, &progress)
	return opResult{Changes: derefChanges(res.Summary.ResourceChanges)}
}

func (p *autoProgram) destroy() opResult {
	p.t.Helper()
	var progress bytes.Buffer
	res, err := p.stack.Destroy(context.Background(), optdestroy.ProgressStreams(&progress))
	p.check("destroy", err, &progress)
	return opResult{Changes: derefChanges(res.Summary.ResourceChanges)}
}

func (p *autoProgram) stateDirs() []string { return []string{p.backendDir, p.workDir} }

// check stops the test if op failed, with its progress output (Pulumi masks secrets there).
func (p *autoProgram) check(op string, err error, progress *bytes.Buffer) {
	p.t.Helper()
	if err != nil {
		p.t.Fatalf("%s: %v\n--- progress:\n%s", op, err, progress.String())
	}
}

func derefChanges(changes *map[string]int) map[string]int {
	if changes == nil {
		return nil
	}
	return *changes
}
