package main

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

// generatedFiles runs the three generators on the checked-in schema, as stageSDKs does, before
// completeMetadata.
func generatedFiles(t *testing.T) (schema.PackageSpec, map[string][]byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, lang := range languages {
		pkg, err := bindSchema(spec)
		if err != nil {
			t.Fatal(err)
		}
		generated, err := lang.generate(pkg)
		if err != nil {
			t.Fatal(err)
		}
		for name, content := range generated {
			files[path.Join(lang.dir, name)] = content
		}
	}
	return spec, files
}

// What npm, PyPI and the Go SDK show users: complete, and taken from the schema.
func TestCompleteMetadata(t *testing.T) {
	spec, files := generatedFiles(t)
	if err := completeMetadata(spec, files); err != nil {
		t.Fatal(err)
	}
	issues := "https://github.com/edgesecrets/pulumi-edgesecrets/issues"

	var npm map[string]any
	if err := json.Unmarshal(files[npmManifest], &npm); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{
		"description": spec.Description,
		"repository":  spec.Repository,
		"homepage":    spec.Homepage,
		"license":     "Apache-2.0",
		"bugs":        map[string]any{"url": issues},
	} {
		if got := npm[key]; !jsonEqual(got, want) {
			t.Errorf("package.json %s = %v, want %v", key, got, want)
		}
	}
	if ts := npm["devDependencies"].(map[string]any)["typescript"]; ts != typeScriptVersion {
		t.Errorf("package.json devDependencies.typescript = %v, want %s", ts, typeScriptVersion)
	}

	var py struct {
		Project struct {
			Authors        []map[string]string `toml:"authors"`
			Classifiers    []string            `toml:"classifiers"`
			RequiresPython string              `toml:"requires-python"`
			License        map[string]string   `toml:"license"`
			URLs           map[string]string   `toml:"urls"`
		} `toml:"project"`
		Tool map[string]any `toml:"tool"`
	}
	if _, err := toml.Decode(string(files[pythonManifest]), &py); err != nil {
		t.Fatal(err)
	}
	if len(py.Project.Authors) != 1 || py.Project.Authors[0]["name"] != "edgesecrets" {
		t.Errorf("pyproject.toml authors = %v, want the publisher", py.Project.Authors)
	}
	if py.Project.RequiresPython != ">=3.11" {
		t.Errorf("pyproject.toml requires-python = %q, want >=3.11 (what the tests run)", py.Project.RequiresPython)
	}
	for _, c := range []string{
		"License :: OSI Approved :: Apache Software License",
		"Programming Language :: Python :: 3.11",
	} {
		if !slices.Contains(py.Project.Classifiers, c) {
			t.Errorf("pyproject.toml classifiers lack %q: %v", c, py.Project.Classifiers)
		}
	}
	if py.Project.License["text"] != "Apache-2.0" || py.Project.URLs["Issues"] != issues {
		t.Errorf("pyproject.toml license %v, urls %v", py.Project.License, py.Project.URLs)
	}
	if py.Tool["setuptools"] == nil {
		t.Error("pyproject.toml lost [tool.setuptools] in the rewrite")
	}

	want := `var SdkVersion semver.Version = semver.MustParse("` + spec.Version + `")`
	if got := string(files[goSDKVersionFile]); !strings.Contains(got, want) {
		t.Errorf("%s does not set the SDK's version:\n%s", goSDKVersionFile, got)
	}
}

// A field a newer generator writes, or a manifest in another shape, fails the generator
// instead of being dropped from what is published.
func TestCompleteMetadataRefusesWhatItWouldDrop(t *testing.T) {
	spec, files := generatedFiles(t)
	for name, content := range map[string]string{
		npmManifest: `{"name": "x", "version": "1.0.0", "funding": "https://example.com", ` +
			`"devDependencies": {"typescript": "^4"}}`,
		pythonManifest:   "[project]\nname = \"x\"\nnew-field = 1\n",
		goSDKVersionFile: "package internal\n\nvar SdkVersion = semver.Version{Major: 2}\n",
	} {
		changed := map[string][]byte{}
		for k, v := range files {
			changed[k] = v
		}
		changed[name] = []byte(content)
		if err := completeMetadata(spec, changed); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s with an unknown shape: err = %v, want an error naming it", name, err)
		}
	}
	delete(files, npmManifest)
	if err := completeMetadata(spec, files); err == nil {
		t.Error("a missing package.json was not an error")
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
