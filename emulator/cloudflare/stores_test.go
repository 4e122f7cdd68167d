package cloudflare

import (
	"net/http"
	"regexp"
	"testing"
	"time"
)

var idRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestAccountStartsWithItsDefaultStore(t *testing.T) {
	ts := newTestServer(t, Config{})
	st := ts.defaultStore()
	if !idRE.MatchString(st.ID) || st.AccountID != testAccount {
		t.Errorf("store = %+v", st)
	}
	// An account holds one store.
	ts.do("POST", "/stores", map[string]string{"name": "second"}).
		fails(t, http.StatusBadRequest, 1003, "maximum_stores_exceeded")
}

func TestStoresStartEmpty(t *testing.T) {
	ts := newTestServer(t, Config{EmptyAccount: true})
	var stores []storeJSON
	r := ts.do("GET", "/stores", nil).ok(t, &stores)
	if len(stores) != 0 || string(r.Result) != "[]" {
		t.Errorf("stores = %s", r.Result)
	}
	if r.ResultInfo == nil || *r.ResultInfo != (resultInfo{Count: 0, Page: 1, PerPage: 20, TotalCount: 0, TotalPages: 0}) {
		t.Errorf("result_info = %+v", r.ResultInfo)
	}
}

func TestCreateStore(t *testing.T) {
	ts := newTestServer(t, Config{EmptyAccount: true})
	st := ts.createStore("default_secrets_store")
	if !idRE.MatchString(st.ID) || st.Name != "default_secrets_store" || st.AccountID != testAccount {
		t.Errorf("store = %+v", st)
	}
	created, err := time.Parse(time.RFC3339, st.Created)
	if err != nil || !created.Equal(ts.clock.Now()) || st.Modified != st.Created {
		t.Errorf("created %q modified %q (clock %s)", st.Created, st.Modified, ts.clock.Now())
	}

	var got storeJSON
	ts.do("GET", "/stores/"+st.ID, nil).ok(t, &got)
	if got != st {
		t.Errorf("get = %+v, created %+v", got, st)
	}
	var list []storeJSON
	ts.do("GET", "/stores", nil).ok(t, &list)
	if len(list) != 1 || list[0] != st {
		t.Errorf("list = %+v", list)
	}

	// One store per account, whatever its name.
	ts.do("POST", "/stores", map[string]string{"name": "another"}).
		fails(t, http.StatusBadRequest, 1003, "maximum_stores_exceeded")
	ts.do("POST", "/stores", map[string]string{"name": "default_secrets_store"}).
		fails(t, http.StatusBadRequest, 1003, "maximum_stores_exceeded")
}

func TestCreateStoreValidation(t *testing.T) {
	ts := newTestServer(t, Config{EmptyAccount: true})
	ts.do("POST", "/stores", `[{"name":"as-array"}]`).fails(t, http.StatusBadRequest, 1001, "invalid_json_body")
	ts.do("POST", "/stores", `{"name":`).fails(t, http.StatusBadRequest, 1001, "invalid_json_body")
	ts.do("POST", "/stores", `{}`).fails(t, http.StatusBadRequest, 1001, "store_name_empty")
	ts.do("POST", "/stores", map[string]string{"name": ""}).fails(t, http.StatusBadRequest, 1001, "store_name_empty")
	ts.do("POST", "/stores", map[string]string{"name": "has space"}).
		fails(t, http.StatusBadRequest, 1001, "store_name_invalid")
	var list []storeJSON
	ts.do("GET", "/stores", nil).ok(t, &list)
	if len(list) != 0 {
		t.Errorf("rejected creates made %+v", list)
	}
}

func TestGetStoreNotFound(t *testing.T) {
	ts := newTestServer(t, Config{EmptyAccount: true})
	ts.do("GET", "/stores/0123456789abcdef0123456789abcdef", nil).fails(t, http.StatusNotFound, 1001, "store_not_found")
}

