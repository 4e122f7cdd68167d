package cloudflare

import (
	"net/http"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/internal/apitest"
)

func TestSnapshotRestore(t *testing.T) {
	ts := newTestServer(t, Config{ActivationDelay: time.Hour, EmptyAccount: true, AutoCreateStore: true})
	var stores []storeJSON
	ts.do("GET", "/stores", nil).ok(t, &stores) // auto-creates the default store
	in := secretInput("A", "value-a", "workers", "dex")
	in["comment"] = "c"
	created := ts.createSecrets(stores[0].ID, in)[0]

	st := apitest.JSONRoundTrip(t, ts.api.Snapshot())
	restored := newTestServer(t, Config{ActivationDelay: time.Hour, EmptyAccount: true, AutoCreateStore: true})
	if err := restored.api.Restore(st); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(restored.api.Snapshot(), ts.api.Snapshot()) {
		t.Errorf("restored %+v\nwant %+v", restored.api.Snapshot(), ts.api.Snapshot())
	}

	// Same ids, still pending, and the default store is not created again.
	var got secretJSON
	restored.do("GET", "/stores/"+stores[0].ID+"/secrets/"+created.ID, nil).ok(t, &got)
	if got.Status != "pending" || got.Name != "A" || got.Comment != "c" {
		t.Errorf("restored secret %+v", got)
	}
	restored.do("DELETE", "/stores/"+stores[0].ID+"?force=true", nil).ok(t, nil)
	restored.do("GET", "/stores", nil).ok(t, &stores)
	if len(stores) != 0 {
		t.Errorf("default store re-created after restore: %+v", stores)
	}
}

func TestRestoreRejectsInvalidState(t *testing.T) {
	api, _ := New(Config{Token: "t", AccountID: testAccount})
	if err := api.Restore(State{Accounts: []AccountState{{ID: "nope"}}}); err == nil {
		t.Error("restored an invalid account id")
	}
	bad := State{
		Accounts: []AccountState{
			{ID: testAccount, Stores: []StoreState{{ID: "s", Secrets: []SecretState{{Name: "A", Scopes: []string{"mail"}}}}}},
		},
	}
	if err := api.Restore(bad); err == nil {
		t.Error("restored an invalid scope")
	}
}

func TestReset(t *testing.T) {
	ts := newTestServer(t, Config{})
	st := ts.defaultStore()
	ts.createSecrets(st.ID, secretInput("A", "a"))
	ts.api.Reset()
	// Back to the start: a new default store, empty.
	if fresh := ts.defaultStore(); fresh.ID == st.ID {
		t.Errorf("the default store %s survived the reset", st.ID)
	} else {
		var secrets []secretJSON
		ts.do("GET", "/stores/"+fresh.ID+"/secrets", nil).ok(t, &secrets)
		if len(secrets) != 0 {
			t.Errorf("secrets after reset: %+v", secrets)
		}
	}

	empty := newTestServer(t, Config{EmptyAccount: true})
	empty.createStore("s")
	empty.api.Reset()
	var stores []storeJSON
	empty.do("GET", "/stores", nil).ok(t, &stores)
	if len(stores) != 0 {
		t.Errorf("stores of an empty account after reset: %+v", stores)
	}
}

func TestOnChangeRunsOnEveryMutation(t *testing.T) {
	var changes atomic.Int32
	ts := newTestServer(t, Config{OnChange: func() { changes.Add(1) }})
	st := ts.defaultStore()
	s := ts.createSecrets(st.ID, secretInput("A", "a"), secretInput("B", "b")) // 1
	path := "/stores/" + st.ID + "/secrets/"
	ts.do("PATCH", path+s[0].ID, map[string]any{"comment": "x"}).ok(t, nil)                                         // 2
	ts.do("POST", path+s[0].ID+"/duplicate", map[string]any{"name": "C", "scopes": []string{"workers"}}).ok(t, nil) // 3
	ts.do("DELETE", path+s[0].ID, nil).ok(t, nil)                                                                   // 4
	ts.do("DELETE", "/stores/"+st.ID+"/secrets", []string{s[1].ID}).ok(t, nil)                                      // 5
	ts.do("DELETE", "/stores/"+st.ID+"?force=true", nil).ok(t, nil)                                                 // 6
	ts.createStore("again")                                                                                         // 7
	ts.do("GET", "/stores", nil).ok(t, nil)
	ts.do("POST", "/stores", `{}`).fails(t, http.StatusBadRequest, 1001, "store_name_empty")
	if n := changes.Load(); n != 7 {
		t.Errorf("OnChange ran %d times, want 7", n)
	}
}
