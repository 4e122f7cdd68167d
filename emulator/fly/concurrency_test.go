package fly

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
)

// TestConcurrentWritesToOneApp has 64 goroutines write distinct keys to one
// app: no write is lost and every write gets its own version.
func TestConcurrentWritesToOneApp(t *testing.T) {
	const writers = 64
	ts := newTestServer(t, Config{})

	versions := make([]uint64, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			var res setSecretResult
			r := ts.do(
				"POST",
				fmt.Sprintf("/v1/apps/demo/secrets/KEY_%02d", i),
				map[string]string{"value": fmt.Sprint("value-", i)},
			)
			if r.status != http.StatusCreated {
				t.Errorf("writer %d: status %d %s", i, r.status, r.body)
				return
			}
			r.expect(t, http.StatusCreated, &res)
			versions[i] = res.Version
		})
	}
	wg.Wait()

	slices.Sort(versions)
	for i, v := range versions {
		if v != uint64(i+1) {
			t.Fatalf("sorted versions %v: want exactly 1..%d, each once", versions, writers)
		}
	}

	var list listSecretsResponse
	ts.do("GET", "/v1/apps/demo/secrets?show_secrets=true", nil).expect(t, http.StatusOK, &list)
	if len(list.Secrets) != writers {
		t.Fatalf("%d secrets, want %d", len(list.Secrets), writers)
	}
	for i, s := range list.Secrets {
		if s.Name != fmt.Sprintf("KEY_%02d", i) || s.Value == nil || *s.Value != fmt.Sprint("value-", i) {
			t.Errorf("secret %d = %s %v", i, s.Name, s.Value)
		}
	}
}

// TestConcurrentMixedOperations runs reads, bulk writes and deletes together
// so the race detector sees every path.
func TestConcurrentMixedOperations(t *testing.T) {
	ts := newTestServer(t, Config{})
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			name := fmt.Sprintf("K%d", i)
			ts.do("POST", "/v1/apps/demo/secrets", map[string]any{"values": map[string]any{name: "x", "SHARED": fmt.Sprint(i)}})
			ts.do("GET", "/v1/apps/demo/secrets", nil)
			ts.do("GET", "/v1/apps/demo/secrets/"+name, nil)
			ts.do("DELETE", "/v1/apps/demo/secrets/"+name, nil)
			_ = ts.api.Snapshot()
		})
	}
	wg.Wait()
	var list listSecretsResponse
	ts.do("GET", "/v1/apps/demo/secrets", nil).expect(t, http.StatusOK, &list)
	if len(list.Secrets) != 1 || list.Secrets[0].Name != "SHARED" {
		t.Errorf("left %+v, want only SHARED", list.Secrets)
	}
}
