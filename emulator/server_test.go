package emulator_test

import (
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/emulatortest"
)

func TestStatsCountsRouteTemplates(t *testing.T) {
	srv, base := start(t, emulator.Options{FlyApps: []string{"demo"}})

	call(t, "POST", base+"/v1/apps/demo/secrets/A", flyAuth, map[string]string{"value": "1"}).want(t, 201)
	call(t, "POST", base+"/v1/apps/demo/secrets/B", flyAuth, map[string]string{"value": "2"}).want(t, 201)
	call(t, "GET", base+"/v1/apps/demo/secrets", "Bearer wrong", nil).want(t, 401) // failures count too
	call(t, "GET", base+"/v1/nothing-here", flyAuth, nil).want(t, 404)
	storeID := defaultStoreID(t, base)
	call(t, "GET", base+accountPath+"/stores/"+storeID+"/secrets", cfAuth, nil).want(t, 200)
	call(t, "GET", base+accountPath+"/bogus", cfAuth, nil).want(t, 404)
	call(t, "GET", base+"/client/v4/zones", cfAuth, nil).want(t, 404)
	call(t, "GET", base+"/_emulator/stats", "", nil).want(t, 200) // not counted

	want := map[string]int{
		"POST /v1/apps/{app}/secrets/{name}": 2,
		"GET /v1/apps/{app}/secrets":         1,
		"GET /v1/":                           1,
		"GET /client/v4/accounts/{account_id}/secrets_store/stores":                    1,
		"GET /client/v4/accounts/{account_id}/secrets_store/stores/{store_id}/secrets": 1,
		"GET /client/v4/accounts/{account_id}/secrets_store/":                          1,
		"GET /client/v4/": 1,
	}
	got := srv.Stats()
	if got.Total != 8 || !maps.Equal(got.Routes, want) {
		t.Errorf("stats = %+v\nwant total 8, routes %v", got, want)
	}

	// The HTTP endpoint answers the same data.
	var overHTTP emulator.Stats
	call(t, "GET", base+"/_emulator/stats", "", nil).want(t, 200).decode(t, &overHTTP)
	if overHTTP.Total != got.Total || !maps.Equal(overHTTP.Routes, got.Routes) {
		t.Errorf("GET /_emulator/stats = %+v, Stats() = %+v", overHTTP, got)
	}

	// DELETE /_emulator/stats zeroes counts and keeps data.
	call(t, "DELETE", base+"/_emulator/stats", "", nil).want(t, 204)
	if s := srv.Stats(); s.Total != 0 || len(s.Routes) != 0 {
		t.Errorf("after DELETE: %+v", s)
	}
	call(t, "GET", base+"/v1/apps/demo/secrets/A?version=2", flyAuth, nil).want(t, 200)
	srv.ResetStats() // the Go call does the same
	if s := srv.Stats(); s.Total != 0 {
		t.Errorf("after ResetStats: %+v", s)
	}
}

func TestReset(t *testing.T) {
	srv, base := start(t, emulator.Options{FlyApps: []string{"demo"}})
	call(t, "POST", base+"/v1/apps/demo/secrets/A", flyAuth, map[string]string{"value": "1"}).want(t, 201)
	call(t, "POST", base+"/v1/apps", flyAuth, map[string]string{"app_name": "extra"}).want(t, 201)
	oldStore := defaultStoreID(t, base)
	call(t, "POST", base+accountPath+"/stores/"+oldStore+"/secrets", cfAuth,
		[]map[string]any{{"name": "A", "value": "v", "scopes": []string{"workers"}}}).want(t, 200)

	call(t, "POST", base+"/_emulator/reset", "", nil).want(t, 204)
	if s := srv.Stats(); s.Total != 0 {
		t.Errorf("stats after reset: %+v", s)
	}
	// The start apps are back, empty; everything else is gone.
	r := call(t, "GET", base+"/v1/apps/demo/secrets", flyAuth, nil).want(t, 200)
	if strings.TrimSpace(r.body) != `{"secrets":[]}` {
		t.Errorf("demo after reset: %s", r.body)
	}
	call(t, "GET", base+"/v1/apps/extra", flyAuth, nil).want(t, 404)
	// The account holds a new, empty default store, as at the start.
	if newStore := defaultStoreID(t, base); newStore == oldStore {
		t.Errorf("the default store %s survived the reset", oldStore)
	} else {
		r = call(t, "GET", base+accountPath+"/stores/"+newStore+"/secrets", cfAuth, nil).want(t, 200)
		if !strings.Contains(r.body, `"result":[]`) {
			t.Errorf("default store after reset: %s", r.body)
		}
	}
	// Versions start over.
	r = call(t, "POST", base+"/v1/apps/demo/secrets/A", flyAuth, map[string]string{"value": "1"}).want(t, 201)
	if !strings.Contains(r.body, `"version":1`) {
		t.Errorf("first write after reset: %s", r.body)
	}

	srv.Reset() // the Go call does the same
	call(t, "GET", base+"/v1/apps/demo/secrets/A", flyAuth, nil).want(t, 404)
}

