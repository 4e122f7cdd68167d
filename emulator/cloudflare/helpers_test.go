package cloudflare

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/internal/apitest"
)

const (
	testToken   = "test-cf-token"
	testAccount = "00112233445566778899aabbccddeeff"
	accountPath = "/client/v4/accounts/" + testAccount + "/secrets_store"
)

type testServer struct {
	t     *testing.T
	url   string
	api   *API
	clock *apitest.Clock
}

func newTestServer(t *testing.T, cfg Config) *testServer {
	t.Helper()
	clock := apitest.NewClock(time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC))
	if cfg.Token == "" {
		cfg.Token = testToken
	}
	if cfg.AccountID == "" {
		cfg.AccountID = testAccount
	}
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	api, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &testServer{t: t, url: srv.URL, api: api, clock: clock}
}

// result is a decoded envelope.
type result struct {
	status     int
	raw        []byte
	Success    bool            `json:"success"`
	Errors     []message       `json:"errors"`
	Messages   []message       `json:"messages"`
	Result     json.RawMessage `json:"result"`
	ResultInfo *resultInfo     `json:"result_info"`
}

func (ts *testServer) do(method, path string, body any) result {
	return ts.doAuth(method, path, "Bearer "+testToken, body)
}

// doAuth sends a request; path is relative to the account's secrets_store
// unless it starts with /client. A string body is sent as is.
func (ts *testServer) doAuth(method, path, authorization string, body any) result {
	ts.t.Helper()
	if !strings.HasPrefix(path, "/client") {
		path = accountPath + path
	}
	res, raw := apitest.Send(ts.t, method, ts.url+path, authorization, body)
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		ts.t.Fatalf("%s %s: Content-Type %q", method, path, ct)
	}
	r := result{status: res.StatusCode, raw: raw}
	if err := json.Unmarshal(raw, &r); err != nil {
		ts.t.Fatalf("%s %s: not an envelope: %s", method, path, raw)
	}
	return r
}

// ok checks a successful envelope and decodes its result into out.
func (r result) ok(t *testing.T, out any) result {
	t.Helper()
	if r.status != http.StatusOK || !r.Success || len(r.Errors) != 0 || r.Messages == nil {
		t.Fatalf("status %d, want a successful envelope: %s", r.status, r.raw)
	}
	if out != nil {
		if err := json.Unmarshal(r.Result, out); err != nil {
			t.Fatalf("decoding result %s: %v", r.Result, err)
		}
	}
	return r
}

// fails checks a failed envelope with exactly one error whose message starts with msg's token.
func (r result) fails(t *testing.T, status, code int, msg string) {
	t.Helper()
	if r.status != status || r.Success || len(r.Errors) != 1 || r.Errors[0].Code != code ||
		!apitest.HasToken(r.Errors[0].Message, msg) {
		t.Fatalf("got %d %s, want %d code %d %q", r.status, r.raw, status, code, msg)
	}
	if string(r.Result) != "null" || r.Messages == nil {
		t.Fatalf("failed envelope must carry result null and messages []: %s", r.raw)
	}
}

// createStore makes the account's store and returns it.
func (ts *testServer) createStore(name string) storeJSON {
	ts.t.Helper()
	var st storeJSON
	ts.do("POST", "/stores", map[string]string{"name": name}).ok(ts.t, &st)
	return st
}

// defaultStore returns the store the account starts with.
func (ts *testServer) defaultStore() storeJSON {
	ts.t.Helper()
	var stores []storeJSON
	ts.do("GET", "/stores", nil).ok(ts.t, &stores)
	if len(stores) != 1 || stores[0].Name != DefaultStoreName {
		ts.t.Fatalf("the account holds %+v, want its default store alone", stores)
	}
	return stores[0]
}

func (ts *testServer) createSecrets(storeID string, inputs ...map[string]any) []secretJSON {
	ts.t.Helper()
	var out []secretJSON
	ts.do("POST", "/stores/"+storeID+"/secrets", inputs).ok(ts.t, &out)
	return out
}

func secretInput(name, value string, scopes ...string) map[string]any {
	if scopes == nil {
		scopes = []string{"workers"}
	}
	return map[string]any{"name": name, "value": value, "scopes": scopes}
}
