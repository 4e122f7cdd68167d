package workers

import (
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/internal/wire"
)

// maxUploadBytes bounds an upload: the Paid plan's Worker size, with room for the form.
const maxUploadBytes = 12 << 20

// uploadMetadata is the "metadata" part of a script or version upload.
type uploadMetadata struct {
	MainModule        string            `json:"main_module"`
	BodyPart          string            `json:"body_part"`
	Bindings          []json.RawMessage `json:"bindings"`
	KeepBindings      []string          `json:"keep_bindings"`
	CompatibilityDate string            `json:"compatibility_date"`
	Annotations       map[string]string `json:"annotations"`
}

// readUpload parses a multipart upload: its metadata, and the main module it names must be there.
func readUpload(w http.ResponseWriter, r *http.Request) (uploadMetadata, *apiError) {
	var meta uploadMetadata
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBytes)
	if err := r.ParseMultipartForm(maxUploadBytes); err != nil {
		return meta, errInvalidBody
	}
	part := func(name string) ([]byte, bool) { return formPart(r.MultipartForm, name) }
	data, ok := part("metadata")
	if !ok {
		return meta, errMetadataMissing
	}
	if json.Unmarshal(data, &meta) != nil {
		return meta, errInvalidBody
	}
	main := meta.MainModule
	if main == "" {
		main = meta.BodyPart
	}
	if _, ok := part(main); main == "" || !ok {
		return meta, errMainModuleMissing
	}
	return meta, nil
}

// formPart reads one part of a parsed multipart form, a field or a file.
func formPart(form *multipart.Form, name string) ([]byte, bool) {
	if v := form.Value[name]; len(v) > 0 {
		return []byte(v[0]), true
	}
	if f := form.File[name]; len(f) > 0 {
		file, err := f[0].Open()
		if err != nil {
			return nil, false
		}
		defer file.Close()
		data, err := io.ReadAll(file)
		return data, err == nil
	}
	return nil, false
}

// resolveBindings turns the bindings of an upload or a settings patch into a version's: each
// inherit binding takes the previous version's binding of its name, and the previous version's
// bindings of the types in keep are kept unless redefined.
func resolveBindings(prev []binding, raws []json.RawMessage, keep []string) ([]binding, *apiError) {
	out := []binding{}
	for _, raw := range raws {
		b, apiErr := bindingFromJSON(raw)
		if apiErr != nil {
			return nil, apiErr
		}
		if b.Type == typeInherit {
			i := indexOf(prev, b.Name)
			if i < 0 {
				return nil, errInheritMissing(b.Name)
			}
			b = cloneBindings(prev[i : i+1])[0]
		}
		if indexOf(out, b.Name) >= 0 {
			return nil, errBindingInUse(b.Name)
		}
		out = append(out, b)
	}
	for _, p := range cloneBindings(prev) {
		if slices.Contains(keep, p.Type) && indexOf(out, p.Name) < 0 {
			out = append(out, p)
		}
	}
	if countText(out) > maxTextBindings {
		return nil, errTooManyBindings
	}
	return out, nil
}

// keepTypes is what an upload keeps: its keep_bindings, and the secrets as well with
// Config.UploadKeepsSecrets.
func (a *API) keepTypes(meta uploadMetadata) []string {
	keep := slices.Clone(meta.KeepBindings)
	if a.cfg.UploadKeepsSecrets {
		keep = append(keep, typeSecretText, typeSecretKey)
	}
	return keep
}

// uploadScript is PUT .../scripts/{script_name}: create the script or upload a new version of it,
// deployed to all traffic. Bindings not in the metadata are dropped unless keep_bindings names
// their type: an upload without "secret_text" there drops the script's secrets.
func (a *API) uploadScript(w http.ResponseWriter, r *http.Request) {
	ref := refOf(r)
	if !scriptNameRE.MatchString(ref.Name) {
		writeError(w, errInvalidScriptName)
		return
	}
	meta, apiErr := readUpload(w, r)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	a.mu.Lock()
	s := a.scripts[ref]
	prev := []binding{}
	if s != nil {
		prev = s.currentBindings()
	}
	bs, apiErr := resolveBindings(prev, meta.Bindings, a.keepTypes(meta))
	if apiErr != nil {
		a.mu.Unlock()
		writeError(w, apiErr)
		return
	}
	now := a.now()
	annotations := map[string]string{"workers/triggered_by": triggeredByUpload}
	if s == nil {
		s = a.createScript(ref, bs, "api", now)
		s.latest().annotations = annotations
	} else {
		a.addVersion(s, bs, "api", annotations, true, now)
	}
	s.compatDate = meta.CompatibilityDate
	out := s.scriptJSON()
	a.mu.Unlock()
	a.changed()
	writeResult(w, out)
}

