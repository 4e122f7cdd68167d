package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

// The package metadata the registries show that Pulumi's generators have no schema option for
// (npm's bugs, PyPI's authors and classifiers, the Go SDK's own version), or whose generator
// default is out of date (TypeScript 4.7, Python 3.9). completeMetadata adds it to the
// generated files; everything else (name, version, keywords, homepage, repository, license)
// comes from the schema as the generators write it.
const (
	// typeScriptVersion is the SDK's TypeScript devDependency: the newest major that
	// @pulumi/pulumi's peer range (">= 3.8.3 < 7") accepts.
	typeScriptVersion = "^6.0.3"
	// requiresPython is the oldest Python the end-to-end tests run the SDK on.
	requiresPython = ">=3.11"
)

// pythonClassifiers are the PyPI trove classifiers of pulumi_edgesecrets.
var pythonClassifiers = []string{
	"Development Status :: 4 - Beta",
	"Intended Audience :: Developers",
	"Intended Audience :: System Administrators",
	"License :: OSI Approved :: Apache Software License",
	"Operating System :: OS Independent",
	"Programming Language :: Python :: 3",
	"Programming Language :: Python :: 3 :: Only",
	"Programming Language :: Python :: 3.11",
	"Programming Language :: Python :: 3.12",
	"Programming Language :: Python :: 3.13",
	"Topic :: Security",
	"Topic :: System :: Systems Administration",
	"Typing :: Typed",
}

// The generated files completeMetadata rewrites, as keys of the staged tree.
const (
	npmManifest      = "nodejs/package.json"
	pythonManifest   = "python/pyproject.toml"
	goSDKVersionFile = "go/edgesecrets/internal/pulumiVersion.go"
)

// completeMetadata rewrites the package manifests among files (generated from spec) with the
// metadata above. A manifest that is missing, or in a shape the rewrite does not know, is an
// error: a generator upgrade must not silently drop what the registries show.
func completeMetadata(spec schema.PackageSpec, files map[string][]byte) error {
	for name, complete := range map[string]func(schema.PackageSpec, []byte) ([]byte, error){
		npmManifest:      completeNPMManifest,
		pythonManifest:   completePythonManifest,
		goSDKVersionFile: completeGoSDKVersion,
	} {
		content, ok := files[name]
		if !ok {
			return fmt.Errorf("the generators wrote no %s", name)
		}
		completed, err := complete(spec, content)
		if err != nil {
			return fmt.Errorf("completing %s: %w", name, err)
		}
		files[name] = completed
	}
	return nil
}

// npmPackage is package.json as the nodejs generator writes it (same fields, same order), plus
// bugs. Decoding refuses unknown fields, so that one a newer generator adds is not dropped.
type npmPackage struct {
	Name             string            `json:"name"`
	Version          string            `json:"version"`
	Type             string            `json:"type,omitempty"`
	Description      string            `json:"description,omitempty"`
	Keywords         []string          `json:"keywords,omitempty"`
	Homepage         string            `json:"homepage,omitempty"`
	Repository       string            `json:"repository,omitempty"`
	Bugs             *npmBugs          `json:"bugs,omitempty"`
	License          string            `json:"license,omitempty"`
	Main             string            `json:"main,omitempty"`
	Scripts          map[string]string `json:"scripts,omitempty"`
	Dependencies     map[string]string `json:"dependencies,omitempty"`
	DevDependencies  map[string]string `json:"devDependencies,omitempty"`
	PeerDependencies map[string]string `json:"peerDependencies,omitempty"`
	Resolutions      map[string]string `json:"resolutions,omitempty"`
	Pulumi           json.RawMessage   `json:"pulumi,omitempty"`
}

type npmBugs struct {
	URL string `json:"url"`
}

func completeNPMManifest(spec schema.PackageSpec, content []byte) ([]byte, error) {
	var pkg npmPackage
	dec := json.NewDecoder(bytes.NewReader(content))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pkg); err != nil {
		return nil, err
	}
	if _, ok := pkg.DevDependencies["typescript"]; !ok {
		return nil, fmt.Errorf("no typescript devDependency to update")
	}
	pkg.Description = spec.Description
	pkg.Bugs = &npmBugs{URL: issuesURL(spec)}
	pkg.DevDependencies["typescript"] = typeScriptVersion
	out, err := json.MarshalIndent(pkg, "", "    ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

func completePythonManifest(spec schema.PackageSpec, content []byte) ([]byte, error) {
	var project python.PyprojectSchema
	meta, err := toml.Decode(string(content), &project)
	if err != nil {
		return nil, err
	}
	// Tables under [tool] land in a map whatever their keys, which toml counts as undecoded.
	for _, key := range meta.Undecoded() {
		if key[0] != "tool" {
			return nil, fmt.Errorf("a key this rewrite would drop: %s", key)
		}
	}
	if project.Project == nil {
		return nil, fmt.Errorf("no [project] table")
	}
	project.Project.Authors = []python.Contact{{Name: spec.Publisher}}
	project.Project.Classifiers = pythonClassifiers
	minimum := requiresPython
	project.Project.RequiresPython = &minimum
	if project.Project.URLs == nil {
		project.Project.URLs = map[string]string{}
	}
	project.Project.URLs["Issues"] = issuesURL(spec)
	// Encoded as the python generator encodes it, so only the fields set here change.
	var out bytes.Buffer
	if err := toml.NewEncoder(&out).Encode(project); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// completeGoSDKVersion sets the Go SDK's version, which the generator leaves empty (for a
// release script to fill in): without it, the SDK's PkgVersion guesses 1.0.0 from its module
// path and registers its resource packages under that version.
func completeGoSDKVersion(spec schema.PackageSpec, content []byte) ([]byte, error) {
	const unset = "var SdkVersion semver.Version = semver.Version{}\n"
	if !bytes.Contains(content, []byte(unset)) {
		return nil, fmt.Errorf("no %q line to set", strings.TrimSpace(unset))
	}
	set := fmt.Sprintf("var SdkVersion semver.Version = semver.MustParse(%q)\n", spec.Version)
	return bytes.Replace(content, []byte(unset), []byte(set), 1), nil
}

// issuesURL is where users report bugs: the repository's GitHub issues.
func issuesURL(spec schema.PackageSpec) string {
	return strings.TrimSuffix(spec.Repository, "/") + "/issues"
}
