package workers

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestAuthAndAccount(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.script("api")
	for _, auth := range []string{"", "Bearer wrong", "Basic " + testToken, testToken} {
		ts.doAuth("GET", "/scripts/api/secrets", auth, nil).fails(t, http.StatusForbidden, 10000)
	}
	ts.do("GET", "/client/v4/accounts/ffffffffffffffffffffffffffffffff/workers/scripts/api/secrets", nil).
		fails(t, http.StatusNotFound, 7003)
	ts.do("GET", "/scripts/api/no-such-route", nil).fails(t, http.StatusNotFound, 7000)
	ts.doAuth("GET", "/scripts/api/no-such-route", "", nil).fails(t, http.StatusForbidden, 10000)
}

func TestPutListGetDelete(t *testing.T) {
	ts := newTestServer(t, Config{})
	ref := ts.script("api")
	var put secretJSON
	ts.do("PUT", "/scripts/api/secrets", secretBody("API_KEY", "value-1")).ok(t, &put)
	if put.Name != "API_KEY" || put.Type != "secret_text" || put.Format != nil {
		t.Fatalf("put answered %+v", put)
	}
	ts.do("PUT", "/scripts/api/secrets", secretBody("DB_URL", "value-2")).ok(t, nil)
	ts.do("PUT", "/scripts/api/secrets", secretBody("API_KEY", "value-3")).ok(t, nil)

	var listed []secretJSON
	r := ts.do("GET", "/scripts/api/secrets", nil).ok(t, &listed)
	if len(listed) != 2 || listed[0].Name != "API_KEY" || listed[1].Name != "DB_URL" ||
		listed[0].Type != "secret_text" {
		t.Fatalf("list: %+v", listed)
	}
	if strings.Contains(string(r.raw), "value-") {
		t.Fatal("list answered a value")
	}
	var got secretJSON
	r = ts.do("GET", "/scripts/api/secrets/API_KEY?url_encoded=true", nil).ok(t, &got)
	if got.Name != "API_KEY" || strings.Contains(string(r.raw), "value-") {
		t.Fatalf("get: %s", r.raw)
	}
	if s := ts.secrets(ref); s["API_KEY"] != "value-3" || s["DB_URL"] != "value-2" {
		t.Fatalf("held: %v", s)
	}
	// Each write is a new version, deployed.
	vs := ts.versions(ref)
	if len(vs) != 4 || vs[3].Percentage != 100 || vs[2].Percentage != 0 || vs[3].TriggeredBy != "secret" {
		t.Fatalf("versions: %+v", vs)
	}

	ts.do("DELETE", "/scripts/api/secrets/API_KEY?url_encoded=true", nil).ok(t, nil)
	if s := ts.secrets(ref); len(s) != 1 || s["DB_URL"] != "value-2" {
		t.Fatalf("after delete: %v", s)
	}
	ts.do("DELETE", "/scripts/api/secrets/API_KEY", nil).fails(t, http.StatusNotFound, 10056)
	ts.do("GET", "/scripts/api/secrets/API_KEY", nil).fails(t, http.StatusNotFound, 10056)
	if n := len(ts.versions(ref)); n != 5 {
		t.Fatalf("%d versions after a refused delete, want 5", n)
	}
}

func TestScriptNotFound(t *testing.T) {
	ts := newTestServer(t, Config{})
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/scripts/missing/secrets", nil},
		{"PUT", "/scripts/missing/secrets", secretBody("A", "v")},
		{"PUT", "/scripts/missing/secrets", "not json"},
		{"GET", "/scripts/missing/secrets/A", nil},
		{"DELETE", "/scripts/missing/secrets/A", nil},
		{"PATCH", "/scripts/missing/secrets-bulk", map[string]any{"secrets": map[string]any{}}},
		{"GET", "/scripts/missing/settings", nil},
		{"GET", "/scripts/missing/versions", nil},
		{"GET", "/scripts/missing/deployments", nil},
		{"DELETE", "/scripts/missing", nil},
		{"PATCH", "/workers/missing/versions/latest", map[string]any{"env": map[string]any{}}},
		{"GET", "/dispatch/namespaces/ns/scripts/missing/secrets", nil},
	} {
		r := ts.do(c.method, c.path, c.body)
		r.fails(t, http.StatusNotFound, 10007)
		if r.Errors[0].Message != "This Worker does not exist on your account." {
			t.Errorf("%s %s: %q", c.method, c.path, r.Errors[0].Message)
		}
	}
}

