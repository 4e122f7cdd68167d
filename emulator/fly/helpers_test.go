package fly

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/internal/apitest"
)

const testToken = "test-fly-token"

type testServer struct {
	t     *testing.T
	url   string
	api   *API
	clock *apitest.Clock
}

// newTestServer serves a fresh API with the app "demo" over real HTTP.
func newTestServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	// Nanoseconds, so created_at/updated_at assertions see the truncation.
	clock := apitest.NewClock(time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC))
	if cfg.Token == "" {
		cfg.Token = testToken
	}
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	api, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := api.EnsureApp("demo", ""); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &testServer{t: t, url: srv.URL, api: api, clock: clock}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with "Bearer <testToken>"; body is JSON-encoded unless
// it is a string, which is sent as is.
func (ts *testServer) do(method, path string, body any) response {
	return ts.doAuth(method, path, "Bearer "+testToken, body)
}

func (ts *testServer) doAuth(method, path, authorization string, body any) response {
	ts.t.Helper()
	res, data := apitest.Send(ts.t, method, ts.url+path, authorization, body)
	return response{status: res.StatusCode, header: res.Header, body: data}
}

// expect checks the status and decodes the body into out (if not nil).
func (r response) expect(t *testing.T, status int, out any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			t.Fatalf("decoding %s: %v", r.body, err)
		}
	}
}

// expectError checks a Fly error answer exactly.
func (r response) expectError(t *testing.T, status int, message string) {
	t.Helper()
	var body map[string]any
	r.expect(t, status, &body)
	want := map[string]any{"error": message}
	if len(body) != 1 || body["error"] != message {
		t.Fatalf("error body %s, want %v", r.body, want)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
}