func TestDeleteStore(t *testing.T) {
	ts := newTestServer(t, Config{EmptyAccount: true})
	st := ts.createStore("s")
	r := ts.do("DELETE", "/stores/"+st.ID, nil).ok(t, nil)
	if string(r.Result) != "null" {
		t.Errorf("delete result %s, want null", r.Result)
	}
	ts.do("GET", "/stores/"+st.ID, nil).fails(t, http.StatusNotFound, 1001, "store_not_found")
	ts.do("DELETE", "/stores/"+st.ID, nil).fails(t, http.StatusNotFound, 1001, "store_not_found")

	// The account can have a store again.
	ts.createStore("s")
}

func TestDeleteNonEmptyStore(t *testing.T) {
	ts := newTestServer(t, Config{EmptyAccount: true})
	st := ts.createStore("s")
	ts.createSecrets(st.ID, secretInput("A", "a"), secretInput("B", "b"))

	ts.do("DELETE", "/stores/"+st.ID, nil).fails(t, http.StatusConflict, 1003, "store_not_empty")
	ts.do("DELETE", "/stores/"+st.ID+"?force=false", nil).fails(t, http.StatusConflict, 1003, "store_not_empty")
	ts.do("DELETE", "/stores/"+st.ID+"?force=yes-please", nil).fails(t, http.StatusBadRequest, 1001, "force_invalid")
	ts.do("GET", "/stores/"+st.ID, nil).ok(t, nil)

	ts.do("DELETE", "/stores/"+st.ID+"?force=true", nil).ok(t, nil)
	var q quotaJSON
	ts.do("GET", "/quota", nil).ok(t, &q)
	if q.Secrets.Usage != 0 {
		t.Errorf("force delete left %d secrets", q.Secrets.Usage)
	}
}

func TestAutoCreateStore(t *testing.T) {
	ts := newTestServer(t, Config{EmptyAccount: true, AutoCreateStore: true})
	// Any first use creates it, even a quota read.
	ts.do("GET", "/quota", nil).ok(t, nil)
	var list []storeJSON
	ts.do("GET", "/stores", nil).ok(t, &list)
	if len(list) != 1 || list[0].Name != DefaultStoreName || !idRE.MatchString(list[0].ID) {
		t.Fatalf("stores = %+v", list)
	}
	ts.do("POST", "/stores", map[string]string{"name": "mine"}).
		fails(t, http.StatusBadRequest, 1003, "maximum_stores_exceeded")

	// Created once: after a delete the account stays empty.
	ts.do("DELETE", "/stores/"+list[0].ID, nil).ok(t, nil)
	ts.do("GET", "/stores", nil).ok(t, &list)
	if len(list) != 0 {
		t.Errorf("default store came back: %+v", list)
	}

	// An unauthenticated request does not count as use.
	fresh := newTestServer(t, Config{EmptyAccount: true, AutoCreateStore: true})
	fresh.doAuth("GET", "/stores", "Bearer wrong", nil).fails(t, http.StatusForbidden, 10000, "Authentication error")
	if n := len(fresh.api.Snapshot().Accounts); n != 0 {
		t.Errorf("bad token created %d accounts", n)
	}
}

func TestListStoresPagingAndOrder(t *testing.T) {
	// One store per account, so paging is checked on an empty page past the end.
	ts := newTestServer(t, Config{EmptyAccount: true})
	ts.createStore("only")
	var list []storeJSON
	r := ts.do("GET", "/stores?page=2&per_page=1", nil).ok(t, &list)
	if len(list) != 0 || *r.ResultInfo != (resultInfo{Count: 0, Page: 2, PerPage: 1, TotalCount: 1, TotalPages: 1}) {
		t.Errorf("page 2 = %s %+v", r.Result, r.ResultInfo)
	}
	for _, q := range []string{"order=name&direction=asc", "order=modified", "order=created&direction=desc"} {
		ts.do("GET", "/stores?"+q, nil).ok(t, &list)
		if len(list) != 1 {
			t.Errorf("%s: %+v", q, list)
		}
	}
	ts.do("GET", "/stores?order=status", nil).fails(t, http.StatusBadRequest, 1001, "order_invalid")
	ts.do("GET", "/stores?per_page=101", nil).fails(t, http.StatusBadRequest, 1001, "per_page_invalid")
}
