package emulator_test

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/workers"
)

const (
	routeWorkerPut  = "PUT /client/v4/accounts/{account_id}/workers/scripts/{script_name}/secrets"
	routeWorkerList = "GET /client/v4/accounts/{account_id}/workers/scripts/{script_name}/secrets"
)

// The Workers routes sit on the Cloudflare base: counted per route, with Cloudflare's token,
// and their scripts are created at start, kept in the state file, and made again by Reset.
func TestWorkersScripts(t *testing.T) {
	statePath := filepath.Join(t.TempDir(), "state.json")
	var logs syncBuffer
	opts := emulator.Options{
		CloudflareWorkers: []string{"api", "tenants/site-1"},
		StatePath:         statePath,
		Logger:            slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	srv, base := start(t, opts)
	auth := "Bearer " + emulator.DefaultCloudflareToken
	scripts := base + "/client/v4/accounts/" + emulator.DefaultCloudflareAccount + "/workers/scripts/api"
	call(t, "PUT", scripts+"/secrets", auth, map[string]string{"name": "API_KEY", "text": "canary-value-93",
		"type": "secret_text"}).want(t, 200)
	call(t, "GET", scripts+"/secrets", auth, nil).want(t, 200)
	call(t, "GET", scripts+"/secrets", "Bearer "+emulator.DefaultFlyToken, nil).want(t, 403)
	call(t, "GET", base+"/client/v4/accounts/"+emulator.DefaultCloudflareAccount+
		"/workers/dispatch/namespaces/tenants/scripts/site-1/secrets", auth, nil).want(t, 200)
	if st := srv.Stats(); st.Routes[routeWorkerPut] != 1 || st.Routes[routeWorkerList] != 2 {
		t.Errorf("stats %v", st.Routes)
	}
	if strings.Contains(logs.String(), "canary-value-93") {
		t.Error("a log line holds a secret value")
	}

	// The state file holds the scripts; a new emulator on it serves them.
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(statePath)
	if err != nil || !bytes.Contains(data, []byte(`"workers"`)) {
		t.Fatalf("state file: %v", err)
	}
	again, _ := start(t, opts)
	got, err := again.Workers().Secrets(workers.ScriptRef{Name: "api"})
	if err != nil || len(got) != 1 || got[0].Text != "canary-value-93" {
		t.Fatalf("after a restart: %v, %v", got, err)
	}
	if st := again.WorkersState(); len(st.Scripts) != 2 {
		t.Fatalf("scripts after a restart: %+v", st.Scripts)
	}
	again.Reset()
	if got, _ := again.Workers().Secrets(workers.ScriptRef{Name: "api"}); len(got) != 0 {
		t.Fatalf("Reset kept %v", got)
	}
	if _, err := again.Workers().Secrets(workers.ScriptRef{Namespace: "tenants", Name: "site-1"}); err != nil {
		t.Fatalf("Reset did not make the start scripts again: %v", err)
	}
	if _, err := emulator.New(emulator.Options{CloudflareWorkers: []string{"Bad Name"}}); err == nil {
		t.Error("New accepted a bad Worker name")
	}
}
