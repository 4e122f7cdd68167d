// Package emulatortest starts an emulator for other packages' tests.
package emulatortest

import (
	"net/http/httptest"
	"testing"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

// Start serves a new emulator on a loopback port for the length of the test.
// Point clients at ts.URL, or at srv.Env(ts.URL).
func Start(t testing.TB, opts emulator.Options) (srv *emulator.Server, ts *httptest.Server) {
	t.Helper()
	srv, err := emulator.New(opts)
	if err != nil {
		t.Fatalf("starting emulator: %v", err)
	}
	ts = httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("closing emulator: %v", err)
		}
	})
	return srv, ts
}

// Env starts an emulator like Start and returns the variables that point the
// provider at it (FLY_FLAPS_BASE_URL, FLY_API_TOKEN, CLOUDFLARE_BASE_URL,
// CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID).
func Env(t testing.TB, opts emulator.Options) (*emulator.Server, map[string]string) {
	t.Helper()
	srv, ts := Start(t, opts)
	return srv, srv.Env(ts.URL)
}
