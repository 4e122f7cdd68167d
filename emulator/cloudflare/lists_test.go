package cloudflare

import (
	"testing"
	"time"
)

// Cloudflare's lists are eventually consistent: a new secret is missing from them for the list
// lag (GET by id shows it at once), and a deleted one still shows, with status "deleted", for
// the linger (GET by id answers 404 at once, and its name is free).
func TestListsLagCreatesAndShowDeletesForAWhile(t *testing.T) {
	ts := newTestServer(t, Config{ListLag: time.Second, DeletedLinger: 2 * time.Second})
	st := ts.defaultStore()
	made := ts.createSecrets(st.ID, secretInput("NEW", "v"))[0]
	path := "/stores/" + st.ID + "/secrets"
	var list []secretJSON
	ts.do("GET", path, nil).ok(t, &list)
	if len(list) != 0 {
		t.Fatalf("a list right after the create shows %+v; want nothing for the list lag", list)
	}
	ts.do("GET", path+"/"+made.ID, nil).ok(t, nil)
	ts.clock.Advance(time.Second)
	ts.do("GET", path, nil).ok(t, &list)
	if len(list) != 1 || list[0].ID != made.ID {
		t.Fatalf("after the list lag: %+v", list)
	}

	ts.do("DELETE", path+"/"+made.ID, nil).ok(t, nil)
	ts.do("GET", path+"/"+made.ID, nil).fails(t, 404, 1001, "secret_not_found")
	ts.do("GET", path, nil).ok(t, &list)
	if len(list) != 1 || list[0].ID != made.ID || list[0].Status != "deleted" {
		t.Fatalf("a list right after the delete shows %+v; want it, deleted", list)
	}
	again := ts.createSecrets(st.ID, secretInput("NEW", "w"))[0] // the name is free
	ts.clock.Advance(2 * time.Second)
	ts.do("GET", path, nil).ok(t, &list)
	if len(list) != 1 || list[0].ID != again.ID || list[0].Status == "deleted" {
		t.Fatalf("after the linger: %+v; want only the new secret", list)
	}
}
