package workers

import (
	"math"
	"net/http"
	"slices"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/internal/wire"
)

type versionMetadataJSON struct {
	CreatedOn   string `json:"created_on"`
	ModifiedOn  string `json:"modified_on"`
	Source      string `json:"source"`
	AuthorID    string `json:"author_id"`
	AuthorEmail string `json:"author_email"`
	HasPreview  bool   `json:"has_preview"`
}

type versionJSON struct {
	ID          string              `json:"id"`
	Number      int                 `json:"number"`
	Metadata    versionMetadataJSON `json:"metadata"`
	Annotations map[string]string   `json:"annotations"`
	Resources   versionResources    `json:"resources"`
}

type versionResources struct {
	Bindings      []map[string]any `json:"bindings"`
	Script        versionScript    `json:"script"`
	ScriptRuntime versionRuntime   `json:"script_runtime"`
}

type versionScript struct {
	Etag             string   `json:"etag"`
	Handlers         []string `json:"handlers"`
	LastDeployedFrom string   `json:"last_deployed_from"`
}

type versionRuntime struct {
	CompatibilityDate  string         `json:"compatibility_date,omitempty"`
	CompatibilityFlags []string       `json:"compatibility_flags"`
	UsageModel         string         `json:"usage_model"`
	Limits             map[string]any `json:"limits"`
}

// The author the emulator records for every version and deployment.
const (
	authorID    = "00000000000000000000000000000000"
	authorEmail = "emulator@edgesecrets.invalid"
)

func (s *script) versionJSON(v *version) versionJSON {
	annotations := map[string]string{}
	for k, val := range v.annotations {
		annotations[k] = val
	}
	return versionJSON{
		ID:     v.id,
		Number: v.number,
		Metadata: versionMetadataJSON{CreatedOn: wire.FormatTime(v.created), ModifiedOn: wire.FormatTime(v.created),
			Source: v.source, AuthorID: authorID, AuthorEmail: authorEmail},
		Annotations: annotations,
		Resources: versionResources{
			Bindings: publicBindings(v.bindings),
			Script:   versionScript{Etag: v.id, Handlers: []string{"fetch"}, LastDeployedFrom: v.source},
			ScriptRuntime: versionRuntime{CompatibilityDate: s.compatDate, CompatibilityFlags: []string{},
				UsageModel: "standard", Limits: map[string]any{}},
		},
	}
}

type scriptJSON struct {
	ID                string   `json:"id"`
	Tag               string   `json:"tag"`
	Etag              string   `json:"etag"`
	Handlers          []string `json:"handlers"`
	CreatedOn         string   `json:"created_on"`
	ModifiedOn        string   `json:"modified_on"`
	CompatibilityDate string   `json:"compatibility_date,omitempty"`
	UsageModel        string   `json:"usage_model"`
	HasModules        bool     `json:"has_modules"`
	DeploymentID      string   `json:"deployment_id,omitempty"`
}

func (s *script) scriptJSON() scriptJSON {
	out := scriptJSON{ID: s.ref.Name, Tag: s.tag, Handlers: []string{"fetch"},
		CreatedOn: wire.FormatTime(s.created), ModifiedOn: wire.FormatTime(s.modified),
		CompatibilityDate: s.compatDate, UsageModel: "standard", HasModules: true}
	if v := s.latest(); v != nil {
		out.Etag = v.id
	}
	if d := s.latestDeployment(); d != nil {
		out.DeploymentID = d.id
	}
	return out
}

type deploymentJSON struct {
	ID          string            `json:"id"`
	Source      string            `json:"source"`
	Strategy    string            `json:"strategy"`
	AuthorEmail string            `json:"author_email"`
	Annotations map[string]string `json:"annotations,omitempty"`
	CreatedOn   string            `json:"created_on"`
	Versions    []trafficJSON     `json:"versions"`
}

type trafficJSON struct {
	VersionID  string  `json:"version_id"`
	Percentage float64 `json:"percentage"`
}

func (d *deployment) toJSON() deploymentJSON {
	out := deploymentJSON{ID: d.id, Source: d.source, Strategy: "percentage", AuthorEmail: authorEmail,
		Annotations: d.annotations, CreatedOn: wire.FormatTime(d.created), Versions: []trafficJSON{}}
	for _, t := range d.versions {
		out.Versions = append(out.Versions, trafficJSON{VersionID: t.versionID, Percentage: t.percentage})
	}
	return out
}

// listVersions answers every version, newest first (deployable=true changes nothing: every
// version is deployable).
func (a *API) listVersions(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	s, apiErr := a.lookup(r)
	items := []versionJSON{}
	if apiErr == nil {
		for _, v := range slices.Backward(s.versions) {
			items = append(items, s.versionJSON(v))
		}
	}
	a.mu.Unlock()
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	writeResult(w, map[string]any{"items": items})
}

func (a *API) getVersion(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	s, apiErr := a.lookup(r)
	var out versionJSON
	if apiErr == nil {
		if v := s.version(r.PathValue("version_id")); v != nil {
			out = s.versionJSON(v)
		} else {
			apiErr = errVersionNotFound
		}
	}
	a.mu.Unlock()
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	writeResult(w, out)
}

// listDeployments answers the deployments, newest first.
func (a *API) listDeployments(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	s, apiErr := a.lookup(r)
	out := []deploymentJSON{}
	if apiErr == nil {
		for _, d := range slices.Backward(s.deployments) {
			out = append(out, d.toJSON())
		}
	}
	a.mu.Unlock()
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	writeResult(w, map[string]any{"deployments": out})
}

type deploymentInput struct {
	Strategy    string            `json:"strategy"`
	Versions    []trafficJSON     `json:"versions"`
	Annotations map[string]string `json:"annotations"`
}

// createDeployment deploys one version to all traffic, or two versions split between them (a
// gradual deployment: the newest version is then not the deployed one).
func (a *API) createDeployment(w http.ResponseWriter, r *http.Request) {
	var in deploymentInput
	var apiErr *apiError
	if wire.DecodeJSON(r, &in) != nil {
		apiErr = errInvalidBody
	} else if !validSplit(in) {
		apiErr = errDeploymentInvalid
	}
	if apiErr != nil {
		a.writeScriptOr(w, r, apiErr)
		return
	}
	a.mu.Lock()
	s, apiErr := a.lookup(r)
	split := []traffic{}
	for _, t := range in.Versions {
		if apiErr != nil {
			break
		}
		if s.version(t.VersionID) == nil {
			apiErr = errVersionNotFound
		}
		split = append(split, traffic{versionID: t.VersionID, percentage: t.Percentage})
	}
	if apiErr != nil {
		a.mu.Unlock()
		writeError(w, apiErr)
		return
	}
	var annotations map[string]string
	if msg, ok := in.Annotations["workers/message"]; ok {
		annotations = map[string]string{"workers/message": msg}
	}
	d := a.addDeployment(s, split, "api", annotations, a.now())
	out := d.toJSON()
	a.mu.Unlock()
	a.changed()
	writeResult(w, out)
}

// validSplit: strategy "percentage", one or two distinct versions, shares above 0 adding up to 100.
func validSplit(in deploymentInput) bool {
	if in.Strategy != "percentage" || len(in.Versions) == 0 || len(in.Versions) > 2 {
		return false
	}
	sum := 0.0
	for i, t := range in.Versions {
		if t.Percentage <= 0 || (i == 1 && t.VersionID == in.Versions[0].VersionID) {
			return false
		}
		sum += t.Percentage
	}
	return math.Abs(sum-100) < 1e-9
}
