package fly

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/internal/wire"
)

// secretJSON is Fly's AppSecret. Value is set only for show_secrets=true.
type secretJSON struct {
	Name      string  `json:"name"`
	Digest    string  `json:"digest"`
	CreatedAt string  `json:"created_at"`
	UpdatedAt string  `json:"updated_at"`
	Value     *string `json:"value,omitempty"`
}

type setSecretResponse struct {
	secretJSON
	Version uint64 `json:"version"`
}

type listSecretsResponse struct {
	Secrets []secretJSON `json:"secrets"`
}

type updateSecretsResponse struct {
	Secrets []secretJSON `json:"secrets"`
	Version uint64       `json:"version"`
}

type versionResponse struct {
	Version uint64 `json:"version"`
}

func (s *secret) toJSON(name string, showValue bool) secretJSON {
	out := secretJSON{
		Name:      name,
		Digest:    s.digest,
		CreatedAt: wire.FormatTime(s.createdAt),
		UpdatedAt: wire.FormatTime(s.updatedAt),
	}
	if showValue {
		v := s.value
		out.Value = &v
	}
	return out
}

// readTimeZone is the UTC offset reads give times at (see Config.ExactReadTimes).
var readTimeZone = time.FixedZone("", -5*60*60)

// readJSON is toJSON for a read: its times to the second, at readTimeZone, unless the API
// answers reads with exact times.
func (a *API) readJSON(s *secret, name string, showValue bool) secretJSON {
	out := s.toJSON(name, showValue)
	if !a.cfg.ExactReadTimes {
		out.CreatedAt = s.createdAt.Truncate(time.Second).In(readTimeZone).Format(time.RFC3339)
		out.UpdatedAt = s.updatedAt.Truncate(time.Second).In(readTimeZone).Format(time.RFC3339)
	}
	return out
}

// put sets a secret's value, keeping created_at when it already exists. It
// replaces the *secret rather than editing it: the history shares the old one.
// The caller has called beginWrite.
func (ap *app) put(name, value string, now time.Time) *secret {
	s := &secret{createdAt: now, value: value, digest: digestOf(ap.name, name, value), updatedAt: now}
	if old, ok := ap.secrets[name]; ok {
		s.createdAt = old.createdAt
	}
	ap.secrets[name] = s
	return s
}

// readOptions are the query parameters of the two read endpoints.
type readOptions struct {
	showValues bool
	minVersion uint64
}

func parseReadOptions(r *http.Request) (readOptions, error) {
	var opts readOptions
	q := r.URL.Query()
	if v := q.Get("show_secrets"); v != "" {
		show, err := strconv.ParseBool(v)
		if err != nil {
			return opts, fmt.Errorf("show_secrets must be true or false")
		}
		opts.showValues = show
	}
	for _, key := range []string{"version", "min_version"} {
		if v := q.Get(key); v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return opts, fmt.Errorf("%s must be a non-negative integer", key)
			}
			opts.minVersion = max(opts.minVersion, n)
		}
	}
	return opts, nil
}

func writeVersionNotReached(w http.ResponseWriter, want, have uint64) {
	WriteError(w, http.StatusPreconditionFailed,
		fmt.Sprintf("secrets version %d is not available yet (current version %d)", want, have))
}

// checkSecretPath runs the checks every /secrets/{name} route starts with:
// the app exists (404), then the secret name is valid (400). ok is false when
// the answer has been written.
func (a *API) checkSecretPath(w http.ResponseWriter, r *http.Request) (appName, name string, ok bool) {
	appName, name = r.PathValue("app"), r.PathValue("name")
	if !a.checkApp(w, appName) {
		return "", "", false
	}
	if !validSecretName(name) {
		WriteError(w, http.StatusBadRequest, invalidNameMessage(name))
		return "", "", false
	}
	return appName, name, true
}

// lockAppForRead is lockApp for the two read endpoints: it first parses the
// read options (400), and answers 412 while the app has not reached the
// version they ask for. A nil app means the answer has been written and mu
// is not held.
func (a *API) lockAppForRead(w http.ResponseWriter, r *http.Request, appName string) (*app, readOptions) {
	opts, err := parseReadOptions(r)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return nil, opts
	}
	ap := a.lockApp(w, appName)
	if ap == nil {
		return nil, opts
	}
	if opts.minVersion > ap.version {
		have := ap.version
		a.mu.Unlock()
		writeVersionNotReached(w, opts.minVersion, have)
		return nil, opts
	}
	return ap, opts
}

