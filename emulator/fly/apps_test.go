package fly

import (
	"net/http"
	"testing"
)

func TestCreateApp(t *testing.T) {
	ts := newTestServer(t, Config{})

	res := ts.do("POST", "/v1/apps", map[string]string{"app_name": "my-app", "org_slug": "acme"})
	res.expect(t, http.StatusCreated, nil)
	if len(res.body) != 0 {
		t.Errorf("create answered a body: %s", res.body)
	}
	if res.header.Get("Fly-Request-Id") == "" {
		t.Error("no Fly-Request-Id header")
	}

	var app appJSON
	ts.do("GET", "/v1/apps/my-app", nil).expect(t, http.StatusOK, &app)
	if app.Name != "my-app" || app.ID != "my-app" || app.Organization.Slug != "acme" {
		t.Errorf("app = %+v", app)
	}

	ts.do("POST", "/v1/apps", map[string]string{"app_name": "my-app", "org_slug": "acme"}).
		expectError(t, http.StatusUnprocessableEntity, "Validation failed: Name has already been taken")
	ts.do("POST", "/v1/apps", map[string]string{"app_name": "Not_Valid"}).
		expectError(t, http.StatusBadRequest, "app_name must be lowercase letters, digits and dashes")
	ts.do("POST", "/v1/apps", map[string]string{}).
		expectError(t, http.StatusBadRequest, "app_name must be lowercase letters, digits and dashes")
	ts.do("POST", "/v1/apps", `{"app_name":`).expectError(t, http.StatusBadRequest, "invalid JSON body")
}

func TestCreateAppDefaultsOrg(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.do("POST", "/v1/apps", map[string]string{"app_name": "solo"}).expect(t, http.StatusCreated, nil)
	var app appJSON
	ts.do("GET", "/v1/apps/solo", nil).expect(t, http.StatusOK, &app)
	if app.Organization.Slug != "personal" {
		t.Errorf("org = %q, want personal", app.Organization.Slug)
	}
}

func TestListApps(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.do("POST", "/v1/apps", map[string]string{"app_name": "b-app", "org_slug": "acme"}).
		expect(t, http.StatusCreated, nil)

	var all listAppsResponse
	ts.do("GET", "/v1/apps", nil).expect(t, http.StatusOK, &all)
	if all.TotalApps != 2 || all.Apps[0].Name != "b-app" || all.Apps[1].Name != "demo" {
		t.Errorf("list = %+v", all)
	}
	var acme listAppsResponse
	ts.do("GET", "/v1/apps?org_slug=acme", nil).expect(t, http.StatusOK, &acme)
	if acme.TotalApps != 1 || acme.Apps[0].Name != "b-app" {
		t.Errorf("list acme = %+v", acme)
	}
}

func TestGetUnknownApp(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.do("GET", "/v1/apps/nope", nil).expectError(t, http.StatusNotFound, "app not found")
}

func TestDeleteApp(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.do("POST", "/v1/apps/demo/secrets/A", map[string]string{"value": "x"}).expect(t, http.StatusCreated, nil)
	ts.do("DELETE", "/v1/apps/demo", nil).expect(t, http.StatusAccepted, nil)
	ts.do("GET", "/v1/apps/demo", nil).expectError(t, http.StatusNotFound, "app not found")
	ts.do("DELETE", "/v1/apps/demo", nil).expectError(t, http.StatusNotFound, "app not found")

	// A new app of the same name starts empty.
	ts.do("POST", "/v1/apps", map[string]string{"app_name": "demo"}).expect(t, http.StatusCreated, nil)
	var list listSecretsResponse
	ts.do("GET", "/v1/apps/demo/secrets", nil).expect(t, http.StatusOK, &list)
	if len(list.Secrets) != 0 {
		t.Errorf("recreated app has secrets: %+v", list)
	}
	// ... and starts over at secrets version 0: the old app's version never comes.
	ts.do("GET", "/v1/apps/demo/secrets?version=1", nil).expect(t, http.StatusPreconditionFailed, nil)
	var set setSecretResponse
	ts.do("POST", "/v1/apps/demo/secrets/B", map[string]string{"value": "y"}).expect(t, http.StatusCreated, &set)
	if set.Version != 1 {
		t.Errorf("first write to the app made again answered version %d, want 1", set.Version)
	}
}

func TestListMachines(t *testing.T) {
	ts := newTestServer(t, Config{})
	res := ts.do("GET", "/v1/apps/demo/machines", nil)
	res.expect(t, http.StatusOK, nil)
	if string(res.body) != "[]\n" {
		t.Errorf("machines = %q, want []", res.body)
	}
	ts.do("GET", "/v1/apps/nope/machines", nil).expectError(t, http.StatusNotFound, "app not found")
}

func TestUnknownRoute(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.do("GET", "/v1/volumes", nil).expectError(t, http.StatusNotFound, "not found")
	ts.do("PUT", "/v1/apps/demo/secrets/A", nil).expectError(t, http.StatusNotFound, "not found")
}

func TestEnsureApp(t *testing.T) {
	api, err := New(Config{Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if err := api.EnsureApp("UPPER", ""); err == nil {
		t.Error("EnsureApp accepted an invalid name")
	}
	if err := api.EnsureApp("ok-app", "acme"); err != nil {
		t.Fatal(err)
	}
	if got := api.Snapshot().Apps; len(got) != 1 || got[0].Org != "acme" {
		t.Errorf("apps = %+v", got)
	}
}
