package fly

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var digestRE = regexp.MustCompile(`^[0-9a-f]{16}$`)

// setSecretResult decodes the set-one answer with exactly its fields.
type setSecretResult struct {
	Name      string  `json:"name"`
	Digest    string  `json:"digest"`
	CreatedAt string  `json:"created_at"`
	UpdatedAt string  `json:"updated_at"`
	Version   uint64  `json:"version"`
	Value     *string `json:"value"`
}

func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("%q is not RFC 3339: %v", s, err)
	}
	return ts
}

func TestSetSecret(t *testing.T) {
	ts := newTestServer(t, Config{})

	var first setSecretResult
	res := ts.do("POST", "/v1/apps/demo/secrets/DATABASE_URL", map[string]string{"value": "postgres://one"})
	res.expect(t, http.StatusCreated, &first)
	var fields map[string]any
	_ = json.Unmarshal(res.body, &fields)
	if len(fields) != 5 {
		t.Errorf("set-one answered fields %v, want name, digest, created_at, updated_at, version", fields)
	}
	if first.Name != "DATABASE_URL" || !digestRE.MatchString(first.Digest) || first.Version != 1 || first.Value != nil {
		t.Errorf("first set = %+v", first)
	}
	if first.CreatedAt != first.UpdatedAt {
		t.Errorf("new secret: created_at %s != updated_at %s", first.CreatedAt, first.UpdatedAt)
	}
	if !parseTime(t, first.CreatedAt).Equal(ts.clock.Now().Truncate(time.Microsecond)) {
		t.Errorf("created_at %s, clock %s", first.CreatedAt, ts.clock.Now())
	}

	// Overwrite: created_at stays, updated_at and digest move, version grows.
	ts.clock.Advance(time.Minute)
	var second setSecretResult
	ts.do("POST", "/v1/apps/demo/secrets/DATABASE_URL", map[string]string{"value": "postgres://two"}).
		expect(t, http.StatusCreated, &second)
	if second.CreatedAt != first.CreatedAt {
		t.Errorf("created_at changed on overwrite: %s -> %s", first.CreatedAt, second.CreatedAt)
	}
	if !parseTime(t, second.UpdatedAt).After(parseTime(t, first.UpdatedAt)) {
		t.Errorf("updated_at did not move: %s -> %s", first.UpdatedAt, second.UpdatedAt)
	}
	if second.Digest == first.Digest || second.Version != 2 {
		t.Errorf("second set = %+v", second)
	}

	// The same value again: same digest, still a write.
	var third setSecretResult
	ts.do("POST", "/v1/apps/demo/secrets/DATABASE_URL", map[string]string{"value": "postgres://two"}).
		expect(t, http.StatusCreated, &third)
	if third.Digest != second.Digest || third.Version != 3 {
		t.Errorf("re-set = %+v, want digest %s version 3", third, second.Digest)
	}

	// An empty value is accepted.
	ts.do("POST", "/v1/apps/demo/secrets/EMPTY", map[string]string{"value": ""}).expect(t, http.StatusCreated, nil)
}

func TestSetSecretErrors(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.do("POST", "/v1/apps/nope/secrets/A", map[string]string{"value": "x"}).
		expectError(t, http.StatusNotFound, "app not found")
	for _, name := range []string{"bad-name", "1LEADING_DIGIT", "has%20space", "dot.ted"} {
		want := `"` + strings.ReplaceAll(name, "%20", " ") + `" is not a valid secret name`
		ts.do("POST", "/v1/apps/demo/secrets/"+name, map[string]string{"value": "x"}).
			expectError(t, http.StatusBadRequest, want)
	}
	ts.do("POST", "/v1/apps/demo/secrets/A", `{"value":`).expectError(t, http.StatusBadRequest, "invalid JSON body")
	ts.do("POST", "/v1/apps/demo/secrets/A", `{"value":"x"} trailing`).
		expectError(t, http.StatusBadRequest, "invalid JSON body")
	ts.do("POST", "/v1/apps/demo/secrets/A", `{"value":42}`).expectError(t, http.StatusBadRequest, "invalid JSON body")
	ts.do("POST", "/v1/apps/demo/secrets/A", `{}`).expectError(t, http.StatusBadRequest, "value is required")
	ts.do("POST", "/v1/apps/demo/secrets/A", `{"value":null}`).expectError(t, http.StatusBadRequest, "value is required")

	// Nothing was written.
	var list listSecretsResponse
	ts.do("GET", "/v1/apps/demo/secrets", nil).expect(t, http.StatusOK, &list)
	if len(list.Secrets) != 0 {
		t.Errorf("failed writes left secrets: %+v", list)
	}
}

