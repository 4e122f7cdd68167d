package fly

import (
	"net/http"
	"sort"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/internal/wire"
)

// appJSON is the Machines API's App object.
type appJSON struct {
	ID           string  `json:"id"`
	Name         string  `json:"name"`
	Status       string  `json:"status"`
	MachineCount int     `json:"machine_count"`
	Network      string  `json:"network"`
	Organization orgJSON `json:"organization"`
}

type orgJSON struct {
	Name string `json:"name"`
	Slug string `json:"slug"`
}

func (ap *app) toJSON() appJSON {
	status := "pending" // no machine has ever been deployed
	if len(ap.machines) > 0 {
		status = "deployed"
	}
	return appJSON{
		ID:           ap.name,
		Name:         ap.name,
		Status:       status,
		MachineCount: len(ap.machines),
		Network:      "default",
		Organization: orgJSON{Name: ap.org, Slug: ap.org},
	}
}

type createAppRequest struct {
	AppName string `json:"app_name"`
	OrgSlug string `json:"org_slug"`
}

func (a *API) createApp(w http.ResponseWriter, r *http.Request) {
	var req createAppRequest
	if err := wire.DecodeJSON(r, &req); err != nil {
		WriteError(w, http.StatusBadRequest, invalidJSONMessage)
		return
	}
	if !validAppName(req.AppName) {
		WriteError(w, http.StatusBadRequest, "app_name must be lowercase letters, digits and dashes")
		return
	}
	a.mu.Lock()
	if _, exists := a.apps[req.AppName]; exists {
		a.mu.Unlock()
		WriteError(w, http.StatusUnprocessableEntity, "Validation failed: Name has already been taken")
		return
	}
	a.apps[req.AppName] = a.newApp(req.AppName, req.OrgSlug)
	a.mu.Unlock()
	a.changed()
	writeEmpty(w, http.StatusCreated)
}

type listAppsResponse struct {
	TotalApps int       `json:"total_apps"`
	Apps      []appJSON `json:"apps"`
}

func (a *API) listApps(w http.ResponseWriter, r *http.Request) {
	org := r.URL.Query().Get("org_slug")
	a.mu.Lock()
	apps := []appJSON{}
	for _, ap := range a.apps {
		if org == "" || ap.org == org {
			apps = append(apps, ap.toJSON())
		}
	}
	a.mu.Unlock()
	sort.Slice(apps, func(i, j int) bool { return apps[i].Name < apps[j].Name })
	writeJSON(w, http.StatusOK, listAppsResponse{TotalApps: len(apps), Apps: apps})
}

func (a *API) getApp(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	ap, ok := a.apps[r.PathValue("app")]
	var body appJSON
	if ok {
		body = ap.toJSON()
	}
	a.mu.Unlock()
	if !ok {
		writeAppNotFound(w)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func (a *API) deleteApp(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	_, ok := a.apps[r.PathValue("app")]
	delete(a.apps, r.PathValue("app"))
	a.mu.Unlock()
	if !ok {
		writeAppNotFound(w)
		return
	}
	a.changed()
	writeEmpty(w, http.StatusAccepted)
}

// checkApp answers 404 and returns false unless the app exists. It takes and
// releases mu, so a handler that goes on looks the app up again with lockApp.
func (a *API) checkApp(w http.ResponseWriter, name string) bool {
	a.mu.Lock()
	_, ok := a.apps[name]
	a.mu.Unlock()
	if !ok {
		writeAppNotFound(w)
	}
	return ok
}

// lockApp takes mu and returns the app, mu still held. If the app is gone
// (deleted since checkApp), it releases mu, answers 404 and returns nil.
func (a *API) lockApp(w http.ResponseWriter, name string) *app {
	a.mu.Lock()
	ap := a.apps[name]
	if ap == nil {
		a.mu.Unlock()
		writeAppNotFound(w)
	}
	return ap
}

func writeAppNotFound(w http.ResponseWriter) {
	WriteError(w, http.StatusNotFound, "app not found")
}
