package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

// TestInstallFromReleaseArchive installs the provider as a user of a release does, from the
// archive `make dist` builds for this platform (`make dist-host` builds only that one), with
// `pulumi plugin install resource edgesecrets <version> --file <archive>` into an empty Pulumi
// home, then runs examples/yaml with that plugin against the emulator, with no provider binary on
// PATH and Pulumi free to look there.
func TestInstallFromReleaseArchive(t *testing.T) {
	t.Parallel()
	version := schemaVersion(t)
	archive := filepath.Join(repoRoot, "dist",
		fmt.Sprintf("pulumi-resource-edgesecrets-v%s-%s-%s.tar.gz", version, runtime.GOOS, runtime.GOARCH))
	requireFile(t, archive, "run `make dist-host`")

	h := newEmptyHarness(t, emulator.Options{FlyApps: []string{flyApp}})
	h.setEnv("PATH", pathWithout(os.Getenv("PATH"), "pulumi-resource-edgesecrets"))
	// Pulumi may run a provider found on PATH: there is none, so only the installed plugin can run.
	h.setEnv("PULUMI_IGNORE_AMBIENT_PLUGINS", "false")
	home := h.envVars["PULUMI_HOME"]
	if entries, err := os.ReadDir(home); err != nil || len(entries) != 0 {
		t.Fatalf("the Pulumi home %s is not empty before the install: %v %v", home, entries, err)
	}

	h.pulumi(repoRoot, "", "plugin", "install", "resource", "edgesecrets", version, "--file", archive)

	// The archive unpacks as the plugin's directory: the binary at its root, LICENSE and README.
	var plugins []struct {
		Name    string `json:"name"`
		Kind    string `json:"kind"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal([]byte(h.pulumi(repoRoot, "", "plugin", "ls", "--json")), &plugins); err != nil {
		t.Fatalf("pulumi plugin ls --json: %v", err)
	}
	if len(plugins) != 1 || plugins[0].Name != "edgesecrets" || plugins[0].Kind != "resource" ||
		plugins[0].Version != version {
		t.Fatalf("installed plugins are %+v, want only resource edgesecrets %s", plugins, version)
	}
	pluginDir := filepath.Join(home, "plugins", "resource-edgesecrets-v"+version)
	var files []string
	entries, err := os.ReadDir(pluginDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		files = append(files, e.Name())
	}
	for _, want := range []string{"pulumi-resource-edgesecrets", "LICENSE", "README.md"} {
		if !slices.Contains(files, want) {
			t.Errorf("the installed plugin's directory holds %v, without %s", files, want)
		}
	}
	installed := filepath.Join(pluginDir, "pulumi-resource-edgesecrets")
	if got := strings.TrimSpace(h.run(repoRoot, "", installed, "--version")); strings.TrimPrefix(got, "v") != version {
		t.Errorf("the archive's provider reports version %q, want %s", got, version)
	}

	// edgesecrets-import ships beside it, for adopting what already exists.
	importArchive := filepath.Join(repoRoot, "dist",
		fmt.Sprintf("edgesecrets-import-v%s-%s-%s.tar.gz", version, runtime.GOOS, runtime.GOARCH))
	requireFile(t, importArchive, "run `make dist-host`")
	unpacked := t.TempDir()
	h.run(repoRoot, "", "tar", "-xzf", importArchive, "-C", unpacked)
	usage := h.run(repoRoot, "", filepath.Join(unpacked, "edgesecrets-import"), "--help")
	if !strings.Contains(usage, "--fly-app") {
		t.Errorf("edgesecrets-import --help from its archive printed %q, without --fly-app", usage)
	}

	p := newCLIProgram(t, h, filepath.Join(repoRoot, "examples", "yaml"))
	values := exampleConfig()
	p.setSecretConfig(values)
	created := timed(t, "up (create)", p.up)
	assertChanges(t, "up", created.Changes, map[string]int{"create": exampleResources})
	h.assertExampleDeployed(t, "after the up", created.Outputs, values)
	destroyed := timed(t, "destroy", p.destroy)
	assertChanges(t, "destroy", destroyed.Changes, map[string]int{"delete": exampleResources})
	h.assertEmulatorEmpty("after destroy")
}

// schemaVersion is the provider version schema.json records (the one `make dist` names archives
// with; `make check-generated` keeps it the provider's).
func schemaVersion(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(data, &schema); err != nil || schema.Version == "" {
		t.Fatalf("schema.json records no version: %v", err)
	}
	return schema.Version
}

// pathWithout is the PATH list without the directories that hold a file called name.
func pathWithout(path, name string) string {
	var kept []string
	for _, dir := range filepath.SplitList(path) {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			kept = append(kept, dir)
		}
	}
	return strings.Join(kept, string(os.PathListSeparator))
}