func TestGetSecret(t *testing.T) {
	ts := newTestServer(t, Config{})
	var set setSecretResult
	ts.do("POST", "/v1/apps/demo/secrets/API_KEY", map[string]string{"value": "k1"}).expect(t, http.StatusCreated, &set)

	var got secretJSON
	res := ts.do("GET", "/v1/apps/demo/secrets/API_KEY", nil)
	res.expect(t, http.StatusOK, &got)
	if got.Name != "API_KEY" || got.Digest != set.Digest || !sameSecond(t, got.CreatedAt, set.CreatedAt) ||
		!sameSecond(t, got.UpdatedAt, set.UpdatedAt) || got.Value != nil {
		t.Errorf("get = %+v, set = %+v", got, set)
	}
	if strings.Contains(string(res.body), "k1") {
		t.Errorf("get without show_secrets revealed the value: %s", res.body)
	}

	var shown secretJSON
	ts.do("GET", "/v1/apps/demo/secrets/API_KEY?show_secrets=true", nil).expect(t, http.StatusOK, &shown)
	if shown.Value == nil || *shown.Value != "k1" {
		t.Errorf("show_secrets=true value = %v", shown.Value)
	}

	ts.do("GET", "/v1/apps/demo/secrets/MISSING", nil).expectError(t, http.StatusNotFound, "secret not found")
	ts.do("GET", "/v1/apps/nope/secrets/API_KEY", nil).expectError(t, http.StatusNotFound, "app not found")
	ts.do("GET", "/v1/apps/demo/secrets/bad-name", nil).
		expectError(t, http.StatusBadRequest, `"bad-name" is not a valid secret name`)
	ts.do("GET", "/v1/apps/demo/secrets/API_KEY?version=1", nil).expect(t, http.StatusOK, nil)
	ts.do("GET", "/v1/apps/demo/secrets/API_KEY?version=2", nil).
		expectError(t, http.StatusPreconditionFailed, "secrets version 2 is not available yet (current version 1)")
}