func (a *API) listSecrets(w http.ResponseWriter, r *http.Request) {
	appName := r.PathValue("app")
	if !a.checkApp(w, appName) {
		return
	}
	ap, opts := a.lockAppForRead(w, r, appName)
	if ap == nil {
		return
	}
	resp := listSecretsResponse{Secrets: []secretJSON{}}
	secrets := a.visible(ap, opts.minVersion)
	for _, name := range sortedNames(secrets) {
		resp.Secrets = append(resp.Secrets, a.readJSON(secrets[name], name, opts.showValues))
	}
	a.mu.Unlock()
	writeJSON(w, http.StatusOK, resp)
}

func (a *API) getSecret(w http.ResponseWriter, r *http.Request) {
	appName, name, ok := a.checkSecretPath(w, r)
	if !ok {
		return
	}
	ap, opts := a.lockAppForRead(w, r, appName)
	if ap == nil {
		return
	}
	s, ok := a.visible(ap, opts.minVersion)[name]
	var resp secretJSON
	if ok {
		resp = a.readJSON(s, name, opts.showValues)
	}
	a.mu.Unlock()
	if !ok {
		writeSecretNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

type setSecretRequest struct {
	Value *string `json:"value"`
}

func (a *API) setSecret(w http.ResponseWriter, r *http.Request) {
	appName, name, ok := a.checkSecretPath(w, r)
	if !ok {
		return
	}
	var req setSecretRequest
	if err := wire.DecodeJSON(r, &req); err != nil {
		WriteError(w, http.StatusBadRequest, invalidJSONMessage)
		return
	}
	if req.Value == nil {
		WriteError(w, http.StatusBadRequest, "value is required")
		return
	}
	ap := a.lockApp(w, appName)
	if ap == nil {
		return
	}
	ap.beginWrite()
	s := ap.put(name, *req.Value, a.now())
	a.wrote(ap)
	resp := setSecretResponse{secretJSON: s.toJSON(name, false), Version: ap.version}
	a.mu.Unlock()
	a.changed()
	writeJSON(w, http.StatusCreated, resp)
}

type updateSecretsRequest struct {
	Values map[string]*string `json:"values"`
}

// updateSecrets sets and unsets several secrets in one version (null unsets).
// Every name is checked before anything changes.
func (a *API) updateSecrets(w http.ResponseWriter, r *http.Request) {
	appName := r.PathValue("app")
	if !a.checkApp(w, appName) {
		return
	}
	var req updateSecretsRequest
	if err := wire.DecodeJSON(r, &req); err != nil {
		WriteError(w, http.StatusBadRequest, invalidJSONMessage)
		return
	}
	if req.Values == nil {
		WriteError(w, http.StatusBadRequest, "values is required")
		return
	}
	names := make([]string, 0, len(req.Values))
	for name := range req.Values {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !validSecretName(name) {
			WriteError(w, http.StatusBadRequest, invalidNameMessage(name))
			return
		}
	}

	ap := a.lockApp(w, appName)
	if ap == nil {
		return
	}
	now := a.now()
	changed := false
	ap.beginWrite()
	resp := updateSecretsResponse{Secrets: []secretJSON{}}
	for _, name := range names {
		value := req.Values[name]
		if value == nil {
			if _, exists := ap.secrets[name]; exists {
				delete(ap.secrets, name)
				changed = true
			}
			continue
		}
		resp.Secrets = append(resp.Secrets, ap.put(name, *value, now).toJSON(name, false))
		changed = true
	}
	if changed {
		a.wrote(ap)
	}
	resp.Version = ap.version
	a.mu.Unlock()
	if changed {
		a.changed()
	}
	writeJSON(w, http.StatusOK, resp)
}

func (a *API) deleteSecret(w http.ResponseWriter, r *http.Request) {
	appName, name, ok := a.checkSecretPath(w, r)
	if !ok {
		return
	}
	ap := a.lockApp(w, appName)
	if ap == nil {
		return
	}
	if _, ok := ap.secrets[name]; !ok {
		a.mu.Unlock()
		writeSecretNotFound(w)
		return
	}
	ap.beginWrite()
	delete(ap.secrets, name)
	a.wrote(ap)
	resp := versionResponse{Version: ap.version}
	a.mu.Unlock()
	a.changed()
	writeJSON(w, http.StatusOK, resp)
}

func writeSecretNotFound(w http.ResponseWriter) {
	WriteError(w, http.StatusNotFound, "secret not found")
}
