package workers

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/internal/wire"
)

// The "workers/triggered_by" annotation of the versions each write makes.
const (
	triggeredBySecret  = "secret"
	triggeredByUpload  = "upload"
	triggeredByVersion = "version_upload"
	triggeredBySetting = "settings"
)

// listSecrets answers the newest version's secrets, names and types only.
func (a *API) listSecrets(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	s, apiErr := a.lookup(r)
	if apiErr != nil {
		a.mu.Unlock()
		writeError(w, apiErr)
		return
	}
	out := []secretJSON{}
	for _, b := range s.currentBindings() {
		if isSecretType(b.Type) {
			out = append(out, b.secretJSON())
		}
	}
	a.mu.Unlock()
	slices.SortFunc(out, func(x, y secretJSON) int { return strings.Compare(x.Name, y.Name) })
	writeResult(w, out)
}

func (a *API) getSecret(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("secret_name")
	a.mu.Lock()
	s, apiErr := a.lookup(r)
	var out secretJSON
	if apiErr == nil {
		bs := s.currentBindings()
		if i := indexOf(bs, name); i >= 0 && isSecretType(bs[i].Type) {
			out = bs[i].secretJSON()
		} else {
			apiErr = errBindingNotFound(name)
		}
	}
	a.mu.Unlock()
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	writeResult(w, out)
}

// readSecret decodes one secret binding of a request body.
func readSecret(raw json.RawMessage) (binding, *apiError) {
	b, apiErr := bindingFromJSON(raw)
	if apiErr != nil {
		return binding{}, apiErr
	}
	if !isSecretType(b.Type) {
		return binding{}, errSecretType
	}
	return b, nil
}

// putSecret writes one secret: a new version with it, deployed.
func (a *API) putSecret(w http.ResponseWriter, r *http.Request) {
	var raw json.RawMessage
	var b binding
	apiErr := errInvalidBody
	if wire.DecodeJSON(r, &raw) == nil {
		b, apiErr = readSecret(raw)
	}
	if apiErr != nil {
		a.writeScriptOr(w, r, apiErr)
		return
	}
	a.writeSecrets(w, r, []secretChange{{name: b.Name, set: &b}}, func() any { return b.secretJSON() })
}

// writeScriptOr answers a request whose body is bad: 10007 if its script does not exist (the
// API resolves the script first), apiErr otherwise.
func (a *API) writeScriptOr(w http.ResponseWriter, r *http.Request, apiErr *apiError) {
	a.mu.Lock()
	_, notFound := a.lookup(r)
	a.mu.Unlock()
	if notFound != nil {
		apiErr = notFound
	}
	writeError(w, apiErr)
}

func (a *API) deleteSecret(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("secret_name")
	a.mu.Lock()
	s, apiErr := a.lookup(r)
	if apiErr == nil {
		bs := s.currentBindings()
		if i := indexOf(bs, name); i < 0 || !isSecretType(bs[i].Type) {
			apiErr = errBindingNotFound(name)
		}
	}
	a.mu.Unlock()
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	a.writeSecrets(w, r, []secretChange{{name: name}}, func() any { return nil })
}

type bulkInput struct {
	Secrets     map[string]json.RawMessage `json:"secrets"`
	VersionTags map[string]any             `json:"version_tags"`
}

