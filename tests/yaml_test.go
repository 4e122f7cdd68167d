package tests

import (
	"encoding/json"
	"maps"
	"path/filepath"
	"testing"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

// TestYAML runs examples/yaml through the Pulumi CLI and pulumi-language-yaml.
func TestYAML(t *testing.T) {
	t.Parallel()
	h := newExampleHarness(t)
	p := newCLIProgram(t, h, filepath.Join(repoRoot, "examples", "yaml"))
	testLifecycle(t, h, p)
}

// TestYAMLInAnAccountWithoutAStore deploys examples/yaml into a Cloudflare account that has no
// Secrets Store yet: its SecretsStore creates the store, and the getSecretsStore lookup, which
// takes the account from that resource's output, runs after it and finds it. Destroy deletes
// the store the up created.
func TestYAMLInAnAccountWithoutAStore(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, emulator.Options{FlyApps: []string{flyApp}, FlyMachines: exampleMachines,
		CloudflareEmptyAccount: true})
	p := newCLIProgram(t, h, filepath.Join(repoRoot, "examples", "yaml"))
	values := exampleConfig()
	p.setSecretConfig(values)

	h.emulator.ResetStats()
	created := timed(t, "up (create)", p.up)
	assertChanges(t, "up", created.Changes, map[string]int{"create": exampleResources})
	writes := h.exampleWrites(routeCloudflareCreate)
	maps.Copy(writes, map[string]int{routeCloudflareCreateStore: 1})
	h.assertWrites("up", writes)
	h.assertExampleDeployed(t, "after the up", created.Outputs, values)
	h.assertRollout("after the up", 1)

	destroyed := timed(t, "destroy", p.destroy)
	assertChanges(t, "destroy", destroyed.Changes, map[string]int{"delete": exampleResources})
	h.assertEmulatorEmpty("after destroy")
}

// cliProgram is a program run with the Pulumi CLI, as users run it, from a copy of its
// directory (Pulumi writes the stack's config file next to Pulumi.yaml).
type cliProgram struct {
	t   *testing.T
	h   *harness
	dir string
}

func newCLIProgram(t *testing.T, h *harness, exampleDir string) *cliProgram {
	t.Helper()
	requireCommand(t, "pulumi-language-yaml", "run `make tools`")
	p := &cliProgram{t: t, h: h, dir: copyDir(t, exampleDir)}
	h.pulumi(p.dir, "", "stack", "init", "e2e")
	return p
}

func (p *cliProgram) setSecretConfig(values map[string]string) {
	for key, value := range values {
		p.h.pulumi(p.dir, value, "config", "set", "--secret", key) // the value comes on stdin
	}
}

func (p *cliProgram) up() opResult {
	out := p.h.pulumi(p.dir, "", "up", "--yes", "--skip-preview")
	assertInstalledPlugin(p.t, out)
	return opResult{Changes: p.lastChanges("update"), Outputs: p.outputs()}
}

func (p *cliProgram) preview() opResult {
	var preview struct {
		ChangeSummary map[string]int `json:"changeSummary"`
	}
	out := p.h.pulumi(p.dir, "", "preview", "--json")
	if err := json.Unmarshal([]byte(out), &preview); err != nil {
		p.t.Fatalf("pulumi preview --json: %v\n%s", err, out)
	}
	return opResult{Changes: preview.ChangeSummary}
}

func (p *cliProgram) refresh() opResult {
	p.h.pulumi(p.dir, "", "refresh", "--yes", "--skip-preview")
	return opResult{Changes: p.lastChanges("refresh")}
}

func (p *cliProgram) destroy() opResult {
	p.h.pulumi(p.dir, "", "destroy", "--yes", "--skip-preview")
	return opResult{Changes: p.lastChanges("destroy")}
}

func (p *cliProgram) stateDirs() []string { return []string{p.h.backendDir, p.dir} }

// lastChanges returns the resource changes of the stack's latest operation, which must be of
// the given kind and have succeeded.
func (p *cliProgram) lastChanges(kind string) map[string]int {
	p.t.Helper()
	var history []struct {
		Kind            string         `json:"kind"`
		Result          string         `json:"result"`
		ResourceChanges map[string]int `json:"resourceChanges"`
	}
	out := p.h.pulumi(p.dir, "", "stack", "history", "--json", "--page-size", "1")
	if err := json.Unmarshal([]byte(out), &history); err != nil {
		p.t.Fatalf("pulumi stack history --json: %v\n%s", err, out)
	}
	if len(history) == 0 || history[0].Kind != kind || history[0].Result != "succeeded" {
		p.t.Fatalf("pulumi stack history: the latest operation is not a succeeded %s:\n%s", kind, out)
	}
	return history[0].ResourceChanges
}

// outputs are the stack's outputs; secret ones read "[secret]".
func (p *cliProgram) outputs() map[string]any {
	p.t.Helper()
	outputs := map[string]any{}
	out := p.h.pulumi(p.dir, "", "stack", "output", "--json")
	if err := json.Unmarshal([]byte(out), &outputs); err != nil {
		p.t.Fatalf("pulumi stack output --json: %v\n%s", err, out)
	}
	return outputs
}
