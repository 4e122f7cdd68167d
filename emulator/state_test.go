package emulator_test

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

// serve starts a server from opts without emulatortest's automatic Close, so
// a test can restart on the same state file.
func serve(t *testing.T, opts emulator.Options) (*emulator.Server, *httptest.Server) {
	t.Helper()
	srv, err := emulator.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return srv, httptest.NewServer(srv)
}

func TestStateSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	// Exact read times: the write's answer and a read after the restart are compared as texts.
	opts := emulator.Options{StatePath: path, FlyApps: []string{"demo"}, FlyExactReadTimes: true}

	srv, ts := serve(t, opts)
	set := call(t, "POST", ts.URL+"/v1/apps/demo/secrets/DB", flyAuth, map[string]string{"value": "postgres://x"}).
		want(t, 201)
	call(t, "POST", ts.URL+"/v1/apps", flyAuth, map[string]string{"app_name": "made-later"}).want(t, 201)
	storeID := defaultStoreID(t, ts.URL)
	var created struct {
		Result []struct {
			ID string `json:"id"`
		} `json:"result"`
	}
	call(t, "POST", ts.URL+accountPath+"/stores/"+storeID+"/secrets", cfAuth,
		[]map[string]any{{"name": "API", "value": "k", "scopes": []string{"workers"}}}).want(t, 200).decode(t, &created)
	ts.Close()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}

	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", info.Mode().Perm())
	}

	srv2, ts2 := serve(t, opts)
	defer func() { ts2.Close(); closeServer(t, srv2) }()
	var before, after struct {
		Digest    string `json:"digest"`
		CreatedAt string `json:"created_at"`
	}
	set.decode(t, &before)
	call(t, "GET", ts2.URL+"/v1/apps/demo/secrets/DB", flyAuth, nil).want(t, 200).decode(t, &after)
	if after != before {
		t.Errorf("secret after restart %+v, before %+v", after, before)
	}
	call(t, "GET", ts2.URL+"/v1/apps/made-later", flyAuth, nil).want(t, 200)
	r := call(t, "POST", ts2.URL+"/v1/apps/demo/secrets/DB2", flyAuth, map[string]string{"value": "y"}).want(t, 201)
	if !strings.Contains(r.body, `"version":2`) {
		t.Errorf("version did not survive: %s", r.body)
	}
	call(t, "GET", ts2.URL+accountPath+"/stores/"+storeID, cfAuth, nil).want(t, 200)
	call(t, "GET", ts2.URL+accountPath+"/stores/"+storeID+"/secrets/"+created.Result[0].ID, cfAuth, nil).want(t, 200)
	// Still one store.
	call(t, "POST", ts2.URL+accountPath+"/stores", cfAuth, map[string]string{"name": "second"}).want(t, 400)
}

func TestStateIsWrittenBeforeTheAnswer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	_, base := start(t, emulator.Options{StatePath: path, FlyApps: []string{"demo"}})
	call(t, "POST", base+"/v1/apps/demo/secrets/A", flyAuth, map[string]string{"value": "written-value"}).want(t, 201)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "written-value") {
		t.Errorf("state file does not hold the write yet:\n%s", data)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("state dir holds %v, want only state.json", names)
	}

	call(t, "POST", base+"/_emulator/reset", "", nil).want(t, 204)
	data, _ = os.ReadFile(path)
	if strings.Contains(string(data), "written-value") {
		t.Error("reset was not saved")
	}
}

func writeFile(t *testing.T, path string, data []byte, perm os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, perm); err != nil {
		t.Fatal(err)
	}
}

func TestStateFileProblems(t *testing.T) {
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.json")
	writeFile(t, corrupt, []byte("{not json"), 0o600)
	if _, err := emulator.New(emulator.Options{StatePath: corrupt}); err == nil {
		t.Error("loaded a corrupt state file")
	}
	future := filepath.Join(dir, "future.json")
	writeFile(t, future, []byte(`{"format":99}`), 0o600)
	if _, err := emulator.New(emulator.Options{StatePath: future}); err == nil {
		t.Error("loaded a state file of an unknown format")
	}

	// A file readable by others is tightened to 0600 at start.
	loose := filepath.Join(dir, "loose.json")
	writeFile(t, loose, []byte(`{"format":1,"fly":{"apps":[]},"cloudflare":{"accounts":[]}}`), 0o644)
	srv, err := emulator.New(emulator.Options{StatePath: loose})
	if err != nil {
		t.Fatal(err)
	}
	defer closeServer(t, srv)
	if info, _ := os.Stat(loose); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v after start, want 0600", info.Mode().Perm())
	}
}

func TestMemoryOnlyWritesNoFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	_, base := start(t, emulator.Options{FlyApps: []string{"demo"}})
	call(t, "POST", base+"/v1/apps/demo/secrets/A", flyAuth, map[string]string{"value": "x"}).want(t, 201)
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("memory-only emulator wrote %d files", len(entries))
	}
}