func TestPutRefusals(t *testing.T) {
	ts := newTestServer(t, Config{})
	ref := ts.script("api")
	big := strings.Repeat("x", maxSecretBytes+1)
	for _, c := range []struct {
		body         any
		status, code int
	}{
		{"not json", http.StatusBadRequest, 10026},
		{map[string]string{"name": "A", "type": "secret_text"}, http.StatusBadRequest, 10021},
		{map[string]string{"name": "A", "text": "v", "type": "plain_text"}, http.StatusBadRequest, 10021},
		{secretBody("not-an-identifier", "v"), http.StatusBadRequest, 10021},
		{secretBody("", "v"), http.StatusBadRequest, 10021},
		{secretBody("BIG", big), http.StatusBadRequest, 10054},
	} {
		ts.do("PUT", "/scripts/api/secrets", c.body).fails(t, c.status, c.code)
	}
	ts.do("PUT", "/scripts/api/secrets", secretBody("EXACT", strings.Repeat("x", maxSecretBytes))).ok(t, nil)
	// A plain_text variable holds the name: 10053.
	ts.upload("PUT", "/scripts/api", map[string]any{"main_module": "index.js", "keep_bindings": []string{"secret_text"},
		"bindings": []map[string]string{{"name": "MODE", "type": "plain_text", "text": "prod"}}}).ok(t, nil)
	ts.do("PUT", "/scripts/api/secrets", secretBody("MODE", "v")).fails(t, http.StatusBadRequest, 10053)
	ts.do("DELETE", "/scripts/api/secrets/MODE", nil).fails(t, http.StatusNotFound, 10056)
	if s := ts.secrets(ref); len(s) != 1 {
		t.Fatalf("held: %v", s)
	}
	// 64 text bindings at most: MODE and EXACT plus 62 more fit, one more does not.
	for i := range maxTextBindings - 2 {
		ts.do("PUT", "/scripts/api/secrets", secretBody(fmt.Sprintf("S%d", i), "v")).ok(t, nil)
	}
	ts.do("PUT", "/scripts/api/secrets", secretBody("ONE_MORE", "v")).fails(t, http.StatusBadRequest, 10055)
}

func TestBulk(t *testing.T) {
	ts := newTestServer(t, Config{})
	ref := ts.script("api")
	ts.do("PUT", "/scripts/api/secrets", secretBody("OLD", "o")).ok(t, nil)
	ts.do("PUT", "/scripts/api/secrets", secretBody("KEEP", "k")).ok(t, nil)
	before := len(ts.versions(ref))
	var out map[string]secretJSON
	r := ts.do("PATCH", "/scripts/api/secrets-bulk", map[string]any{"secrets": map[string]any{
		"A":      secretBody("A", "a1"),
		"B":      secretBody("B", "b1"),
		"OLD":    nil,
		"ABSENT": nil,
	}}).ok(t, &out)
	if len(out) != 2 || out["A"].Type != "secret_text" || strings.Contains(string(r.raw), "a1") {
		t.Fatalf("bulk answered %s", r.raw)
	}
	if s := ts.secrets(ref); len(s) != 3 || s["A"] != "a1" || s["B"] != "b1" || s["KEEP"] != "k" {
		t.Fatalf("held: %v", s)
	}
	if vs := ts.versions(ref); len(vs) != before+1 || vs[len(vs)-1].Percentage != 100 {
		t.Fatalf("bulk made %d versions, want one, deployed", len(vs)-before)
	}
	// All or nothing: one bad entry writes none.
	ts.do("PATCH", "/scripts/api/secrets-bulk", map[string]any{"secrets": map[string]any{
		"C": secretBody("C", "c"), "D": secretBody("D", strings.Repeat("x", maxSecretBytes+1)),
	}}).fails(t, http.StatusBadRequest, 10054)
	ts.do("PATCH", "/scripts/api/secrets-bulk", map[string]any{"secrets": map[string]any{
		"C": secretBody("OTHER", "c"),
	}}).fails(t, http.StatusBadRequest, 10021)
	ts.do("PATCH", "/scripts/api/secrets-bulk", map[string]any{}).fails(t, http.StatusBadRequest, 10026)
	many := map[string]any{}
	for i := range maxBulkSecrets + 1 {
		many[fmt.Sprintf("S%d", i)] = secretBody(fmt.Sprintf("S%d", i), "v")
	}
	ts.do("PATCH", "/scripts/api/secrets-bulk", map[string]any{"secrets": many}).fails(t, http.StatusBadRequest, 10021)
	if s := ts.secrets(ref); len(s) != 3 {
		t.Fatalf("refused bulk writes changed %v", s)
	}
}

