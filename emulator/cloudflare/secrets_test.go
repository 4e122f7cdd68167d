package cloudflare

import (
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCreateSecrets(t *testing.T) {
	ts := newTestServer(t, Config{ActivationDelay: time.Minute})
	st := ts.defaultStore()

	in := secretInput("API_KEY", "v1", "workers", "ai_gateway", "workers")
	in["comment"] = "the key"
	r := ts.do("POST", "/stores/"+st.ID+"/secrets", []map[string]any{in, secretInput("other-name", "v2", "dex")})
	var created []secretJSON
	r.ok(t, &created)
	if len(created) != 2 {
		t.Fatalf("created %+v", created)
	}
	s := created[0]
	if !idRE.MatchString(s.ID) || s.Name != "API_KEY" || s.StoreID != st.ID || s.Status != "pending" ||
		s.Comment != "the key" {
		t.Errorf("created %+v", s)
	}
	if !slices.Equal(s.Scopes, []string{"ai_gateway", "workers"}) {
		t.Errorf("scopes %v, want sorted and de-duplicated", s.Scopes)
	}
	if s.Created != s.Modified {
		t.Errorf("created %s modified %s", s.Created, s.Modified)
	}
	if strings.Contains(string(r.raw), "v1") {
		t.Errorf("create answer carries the value: %s", r.raw)
	}

	// pending until the activation delay has passed, then active.
	var got secretJSON
	ts.do("GET", "/stores/"+st.ID+"/secrets/"+s.ID, nil).ok(t, &got)
	if got.Status != "pending" {
		t.Errorf("status %q before the delay", got.Status)
	}
	ts.clock.Advance(time.Minute)
	ts.do("GET", "/stores/"+st.ID+"/secrets/"+s.ID, nil).ok(t, &got)
	if got.Status != "active" {
		t.Errorf("status %q after the delay", got.Status)
	}
	got.Status = s.Status
	if !reflect.DeepEqual(got, s) {
		t.Errorf("get = %+v, created %+v", got, s)
	}
}

func TestZeroActivationDelay(t *testing.T) {
	ts := newTestServer(t, Config{})
	st := ts.defaultStore()
	created := ts.createSecrets(st.ID, secretInput("A", "a"))
	if created[0].Status != "pending" {
		t.Errorf("create answered %q, want pending", created[0].Status)
	}
	var got secretJSON
	ts.do("GET", "/stores/"+st.ID+"/secrets/"+created[0].ID, nil).ok(t, &got)
	if got.Status != "active" {
		t.Errorf("first read %q, want active", got.Status)
	}
}

func TestCreateSecretsValidation(t *testing.T) {
	ts := newTestServer(t, Config{})
	st := ts.defaultStore()
	path := "/stores/" + st.ID + "/secrets"
	ts.createSecrets(st.ID, secretInput("TAKEN", "x"))

	long := strings.Repeat("x", maxValueBytes+1)
	tests := []struct {
		name string
		body any
		code int
		msg  string
	}{
		{"object, not array", `{"name":"A","value":"x","scopes":["workers"]}`, 1001, "invalid_json_body"},
		{"empty array", `[]`, 1001, "invalid_json_body"},
		{"broken JSON", `[{"name":`, 1001, "invalid_json_body"},
		{"no name", []map[string]any{{"value": "x", "scopes": []string{"workers"}}}, 1001, "secret_name_empty"},
		{"empty name", []map[string]any{secretInput("", "x")}, 1001, "secret_name_empty"},
		{"name with space", []map[string]any{secretInput("A B", "x")}, 1001, "secret_name_invalid"},
		{"name with dot", []map[string]any{secretInput("a.b", "x")}, 1001, "secret_name_invalid"},
		{"no value", []map[string]any{{"name": "A", "scopes": []string{"workers"}}}, 1001, "secret_value_empty"},
		{"empty value", []map[string]any{secretInput("A", "")}, 1001, "secret_value_empty"},
		{"value too long", []map[string]any{secretInput("A", long)}, 1001, "secret_value_too_long"},
		{"no scopes", []map[string]any{{"name": "A", "value": "x"}}, 1001, "secret_scopes_empty"},
		{"empty scopes", []map[string]any{secretInput("A", "x", []string{}...)}, 1001, "secret_scopes_empty"},
		{"unknown scope", []map[string]any{secretInput("A", "x", "workers", "email")}, 1001, "secret_scope_invalid"},
		{"existing name", []map[string]any{secretInput("TAKEN", "x")}, 1003, "secret_name_already_exists"},
		{
			"name twice in the call",
			[]map[string]any{secretInput("NEW", "x"), secretInput("NEW", "y")},
			1003,
			"secret_name_already_exists",
		},
		{
			"one bad entry among good",
			[]map[string]any{secretInput("GOOD", "x"), secretInput("BAD NAME", "y")},
			1001,
			"secret_name_invalid",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts.do("POST", path, tt.body).fails(t, http.StatusBadRequest, tt.code, tt.msg)
		})
	}
	// All or nothing: only the first secret exists.
	var list []secretJSON
	ts.do("GET", path, nil).ok(t, &list)
	if len(list) != 1 || list[0].Name != "TAKEN" {
		t.Errorf("secrets after rejected creates: %+v", list)
	}

	// Exactly 64 KiB is fine; the same name in another store is fine.
	ts.createSecrets(st.ID, secretInput("MAX", strings.Repeat("x", maxValueBytes)))
	ts.do("POST", "/stores/0123456789abcdef0123456789abcdef/secrets", []map[string]any{secretInput("A", "x")}).
		fails(t, http.StatusNotFound, 1001, "store_not_found")
}