// uploadVersion is POST .../versions (`wrangler versions upload`): a new version, not deployed.
func (a *API) uploadVersion(w http.ResponseWriter, r *http.Request) {
	meta, apiErr := readUpload(w, r)
	if apiErr != nil {
		a.writeScriptOr(w, r, apiErr)
		return
	}
	a.mu.Lock()
	s, apiErr := a.lookup(r)
	var bs []binding
	if apiErr == nil {
		bs, apiErr = resolveBindings(s.currentBindings(), meta.Bindings, a.keepTypes(meta))
	}
	if apiErr != nil {
		a.mu.Unlock()
		writeError(w, apiErr)
		return
	}
	annotations := map[string]string{"workers/triggered_by": triggeredByVersion}
	for k, v := range meta.Annotations {
		if k == "workers/message" || k == "workers/tag" {
			annotations[k] = v
		}
	}
	v := a.addVersion(s, bs, "api", annotations, false, a.now())
	out := s.versionJSON(v)
	a.mu.Unlock()
	a.changed()
	writeResult(w, out)
}

func (a *API) deleteScript(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	_, apiErr := a.lookup(r)
	if apiErr == nil {
		delete(a.scripts, refOf(r))
	}
	a.mu.Unlock()
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	a.changed()
	writeResult(w, nil)
}

type settingsJSON struct {
	Bindings           []map[string]any `json:"bindings"`
	CompatibilityDate  string           `json:"compatibility_date,omitempty"`
	CompatibilityFlags []string         `json:"compatibility_flags"`
	Logpush            bool             `json:"logpush"`
	TailConsumers      []any            `json:"tail_consumers"`
	UsageModel         string           `json:"usage_model"`
}

func (s *script) settingsJSON() settingsJSON {
	return settingsJSON{Bindings: publicBindings(s.currentBindings()), CompatibilityDate: s.compatDate,
		CompatibilityFlags: []string{}, TailConsumers: []any{}, UsageModel: "standard"}
}

func (a *API) getSettings(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	s, apiErr := a.lookup(r)
	var out settingsJSON
	if apiErr == nil {
		out = s.settingsJSON()
	}
	a.mu.Unlock()
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	writeResult(w, out)
}

type settingsInput struct {
	Bindings          *[]json.RawMessage `json:"bindings"`
	CompatibilityDate *string            `json:"compatibility_date"`
}

// readSettings reads a settings patch: a multipart form's "settings" part (as wrangler and
// cloudflare-go send it) or a JSON body.
func readSettings(w http.ResponseWriter, r *http.Request) (settingsInput, *apiError) {
	var in settingsInput
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if !strings.HasPrefix(mediaType, "multipart/") {
		if wire.DecodeJSON(r, &in) != nil {
			return in, errInvalidBody
		}
		return in, nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, wire.MaxBodyBytes)
	if err := r.ParseMultipartForm(wire.MaxBodyBytes); err != nil {
		return in, errInvalidBody
	}
	data, _ := formPart(r.MultipartForm, "settings")
	if json.Unmarshal(data, &in) != nil {
		return in, errInvalidBody
	}
	return in, nil
}

// patchSettings changes a script's settings. Bindings, when given, replace the newest version's
// (inherit keeps one): a new version, deployed, refused with 10214 while the newest version is
// not the deployed one.
func (a *API) patchSettings(w http.ResponseWriter, r *http.Request) {
	in, apiErr := readSettings(w, r)
	if apiErr != nil {
		a.writeScriptOr(w, r, apiErr)
		return
	}
	a.mu.Lock()
	s, apiErr := a.lookup(r)
	if apiErr == nil && in.Bindings != nil && !s.latestIsDeployed() {
		apiErr = errSettingsLatestNotDeployed
	}
	var bs []binding
	if apiErr == nil && in.Bindings != nil {
		bs, apiErr = resolveBindings(s.currentBindings(), *in.Bindings, nil)
	}
	if apiErr != nil {
		a.mu.Unlock()
		writeError(w, apiErr)
		return
	}
	if in.Bindings != nil {
		a.addVersion(s, bs, "api", map[string]string{"workers/triggered_by": triggeredBySetting}, true, a.now())
	}
	if in.CompatibilityDate != nil {
		s.compatDate = *in.CompatibilityDate
	}
	out := s.settingsJSON()
	a.mu.Unlock()
	a.changed()
	writeResult(w, out)
}
