package emulator_test

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

// TestConcurrentWritesWithState has 64 goroutines write distinct keys to one
// app through the whole server, state file on: no write is lost, versions
// are distinct and gapless, and the saved file holds all of them.
func TestConcurrentWritesWithState(t *testing.T) {
	const writers = 64
	path := filepath.Join(t.TempDir(), "state.json")
	// No rate limit: 64 writes at once to one app is what this test needs, and
	// the limit would turn all but 3 away (TestRateLimitIsOnByDefault covers it).
	opts := emulator.Options{StatePath: path, FlyApps: []string{"demo"}, NoRateLimit: true}
	srv, ts := serve(t, opts)

	versions := make([]int, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			r := call(
				t,
				"POST",
				fmt.Sprintf("%s/v1/apps/demo/secrets/K%02d", ts.URL, i),
				flyAuth,
				map[string]string{"value": fmt.Sprint(i)},
			)
			if r.err != nil || r.status != 201 {
				t.Errorf("writer %d: %d %s %v", i, r.status, r.body, r.err)
				return
			}
			var out struct{ Version int }
			if err := json.Unmarshal([]byte(r.body), &out); err != nil {
				t.Error(err)
			}
			versions[i] = out.Version
		})
	}
	wg.Wait()
	slices.Sort(versions)
	for i, v := range versions {
		if v != i+1 {
			t.Fatalf("versions %v, want 1..%d each once", versions, writers)
		}
	}
	if got := srv.Stats().Routes["POST /v1/apps/{app}/secrets/{name}"]; got != writers {
		t.Errorf("stats counted %d writes", got)
	}
	ts.Close()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}

	srv2, ts2 := serve(t, opts)
	defer func() { ts2.Close(); closeServer(t, srv2) }()
	var list struct {
		Secrets []struct{ Name string } `json:"secrets"`
	}
	call(t, "GET", ts2.URL+"/v1/apps/demo/secrets", flyAuth, nil).want(t, 200).decode(t, &list)
	if len(list.Secrets) != writers {
		t.Errorf("%d secrets after restart, want %d", len(list.Secrets), writers)
	}
}