func TestSecretQuota(t *testing.T) {
	ts := newTestServer(t, Config{})
	st := ts.defaultStore()
	path := "/stores/" + st.ID + "/secrets"

	var q quotaJSON
	r := ts.do("GET", "/quota", nil).ok(t, &q)
	if q != (quotaJSON{Secrets: quotaSecretsJSON{Quota: 100, Usage: 0}}) {
		t.Errorf("quota %s", r.Result)
	}

	var batch []map[string]any
	for i := range 99 {
		batch = append(batch, secretInput(fmt.Sprintf("S%03d", i), "v"))
	}
	ts.createSecrets(st.ID, batch...)
	// Two more would pass the quota: neither is created.
	ts.do("POST", path, []map[string]any{secretInput("LAST", "v"), secretInput("OVER", "v")}).
		fails(t, http.StatusBadRequest, 1003, "maximum_secrets_exceeded")
	ts.createSecrets(st.ID, secretInput("LAST", "v"))
	ts.do("GET", "/quota", nil).ok(t, &q)
	if q.Secrets.Usage != 100 {
		t.Errorf("usage %d, want 100", q.Secrets.Usage)
	}
	ts.do("POST", path, []map[string]any{secretInput("OVER", "v")}).
		fails(t, http.StatusBadRequest, 1003, "maximum_secrets_exceeded")

	var list []secretJSON
	ts.do("GET", path+"?per_page=100", nil).ok(t, &list)
	ts.do("POST", path+"/"+list[0].ID+"/duplicate", map[string]any{"name": "COPY", "scopes": []string{"workers"}}).
		fails(t, http.StatusBadRequest, 1003, "maximum_secrets_exceeded")

	// Deleting frees room.
	ts.do("DELETE", path+"/"+list[0].ID, nil).ok(t, nil)
	ts.createSecrets(st.ID, secretInput("OVER", "v"))
}

func TestGetSecretNotFound(t *testing.T) {
	ts := newTestServer(t, Config{})
	st := ts.defaultStore()
	ts.do("GET", "/stores/"+st.ID+"/secrets/0123456789abcdef0123456789abcdef", nil).
		fails(t, http.StatusNotFound, 1001, "secret_not_found")
	ts.do("GET", "/stores/0123456789abcdef0123456789abcdef/secrets/0123456789abcdef0123456789abcdef", nil).
		fails(t, http.StatusNotFound, 1001, "store_not_found")
	ts.do("GET", "/stores/0123456789abcdef0123456789abcdef/secrets", nil).
		fails(t, http.StatusNotFound, 1001, "store_not_found")
}