// bulkSecrets applies a JSON merge patch of secrets: an object writes, null removes, an absent
// name is left alone. All changes make one version, deployed; nothing is written if any entry
// is bad.
func (a *API) bulkSecrets(w http.ResponseWriter, r *http.Request) {
	var in bulkInput
	changes, apiErr := []secretChange{}, (*apiError)(nil)
	if wire.DecodeJSON(r, &in) != nil || in.Secrets == nil {
		apiErr = errInvalidBody
	} else if len(in.Secrets) > maxBulkSecrets {
		apiErr = errBulkTooMany
	}
	names := make([]string, 0, len(in.Secrets))
	for name := range in.Secrets {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if apiErr != nil {
			break
		}
		raw := in.Secrets[name]
		if string(raw) == "null" {
			changes = append(changes, secretChange{name: name})
			continue
		}
		var b binding
		if b, apiErr = readSecret(raw); apiErr == nil && b.Name != name {
			apiErr = errInvalidName(b.Name)
		}
		changes = append(changes, secretChange{name: name, set: &b})
	}
	if apiErr != nil {
		a.writeScriptOr(w, r, apiErr)
		return
	}
	a.writeSecrets(w, r, changes, func() any {
		out := map[string]secretJSON{}
		for _, c := range changes {
			if c.set != nil {
				out[c.name] = c.set.secretJSON()
			}
		}
		return out
	})
}

// writeSecrets applies changes as the secret endpoints do: refused while the newest version is not
// the one deployed (10215), else one new version, deployed to all traffic. result renders the
// answer once the write is done.
func (a *API) writeSecrets(w http.ResponseWriter, r *http.Request, changes []secretChange, result func() any) {
	a.mu.Lock()
	s, apiErr := a.lookup(r)
	switch {
	case apiErr != nil:
	case s.latest() == nil:
		apiErr = errNoVersions
	case !s.latestIsDeployed():
		apiErr = errLatestNotDeployed
	}
	var bs []binding
	if apiErr == nil {
		bs, apiErr = applySecretChanges(s.currentBindings(), changes)
	}
	if apiErr != nil {
		a.mu.Unlock()
		writeError(w, apiErr)
		return
	}
	a.addVersion(s, bs, "api", map[string]string{"workers/triggered_by": triggeredBySecret}, true, a.now())
	a.mu.Unlock()
	a.changed()
	writeResult(w, result())
}

type latestVersionInput struct {
	Env         map[string]json.RawMessage `json:"env"`
	Annotations map[string]*string         `json:"annotations"`
}

// patchLatestVersion is the versions API's write (`wrangler versions secret put|bulk|delete`): a
// merge patch of the newest version's env makes a new version that is not deployed.
func (a *API) patchLatestVersion(w http.ResponseWriter, r *http.Request) {
	var in latestVersionInput
	changes, apiErr := []secretChange{}, (*apiError)(nil)
	if wire.DecodeJSON(r, &in) != nil {
		apiErr = errInvalidBody
	}
	names := make([]string, 0, len(in.Env))
	for name := range in.Env {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if apiErr != nil {
			break
		}
		raw := in.Env[name]
		if string(raw) == "null" {
			changes = append(changes, secretChange{name: name})
			continue
		}
		var fields map[string]json.RawMessage
		if json.Unmarshal(raw, &fields) != nil || fields == nil {
			apiErr = errInvalidBody
			break
		}
		fields["name"], _ = json.Marshal(name) // the env key names the binding
		raw, _ = json.Marshal(fields)
		var b binding
		b, apiErr = readSecret(raw)
		changes = append(changes, secretChange{name: name, set: &b})
	}
	annotations := map[string]string{"workers/triggered_by": triggeredBySecret}
	for k, v := range in.Annotations {
		if v != nil && (k == "workers/message" || k == "workers/tag") {
			annotations[k] = *v
		}
	}
	if apiErr != nil {
		a.writeScriptOr(w, r, apiErr)
		return
	}
	a.mu.Lock()
	s, apiErr := a.lookup(r)
	if apiErr == nil && s.latest() == nil {
		apiErr = errNoVersions
	}
	var bs []binding
	if apiErr == nil {
		bs, apiErr = applySecretChanges(s.currentBindings(), changes)
	}
	if apiErr != nil {
		a.mu.Unlock()
		writeError(w, apiErr)
		return
	}
	v := a.addVersion(s, bs, "api", annotations, false, a.now())
	out := s.versionJSON(v)
	a.mu.Unlock()
	a.changed()
	writeResult(w, out)
}
