package fly

import (
	"net/http"
	"testing"
)

func TestParseAuthorization(t *testing.T) {
	tests := []struct {
		header   string
		ok       bool
		macaroon bool
		token    string
	}{
		{"Bearer abc", true, false, "abc"},
		{"bearer abc", true, false, "abc"},
		{"FlyV1 fm2_a", true, true, "fm2_a"},
		{"FlyV1 fm2_a,fm2_b", true, true, "fm2_a,fm2_b"},
		{"FlyV1 fm2_a, fm1r_b", true, true, "fm2_a,fm1r_b"},
		{"FlyV1 fm1a_x", true, true, "fm1a_x"},
		{"FlyV1 notamacaroon", false, false, ""},
		{"FlyV1 abc,fm2_a", false, false, ""},    // fly-go drops user tokens beside macaroons
		{"Bearer FlyV1 fm2_a", false, false, ""}, // the documented 401
		{"Bearer fm2_a", false, false, ""},       // fly-go sends macaroons as FlyV1
		{"Bearer ", false, false, ""},
		{"Bearer", false, false, ""},
		{"abc", false, false, ""},
		{"Basic abc", false, false, ""},
		{"", false, false, ""},
	}
	for _, tt := range tests {
		cred, ok := parseAuthorization(tt.header)
		if ok != tt.ok || (ok && (cred.macaroon != tt.macaroon || cred.token != tt.token)) {
			t.Errorf("parseAuthorization(%q) = %+v, %v; want token %q macaroon %v ok %v",
				tt.header, cred, ok, tt.token, tt.macaroon, tt.ok)
		}
	}
}

func TestCanonicalToken(t *testing.T) {
	tests := []struct {
		raw  string
		want credential
	}{
		{"plain", credential{token: "plain"}},
		{"Bearer plain", credential{token: "plain"}},
		{"fm2_a,fm2_b", credential{macaroon: true, token: "fm2_a,fm2_b"}},
		{"FlyV1 fm2_a, fm2_b", credential{macaroon: true, token: "fm2_a,fm2_b"}},
		{"abc,fm2_y", credential{macaroon: true, token: "fm2_y"}}, // as fly-go sends it
	}
	for _, tt := range tests {
		if got := canonicalToken(tt.raw); got != tt.want {
			t.Errorf("canonicalToken(%q) = %+v, want %+v", tt.raw, got, tt.want)
		}
	}
}