func TestEditSecret(t *testing.T) {
	ts := newTestServer(t, Config{})
	st := ts.defaultStore()
	s := ts.createSecrets(st.ID, secretInput("A", "old"))[0]
	path := "/stores/" + st.ID + "/secrets/" + s.ID

	ts.clock.Advance(time.Hour)
	var edited secretJSON
	patch := map[string]any{"value": "new", "scopes": []string{"workers", "access"}, "comment": "rotated"}
	r := ts.do("PATCH", path, patch).ok(t, &edited)
	if edited.ID != s.ID || edited.Name != "A" || edited.Comment != "rotated" ||
		!slices.Equal(edited.Scopes, []string{"access", "workers"}) {
		t.Errorf("edited %+v", edited)
	}
	if edited.Created != s.Created || edited.Modified == s.Modified {
		t.Errorf("created %s -> %s, modified %s -> %s", s.Created, edited.Created, s.Modified, edited.Modified)
	}
	if strings.Contains(string(r.raw), "new") {
		t.Errorf("edit answer carries the value: %s", r.raw)
	}
	if v := ts.api.Snapshot().Accounts[0].Stores[0].Secrets[0].Value; v != "new" {
		t.Errorf("stored value %q, want new", v)
	}

	// Only the fields sent change; the unchanged name is accepted.
	ts.do("PATCH", path, map[string]any{"name": "A", "comment": ""}).ok(t, &edited)
	if edited.Comment != "" || !slices.Equal(edited.Scopes, []string{"access", "workers"}) {
		t.Errorf("comment-only edit %+v", edited)
	}
	if v := ts.api.Snapshot().Accounts[0].Stores[0].Secrets[0].Value; v != "new" {
		t.Errorf("comment edit changed the value to %q", v)
	}

	ts.do("PATCH", path, map[string]any{"name": "B"}).fails(t, http.StatusBadRequest, 1001, "secret_name_immutable")
	ts.do("PATCH", path, map[string]any{"scopes": []string{}}).fails(t, http.StatusBadRequest, 1001, "secret_scopes_empty")
	ts.do("PATCH", path, map[string]any{"scopes": []string{"nope"}}).
		fails(t, http.StatusBadRequest, 1001, "secret_scope_invalid")
	ts.do("PATCH", path, map[string]any{"value": ""}).fails(t, http.StatusBadRequest, 1001, "secret_value_empty")
	ts.do("PATCH", path, map[string]any{"value": strings.Repeat("x", maxValueBytes+1)}).
		fails(t, http.StatusBadRequest, 1001, "secret_value_too_long")
	ts.do("PATCH", path, `{"value":`).fails(t, http.StatusBadRequest, 1001, "invalid_json_body")
	ts.do("PATCH", "/stores/"+st.ID+"/secrets/0123456789abcdef0123456789abcdef", map[string]any{"comment": "x"}).
		fails(t, http.StatusNotFound, 1001, "secret_not_found")
	ts.do("PATCH", "/stores/0123456789abcdef0123456789abcdef/secrets/"+s.ID, map[string]any{"comment": "x"}).
		fails(t, http.StatusNotFound, 1001, "store_not_found")
}

func TestDeleteSecret(t *testing.T) {
	ts := newTestServer(t, Config{})
	st := ts.defaultStore()
	s := ts.createSecrets(st.ID, secretInput("A", "a"))[0]
	path := "/stores/" + st.ID + "/secrets/" + s.ID

	r := ts.do("DELETE", path, nil).ok(t, nil)
	if string(r.Result) != "null" {
		t.Errorf("delete result %s, want null", r.Result)
	}
	ts.do("GET", path, nil).fails(t, http.StatusNotFound, 1001, "secret_not_found")
	ts.do("DELETE", path, nil).fails(t, http.StatusNotFound, 1001, "secret_not_found")
	ts.do("DELETE", "/stores/0123456789abcdef0123456789abcdef/secrets/"+s.ID, nil).
		fails(t, http.StatusNotFound, 1001, "store_not_found")
	// The name is free again.
	ts.createSecrets(st.ID, secretInput("A", "a"))
}

func TestBulkDeleteSecrets(t *testing.T) {
	ts := newTestServer(t, Config{})
	st := ts.defaultStore()
	created := ts.createSecrets(st.ID, secretInput("A", "a"), secretInput("B", "b"), secretInput("C", "c"))
	path := "/stores/" + st.ID + "/secrets"

	ts.do("DELETE", path, nil).fails(t, http.StatusBadRequest, 1001, "invalid_json_body")
	ts.do("DELETE", path, `[]`).fails(t, http.StatusBadRequest, 1001, "invalid_json_body")
	ts.do("DELETE", path, []string{created[0].ID, "0123456789abcdef0123456789abcdef"}).
		fails(t, http.StatusNotFound, 1001, "secret_not_found")
	var list []secretJSON
	ts.do("GET", path, nil).ok(t, &list)
	if len(list) != 3 {
		t.Fatalf("a rejected bulk delete removed secrets: %+v", list)
	}

	r := ts.do("DELETE", path, []string{created[0].ID, created[2].ID}).ok(t, nil)
	if string(r.Result) != "null" {
		t.Errorf("bulk delete result %s", r.Result)
	}
	ts.do("GET", path, nil).ok(t, &list)
	if len(list) != 1 || list[0].Name != "B" {
		t.Errorf("after bulk delete: %+v", list)
	}
	ts.do("DELETE", "/stores/0123456789abcdef0123456789abcdef/secrets", []string{created[1].ID}).
		fails(t, http.StatusNotFound, 1001, "store_not_found")
}

