package workers

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/internal/apitest"
)

func TestUploadDropsOrKeepsSecrets(t *testing.T) {
	ts := newTestServer(t, Config{})
	var created scriptJSON
	// An upload creates the script (as wrangler's draft Worker does).
	ts.upload("PUT", "/scripts/api", map[string]any{"main_module": "index.js", "compatibility_date": "2025-01-01",
		"bindings": []map[string]string{{"name": "MODE", "type": "plain_text", "text": "prod"},
			{"name": "TOKEN", "type": "secret_text", "text": "t1"}}}).ok(t, &created)
	ref := ScriptRef{Name: "api"}
	if created.ID != "api" || len(created.Tag) != 32 || created.CompatibilityDate != "2025-01-01" {
		t.Fatalf("upload answered %+v", created)
	}
	ts.do("PUT", "/scripts/api/secrets", secretBody("A", "a")).ok(t, nil)

	// keep_bindings with secret_text keeps the secrets (and only the kept types).
	ts.upload("PUT", "/scripts/api", map[string]any{"main_module": "index.js",
		"keep_bindings": []string{"secret_text", "secret_key"}}).ok(t, nil)
	if s := ts.secrets(ref); len(s) != 2 || s["A"] != "a" || s["TOKEN"] != "t1" {
		t.Fatalf("after a keeping upload: %v", s)
	}
	var settings settingsJSON
	ts.do("GET", "/scripts/api/settings", nil).ok(t, &settings)
	if len(settings.Bindings) != 2 {
		t.Fatalf("the plain_text binding was kept without keep_bindings plain_text: %+v", settings.Bindings)
	}
	// An upload naming a secret again replaces it; inherit keeps one by name.
	ts.upload("PUT", "/scripts/api", map[string]any{"main_module": "index.js",
		"bindings": []map[string]string{{"name": "A", "type": "inherit"}, {"name": "NEW", "type": "secret_text",
			"text": "n"}}}).ok(t, nil)
	if s := ts.secrets(ref); len(s) != 2 || s["A"] != "a" || s["NEW"] != "n" {
		t.Fatalf("after an inherit upload: %v", s)
	}
	// A plain upload drops every secret.
	ts.upload("PUT", "/scripts/api", map[string]any{"main_module": "index.js"}).ok(t, nil)
	if s := ts.secrets(ref); len(s) != 0 {
		t.Fatalf("after a plain upload: %v", s)
	}
	if vs := ts.versions(ref); len(vs) != 5 || vs[4].Percentage != 100 || vs[4].TriggeredBy != "upload" {
		t.Fatalf("versions: %+v", vs)
	}

	// Refusals.
	ts.upload("PUT", "/scripts/api", map[string]any{"main_module": "index.js",
		"bindings": []map[string]string{{"name": "MISSING", "type": "inherit"}}}).fails(t, http.StatusBadRequest, 10021)
	ts.upload("PUT", "/scripts/api", map[string]any{"body_part": "nowhere.js"}).fails(t, http.StatusBadRequest, 10021)
	ts.upload("PUT", "/scripts/Bad_Name", map[string]any{"main_module": "index.js"}).
		fails(t, http.StatusBadRequest, 10016)
	ts.upload("PUT", "/scripts/api", map[string]any{"main_module": "index.js",
		"bindings": []map[string]string{{"name": "S", "type": "secret_text", "text": strings.Repeat("x", 6000)}}}).
		fails(t, http.StatusBadRequest, 10054)
	ts.do("PUT", "/scripts/api", map[string]any{}).fails(t, http.StatusBadRequest, 10026)
	ts.upload("POST", "/scripts/missing/versions", map[string]any{"main_module": "index.js"}).
		fails(t, http.StatusNotFound, 10007)
}