func TestAuthOverHTTP(t *testing.T) {
	const unauthenticated = "Authenticate: token validation error"
	plain := newTestServer(t, Config{})
	macaroon := newTestServer(t, Config{Token: "FlyV1 fm2_part1,fm2_part2"})
	mixed := newTestServer(t, Config{Token: "user-token,fm2_part1"})

	tests := []struct {
		name   string
		srv    *testServer
		header string
		status int
	}{
		{"bearer token", plain, "Bearer " + testToken, http.StatusOK},
		{"scheme is case-insensitive", plain, "bearer " + testToken, http.StatusOK},
		{"missing header", plain, "", http.StatusUnauthorized},
		{"wrong token", plain, "Bearer nope", http.StatusUnauthorized},
		{"plain token as FlyV1", plain, "FlyV1 " + testToken, http.StatusUnauthorized},
		{"macaroon as FlyV1", macaroon, "FlyV1 fm2_part1,fm2_part2", http.StatusOK},
		{"macaroon parts with spaces", macaroon, "FlyV1 fm2_part1, fm2_part2", http.StatusOK},
		{"Bearer FlyV1 macaroon", macaroon, "Bearer FlyV1 fm2_part1,fm2_part2", http.StatusUnauthorized},
		{"macaroon as Bearer", macaroon, "Bearer fm2_part1,fm2_part2", http.StatusUnauthorized},
		{"one part of a macaroon", macaroon, "FlyV1 fm2_part1", http.StatusUnauthorized},
		{"user token and macaroon: the macaroon alone", mixed, "FlyV1 fm2_part1", http.StatusOK},
		{"user token and macaroon, both sent", mixed, "FlyV1 user-token,fm2_part1", http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.srv.doAuth("GET", "/v1/apps/demo/secrets", tt.header, nil)
			if tt.status == http.StatusUnauthorized {
				res.expectError(t, http.StatusUnauthorized, unauthenticated)
				return
			}
			res.expect(t, tt.status, nil)
		})
	}

	// Every route checks the token, before it looks for the app.
	for _, route := range []struct{ method, path string }{
		{"POST", "/v1/apps"},
		{"GET", "/v1/apps"},
		{"GET", "/v1/apps/nope"},
		{"DELETE", "/v1/apps/nope"},
		{"GET", "/v1/apps/nope/machines"},
		{"POST", "/v1/apps/nope/machines"},
		{"GET", "/v1/apps/nope/machines/m"},
		{"POST", "/v1/apps/nope/machines/m"},
		{"GET", "/v1/apps/nope/machines/m/wait"},
		{"GET", "/v1/apps/nope/machines/m/lease"},
		{"POST", "/v1/apps/nope/machines/m/lease"},
		{"DELETE", "/v1/apps/nope/machines/m/lease"},
		{"GET", "/v1/apps/nope/secrets"},
		{"POST", "/v1/apps/nope/secrets"},
		{"GET", "/v1/apps/nope/secrets/A"},
		{"POST", "/v1/apps/nope/secrets/A"},
		{"DELETE", "/v1/apps/nope/secrets/A"},
	} {
		plain.doAuth(route.method, route.path, "Bearer wrong", `{}`).expectError(t, http.StatusUnauthorized, unauthenticated)
	}
}

func TestDeployTokenIsLimitedToItsApp(t *testing.T) {
	ts := newTestServer(t, Config{DeployTokens: map[string]string{"deploy-demo": "demo"}})
	if err := ts.api.EnsureApp("other", ""); err != nil {
		t.Fatal(err)
	}
	const deploy = "Bearer deploy-demo"

	ts.doAuth("POST", "/v1/apps/demo/secrets/A", deploy, map[string]string{"value": "x"}).
		expect(t, http.StatusCreated, nil)
	ts.doAuth("GET", "/v1/apps/demo/secrets", deploy, nil).expect(t, http.StatusOK, nil)
	ts.doAuth("GET", "/v1/apps/demo", deploy, nil).expect(t, http.StatusOK, nil)

	ts.doAuth("GET", "/v1/apps/other/secrets", deploy, nil).expectError(t, http.StatusForbidden, "unauthorized")
	ts.doAuth("POST", "/v1/apps/other/secrets/A", deploy, map[string]string{"value": "x"}).
		expectError(t, http.StatusForbidden, "unauthorized")
	ts.doAuth("POST", "/v1/apps", deploy, map[string]string{"app_name": "new"}).
		expectError(t, http.StatusForbidden, "unauthorized")
	ts.doAuth("DELETE", "/v1/apps/demo", deploy, nil).expectError(t, http.StatusForbidden, "unauthorized")

	// Machines too: its own app's, not another's.
	if err := ts.api.EnsureMachines("other", 1); err != nil {
		t.Fatal(err)
	}
	ts.doAuth("GET", "/v1/apps/demo/machines", deploy, nil).expect(t, http.StatusOK, nil)
	ts.doAuth("GET", "/v1/apps/other/machines", deploy, nil).expectError(t, http.StatusForbidden, "unauthorized")
	others, _ := ts.api.Machines("other")
	ts.doAuth("POST", "/v1/apps/other/machines/"+others[0].ID+"/lease", deploy, nil).
		expectError(t, http.StatusForbidden, "unauthorized")
}

func TestNewRejectsBadConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without a token succeeded")
	}
	if _, err := New(Config{Token: "t", DeployTokens: map[string]string{"d": "Not An App"}}); err == nil {
		t.Error("New with a deploy token for an invalid app succeeded")
	}
}
