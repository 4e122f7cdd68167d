package emulator_test

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/emulatortest"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/internal/apitest"
)

const accountPath = "/client/v4/accounts/" + emulator.DefaultCloudflareAccount + "/secrets_store"

var (
	flyAuth = "Bearer " + emulator.DefaultFlyToken
	cfAuth  = "Bearer " + emulator.DefaultCloudflareToken
)

// client makes one connection per request, so an injected drop is never
// retried behind the test's back.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

type reply struct {
	status int
	header http.Header
	body   string
	err    error // transport error, e.g. a dropped connection
}

func call(t testing.TB, method, url, auth string, body any) reply {
	t.Helper()
	res, err := client.Do(apitest.NewRequest(t, method, url, auth, body))
	if err != nil {
		return reply{err: err}
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	return reply{status: res.StatusCode, header: res.Header, body: string(data), err: err}
}

func (r reply) want(t testing.TB, status int) reply {
	t.Helper()
	if r.err != nil || r.status != status {
		t.Fatalf("got %d %s (err %v), want %d", r.status, r.body, r.err, status)
	}
	return r
}

func (r reply) decode(t testing.TB, out any) {
	t.Helper()
	if err := json.Unmarshal([]byte(r.body), out); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

// closeServer closes an emulator, failing the test if saving its state fails.
func closeServer(t testing.TB, srv *emulator.Server) {
	t.Helper()
	if err := srv.Close(); err != nil {
		t.Error(err)
	}
}

// start serves an emulator and returns its base URL.
func start(t testing.TB, opts emulator.Options) (*emulator.Server, string) {
	t.Helper()
	srv, ts := emulatortest.Start(t, opts)
	return srv, ts.URL
}

// defaultStoreID returns the id of the store the account starts with.
func defaultStoreID(t testing.TB, base string) string {
	t.Helper()
	var env struct {
		Result []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"result"`
	}
	call(t, "GET", base+accountPath+"/stores", cfAuth, nil).want(t, 200).decode(t, &env)
	if len(env.Result) != 1 || env.Result[0].Name != "default_secrets_store" {
		t.Fatalf("the account holds %+v, want its default store alone", env.Result)
	}
	return env.Result[0].ID
}
