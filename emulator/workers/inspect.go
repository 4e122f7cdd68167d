package workers

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ErrNotFound is returned by the inspection methods for an unknown script.
var ErrNotFound = fmt.Errorf("workers: script not found")

// ParseScriptRef reads "NAME" (an account script) or "NAMESPACE/NAME" (a Workers for Platforms
// script), as --cloudflare-worker takes them.
func ParseScriptRef(s string) (ScriptRef, error) {
	ns, name, found := strings.Cut(s, "/")
	if !found {
		ns, name = "", s
	}
	if (found && ns == "") || !scriptNameRE.MatchString(name) {
		return ScriptRef{}, fmt.Errorf("workers: %q is not a Worker name (lowercase letters, digits, - and _; "+
			"NAMESPACE/NAME for Workers for Platforms)", s)
	}
	return ScriptRef{Namespace: ns, Name: name}, nil
}

// EnsureScript creates ref as a draft upload would (one version, deployed, no bindings) unless it
// exists; an existing script keeps everything.
func (a *API) EnsureScript(ref ScriptRef) error {
	if !scriptNameRE.MatchString(ref.Name) {
		return fmt.Errorf("workers: %q is not a Worker name", ref.Name)
	}
	a.mu.Lock()
	created := a.scripts[ref] == nil
	if created {
		s := a.createScript(ref, []binding{}, "api", a.now())
		s.latest().annotations = map[string]string{"workers/triggered_by": triggeredByUpload}
	}
	a.mu.Unlock()
	if created {
		a.changed()
	}
	return nil
}

// Secret is a secret as tests see it: its value included.
type Secret struct {
	Name string
	Type string
	// Text is a secret_text's value ("" for a secret_key).
	Text string
}

// Secrets returns the secrets of ref's newest version, values included, sorted by name.
func (a *API) Secrets(ref ScriptRef) ([]Secret, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.scripts[ref]
	if s == nil {
		return nil, ErrNotFound
	}
	out := []Secret{}
	for _, b := range s.currentBindings() {
		if isSecretType(b.Type) {
			out = append(out, Secret{Name: b.Name, Type: b.Type, Text: b.Text})
		}
	}
	slices.SortFunc(out, func(x, y Secret) int { return cmp.Compare(x.Name, y.Name) })
	return out, nil
}

// VersionSummary is one version as tests see it.
type VersionSummary struct {
	ID     string
	Number int
	// Percentage is its share of the newest deployment's traffic.
	Percentage float64
	// TriggeredBy is the version's "workers/triggered_by" annotation: upload, secret,
	// version_upload or settings.
	TriggeredBy string
	Annotations map[string]string
	// Secrets maps the version's secret names to their values.
	Secrets map[string]string
}

// Versions returns ref's versions, oldest first.
func (a *API) Versions(ref ScriptRef) ([]VersionSummary, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.scripts[ref]
	if s == nil {
		return nil, ErrNotFound
	}
	share := map[string]float64{}
	if d := s.latestDeployment(); d != nil {
		for _, t := range d.versions {
			share[t.versionID] = t.percentage
		}
	}
	out := []VersionSummary{}
	for _, v := range s.versions {
		secrets := map[string]string{}
		for _, b := range v.bindings {
			if isSecretType(b.Type) {
				secrets[b.Name] = b.Text
			}
		}
		out = append(out, VersionSummary{ID: v.id, Number: v.number, Percentage: share[v.id],
			TriggeredBy: v.annotations["workers/triggered_by"], Annotations: maps.Clone(v.annotations),
			Secrets: secrets})
	}
	return out, nil
}

// DeploymentSummary is one deployment: version id to percentage of traffic.
type DeploymentSummary struct {
	ID       string
	Versions map[string]float64
}

// Deployments returns ref's deployments, oldest first.
func (a *API) Deployments(ref ScriptRef) ([]DeploymentSummary, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.scripts[ref]
	if s == nil {
		return nil, ErrNotFound
	}
	out := []DeploymentSummary{}
	for _, d := range s.deployments {
		split := map[string]float64{}
		for _, t := range d.versions {
			split[t.versionID] = t.percentage
		}
		out = append(out, DeploymentSummary{ID: d.id, Versions: split})
	}
	return out, nil
}

// DropSecrets does what a foreign upload without keep_bindings does (a `wrangler deploy` without
// --keep-vars, a Terraform script resource that does not list them): a new version with the
// newest version's bindings less its secrets, deployed to all traffic.
func (a *API) DropSecrets(ref ScriptRef) error {
	a.mu.Lock()
	s := a.scripts[ref]
	if s == nil {
		a.mu.Unlock()
		return ErrNotFound
	}
	bs := slices.DeleteFunc(s.currentBindings(), func(b binding) bool { return isSecretType(b.Type) })
	a.addVersion(s, bs, "api", map[string]string{"workers/triggered_by": triggeredByUpload}, true, a.now())
	a.mu.Unlock()
	a.changed()
	return nil
}

// UploadVersion does what `wrangler versions upload` does: a new version keeping every binding,
// not deployed, so that the newest version is not the deployed one. It returns the version's id.
func (a *API) UploadVersion(ref ScriptRef) (string, error) {
	a.mu.Lock()
	s := a.scripts[ref]
	if s == nil {
		a.mu.Unlock()
		return "", ErrNotFound
	}
	v := a.addVersion(s, s.currentBindings(), "api", map[string]string{"workers/triggered_by": triggeredByVersion},
		false, a.now())
	a.mu.Unlock()
	a.changed()
	return v.id, nil
}

// Deploy records a deployment of ref splitting traffic as split says (version id to percentage,
// adding up to 100): with two versions, a gradual deployment in progress.
func (a *API) Deploy(ref ScriptRef, split map[string]float64) error {
	in := deploymentInput{Strategy: "percentage"}
	for _, id := range slices.Sorted(maps.Keys(split)) {
		in.Versions = append(in.Versions, trafficJSON{VersionID: id, Percentage: split[id]})
	}
	if !validSplit(in) {
		return fmt.Errorf("workers: invalid split %v", split)
	}
	a.mu.Lock()
	s := a.scripts[ref]
	if s == nil {
		a.mu.Unlock()
		return ErrNotFound
	}
	ts := []traffic{}
	for _, t := range in.Versions {
		if s.version(t.VersionID) == nil {
			a.mu.Unlock()
			return fmt.Errorf("workers: script %s has no version %s", ref, t.VersionID)
		}
		ts = append(ts, traffic{versionID: t.VersionID, percentage: t.Percentage})
	}
	a.addDeployment(s, ts, "api", nil, a.now())
	a.mu.Unlock()
	a.changed()
	return nil
}
