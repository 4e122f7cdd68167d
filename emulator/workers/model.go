package workers

import (
	"encoding/json"
	"maps"
	"slices"
	"time"
)

// createScript adds a script with one version, deployed, holding bindings. Callers hold mu.
func (a *API) createScript(ref ScriptRef, bindings []binding, source string, now time.Time) *script {
	s := &script{ref: ref, tag: a.newTag(), created: now, modified: now}
	a.scripts[ref] = s
	a.addVersion(s, bindings, source, nil, true, now)
	return s
}

// addVersion appends a version holding bindings and, with deploy, deploys it to all traffic.
// Callers hold mu.
func (a *API) addVersion(s *script, bindings []binding, source string, annotations map[string]string,
	deploy bool, now time.Time) *version {
	v := &version{
		id:          a.newUUID("version"),
		number:      len(s.versions) + 1,
		created:     now,
		source:      source,
		annotations: annotations,
		bindings:    bindings,
	}
	s.versions = append(s.versions, v)
	s.modified = now
	if deploy {
		a.addDeployment(s, []traffic{{versionID: v.id, percentage: 100}}, source, nil, now)
	}
	return v
}

// addDeployment records a deployment of versions. Callers hold mu.
func (a *API) addDeployment(s *script, versions []traffic, source string, annotations map[string]string,
	now time.Time) *deployment {
	d := &deployment{id: a.newUUID("deployment"), created: now, source: source, annotations: annotations,
		versions: versions}
	s.deployments = append(s.deployments, d)
	s.modified = now
	return d
}

// latest is the newest version, nil if the script has none.
func (s *script) latest() *version {
	if len(s.versions) == 0 {
		return nil
	}
	return s.versions[len(s.versions)-1]
}

// latestDeployment is the newest deployment, nil if the script has none.
func (s *script) latestDeployment() *deployment {
	if len(s.deployments) == 0 {
		return nil
	}
	return s.deployments[len(s.deployments)-1]
}

// latestIsDeployed reports whether the newest version takes all traffic: the condition the
// secret endpoints need before they make and deploy a new version.
func (s *script) latestIsDeployed() bool {
	v, d := s.latest(), s.latestDeployment()
	return v != nil && d != nil && len(d.versions) == 1 && d.versions[0].versionID == v.id &&
		d.versions[0].percentage == 100
}

func (s *script) version(id string) *version {
	for _, v := range s.versions {
		if v.id == id {
			return v
		}
	}
	return nil
}

// currentBindings is a copy of the newest version's bindings (none without a version).
func (s *script) currentBindings() []binding {
	v := s.latest()
	if v == nil {
		return []binding{}
	}
	return cloneBindings(v.bindings)
}

func cloneBindings(bs []binding) []binding {
	out := make([]binding, len(bs))
	for i, b := range bs {
		out[i] = b
		out[i].Extra = maps.Clone(b.Extra)
	}
	return out
}

func indexOf(bs []binding, name string) int {
	return slices.IndexFunc(bs, func(b binding) bool { return b.Name == name })
}

// secretChange is one secret to write (set) or remove (set == nil).
type secretChange struct {
	name string
	set  *binding
}

// applySecretChanges returns bs with changes applied, or the error a change meets: a name another
// kind of binding has, or too many text bindings. Removing an absent secret is no change.
func applySecretChanges(bs []binding, changes []secretChange) ([]binding, *apiError) {
	for _, c := range changes {
		i := indexOf(bs, c.name)
		if i >= 0 && !isSecretType(bs[i].Type) {
			return nil, errBindingInUse(c.name)
		}
		switch {
		case c.set == nil && i >= 0:
			bs = slices.Delete(bs, i, i+1)
		case c.set != nil && i >= 0:
			bs[i] = *c.set
		case c.set != nil:
			bs = append(bs, *c.set)
		}
	}
	if countText(bs) > maxTextBindings {
		return nil, errTooManyBindings
	}
	return bs, nil
}

func countText(bs []binding) int {
	n := 0
	for _, b := range bs {
		if isTextType(b.Type) {
			n++
		}
	}
	return n
}

// secretJSON is what the API tells of a secret: never its value or key material.
type secretJSON struct {
	Name      string          `json:"name"`
	Type      string          `json:"type"`
	Format    json.RawMessage `json:"format,omitempty"`
	Algorithm json.RawMessage `json:"algorithm,omitempty"`
	Usages    json.RawMessage `json:"usages,omitempty"`
}

func (b binding) secretJSON() secretJSON {
	out := secretJSON{Name: b.Name, Type: b.Type}
	if b.Type == typeSecretKey {
		out.Format, out.Algorithm, out.Usages = b.Extra["format"], b.Extra["algorithm"], b.Extra["usages"]
	}
	return out
}

// publicJSON renders a binding as version and settings reads show it: a secret's name and type
// only, other bindings with their fields.
func (b binding) publicJSON() map[string]any {
	if isSecretType(b.Type) {
		s := b.secretJSON()
		out := map[string]any{"name": s.Name, "type": s.Type}
		for k, v := range map[string]json.RawMessage{"format": s.Format, "algorithm": s.Algorithm, "usages": s.Usages} {
			if v != nil {
				out[k] = v
			}
		}
		return out
	}
	out := map[string]any{}
	for k, v := range b.Extra {
		out[k] = v
	}
	out["name"], out["type"] = b.Name, b.Type
	if b.Type == typePlainText {
		out["text"] = b.Text
	}
	return out
}

func publicBindings(bs []binding) []map[string]any {
	out := make([]map[string]any, 0, len(bs))
	for _, b := range bs {
		out = append(out, b.publicJSON())
	}
	return out
}

// bindingFromJSON reads one binding of an upload, a settings patch or a version write.
func bindingFromJSON(raw json.RawMessage) (binding, *apiError) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return binding{}, errInvalidBody
	}
	var b binding
	if json.Unmarshal(fields["name"], &b.Name) != nil || json.Unmarshal(fields["type"], &b.Type) != nil ||
		b.Type == "" {
		return binding{}, errInvalidBody
	}
	if !bindingNameRE.MatchString(b.Name) {
		return binding{}, errInvalidName(b.Name)
	}
	if text, ok := fields["text"]; ok && (b.Type == typeSecretText || b.Type == typePlainText) {
		if json.Unmarshal(text, &b.Text) != nil {
			return binding{}, errInvalidBody
		}
	} else if b.Type == typeSecretText {
		return binding{}, errSecretTextMissing
	}
	delete(fields, "name")
	delete(fields, "type")
	if b.Type == typeSecretText || b.Type == typePlainText {
		delete(fields, "text")
	}
	if len(fields) > 0 {
		b.Extra = fields
	}
	if isSecretType(b.Type) && len(b.Text) > maxSecretBytes {
		return binding{}, errSecretTooLarge(b.Name)
	}
	return b, nil
}