func TestGradualDeploymentRefusesSecretWrites(t *testing.T) {
	ts := newTestServer(t, Config{})
	ref := ts.script("api")
	ts.do("PUT", "/scripts/api/secrets", secretBody("A", "a")).ok(t, nil)
	deployed := ts.versions(ref)[1].ID
	// A version upload (not deployed) keeps the secrets; the newest version is then not the
	// deployed one.
	var uploaded versionJSON
	ts.upload("POST", "/scripts/api/versions", map[string]any{"main_module": "index.js",
		"keep_bindings": []string{"secret_text", "secret_key"}}).ok(t, &uploaded)
	if s := ts.versions(ref); len(s) != 3 || s[2].Percentage != 0 || s[2].Secrets["A"] != "a" {
		t.Fatalf("versions: %+v", s)
	}
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"PUT", "/scripts/api/secrets", secretBody("B", "b")},
		{"DELETE", "/scripts/api/secrets/A", nil},
		{"PATCH", "/scripts/api/secrets-bulk", map[string]any{"secrets": map[string]any{"B": secretBody("B", "b")}}},
	} {
		ts.do(c.method, c.path, c.body).fails(t, http.StatusBadRequest, 10215)
	}
	ts.settingsForm("/scripts/api/settings", map[string]any{"bindings": []any{}}).fails(t, http.StatusBadRequest, 10214)

	// A gradual deployment: 10% on the new version, 90% on the old. Still refused.
	var d deploymentJSON
	ts.do("POST", "/scripts/api/deployments", map[string]any{"strategy": "percentage", "versions": []map[string]any{
		{"version_id": uploaded.ID, "percentage": 10}, {"version_id": deployed, "percentage": 90}}}).ok(t, &d)
	if len(d.Versions) != 2 {
		t.Fatalf("deployment %+v", d)
	}
	ts.do("PUT", "/scripts/api/secrets", secretBody("B", "b")).fails(t, http.StatusBadRequest, 10215)
	var listed struct {
		Deployments []deploymentJSON `json:"deployments"`
	}
	ts.do("GET", "/scripts/api/deployments", nil).ok(t, &listed)
	if len(listed.Deployments) != 3 || listed.Deployments[0].ID != d.ID {
		t.Fatalf("deployments newest first: %+v", listed.Deployments)
	}
	// Deploying the newest version to all traffic lifts the refusal.
	ts.do("POST", "/scripts/api/deployments", map[string]any{"strategy": "percentage", "versions": []map[string]any{
		{"version_id": uploaded.ID, "percentage": 100}}}).ok(t, nil)
	ts.do("PUT", "/scripts/api/secrets", secretBody("B", "b")).ok(t, nil)

	for _, bad := range []map[string]any{
		{"strategy": "percentage", "versions": []map[string]any{{"version_id": uploaded.ID, "percentage": 50}}},
		{"strategy": "other", "versions": []map[string]any{{"version_id": uploaded.ID, "percentage": 100}}},
		{"strategy": "percentage", "versions": []map[string]any{}},
	} {
		ts.do("POST", "/scripts/api/deployments", bad).fails(t, http.StatusBadRequest, 10021)
	}
	ts.do("POST", "/scripts/api/deployments", map[string]any{"strategy": "percentage", "versions": []map[string]any{
		{"version_id": "nope", "percentage": 100}}}).fails(t, http.StatusNotFound, 10220)
}