func TestDuplicateSecret(t *testing.T) {
	ts := newTestServer(t, Config{ActivationDelay: time.Second})
	st := ts.defaultStore()
	srcIn := secretInput("SRC", "the-value", "workers")
	srcIn["comment"] = "original"
	src := ts.createSecrets(st.ID, srcIn)[0]
	ts.clock.Advance(time.Second)
	path := "/stores/" + st.ID + "/secrets/" + src.ID + "/duplicate"

	var dup secretJSON
	ts.do("POST", path, map[string]any{"name": "COPY", "scopes": []string{"dex", "workers"}, "comment": "copied"}).
		ok(t, &dup)
	if dup.ID == src.ID || !idRE.MatchString(dup.ID) || dup.Name != "COPY" || dup.Status != "pending" ||
		dup.Comment != "copied" || !slices.Equal(dup.Scopes, []string{"dex", "workers"}) || dup.StoreID != st.ID {
		t.Errorf("duplicate %+v", dup)
	}
	values := map[string]string{}
	for _, s := range ts.api.Snapshot().Accounts[0].Stores[0].Secrets {
		values[s.Name] = s.Value
	}
	if values["COPY"] != "the-value" || values["SRC"] != "the-value" {
		t.Errorf("values after duplicate: %v", values)
	}

	var noComment secretJSON
	ts.do("POST", path, map[string]any{"name": "COPY2", "scopes": []string{"workers"}}).ok(t, &noComment)
	if noComment.Comment != "" {
		t.Errorf("comment %q, want empty", noComment.Comment)
	}

	ts.do("POST", path, map[string]any{"name": "COPY", "scopes": []string{"workers"}}).
		fails(t, http.StatusBadRequest, 1003, "secret_name_already_exists")
	ts.do("POST", path, map[string]any{"name": "SRC", "scopes": []string{"workers"}}).
		fails(t, http.StatusBadRequest, 1003, "secret_name_already_exists")
	ts.do("POST", path, map[string]any{"scopes": []string{"workers"}}).
		fails(t, http.StatusBadRequest, 1001, "secret_name_empty")
	ts.do("POST", path, map[string]any{"name": "bad name", "scopes": []string{"workers"}}).
		fails(t, http.StatusBadRequest, 1001, "secret_name_invalid")
	ts.do("POST", path, map[string]any{"name": "X"}).fails(t, http.StatusBadRequest, 1001, "secret_scopes_empty")
	ts.do("POST", path, map[string]any{"name": "X", "scopes": []string{"mail"}}).
		fails(t, http.StatusBadRequest, 1001, "secret_scope_invalid")
	ts.do("POST", path, `{`).fails(t, http.StatusBadRequest, 1001, "invalid_json_body")
	x := map[string]any{"name": "X", "scopes": []string{"workers"}}
	ts.do("POST", "/stores/"+st.ID+"/secrets/0123456789abcdef0123456789abcdef/duplicate", x).
		fails(t, http.StatusNotFound, 1001, "secret_not_found")
	ts.do("POST", "/stores/0123456789abcdef0123456789abcdef/secrets/"+src.ID+"/duplicate", x).
		fails(t, http.StatusNotFound, 1001, "store_not_found")
}

func TestSecretJSONShape(t *testing.T) {
	ts := newTestServer(t, Config{})
	st := ts.defaultStore()
	r := ts.do("POST", "/stores/"+st.ID+"/secrets", []map[string]any{secretInput("A", "a")})
	var raw []map[string]any
	r.ok(t, &raw)
	var keys []string
	for k := range raw[0] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if strings.Join(keys, ",") != "comment,created,id,modified,name,scopes,status,store_id" {
		t.Errorf("secret fields %v", keys)
	}
	if r.ResultInfo == nil || r.ResultInfo.Count != 1 {
		t.Errorf("create result_info %+v", r.ResultInfo)
	}
}