func TestListSecrets(t *testing.T) {
	ts := newTestServer(t, Config{})
	res := ts.do("GET", "/v1/apps/demo/secrets", nil)
	res.expect(t, http.StatusOK, nil)
	if got := strings.TrimSpace(string(res.body)); got != `{"secrets":[]}` {
		t.Errorf("empty list = %s", got)
	}

	for _, name := range []string{"ZED", "ALPHA", "MIDDLE"} {
		ts.do("POST", "/v1/apps/demo/secrets/"+name, map[string]string{"value": "v-" + name}).
			expect(t, http.StatusCreated, nil)
	}
	var list listSecretsResponse
	res = ts.do("GET", "/v1/apps/demo/secrets", nil)
	res.expect(t, http.StatusOK, &list)
	var names []string
	for _, s := range list.Secrets {
		names = append(names, s.Name)
		if !digestRE.MatchString(s.Digest) || s.Value != nil {
			t.Errorf("listed %+v", s)
		}
		parseTime(t, s.CreatedAt)
		parseTime(t, s.UpdatedAt)
	}
	if strings.Join(names, ",") != "ALPHA,MIDDLE,ZED" {
		t.Errorf("names = %v, want sorted", names)
	}
	if strings.Contains(string(res.body), "v-ALPHA") {
		t.Errorf("list revealed a value: %s", res.body)
	}

	var shown listSecretsResponse
	ts.do("GET", "/v1/apps/demo/secrets?show_secrets=true", nil).expect(t, http.StatusOK, &shown)
	for _, s := range shown.Secrets {
		if s.Value == nil || *s.Value != "v-"+s.Name {
			t.Errorf("show_secrets: %s = %v", s.Name, s.Value)
		}
	}

	ts.do("GET", "/v1/apps/demo/secrets?version=3", nil).expect(t, http.StatusOK, nil)
	ts.do("GET", "/v1/apps/demo/secrets?min_version=3", nil).expect(t, http.StatusOK, nil)
	ts.do("GET", "/v1/apps/demo/secrets?version=4", nil).
		expectError(t, http.StatusPreconditionFailed, "secrets version 4 is not available yet (current version 3)")
	ts.do("GET", "/v1/apps/demo/secrets?version=-1", nil).
		expectError(t, http.StatusBadRequest, "version must be a non-negative integer")
	ts.do("GET", "/v1/apps/demo/secrets?show_secrets=maybe", nil).
		expectError(t, http.StatusBadRequest, "show_secrets must be true or false")
	ts.do("GET", "/v1/apps/nope/secrets", nil).expectError(t, http.StatusNotFound, "app not found")
}

func TestUpdateSecrets(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.do("POST", "/v1/apps/demo/secrets/OLD", map[string]string{"value": "old"}).expect(t, http.StatusCreated, nil)

	var resp updateSecretsResponse
	ts.do("POST", "/v1/apps/demo/secrets", `{"values":{"B":"bee","A":"ay","OLD":null,"NEVER":null}}`).
		expect(t, http.StatusOK, &resp)
	if resp.Version != 2 {
		t.Errorf("version %d, want 2 (one bump for the whole call)", resp.Version)
	}
	if len(resp.Secrets) != 2 || resp.Secrets[0].Name != "A" || resp.Secrets[1].Name != "B" {
		t.Errorf("bulk answered %+v, want the set names A and B", resp.Secrets)
	}
	for _, s := range resp.Secrets {
		if !digestRE.MatchString(s.Digest) || s.Value != nil {
			t.Errorf("bulk secret %+v", s)
		}
	}

	var list listSecretsResponse
	ts.do("GET", "/v1/apps/demo/secrets", nil).expect(t, http.StatusOK, &list)
	if len(list.Secrets) != 2 || list.Secrets[0].Name != "A" || list.Secrets[1].Name != "B" {
		t.Errorf("after bulk: %+v", list.Secrets)
	}

	// Bulk digests agree with set-one digests for the same value.
	var one setSecretResult
	ts.do("POST", "/v1/apps/demo/secrets/A", map[string]string{"value": "ay"}).expect(t, http.StatusCreated, &one)
	if one.Digest != resp.Secrets[0].Digest || one.Version != 3 {
		t.Errorf("set-one after bulk = %+v, bulk digest %s", one, resp.Secrets[0].Digest)
	}

	// Unsetting only absent names changes nothing, so no new version.
	var noop updateSecretsResponse
	ts.do("POST", "/v1/apps/demo/secrets", `{"values":{"GONE":null}}`).expect(t, http.StatusOK, &noop)
	if noop.Version != 3 || len(noop.Secrets) != 0 {
		t.Errorf("no-op bulk = %+v, want version 3 and no secrets", noop)
	}
	ts.do("POST", "/v1/apps/demo/secrets", `{"values":{}}`).expect(t, http.StatusOK, &noop)
	if noop.Version != 3 {
		t.Errorf("empty bulk version %d, want 3", noop.Version)
	}
}