func TestUploadKeepsSecretsConfig(t *testing.T) {
	ts := newTestServer(t, Config{UploadKeepsSecrets: true})
	ref := ts.script("api")
	ts.do("PUT", "/scripts/api/secrets", secretBody("A", "a")).ok(t, nil)
	ts.upload("PUT", "/scripts/api", map[string]any{"main_module": "index.js"}).ok(t, nil)
	if s := ts.secrets(ref); s["A"] != "a" {
		t.Fatalf("with UploadKeepsSecrets a plain upload dropped %v", s)
	}
}

func TestSettings(t *testing.T) {
	ts := newTestServer(t, Config{})
	ref := ts.script("api")
	ts.do("PUT", "/scripts/api/secrets", secretBody("A", "secret-a")).ok(t, nil)
	ts.do("PUT", "/scripts/api/secrets", secretBody("B", "secret-b")).ok(t, nil)
	var settings settingsJSON
	r := ts.do("GET", "/scripts/api/settings", nil).ok(t, &settings)
	if len(settings.Bindings) != 2 || strings.Contains(string(r.raw), "secret-a") {
		t.Fatalf("settings: %s", r.raw)
	}
	// wrangler's older `secret bulk`: the bindings to keep as inherit, the new ones with text.
	ts.settingsForm("/scripts/api/settings", map[string]any{"bindings": []map[string]string{
		{"name": "A", "type": "inherit"}, {"name": "C", "type": "secret_text", "text": "secret-c"}}}).ok(t, nil)
	if s := ts.secrets(ref); len(s) != 2 || s["A"] != "secret-a" || s["C"] != "secret-c" {
		t.Fatalf("after the settings patch: %v", s)
	}
	// A JSON body works too; settings without bindings make no version.
	n := len(ts.versions(ref))
	ts.do("PATCH", "/scripts/api/settings", map[string]any{"compatibility_date": "2025-02-02"}).ok(t, &settings)
	if settings.CompatibilityDate != "2025-02-02" || len(ts.versions(ref)) != n {
		t.Fatalf("settings %+v, %d versions (was %d)", settings, len(ts.versions(ref)), n)
	}
	ts.do("PATCH", "/scripts/api/settings", "{").fails(t, http.StatusBadRequest, 10026)
}

func TestInspectionHelpers(t *testing.T) {
	ts := newTestServer(t, Config{})
	ref := ts.script("api")
	if err := ts.api.EnsureScript(ref); err != nil { // again: nothing changes
		t.Fatal(err)
	}
	if n := len(ts.versions(ref)); n != 1 {
		t.Fatalf("EnsureScript twice: %d versions", n)
	}
	ts.do("PUT", "/scripts/api/secrets", secretBody("A", "a")).ok(t, nil)
	if err := ts.api.DropSecrets(ref); err != nil {
		t.Fatal(err)
	}
	if s := ts.secrets(ref); len(s) != 0 {
		t.Fatalf("DropSecrets left %v", s)
	}
	id, err := ts.api.UploadVersion(ref)
	if err != nil {
		t.Fatal(err)
	}
	vs := ts.versions(ref)
	if err := ts.api.Deploy(ref, map[string]float64{id: 25, vs[len(vs)-2].ID: 75}); err != nil {
		t.Fatal(err)
	}
	ds, _ := ts.api.Deployments(ref)
	if last := ds[len(ds)-1]; last.Versions[id] != 25 {
		t.Fatalf("deployments %+v", ds)
	}
	ts.do("PUT", "/scripts/api/secrets", secretBody("A", "a")).fails(t, http.StatusBadRequest, 10215)
	if err := ts.api.Deploy(ref, map[string]float64{id: 50}); err == nil {
		t.Error("Deploy accepted a split of 50%")
	}
	missing := ScriptRef{Name: "missing"}
	if _, err := ts.api.Secrets(missing); err != ErrNotFound {
		t.Errorf("Secrets of a missing script: %v", err)
	}
	if err := ts.api.DropSecrets(missing); err != ErrNotFound {
		t.Errorf("DropSecrets of a missing script: %v", err)
	}
	for _, c := range []struct {
		in   string
		want ScriptRef
		ok   bool
	}{{"api", ScriptRef{Name: "api"}, true}, {"ns/site", ScriptRef{Namespace: "ns", Name: "site"}, true},
		{"/site", ScriptRef{}, false}, {"Upper", ScriptRef{}, false}, {"", ScriptRef{}, false}} {
		got, err := ParseScriptRef(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseScriptRef(%q) = %+v, %v", c.in, got, err)
		}
	}
}

