package cloudflare

import (
	"net/http"
	"strings"
	"testing"
)

// Cloudflare's error messages are not a contract and carry the name or id they are about, so
// the emulator's do too: a client that matches a message's exact text must fail here as it
// would against the real API. Each answer keeps its code and status, and names what it is about.
func TestErrorMessagesCarryDetail(t *testing.T) {
	ts := newTestServer(t, Config{})
	st := ts.defaultStore()
	ts.createSecrets(st.ID, secretInput("TAKEN", "v"))
	missing := "0123456789abcdef0123456789abcdef"
	for _, c := range []struct {
		name, method, path string
		body               any
		status, code       int
		token, detail      string
	}{
		{"taken name", "POST", "/stores/" + st.ID + "/secrets", []map[string]any{secretInput("TAKEN", "w")},
			http.StatusBadRequest, 1003, "secret_name_already_exists", `"TAKEN"`},
		{"second store", "POST", "/stores", map[string]string{"name": "other"},
			http.StatusBadRequest, 1003, "maximum_stores_exceeded", testAccount},
		{"store not empty", "DELETE", "/stores/" + st.ID, nil,
			http.StatusConflict, 1003, "store_not_empty", st.ID},
		{"unknown secret", "GET", "/stores/" + st.ID + "/secrets/" + missing, nil,
			http.StatusNotFound, 1001, "secret_not_found", missing},
		{"unknown store", "GET", "/stores/" + missing, nil,
			http.StatusNotFound, 1001, "store_not_found", missing},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := ts.do(c.method, c.path, c.body)
			r.fails(t, c.status, c.code, c.token)
			if msg := r.Errors[0].Message; msg == c.token || !strings.Contains(msg, c.detail) {
				t.Errorf("message %q: want %q with detail naming %s", msg, c.token, c.detail)
			}
		})
	}
}
