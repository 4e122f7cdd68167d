package cloudflare

import (
	"net/http"
	"testing"
)

func TestAuthentication(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.doAuth("GET", "/stores", "Bearer "+testToken, nil).ok(t, nil)
	ts.doAuth("GET", "/stores", "bearer "+testToken, nil).ok(t, nil)
	for _, header := range []string{"", "Bearer wrong", "Bearer", testToken, "Basic " + testToken} {
		ts.doAuth("GET", "/stores", header, nil).fails(t, http.StatusForbidden, 10000, "Authentication error")
	}

	// Every route checks the token first, even for an unknown account.
	routes := []struct{ method, path string }{
		{"GET", "/stores"}, {"POST", "/stores"}, {"GET", "/stores/x"}, {"DELETE", "/stores/x"},
		{"GET", "/stores/x/secrets"}, {"POST", "/stores/x/secrets"}, {"DELETE", "/stores/x/secrets"},
		{"GET", "/stores/x/secrets/y"}, {"PATCH", "/stores/x/secrets/y"}, {"DELETE", "/stores/x/secrets/y"},
		{"POST", "/stores/x/secrets/y/duplicate"}, {"GET", "/quota"},
	}
	for _, r := range routes {
		ts.doAuth(r.method, r.path, "Bearer wrong", `{}`).fails(t, http.StatusForbidden, 10000, "Authentication error")
		other := "/client/v4/accounts/ffffffffffffffffffffffffffffffff/secrets_store" + r.path
		ts.doAuth(r.method, other, "Bearer wrong", `{}`).
			fails(t, http.StatusForbidden, 10000, "Authentication error")
	}

	// Legacy key headers are not accepted.
	req, _ := http.NewRequest("GET", ts.url+accountPath+"/stores", nil)
	req.Header.Set("X-Auth-Email", "user@example.com")
	req.Header.Set("X-Auth-Key", testToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("legacy key headers: status %d", res.StatusCode)
	}
}

func TestUnknownAccount(t *testing.T) {
	ts := newTestServer(t, Config{})
	for _, account := range []string{"ffffffffffffffffffffffffffffffff", "not-an-account"} {
		path := "/client/v4/accounts/" + account + "/secrets_store/stores"
		ts.do("GET", path, nil).fails(t, http.StatusNotFound, 7003,
			"Could not route to "+path+", perhaps your object identifier is invalid?")
	}
	ts.do("GET", "/client/v4/accounts/ffffffffffffffffffffffffffffffff/secrets_store/quota", nil).
		fails(t, http.StatusNotFound, 7003, "Could not route to "+
			"/client/v4/accounts/ffffffffffffffffffffffffffffffff/secrets_store/quota, "+
			"perhaps your object identifier is invalid?")
}

func TestUnknownRoutes(t *testing.T) {
	ts := newTestServer(t, Config{})
	ts.do("GET", "/stores/x/unknown", nil).fails(t, http.StatusNotFound, 1000, "not_found")
	ts.do("PUT", "/stores", nil).fails(t, http.StatusNotFound, 1000, "not_found")
	ts.do("GET", "/client/v4/zones", nil).fails(t, http.StatusNotFound, 7000, "No route for that URI")
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{
		{AccountID: testAccount},
		{Token: "t", AccountID: "short"},
		{Token: "t", AccountID: "00112233445566778899AABBCCDDEEFF"},
		{Token: "t", AccountID: testAccount, ActivationDelay: -1},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}
