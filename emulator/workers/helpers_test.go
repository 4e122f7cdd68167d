package workers

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
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
	accountPath = "/client/v4/accounts/" + testAccount + "/workers"
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

// message is one entry of a decoded envelope's errors or messages.
type message struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// result is a decoded envelope.
type result struct {
	status   int
	raw      []byte
	Success  bool            `json:"success"`
	Errors   []message       `json:"errors"`
	Messages []message       `json:"messages"`
	Result   json.RawMessage `json:"result"`
}

func (ts *testServer) do(method, path string, body any) result {
	return ts.doAuth(method, path, "Bearer "+testToken, body)
}

// doAuth sends a request; path is relative to the account's /workers unless it starts with
// /client. A string body is sent as is.
func (ts *testServer) doAuth(method, path, authorization string, body any) result {
	ts.t.Helper()
	if !strings.HasPrefix(path, "/client") {
		path = accountPath + path
	}
	res, raw := apitest.Send(ts.t, method, ts.url+path, authorization, body)
	return decode(ts.t, method, path, res, raw)
}

func decode(t *testing.T, method, path string, res *http.Response, raw []byte) result {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q", method, path, ct)
	}
	r := result{status: res.StatusCode, raw: raw}
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatalf("%s %s: not an envelope: %s", method, path, raw)
	}
	return r
}

// upload sends a multipart upload of metadata and a main module to path.
func (ts *testServer) upload(method, path string, metadata map[string]any) result {
	ts.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	meta, _ := json.Marshal(metadata)
	if err := mw.WriteField("metadata", string(meta)); err != nil {
		ts.t.Fatal(err)
	}
	if main, _ := metadata["main_module"].(string); main != "" {
		fw, err := mw.CreateFormFile(main, main)
		if err != nil {
			ts.t.Fatal(err)
		}
		_, _ = io.WriteString(fw, "export default { fetch() { return new Response('ok') } }")
	}
	_ = mw.Close()
	return ts.sendForm(method, path, mw.FormDataContentType(), &body)
}

// settingsForm sends a settings patch as a multipart "settings" part.
func (ts *testServer) settingsForm(path string, settings map[string]any) result {
	ts.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	data, _ := json.Marshal(settings)
	fw, err := mw.CreateFormFile("settings", "blob")
	if err != nil {
		ts.t.Fatal(err)
	}
	_, _ = fw.Write(data)
	_ = mw.Close()
	return ts.sendForm("PATCH", path, mw.FormDataContentType(), &body)
}

func (ts *testServer) sendForm(method, path, contentType string, body io.Reader) result {
	ts.t.Helper()
	if !strings.HasPrefix(path, "/client") {
		path = accountPath + path
	}
	req, err := http.NewRequest(method, ts.url+path, body)
	if err != nil {
		ts.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", contentType)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return decode(ts.t, method, path, res, raw)
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

// fails checks a failed envelope with exactly one error.
func (r result) fails(t *testing.T, status, code int) {
	t.Helper()
	if r.status != status || r.Success || len(r.Errors) != 1 || r.Errors[0].Code != code {
		t.Fatalf("got %d %s, want %d code %d", r.status, r.raw, status, code)
	}
	if string(r.Result) != "null" || r.Messages == nil {
		t.Fatalf("failed envelope must carry result null and messages []: %s", r.raw)
	}
}

// script makes an account script with EnsureScript.
func (ts *testServer) script(name string) ScriptRef {
	ts.t.Helper()
	ref := ScriptRef{Name: name}
	if err := ts.api.EnsureScript(ref); err != nil {
		ts.t.Fatal(err)
	}
	return ref
}

// secrets reads ref's secrets, values included, as name -> value.
func (ts *testServer) secrets(ref ScriptRef) map[string]string {
	ts.t.Helper()
	list, err := ts.api.Secrets(ref)
	if err != nil {
		ts.t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range list {
		out[s.Name] = s.Text
	}
	return out
}

func (ts *testServer) versions(ref ScriptRef) []VersionSummary {
	ts.t.Helper()
	vs, err := ts.api.Versions(ref)
	if err != nil {
		ts.t.Fatal(err)
	}
	return vs
}

func secretBody(name, text string) map[string]string {
	return map[string]string{"name": name, "text": text, "type": "secret_text"}
}