func TestUpdateSecretsErrors(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.do("POST", "/v1/apps/nope/secrets", `{"values":{"A":"x"}}`).expectError(t, http.StatusNotFound, "app not found")
	ts.do("POST", "/v1/apps/demo/secrets", `{"values":{"GOOD":"x","bad-name":"y"}}`).
		expectError(t, http.StatusBadRequest, `"bad-name" is not a valid secret name`)
	ts.do("POST", "/v1/apps/demo/secrets", `{"values":`).expectError(t, http.StatusBadRequest, "invalid JSON body")
	ts.do("POST", "/v1/apps/demo/secrets", `{"values":{"A":1}}`).expectError(t, http.StatusBadRequest, "invalid JSON body")
	ts.do("POST", "/v1/apps/demo/secrets", `{}`).expectError(t, http.StatusBadRequest, "values is required")

	// All or nothing: the valid name in the rejected call was not written.
	var list listSecretsResponse
	ts.do("GET", "/v1/apps/demo/secrets", nil).expect(t, http.StatusOK, &list)
	if len(list.Secrets) != 0 {
		t.Errorf("rejected bulk wrote %+v", list.Secrets)
	}
}

func TestDeleteSecret(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.do("POST", "/v1/apps/demo/secrets/A", map[string]string{"value": "x"}).expect(t, http.StatusCreated, nil)

	res := ts.do("DELETE", "/v1/apps/demo/secrets/A", nil)
	var resp map[string]any
	res.expect(t, http.StatusOK, &resp)
	if len(resp) != 1 || resp["version"] != float64(2) {
		t.Errorf("delete answered %s, want {\"version\":2}", res.body)
	}
	ts.do("GET", "/v1/apps/demo/secrets/A", nil).expectError(t, http.StatusNotFound, "secret not found")
	ts.do("DELETE", "/v1/apps/demo/secrets/A", nil).expectError(t, http.StatusNotFound, "secret not found")
	ts.do("DELETE", "/v1/apps/demo/secrets/bad-name", nil).
		expectError(t, http.StatusBadRequest, `"bad-name" is not a valid secret name`)
	ts.do("DELETE", "/v1/apps/nope/secrets/A", nil).expectError(t, http.StatusNotFound, "app not found")

	// A failed delete does not bump the version.
	var set setSecretResult
	ts.do("POST", "/v1/apps/demo/secrets/B", map[string]string{"value": "x"}).expect(t, http.StatusCreated, &set)
	if set.Version != 3 {
		t.Errorf("version %d after failed deletes, want 3", set.Version)
	}
}

func TestVersionsArePerApp(t *testing.T) {
	ts := newTestServer(t, Config{})
	if err := ts.api.EnsureApp("other", ""); err != nil {
		t.Fatal(err)
	}
	var a, b setSecretResult
	ts.do("POST", "/v1/apps/demo/secrets/A", map[string]string{"value": "x"}).expect(t, http.StatusCreated, &a)
	ts.do("POST", "/v1/apps/other/secrets/A", map[string]string{"value": "x"}).expect(t, http.StatusCreated, &b)
	if a.Version != 1 || b.Version != 1 {
		t.Errorf("versions %d and %d, want 1 each", a.Version, b.Version)
	}
	if a.Digest == b.Digest {
		t.Error("digest does not depend on the app")
	}
}

func TestDigest(t *testing.T) {
	d := digestOf("app", "NAME", "value")
	if !digestRE.MatchString(d) {
		t.Fatalf("digest %q is not 16 lowercase hex characters", d)
	}
	if d != digestOf("app", "NAME", "value") {
		t.Error("digest is not deterministic")
	}
	for _, other := range []string{
		digestOf("app2", "NAME", "value"), digestOf("app", "NAME2", "value"),
		digestOf("app", "NAME", "value2"), digestOf("ap", "pNAME", "value"),
	} {
		if other == d {
			t.Error("digest ignores part of its input")
		}
	}
}