func TestEmulatorRoutesNeedNoToken(t *testing.T) {
	_, base := start(t, emulator.Options{FlyToken: "secret-token"})
	call(t, "GET", base+"/_emulator/stats", "", nil).want(t, 200)
	call(t, "POST", base+"/_emulator/reset", "", nil).want(t, 204)
	call(t, "GET", base+"/_emulator/nothing", "", nil).want(t, http.StatusNotFound)
}

func TestEnv(t *testing.T) {
	env := emulator.Env("http://127.0.0.1:1234/", emulator.Options{})
	want := map[string]string{
		"FLY_FLAPS_BASE_URL":    "http://127.0.0.1:1234",
		"FLY_API_TOKEN":         emulator.DefaultFlyToken,
		"CLOUDFLARE_BASE_URL":   "http://127.0.0.1:1234/client/v4",
		"CLOUDFLARE_API_TOKEN":  emulator.DefaultCloudflareToken,
		"CLOUDFLARE_ACCOUNT_ID": emulator.DefaultCloudflareAccount,
	}
	if !maps.Equal(env, want) {
		t.Errorf("Env = %v", env)
	}
	lines := emulator.ExportLines(env)
	wantLines := []string{
		"export FLY_FLAPS_BASE_URL=http://127.0.0.1:1234",
		"export FLY_API_TOKEN=fly-emulator-token",
		"export CLOUDFLARE_BASE_URL=http://127.0.0.1:1234/client/v4",
		"export CLOUDFLARE_API_TOKEN=cloudflare-emulator-token",
		"export CLOUDFLARE_ACCOUNT_ID=0123456789abcdef0123456789abcdef",
	}
	if strings.Join(lines, "\n") != strings.Join(wantLines, "\n") {
		t.Errorf("ExportLines =\n%s", strings.Join(lines, "\n"))
	}

	quoted := emulator.ExportLines(emulator.Env("http://h", emulator.Options{FlyToken: "FlyV1 fm2_a,fm2_it's"}))
	if quoted[1] != `export FLY_API_TOKEN='FlyV1 fm2_a,fm2_it'\''s'` {
		t.Errorf("quoted token line %s", quoted[1])
	}

	srv, env2 := emulatortest.Env(t, emulator.Options{CloudflareAccount: "ffffffffffffffffffffffffffffffff"})
	if env2["CLOUDFLARE_ACCOUNT_ID"] != "ffffffffffffffffffffffffffffffff" ||
		srv.Options().CloudflareAccount != env2["CLOUDFLARE_ACCOUNT_ID"] {
		t.Errorf("emulatortest.Env = %v", env2)
	}
	call(t, "GET", env2["FLY_FLAPS_BASE_URL"]+"/v1/apps", "Bearer "+env2["FLY_API_TOKEN"], nil).want(t, 200)
	call(t, "GET", env2["CLOUDFLARE_BASE_URL"]+"/accounts/"+env2["CLOUDFLARE_ACCOUNT_ID"]+"/secrets_store/quota",
		"Bearer "+env2["CLOUDFLARE_API_TOKEN"], nil).want(t, 200)
}

func TestNewRejectsBadOptions(t *testing.T) {
	for name, opts := range map[string]emulator.Options{
		"fail rate above 1":        {FailRate: 1.5},
		"negative throttle rate":   {ThrottleRate: -0.1},
		"rates add up past 1":      {FailRate: 0.6, ThrottleRate: 0.5},
		"negative latency":         {Latency: -1},
		"negative activation":      {ActivationDelay: -1},
		"invalid start app":        {FlyApps: []string{"Not Valid"}},
		"invalid account":          {CloudflareAccount: "acct"},
		"deploy token bad app":     {FlyDeployTokens: map[string]string{"tok": "Bad App"}},
		"state dir does not exist": {StatePath: t.TempDir() + "/missing/state.json"},
	} {
		if _, err := emulator.New(opts); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}

func TestOptionsDefaults(t *testing.T) {
	srv, err := emulator.New(emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer closeServer(t, srv)
	o := srv.Options()
	if o.FlyToken != emulator.DefaultFlyToken || o.CloudflareToken != emulator.DefaultCloudflareToken ||
		o.CloudflareAccount != emulator.DefaultCloudflareAccount || o.Logger == nil {
		t.Errorf("defaults: %+v", o)
	}
}
