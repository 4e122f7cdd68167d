package flyapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"sync/atomic"
	"testing"
	"time"
)

// checkRequest asserts what every call sends: method, escaped path, auth and content headers.
func checkRequest(t *testing.T, r *http.Request, method, path string, withBody bool) {
	t.Helper()
	if r.Method != method {
		t.Errorf("method = %s, want %s", r.Method, method)
	}
	if got := r.URL.EscapedPath(); got != path {
		t.Errorf("path = %s, want %s", got, path)
	}
	if got, want := r.Header.Get("Authorization"), "FlyV1 "+testToken; got != want {
		t.Errorf("Authorization = %q, want %q", got, want)
	}
	if got := r.Header.Get("Accept"); got != "application/json" {
		t.Errorf("Accept = %q", got)
	}
	if got := r.Header.Get("User-Agent"); got != defaultUserAgent {
		t.Errorf("User-Agent = %q", got)
	}
	if ct := r.Header.Get("Content-Type"); withBody != (ct == "application/json") {
		t.Errorf("Content-Type = %q with body %v", ct, withBody)
	}
}

func readBody(t *testing.T, r *http.Request) []byte {
	t.Helper()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Errorf("reading request body: %v", err)
	}
	return body
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	parsed, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return parsed
}

func TestListSecrets(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		checkRequest(t, r, http.MethodGet, "/v1/apps/my-app/secrets", false)
		writeBody(w, `{"secrets":[
			{"name":"A","digest":"0123456789abcdef",
				"created_at":"2025-01-02T03:04:05Z","updated_at":"2025-01-02T03:04:06.5+02:00"},
			{"name":"B","digest":"fedcba9876543210","created_at":"2025-01-02T03:04:05.123456","updated_at":null}]}`)
	})
	got, err := c.ListSecrets(context.Background(), "my-app", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []Secret{
		{Name: "A", Digest: "0123456789abcdef",
			CreatedAt: mustTime(t, "2025-01-02T03:04:05Z"), UpdatedAt: mustTime(t, "2025-01-02T01:04:06.5Z")},
		{Name: "B", Digest: "fedcba9876543210", CreatedAt: mustTime(t, "2025-01-02T03:04:05.123456Z")},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d secrets, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].Name != want[i].Name || got[i].Digest != want[i].Digest ||
			!got[i].CreatedAt.Equal(want[i].CreatedAt) || !got[i].UpdatedAt.Equal(want[i].UpdatedAt) {
			t.Errorf("secret %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestListSecretsEmpty(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		writeBody(w, `{"secrets":[]}`)
	})
	got, err := c.ListSecrets(context.Background(), "my-app", 0)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("ListSecrets = %#v, %v; want an empty non-nil slice", got, err)
	}
}

func TestGetSecret(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		checkRequest(t, r, http.MethodGet, "/v1/apps/my-app/secrets/DATABASE_URL", false)
		writeBody(w, `{"name":"DATABASE_URL","digest":"0123456789abcdef",`+
			`"created_at":"2025-01-02T03:04:05Z","updated_at":"2025-03-04T05:06:07Z"}`)
	})
	got, err := c.GetSecret(context.Background(), "my-app", "DATABASE_URL", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := Secret{Name: "DATABASE_URL", Digest: "0123456789abcdef",
		CreatedAt: mustTime(t, "2025-01-02T03:04:05Z"), UpdatedAt: mustTime(t, "2025-03-04T05:06:07Z")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetSecret = %+v, want %+v", got, want)
	}
}

func TestSetSecret(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		checkRequest(t, r, http.MethodPost, "/v1/apps/my-app/secrets/DATABASE_URL", true)
		var body map[string]any
		if err := json.Unmarshal(readBody(t, r), &body); err != nil {
			t.Errorf("request body: %v", err)
		}
		if want := map[string]any{"value": "postgres://u:p@h/db"}; !reflect.DeepEqual(body, want) {
			t.Errorf("request body = %v, want %v", body, want)
		}
		w.WriteHeader(http.StatusCreated)
		writeBody(w, `{"name":"DATABASE_URL","digest":"0123456789abcdef",`+
			`"created_at":"2025-01-02T03:04:05Z","updated_at":"2025-01-02T03:04:05Z","version":12}`)
	})
	got, err := c.SetSecret(context.Background(), "my-app", "DATABASE_URL", "postgres://u:p@h/db")
	if err != nil {
		t.Fatal(err)
	}
	created := mustTime(t, "2025-01-02T03:04:05Z")
	want := SetSecretResponse{
		Secret:  Secret{Name: "DATABASE_URL", Digest: "0123456789abcdef", CreatedAt: created, UpdatedAt: created},
		Version: 12,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("SetSecret = %+v, want %+v", got, want)
	}
}

func TestUpdateSecrets(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		checkRequest(t, r, http.MethodPost, "/v1/apps/my-app/secrets", true)
		var body struct {
			Values map[string]*string `json:"values"`
		}
		raw := readBody(t, r)
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Errorf("request body: %v", err)
		}
		if len(body.Values) != 2 || body.Values["A"] == nil || *body.Values["A"] != "x" {
			t.Errorf("request body = %s, want A set to x", raw)
		}
		if v, ok := body.Values["B"]; !ok || v != nil {
			t.Errorf("request body = %s, want B: null", raw)
		}
		writeBody(w, `{"secrets":[{"name":"A","digest":"0123456789abcdef",`+
			`"created_at":"2025-01-02T03:04:05Z","updated_at":"2025-01-02T03:04:05Z"}],"version":13}`)
	})
	x := "x"
	got, err := c.UpdateSecrets(context.Background(), "my-app", map[string]*string{"A": &x, "B": nil})
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 13 || len(got.Secrets) != 1 || got.Secrets[0].Name != "A" ||
		got.Secrets[0].Digest != "0123456789abcdef" {
		t.Errorf("UpdateSecrets = %+v", got)
	}
}