// TestSecretCheckOrder pins which check answers when a request fails several:
// app (404), then secret name (400), then query or body (400), then version
// (412).
func TestSecretCheckOrder(t *testing.T) {
	ts := newTestServer(t, Config{})
	badName := invalidNameMessage("bad-name")
	cases := []struct {
		method, path string
		body         any
		status       int
		message      string
	}{
		{"GET", "/v1/apps/nope/secrets?show_secrets=maybe", nil, http.StatusNotFound, "app not found"},
		{
			"GET",
			"/v1/apps/demo/secrets?show_secrets=maybe&min_version=9",
			nil,
			http.StatusBadRequest,
			"show_secrets must be true or false",
		},
		{"GET", "/v1/apps/nope/secrets/bad-name?show_secrets=maybe", nil, http.StatusNotFound, "app not found"},
		{"GET", "/v1/apps/demo/secrets/bad-name?show_secrets=maybe", nil, http.StatusBadRequest, badName},
		{
			"GET",
			"/v1/apps/demo/secrets/A?min_version=x&version=9",
			nil,
			http.StatusBadRequest,
			"min_version must be a non-negative integer",
		},
		{
			"GET",
			"/v1/apps/demo/secrets/A?min_version=9",
			nil,
			http.StatusPreconditionFailed,
			"secrets version 9 is not available yet (current version 0)",
		},
		{"POST", "/v1/apps/nope/secrets/bad-name", `not json`, http.StatusNotFound, "app not found"},
		{"POST", "/v1/apps/demo/secrets/bad-name", `not json`, http.StatusBadRequest, badName},
		{"POST", "/v1/apps/demo/secrets/A", `not json`, http.StatusBadRequest, "invalid JSON body"},
		{"POST", "/v1/apps/nope/secrets", `not json`, http.StatusNotFound, "app not found"},
		{"POST", "/v1/apps/demo/secrets", `not json`, http.StatusBadRequest, "invalid JSON body"},
		{"DELETE", "/v1/apps/nope/secrets/bad-name", nil, http.StatusNotFound, "app not found"},
		{"DELETE", "/v1/apps/demo/secrets/bad-name", nil, http.StatusBadRequest, badName},
		{"DELETE", "/v1/apps/demo/secrets/A", nil, http.StatusNotFound, "secret not found"},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			ts.do(c.method, c.path, c.body).expectError(t, c.status, c.message)
		})
	}
}

