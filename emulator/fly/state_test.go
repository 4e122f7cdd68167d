package fly

import (
	"net/http"
	"reflect"
	"sync/atomic"
	"testing"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/internal/apitest"
)

func TestSnapshotRestore(t *testing.T) {
	ts := newTestServer(t, Config{})
	var set setSecretResult
	ts.do("POST", "/v1/apps/demo/secrets/A", map[string]string{"value": "x"}).expect(t, http.StatusCreated, &set)
	ts.do("POST", "/v1/apps", map[string]string{"app_name": "second", "org_slug": "acme"}).
		expect(t, http.StatusCreated, nil)

	st := apitest.JSONRoundTrip(t, ts.api.Snapshot())

	restored := newTestServer(t, Config{})
	if err := restored.api.Restore(st); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(restored.api.Snapshot(), ts.api.Snapshot()) {
		t.Errorf("restored %+v, want %+v", restored.api.Snapshot(), ts.api.Snapshot())
	}
	var got secretJSON
	restored.do("GET", "/v1/apps/demo/secrets/A", nil).expect(t, http.StatusOK, &got)
	if got.Digest != set.Digest || !sameSecond(t, got.CreatedAt, set.CreatedAt) {
		t.Errorf("restored secret %+v, written %+v", got, set)
	}
	var next setSecretResult
	restored.do("POST", "/v1/apps/demo/secrets/B", map[string]string{"value": "y"}).expect(t, http.StatusCreated, &next)
	if next.Version != 2 {
		t.Errorf("version after restore %d, want 2", next.Version)
	}
}

func TestRestoreRejectsInvalidState(t *testing.T) {
	api, _ := New(Config{Token: "t"})
	if err := api.Restore(State{Apps: []AppState{{Name: "Bad App"}}}); err == nil {
		t.Error("restored an invalid app name")
	}
	if err := api.Restore(State{Apps: []AppState{{Name: "ok", Secrets: []SecretState{{Name: "bad-name"}}}}}); err == nil {
		t.Error("restored an invalid secret name")
	}
}

func TestOnChangeRunsOnEveryMutation(t *testing.T) {
	var changes atomic.Int32
	ts := newTestServer(t, Config{OnChange: func() { changes.Add(1) }})
	ts.do("POST", "/v1/apps", map[string]string{"app_name": "x"}).expect(t, http.StatusCreated, nil)
	ts.do("POST", "/v1/apps/demo/secrets/A", map[string]string{"value": "v"}).expect(t, http.StatusCreated, nil)
	ts.do("POST", "/v1/apps/demo/secrets", `{"values":{"B":"v"}}`).expect(t, http.StatusOK, nil)
	ts.do("POST", "/v1/apps/demo/secrets", `{"values":{"NONE":null}}`).expect(t, http.StatusOK, nil) // no change
	ts.do("DELETE", "/v1/apps/demo/secrets/A", nil).expect(t, http.StatusOK, nil)
	ts.do("DELETE", "/v1/apps/x", nil).expect(t, http.StatusAccepted, nil)
	ts.do("GET", "/v1/apps/demo/secrets", nil).expect(t, http.StatusOK, nil)
	if n := changes.Load(); n != 5 {
		t.Errorf("OnChange ran %d times, want 5", n)
	}
}