func TestStateRoundTripAndDeterministicIDs(t *testing.T) {
	run := func() (State, *testServer) {
		ts := newTestServer(t, Config{})
		ts.script("api")
		if err := ts.api.EnsureScript(ScriptRef{Namespace: "ns", Name: "site"}); err != nil {
			t.Fatal(err)
		}
		ts.do("PUT", "/scripts/api/secrets", secretBody("A", "a")).ok(t, nil)
		ts.do("PATCH", "/workers/api/versions/latest", map[string]any{
			"env": map[string]any{"K": map[string]any{"type": "secret_key", "format": "raw",
				"algorithm": map[string]string{"name": "HMAC"}, "usages": []string{"sign"}, "key_base64": "a2V5"}}}).
			ok(t, nil)
		return ts.api.Snapshot(), ts
	}
	first, ts := run()
	second, _ := run()
	if !reflect.DeepEqual(first, second) {
		t.Fatal("the same requests gave different states (ids are not deterministic)")
	}
	restored := newTestServer(t, Config{})
	if err := restored.api.Restore(apitest.JSONRoundTrip(t, first)); err != nil {
		t.Fatal(err)
	}
	got := restored.api.Snapshot()
	if !reflect.DeepEqual(apitest.JSONRoundTrip(t, got), apitest.JSONRoundTrip(t, first)) {
		t.Fatalf("restored state differs:\n%+v\n%+v", got, first)
	}
	// The key's material is kept but never answered.
	var v struct {
		Items []versionJSON `json:"items"`
	}
	r := restored.do("GET", "/scripts/api/versions", nil).ok(t, &v)
	if strings.Contains(string(r.raw), "a2V5") || !strings.Contains(string(r.raw), `"HMAC"`) {
		t.Fatalf("versions answer: %s", r.raw)
	}
	var listed []secretJSON
	restored.do("GET", "/scripts/api/secrets", nil).ok(t, &listed)
	if len(listed) != 2 || listed[1].Type != "secret_key" || string(listed[1].Format) != `"raw"` {
		t.Fatalf("list: %+v", listed)
	}
	// New ids after a restore continue the sequence: no id is handed out twice.
	const site = "/dispatch/namespaces/ns/scripts/site/secrets"
	ts.do("PUT", site, secretBody("B", "b")).ok(t, nil)
	restored.do("PUT", site, secretBody("B", "b")).ok(t, nil)
	siteRef := ScriptRef{Namespace: "ns", Name: "site"}
	a, b := append(ts.versions(ScriptRef{Name: "api"}), ts.versions(siteRef)...), restored.versions(siteRef)
	if a[len(a)-1].ID != b[len(b)-1].ID {
		t.Error("a restored API hands out other ids than the original")
	}
	seen := map[string]bool{}
	for _, v := range a {
		if seen[v.ID] {
			t.Errorf("id %s twice", v.ID)
		}
		seen[v.ID] = true
	}
	for _, bad := range []State{
		{Scripts: []ScriptState{{Name: "Bad!"}}},
		{Scripts: []ScriptState{{Name: "a"}, {Name: "a"}}},
		{Scripts: []ScriptState{{Name: "a", Versions: []VersionState{{ID: "v", Number: 2}}}}},
		{Scripts: []ScriptState{{Name: "a", Deployments: []DeploymentState{{ID: "d",
			Versions: []TrafficState{{VersionID: "nope", Percentage: 100}}}}}}},
	} {
		if err := restored.api.Restore(bad); err == nil {
			t.Errorf("Restore accepted %+v", bad)
		}
	}
}