func TestUpdateSecretsNilMapSendsEmptyObject(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if got := string(readBody(t, r)); got != `{"values":{}}` {
			t.Errorf("request body = %s", got)
		}
		writeBody(w, `{"secrets":[],"version":4}`)
	})
	if _, err := c.UpdateSecrets(context.Background(), "my-app", nil); err != nil {
		t.Fatal(err)
	}
}

func TestDeleteSecret(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		checkRequest(t, r, http.MethodDelete, "/v1/apps/my-app/secrets/OLD_KEY", false)
		if body := readBody(t, r); len(body) != 0 {
			t.Errorf("DELETE sent a body: %q", body)
		}
		writeBody(w, `{"version":14}`)
	})
	version, err := c.DeleteSecret(context.Background(), "my-app", "OLD_KEY")
	if err != nil || version != 14 {
		t.Fatalf("DeleteSecret = %d, %v; want 14", version, err)
	}
}

func TestVersionFieldSpellings(t *testing.T) {
	tests := []struct {
		body string
		want int64
	}{
		{`{"version":5}`, 5},
		{`{"Version":3}`, 3},             // deprecated spelling alone
		{`{"version":5,"Version":3}`, 5}, // the current one wins...
		{`{"Version":3,"version":5}`, 5}, // ...whatever the order
		{`{}`, 0},                        // not said
		{``, 0},                          // empty body
		{`{"version":9007199254740993}`, 9007199254740993}, // beyond float64 precision
	}
	for _, tt := range tests {
		body := tt.body
		c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
			writeBody(w, body)
		})
		got, err := c.DeleteSecret(context.Background(), "my-app", "A")
		if err != nil || got != tt.want {
			t.Errorf("body %s: version = %d, %v; want %d", body, got, err, tt.want)
		}
	}
}

func TestPathSegmentsAreEscaped(t *testing.T) {
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		if got, want := r.URL.EscapedPath(), "/v1/apps/my%20app/secrets/a%2Fb%3Fc"; got != want {
			t.Errorf("path = %s, want %s", got, want)
		}
		writeBody(w, `{"name":"a/b?c"}`)
	})
	if _, err := c.GetSecret(context.Background(), "my app", "a/b?c", 0); err != nil {
		t.Fatal(err)
	}
}

func TestUnusablePathSegmentsAreRefusedBeforeAnyRequest(t *testing.T) {
	var requests atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
	})
	ctx := context.Background()
	calls := map[string]func() error{
		"empty app":   func() error { _, err := c.ListSecrets(ctx, "", 0); return err },
		"empty name":  func() error { _, err := c.GetSecret(ctx, "my-app", "", 0); return err },
		"dot-dot":     func() error { _, err := c.DeleteSecret(ctx, "my-app", ".."); return err },
		"dot app":     func() error { _, err := c.SetSecret(ctx, ".", "A", "v"); return err },
		"update none": func() error { _, err := c.UpdateSecrets(ctx, "", nil); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", name, err)
		}
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d requests were sent", n)
	}
}

func TestParseTimestamp(t *testing.T) {
	tests := []struct {
		in     string
		want   string // RFC 3339; "" for the zero time
		noZone bool   // the input has no zone, so the result must be in UTC
	}{
		{in: "2025-01-02T03:04:05Z", want: "2025-01-02T03:04:05Z"},
		{in: "2025-01-02T03:04:05.123456789Z", want: "2025-01-02T03:04:05.123456789Z"},
		{in: "2025-01-02T03:04:05+02:00", want: "2025-01-02T01:04:05Z"},
		{in: "2025-01-02T03:04:05", want: "2025-01-02T03:04:05Z", noZone: true},
		{in: "2025-01-02T03:04:05.5", want: "2025-01-02T03:04:05.5Z", noZone: true},
		{in: "2025-01-02 03:04:05", want: "2025-01-02T03:04:05Z", noZone: true},
		{in: "2025-01-02 03:04:05.25-01:00", want: "2025-01-02T04:04:05.25Z"},
		{in: "", want: ""},
	}
	for _, tt := range tests {
		got, err := parseTimestamp(tt.in)
		if err != nil {
			t.Errorf("parseTimestamp(%q): %v", tt.in, err)
			continue
		}
		var want time.Time
		if tt.want != "" {
			want = mustTime(t, tt.want)
		}
		if !got.Equal(want) {
			t.Errorf("parseTimestamp(%q) = %v, want %v", tt.in, got, want)
		}
		if tt.noZone && got.Location() != time.UTC {
			t.Errorf("parseTimestamp(%q) is in %v, want UTC", tt.in, got.Location())
		}
	}
	if _, err := parseTimestamp("yesterday"); err == nil {
		t.Error("parseTimestamp accepted garbage")
	}
}

func TestValidateSecretName(t *testing.T) {
	for _, name := range []string{"A", "DATABASE_URL", "_x", "a1_B2"} {
		if err := ValidateSecretName(name); err != nil {
			t.Errorf("ValidateSecretName(%q) = %v", name, err)
		}
	}
	for _, name := range []string{"", "1A", "A-B", "A B", "A.B", "É"} {
		if err := ValidateSecretName(name); err == nil {
			t.Errorf("ValidateSecretName(%q) accepted it", name)
		}
	}
}