// Reads lag writes by Config.ReadLag unless they ask for the version written.
func TestReadsLagWrites(t *testing.T) {
	ts := newTestServer(t, Config{ReadLag: 200 * time.Millisecond})
	var first, second struct {
		Digest  string `json:"digest"`
		Version int    `json:"version"`
	}
	ts.do("POST", "/v1/apps/demo/secrets/DB", map[string]string{"value": "one"}).expect(t, http.StatusCreated, &first)

	// Just written: a read that names no version does not see it yet...
	ts.do("GET", "/v1/apps/demo/secrets/DB", nil).expectError(t, http.StatusNotFound, "secret not found")
	var list struct {
		Secrets []struct{ Name string } `json:"secrets"`
	}
	ts.do("GET", "/v1/apps/demo/secrets", nil).expect(t, http.StatusOK, &list)
	if len(list.Secrets) != 0 {
		t.Errorf("a lagging list sees %v", list.Secrets)
	}
	// ...one that asks for the version written does, and one beyond it is 412.
	var got struct{ Digest string }
	ts.do("GET", "/v1/apps/demo/secrets/DB?version=1", nil).expect(t, http.StatusOK, &got)
	if got.Digest != first.Digest {
		t.Errorf("version 1 read digest %q, want %q", got.Digest, first.Digest)
	}
	ts.do("GET", "/v1/apps/demo/secrets/DB?version=2", nil).expect(t, http.StatusPreconditionFailed, nil)

	// Once the lag has passed, every read sees it.
	ts.clock.Advance(200 * time.Millisecond)
	ts.do("GET", "/v1/apps/demo/secrets/DB", nil).expect(t, http.StatusOK, &got)
	if got.Digest != first.Digest {
		t.Errorf("settled read digest %q, want %q", got.Digest, first.Digest)
	}

	// An overwrite: lagging reads see the old value, then the new one.
	ts.do("POST", "/v1/apps/demo/secrets/DB", map[string]string{"value": "two"}).expect(t, http.StatusCreated, &second)
	ts.do("GET", "/v1/apps/demo/secrets/DB", nil).expect(t, http.StatusOK, &got)
	if got.Digest != first.Digest {
		t.Errorf("lagging read after an overwrite: digest %q, want the old %q", got.Digest, first.Digest)
	}
	ts.do("GET", "/v1/apps/demo/secrets/DB?version=2", nil).expect(t, http.StatusOK, &got)
	if got.Digest != second.Digest {
		t.Errorf("version 2 read digest %q, want %q", got.Digest, second.Digest)
	}
	// A read at the old version may see newer data once it has settled.
	ts.clock.Advance(time.Second)
	ts.do("GET", "/v1/apps/demo/secrets/DB?version=1", nil).expect(t, http.StatusOK, &got)
	if got.Digest != second.Digest {
		t.Errorf("settled read at version 1: digest %q, want the newest %q", got.Digest, second.Digest)
	}

	// A delete lags the same way.
	ts.do("DELETE", "/v1/apps/demo/secrets/DB", nil).expect(t, http.StatusOK, nil)
	ts.do("GET", "/v1/apps/demo/secrets/DB", nil).expect(t, http.StatusOK, nil)
	ts.do("GET", "/v1/apps/demo/secrets/DB?version=3", nil).expectError(t, http.StatusNotFound, "secret not found")
	ts.clock.Advance(time.Second)
	ts.do("GET", "/v1/apps/demo/secrets/DB", nil).expectError(t, http.StatusNotFound, "secret not found")
}

// sameSecond reports whether two RFC 3339 times name one instant to the second: reads give
// times to the second at another offset than writes (Config.ExactReadTimes).
func sameSecond(t *testing.T, a, b string) bool {
	t.Helper()
	ta, errA := time.Parse(time.RFC3339Nano, a)
	tb, errB := time.Parse(time.RFC3339Nano, b)
	if errA != nil || errB != nil {
		t.Fatalf("times %q, %q: %v %v", a, b, errA, errB)
	}
	return ta.Truncate(time.Second).Equal(tb.Truncate(time.Second))
}

// Reads give created_at and updated_at to the second and at another UTC offset than the write
// answered them with, as an API may: clients must compare times as instants, at the coarser
// precision. ExactReadTimes gives them as written.
func TestReadsGiveTimesInAnotherPrecisionAndZone(t *testing.T) {
	for _, exact := range []bool{false, true} {
		ts := newTestServer(t, Config{ExactReadTimes: exact})
		var set setSecretResult
		ts.do("POST", "/v1/apps/demo/secrets/A", map[string]string{"value": "x"}).expect(t, http.StatusCreated, &set)
		var got secretJSON
		ts.do("GET", "/v1/apps/demo/secrets/A", nil).expect(t, http.StatusOK, &got)
		var list listSecretsResponse
		ts.do("GET", "/v1/apps/demo/secrets", nil).expect(t, http.StatusOK, &list)
		for _, read := range []secretJSON{got, list.Secrets[0]} {
			if exact && (read.UpdatedAt != set.UpdatedAt || read.CreatedAt != set.CreatedAt) {
				t.Errorf("exact read times %+v, written %+v", read, set)
			}
			if !exact && (read.UpdatedAt == set.UpdatedAt || strings.Contains(read.UpdatedAt, ".") ||
				strings.HasSuffix(read.UpdatedAt, "Z") || !sameSecond(t, read.UpdatedAt, set.UpdatedAt)) {
				t.Errorf("read time %q: want %q's instant to the second at another offset", read.UpdatedAt, set.UpdatedAt)
			}
		}
	}
}