func TestVersionOnlyWrite(t *testing.T) {
	ts := newTestServer(t, Config{})
	ref := ts.script("api")
	ts.do("PUT", "/scripts/api/secrets", secretBody("GONE", "g")).ok(t, nil)
	var v versionJSON
	msg := "Updated secret"
	r := ts.do("PATCH", "/workers/api/versions/latest", map[string]any{
		"env":         map[string]any{"NEW": map[string]string{"type": "secret_text", "text": "n"}, "GONE": nil},
		"annotations": map[string]any{"workers/message": msg, "workers/tag": nil},
	}).ok(t, &v)
	if v.ID == "" || v.Number != 3 || v.Annotations["workers/message"] != msg ||
		strings.Contains(string(r.raw), `"n"`) {
		t.Fatalf("answered %s", r.raw)
	}
	vs := ts.versions(ref)
	if latest := vs[len(vs)-1]; latest.Percentage != 0 || latest.Secrets["NEW"] != "n" || len(latest.Secrets) != 1 {
		t.Fatalf("newest version %+v, want NEW alone, not deployed", latest)
	}
	if vs[1].Percentage != 100 {
		t.Fatalf("the deployed version moved: %+v", vs)
	}
	// Version-only writes stack on the newest version, deployed or not.
	ts.do("PATCH", "/workers/api/versions/latest", map[string]any{
		"env": map[string]any{"SECOND": map[string]string{"type": "secret_text", "text": "s"}}}).ok(t, nil)
	if s := ts.secrets(ref); len(s) != 2 || s["NEW"] != "n" || s["SECOND"] != "s" {
		t.Fatalf("newest version holds %v", s)
	}
	ts.do("PATCH", "/workers/api/versions/latest", map[string]any{
		"env": map[string]any{"BIG": map[string]string{"type": "secret_text", "text": strings.Repeat("x", 6000)}}}).
		fails(t, http.StatusBadRequest, 10054)
	ts.do("PATCH", "/workers/api/versions/latest", "[]").fails(t, http.StatusBadRequest, 10026)

	// A script with no version: 10222 (only reachable through a restored state).
	if err := ts.api.Restore(State{Scripts: []ScriptState{{Name: "empty", Versions: []VersionState{},
		Deployments: []DeploymentState{}}}}); err != nil {
		t.Fatal(err)
	}
	ts.do("PATCH", "/workers/empty/versions/latest", map[string]any{"env": map[string]any{}}).
		fails(t, http.StatusBadRequest, 10222)
	ts.do("PUT", "/scripts/empty/secrets", secretBody("A", "a")).fails(t, http.StatusBadRequest, 10222)
}

func TestVersionsReadNoValues(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.script("api")
	ts.do("PUT", "/scripts/api/secrets", secretBody("A", "value-in-version")).ok(t, nil)
	var list struct {
		Items []versionJSON `json:"items"`
	}
	r := ts.do("GET", "/scripts/api/versions?deployable=true", nil).ok(t, &list)
	if len(list.Items) != 2 || list.Items[0].Number != 2 || strings.Contains(string(r.raw), "value-in-version") {
		t.Fatalf("versions: %s", r.raw)
	}
	var v versionJSON
	r = ts.do("GET", "/scripts/api/versions/"+list.Items[0].ID, nil).ok(t, &v)
	if len(v.Resources.Bindings) != 1 || v.Resources.Bindings[0]["name"] != "A" ||
		strings.Contains(string(r.raw), "value-in-version") {
		t.Fatalf("version: %s", r.raw)
	}
	ts.do("GET", "/scripts/api/versions/nope", nil).fails(t, http.StatusNotFound, 10220)
}

func TestNamespacedScripts(t *testing.T) {
	ts := newTestServer(t, Config{})
	ref := ScriptRef{Namespace: "tenants", Name: "site-1"}
	if err := ts.api.EnsureScript(ref); err != nil {
		t.Fatal(err)
	}
	const p = "/dispatch/namespaces/tenants/scripts/site-1"
	ts.do("PUT", p+"/secrets", secretBody("A", "a")).ok(t, nil)
	ts.do("PATCH", p+"/secrets-bulk", map[string]any{"secrets": map[string]any{"B": secretBody("B", "b")}}).ok(t, nil)
	var listed []secretJSON
	ts.do("GET", p+"/secrets", nil).ok(t, &listed)
	if len(listed) != 2 {
		t.Fatalf("list: %+v", listed)
	}
	ts.do("GET", p+"/secrets/A", nil).ok(t, nil)
	ts.do("DELETE", p+"/secrets/A", nil).ok(t, nil)
	if s := ts.secrets(ref); len(s) != 1 || s["B"] != "b" {
		t.Fatalf("held: %v", s)
	}
	// The account's script of the same name is another script.
	ts.do("GET", "/scripts/site-1/secrets", nil).fails(t, http.StatusNotFound, 10007)
	// An upload in the namespace drops the secrets, like one on the account.
	ts.upload("PUT", p, map[string]any{"main_module": "index.js"}).ok(t, nil)
	if s := ts.secrets(ref); len(s) != 0 {
		t.Fatalf("after the upload: %v", s)
	}
	ts.do("DELETE", p, nil).ok(t, nil)
	ts.do("GET", p+"/secrets", nil).fails(t, http.StatusNotFound, 10007)
}

func TestURLEncodedSecretName(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.script("api")
	ts.do("PUT", "/scripts/api/secrets", secretBody("$KEY", "v")).ok(t, nil)
	ts.do("GET", "/scripts/api/secrets/%24KEY?url_encoded=true", nil).ok(t, nil)
	ts.do("DELETE", "/scripts/api/secrets/%24KEY?url_encoded=true", nil).ok(t, nil)
}
