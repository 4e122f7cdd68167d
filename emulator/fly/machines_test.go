package fly

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/internal/apitest"
)

const (
	bootDelay  = 400 * time.Millisecond
	checkDelay = time.Second
)

// newMachineServer is newTestServer with slow machines on its settable clock.
func newMachineServer(t *testing.T) *testServer {
	return newTestServer(t, Config{MachineBootDelay: bootDelay, MachineCheckDelay: checkDelay})
}

func (ts *testServer) createMachine(body map[string]any) machineJSON {
	ts.t.Helper()
	var m machineJSON
	ts.do("POST", "/v1/apps/demo/machines", body).expect(ts.t, http.StatusOK, &m)
	return m
}

func (ts *testServer) getMachine(id string) machineJSON {
	ts.t.Helper()
	var m machineJSON
	ts.do("GET", "/v1/apps/demo/machines/"+id, nil).expect(ts.t, http.StatusOK, &m)
	return m
}

// doNonce sends a request carrying a lease nonce.
func (ts *testServer) doNonce(method, path, nonce string, body any) response {
	ts.t.Helper()
	req := apitest.NewRequest(ts.t, method, ts.url+path, "Bearer "+testToken, body)
	req.Header.Set(nonceHeader, nonce)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		ts.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: data}
}

func (ts *testServer) summary() []MachineSummary {
	ts.t.Helper()
	got, err := ts.api.Machines("demo")
	if err != nil {
		ts.t.Fatal(err)
	}
	return got
}

func (ts *testServer) writeSecret(name string) {
	ts.t.Helper()
	ts.do("POST", "/v1/apps/demo/secrets/"+name, map[string]string{"value": "v"}).expect(ts.t, http.StatusCreated, nil)
}

var appConfig = map[string]any{
	"image":    "registry.fly.io/demo:deployment-1",
	"env":      map[string]string{"PORT": "8080"},
	"metadata": map[string]string{"fly_platform_version": "v2", "fly_process_group": "app"},
}

func TestCreateMachineBootsThroughItsStates(t *testing.T) {
	ts := newMachineServer(t)
	ts.writeSecret("A")
	m := ts.createMachine(map[string]any{"config": appConfig, "region": "cdg", "name": "web-1"})
	if m.State != stateCreated || len(m.ID) != 14 || len(m.InstanceID) != 26 || m.Region != "cdg" || m.Name != "web-1" ||
		m.HostStatus != "ok" || m.ImageRef.Registry != "registry.fly.io" || m.ImageRef.Repository != "demo" ||
		m.ImageRef.Tag != "deployment-1" {
		t.Fatalf("created %+v", m)
	}
	// The config comes back with Fly's defaults filled in, the rest as sent.
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(m.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	if string(cfg["init"]) != "{}" || !strings.Contains(string(cfg["guest"]), `"memory_mb":256`) ||
		string(cfg["env"]) != `{"PORT":"8080"}` {
		t.Errorf("config %s", m.Config)
	}
	ts.clock.Advance(bootDelay / 2)
	if got := ts.getMachine(m.ID).State; got != stateStarting {
		t.Errorf("half way: %s", got)
	}
	ts.clock.Advance(bootDelay / 2)
	if got := ts.getMachine(m.ID).State; got != stateStarted {
		t.Errorf("after the boot delay: %s", got)
	}
	if got := ts.summary(); len(got) != 1 || got[0] != (MachineSummary{ID: m.ID, State: stateStarted, SecretsVersion: 1}) {
		t.Errorf("summary %+v", got)
	}
	var list []machineJSON
	ts.do("GET", "/v1/apps/demo/machines", nil).expect(t, http.StatusOK, &list)
	if len(list) != 1 || list[0].ID != m.ID || string(list[0].Config) != string(m.Config) {
		t.Errorf("list %+v", list)
	}
	var a appJSON
	ts.do("GET", "/v1/apps/demo", nil).expect(t, http.StatusOK, &a)
	if a.MachineCount != 1 || a.Status != "deployed" {
		t.Errorf("app %+v", a)
	}
}

func TestCreateMachineRefusals(t *testing.T) {
	ts := newMachineServer(t)
	ts.do("POST", "/v1/apps/demo/machines", map[string]any{"region": "cdg"}).
		expectError(t, http.StatusBadRequest, "config is required")
	ts.do("POST", "/v1/apps/demo/machines", map[string]any{"config": map[string]any{"env": map[string]string{}}}).
		expectError(t, http.StatusBadRequest, "config.image is required")
	badMetadata := map[string]any{"image": "x", "metadata": map[string]int{"a": 1}}
	ts.do("POST", "/v1/apps/demo/machines", map[string]any{"config": badMetadata}).
		expectError(t, http.StatusBadRequest, "invalid machine config")
	ts.do("POST", "/v1/apps/demo/machines", `{"config":`).expectError(t, http.StatusBadRequest, invalidJSONMessage)
	ts.do("POST", "/v1/apps/demo/machines", map[string]any{"config": appConfig, "min_secrets_version": 1}).
		expectError(t, http.StatusPreconditionFailed, "min_secrets_version 1 is not yet available (current version 0)")
	ts.do("POST", "/v1/apps/nope/machines", map[string]any{"config": appConfig}).
		expectError(t, http.StatusNotFound, "app not found")
	ts.do("GET", "/v1/apps/demo/machines/0123456789abcd", nil).expectError(t, http.StatusNotFound, "machine not found")
	if got := ts.summary(); len(got) != 0 {
		t.Errorf("refused creates left machines: %+v", got)
	}

	// skip_launch creates a machine that stays created.
	m := ts.createMachine(map[string]any{"config": appConfig, "skip_launch": true})
	ts.clock.Advance(time.Minute)
	if got := ts.getMachine(m.ID).State; got != stateCreated {
		t.Errorf("skip_launch machine is %s", got)
	}
}

// startedMachine creates a machine and lets it start and pass its checks.
func (ts *testServer) startedMachine(config map[string]any) machineJSON {
	ts.t.Helper()
	m := ts.createMachine(map[string]any{"config": config})
	ts.clock.Advance(bootDelay + checkDelay)
	return ts.getMachine(m.ID)
}

func TestUpdateRestartsWithTheSecretsVersion(t *testing.T) {
	ts := newMachineServer(t)
	m := ts.startedMachine(appConfig)
	ts.writeSecret("A")
	ts.writeSecret("B")
	var updated machineJSON
	ts.do("POST", "/v1/apps/demo/machines/"+m.ID,
		map[string]any{"config": json.RawMessage(m.Config), "min_secrets_version": 2}).
		expect(t, http.StatusOK, &updated)
	if updated.State != stateReplacing || updated.InstanceID == m.InstanceID ||
		string(updated.Config) != string(m.Config) {
		t.Errorf("update answered %+v", updated)
	}
	ts.clock.Advance(bootDelay / 2)
	if got := ts.getMachine(m.ID).State; got != stateStarting {
		t.Errorf("half way: %s", got)
	}
	ts.clock.Advance(bootDelay / 2)
	if got := ts.summary(); got[0] != (MachineSummary{ID: m.ID, State: stateStarted, SecretsVersion: 2, Restarts: 1}) {
		t.Errorf("after the restart %+v", got)
	}
	ts.do("POST", "/v1/apps/demo/machines/"+m.ID, map[string]any{"config": appConfig, "min_secrets_version": 3}).
		expectError(t, http.StatusPreconditionFailed, "min_secrets_version 3 is not yet available (current version 2)")
	ts.do("POST", "/v1/apps/demo/machines/"+m.ID, map[string]any{"min_secrets_version": 1}).
		expectError(t, http.StatusBadRequest, "config is required")
	if got := ts.summary()[0].Restarts; got != 1 {
		t.Errorf("refused updates restarted it: %d restarts", got)
	}
}

// Without min_secrets_version a machine boots with what a lagging read sees:
// the reason deploys must pass it.
func TestUpdateWithoutMinSecretsVersionMayBootOldSecrets(t *testing.T) {
	ts := newTestServer(t, Config{ReadLag: time.Minute})
	m := ts.createMachine(map[string]any{"config": appConfig})
	ts.writeSecret("A")
	ts.do("POST", "/v1/apps/demo/machines/"+m.ID, map[string]any{"config": appConfig}).expect(t, http.StatusOK, nil)
	if got := ts.summary()[0].SecretsVersion; got != 0 {
		t.Errorf("booted with version %d within the read lag, want the old 0", got)
	}
	ts.do("POST", "/v1/apps/demo/machines/"+m.ID, map[string]any{"config": appConfig, "min_secrets_version": 1}).
		expect(t, http.StatusOK, nil)
	if got := ts.summary()[0]; got.SecretsVersion != 1 || got.Restarts != 2 {
		t.Errorf("with min_secrets_version: %+v", got)
	}
}

func TestUpdateSkipLaunchKeepsAStoppedMachineStopped(t *testing.T) {
	ts := newMachineServer(t)
	m := ts.startedMachine(appConfig)
	var stopped machineJSON
	ts.do("POST", "/v1/apps/demo/machines/"+m.ID, map[string]any{"config": appConfig, "skip_launch": true}).
		expect(t, http.StatusOK, &stopped)
	ts.writeSecret("A")
	var again machineJSON
	ts.do("POST", "/v1/apps/demo/machines/"+m.ID,
		map[string]any{"config": json.RawMessage(stopped.Config), "skip_launch": true, "min_secrets_version": 1}).
		expect(t, http.StatusOK, &again)
	ts.clock.Advance(time.Minute)
	got := ts.getMachine(m.ID)
	if got.State != stateStopped || got.InstanceID != again.InstanceID || got.InstanceID == stopped.InstanceID {
		t.Errorf("after skip_launch: %+v", got)
	}
	if s := ts.summary()[0]; s.Restarts != 0 || s.SecretsVersion != 0 {
		t.Errorf("skip_launch restarted it: %+v", s)
	}
}

func TestUpdateCurrentVersionAndInjectedFailure(t *testing.T) {
	ts := newMachineServer(t)
	m := ts.startedMachine(appConfig)
	ts.do("POST", "/v1/apps/demo/machines/"+m.ID, map[string]any{"config": appConfig, "current_version": "01STALE"}).
		expectError(t, http.StatusPreconditionFailed,
			"current_version 01STALE does not match the machine's version "+m.InstanceID)

	if err := ts.api.FailNextUpdate("demo", m.ID); err != nil {
		t.Fatal(err)
	}
	res := ts.do(
		"POST",
		"/v1/apps/demo/machines/"+m.ID,
		map[string]any{"config": appConfig, "current_version": m.InstanceID},
	)
	res.expect(t, http.StatusInternalServerError, nil)
	if got := ts.getMachine(m.ID); got.InstanceID != m.InstanceID || ts.summary()[0].Restarts != 0 {
		t.Errorf("a failed update changed the machine: %+v", got)
	}
	// Without a lease, only the next one fails.
	var updated machineJSON
	ts.do("POST", "/v1/apps/demo/machines/"+m.ID, map[string]any{"config": appConfig, "current_version": m.InstanceID}).
		expect(t, http.StatusOK, &updated)

	// Under a lease, its retries (same nonce) fail too, until another lease's update.
	if err := ts.api.FailNextUpdate("demo", m.ID); err != nil {
		t.Fatal(err)
	}
	var lease leaseJSON
	ts.do("POST", "/v1/apps/demo/machines/"+m.ID+"/lease", nil).expect(t, http.StatusOK, &lease)
	for range 3 {
		ts.doNonce("POST", "/v1/apps/demo/machines/"+m.ID, lease.Data.Nonce, map[string]any{"config": appConfig}).
			expect(t, http.StatusInternalServerError, nil)
	}
	ts.doNonce("DELETE", "/v1/apps/demo/machines/"+m.ID+"/lease", lease.Data.Nonce, nil).expect(t, http.StatusOK, nil)
	ts.do("POST", "/v1/apps/demo/machines/"+m.ID+"/lease", nil).expect(t, http.StatusOK, &lease)
	ts.doNonce("POST", "/v1/apps/demo/machines/"+m.ID, lease.Data.Nonce, map[string]any{"config": appConfig}).
		expect(t, http.StatusOK, nil)
	if got := ts.summary()[0].Restarts; got != 2 {
		t.Errorf("%d restarts, want the two updates that went through", got)
	}
	if err := ts.api.FailNextUpdate("demo", "nope"); err != ErrNotFound {
		t.Errorf("unknown machine: %v", err)
	}
}

func TestLeases(t *testing.T) {
	ts := newMachineServer(t)
	m := ts.startedMachine(appConfig)
	other := ts.startedMachine(appConfig)
	path := "/v1/apps/demo/machines/" + m.ID + "/lease"

	var lease leaseJSON
	ts.do("POST", path+"?ttl=30", map[string]string{"description": "rollout 1"}).expect(t, http.StatusOK, &lease)
	now := ts.clock.Now()
	if lease.Status != "success" || len(lease.Data.Nonce) != 12 || lease.Data.Owner != leaseOwner ||
		lease.Data.Version != m.InstanceID ||
		lease.Data.Description != "rollout 1" ||
		lease.Data.ExpiresAt != now.Add(30*time.Second).Unix() {
		t.Errorf("lease %+v", lease)
	}
	held := "aborted: machine ID " + m.ID + " lease currently held by " + leaseOwner + ", expires at " +
		now.Add(30*time.Second).UTC().Format(time.RFC3339)
	ts.do("POST", path, nil).expectError(t, http.StatusConflict, held)
	ts.doNonce("POST", path, "wrong", nil).expectError(t, http.StatusConflict, held)
	// An update needs the nonce.
	ts.do("POST", "/v1/apps/demo/machines/"+m.ID, map[string]any{"config": appConfig}).
		expectError(t, http.StatusConflict, held)
	ts.doNonce("POST", "/v1/apps/demo/machines/"+m.ID, lease.Data.Nonce, map[string]any{"config": appConfig}).
		expect(t, http.StatusOK, nil)
	var found leaseJSON
	ts.do("GET", path, nil).expect(t, http.StatusOK, &found)
	if found.Data.Nonce != lease.Data.Nonce || found.Data.Description != "rollout 1" {
		t.Errorf("GET lease %+v", found)
	}

	// The nonce refreshes the lease.
	ts.clock.Advance(20 * time.Second)
	var refreshed leaseJSON
	ts.doNonce("POST", path+"?ttl=30", lease.Data.Nonce, nil).expect(t, http.StatusOK, &refreshed)
	if refreshed.Data.Nonce != lease.Data.Nonce || refreshed.Data.ExpiresAt != ts.clock.Now().Add(30*time.Second).Unix() {
		t.Errorf("refreshed %+v", refreshed)
	}

	// A second machine's lease counts towards what is held at once.
	var second leaseJSON
	ts.do("POST", "/v1/apps/demo/machines/"+other.ID+"/lease?ttl=5", nil).expect(t, http.StatusOK, &second)
	if got, _ := ts.api.Leases("demo"); got != (LeaseSummary{Held: 2, MaxHeldAtOnce: 2}) {
		t.Errorf("leases %+v", got)
	}
	ts.clock.Advance(5 * time.Second) // the second one expires
	if got, _ := ts.api.Leases("demo"); got != (LeaseSummary{Held: 1, MaxHeldAtOnce: 2}) {
		t.Errorf("after expiry %+v", got)
	}

	ts.doNonce("DELETE", path, "wrong", nil).expect(t, http.StatusConflict, nil)
	ts.doNonce("DELETE", path, lease.Data.Nonce, nil).expect(t, http.StatusOK, nil)
	ts.doNonce("DELETE", path, lease.Data.Nonce, nil).expectError(t, http.StatusNotFound, "lease not found")
	ts.do("GET", path, nil).expectError(t, http.StatusNotFound, "lease not found")
	if got := ts.summary(); got[0].Leased || got[1].Leased {
		t.Errorf("still leased: %+v", got)
	}
	ts.do("POST", path+"?ttl=0", nil).expectError(t, http.StatusBadRequest, "ttl must be at least 1 second")
	ts.do("POST", path+"?ttl=x", nil).expectError(t, http.StatusBadRequest, "ttl must be a whole number of seconds")
}

func TestCreateWithLeaseTTL(t *testing.T) {
	ts := newMachineServer(t)
	m := ts.createMachine(map[string]any{"config": appConfig, "lease_ttl": 10})
	if m.Nonce == "" {
		t.Fatal("no nonce for lease_ttl")
	}
	ts.do("POST", "/v1/apps/demo/machines/"+m.ID, map[string]any{"config": appConfig}).expect(t, http.StatusConflict, nil)
	ts.doNonce("DELETE", "/v1/apps/demo/machines/"+m.ID+"/lease", m.Nonce, nil).expect(t, http.StatusOK, nil)
}

func TestHealthChecks(t *testing.T) {
	ts := newMachineServer(t)
	config := map[string]any{
		"image":  "nginx",
		"checks": map[string]any{"http": map[string]any{"type": "http", "port": 8080, "path": "/health"}},
		"services": []map[string]any{{"internal_port": 8080, "protocol": "tcp",
			"checks": []map[string]any{{"type": "tcp"}}}},
	}
	m := ts.createMachine(map[string]any{"config": config})
	statuses := func() string {
		var parts []string
		for _, c := range ts.getMachine(m.ID).Checks {
			parts = append(parts, c.Name+"="+c.Status)
		}
		return strings.Join(parts, " ")
	}
	if got := statuses(); got != "http=critical servicecheck-00-tcp-8080=critical" {
		t.Errorf("while starting: %s", got)
	}
	ts.clock.Advance(bootDelay)
	if got := statuses(); got != "http=critical servicecheck-00-tcp-8080=critical" {
		t.Errorf("just started: %s", got)
	}
	ts.clock.Advance(checkDelay)
	if got := statuses(); got != "http=passing servicecheck-00-tcp-8080=passing" {
		t.Errorf("after the check delay: %s", got)
	}
	if err := ts.api.FailChecks("demo", m.ID); err != nil {
		t.Fatal(err)
	}
	ts.clock.Advance(time.Hour)
	if got := statuses(); got != "http=critical servicecheck-00-tcp-8080=critical" {
		t.Errorf("with fail-checks: %s", got)
	}
	if got := ts.createMachine(map[string]any{"config": appConfig}); len(got.Checks) != 0 {
		t.Errorf("a machine without checks reports %+v", got.Checks)
	}
}

// waitServer runs on the real clock: waits block in real time.
func waitServer(t *testing.T) *testServer {
	ts := newTestServer(t, Config{MachineBootDelay: 200 * time.Millisecond, Now: time.Now})
	return ts
}

func TestWaitForTheNewVersion(t *testing.T) {
	ts := waitServer(t)
	m := ts.createMachine(map[string]any{"config": appConfig})
	ts.do("GET", "/v1/apps/demo/machines/"+m.ID+"/wait?state=started&timeout=5&version="+m.InstanceID, nil).
		expect(t, http.StatusOK, nil)

	var updated machineJSON
	ts.do("POST", "/v1/apps/demo/machines/"+m.ID, map[string]any{"config": appConfig}).expect(t, http.StatusOK, &updated)
	// Right after an update, a wait that names no version sees the old one, started.
	start := time.Now()
	ts.do("GET", "/v1/apps/demo/machines/"+m.ID+"/wait?state=started&timeout=5", nil).expect(t, http.StatusOK, nil)
	if time.Since(start) > 50*time.Millisecond {
		t.Errorf("a wait without a version took %v: it should answer on the replaced version at once", time.Since(start))
	}
	// Naming the new version waits for its boot.
	ts.do("GET", "/v1/apps/demo/machines/"+m.ID+"/wait?state=started&timeout=5&instance_id="+updated.InstanceID, nil).
		expect(t, http.StatusOK, nil)
	if got := ts.getMachine(m.ID).State; got != stateStarted {
		t.Errorf("wait answered with the machine %s", got)
	}
	if elapsed := time.Since(start); elapsed < 150*time.Millisecond {
		t.Errorf("the wait for the new version answered after %v, before the boot delay", elapsed)
	}
	// The replaced version never starts again.
	ts.do("GET", "/v1/apps/demo/machines/"+m.ID+"/wait?state=started&timeout=1&version="+m.InstanceID, nil).
		expect(t, http.StatusRequestTimeout, nil)
	ts.do("GET", "/v1/apps/demo/machines/"+m.ID+"/wait?state=stopped&timeout=1", nil).
		expect(t, http.StatusRequestTimeout, nil)

	for query, message := range map[string]string{
		"state=running":                `invalid state "running": want started, stopped, suspended or destroyed`,
		"timeout=abc":                  "timeout must be a whole number of seconds, at least 1",
		"timeout=0":                    "timeout must be a whole number of seconds, at least 1",
		"instance_id=a&version=b":      "instance_id and version differ",
		"version=01UNKNOWNVERSION0000": "",
	} {
		res := ts.do("GET", "/v1/apps/demo/machines/"+m.ID+"/wait?"+query, nil)
		if message == "" {
			res.expectError(t, http.StatusNotFound, "machine version 01UNKNOWNVERSION0000 not found")
			continue
		}
		res.expectError(t, http.StatusBadRequest, message)
	}
	ts.do("GET", "/v1/apps/demo/machines/0123456789abcd/wait", nil).
		expectError(t, http.StatusNotFound, "machine not found")
}

// Several waits at once each get their answer.
func TestConcurrentWaits(t *testing.T) {
	ts := waitServer(t)
	var ids []machineJSON
	for range 4 {
		ids = append(ids, ts.createMachine(map[string]any{"config": appConfig}))
	}
	var wg sync.WaitGroup
	for _, m := range ids {
		wg.Go(func() {
			res := ts.do("GET", "/v1/apps/demo/machines/"+m.ID+"/wait?timeout=5&version="+m.InstanceID, nil)
			if res.status != http.StatusOK {
				t.Errorf("wait on %s: %d %s", m.ID, res.status, res.body)
			}
		})
	}
	wg.Wait()
}

func TestInspectionRoutes(t *testing.T) {
	ts := newMachineServer(t)
	if err := ts.api.EnsureMachines("demo", 3); err != nil {
		t.Fatal(err)
	}
	if err := ts.api.EnsureMachines("demo", 2); err != nil { // already has them
		t.Fatal(err)
	}
	if err := ts.api.EnsureMachines("nope", 1); err == nil {
		t.Error("machines for an unknown app")
	}
	mux := http.NewServeMux()
	ts.api.RegisterInspection(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	var machines []map[string]any
	_, body := apitest.Send(t, "GET", srv.URL+"/_emulator/fly/apps/demo/machines", "", nil)
	if err := json.Unmarshal(body, &machines); err != nil || len(machines) != 3 {
		t.Fatalf("machines %s: %v", body, err)
	}
	for _, m := range machines {
		if len(m) != 5 || m["state"] != stateStarted || m["secrets_version"] != 0.0 || m["restarts"] != 0.0 ||
			m["leased"] != false {
			t.Errorf("machine %v", m)
		}
	}
	// The started machines pass their checks already.
	if got := ts.getMachine(machines[0]["id"].(string)); len(got.Checks) != 1 || got.Checks[0].Status != "passing" {
		t.Errorf("start machine checks %+v", got.Checks)
	}
	id := machines[1]["id"].(string)
	res, _ := apitest.Send(t, "POST", srv.URL+"/_emulator/fly/apps/demo/machines/"+id+"/fail-next-update", "", nil)
	if res.StatusCode != http.StatusNoContent {
		t.Errorf("fail-next-update: %d", res.StatusCode)
	}
	ts.do("POST", "/v1/apps/demo/machines/"+id, map[string]any{"config": appConfig}).
		expect(t, http.StatusInternalServerError, nil)
	res, _ = apitest.Send(t, "POST", srv.URL+"/_emulator/fly/apps/demo/machines/"+id+"/fail-checks", "", nil)
	if res.StatusCode != http.StatusNoContent {
		t.Errorf("fail-checks: %d", res.StatusCode)
	}
	ts.do("POST", "/v1/apps/demo/machines/"+id+"/lease", nil).expect(t, http.StatusOK, nil)
	_, body = apitest.Send(t, "GET", srv.URL+"/_emulator/fly/apps/demo/leases", "", nil)
	if strings.TrimSpace(string(body)) != `{"held":1,"max_held_at_once":1}` {
		t.Errorf("leases %s", body)
	}
	for _, path := range []string{"/_emulator/fly/apps/nope/machines", "/_emulator/fly/apps/nope/leases"} {
		if res, _ := apitest.Send(t, "GET", srv.URL+path, "", nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", path, res.StatusCode)
		}
	}
	res, _ = apitest.Send(t, "POST", srv.URL+"/_emulator/fly/apps/demo/machines/nope/fail-next-update", "", nil)
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("unknown machine: %d", res.StatusCode)
	}
}

func TestMachinesSurviveSnapshotAndRestore(t *testing.T) {
	ts := newMachineServer(t)
	m := ts.startedMachine(appConfig)
	ts.writeSecret("A")
	ts.do("POST", "/v1/apps/demo/machines/"+m.ID, map[string]any{"config": appConfig, "min_secrets_version": 1}).
		expect(t, http.StatusOK, nil)
	st := apitest.JSONRoundTrip(t, ts.api.Snapshot())

	restored := newMachineServer(t)
	if err := restored.api.Restore(st); err != nil {
		t.Fatal(err)
	}
	got := restored.getMachine(m.ID)
	if got.State != stateStarted || got.InstanceID == m.InstanceID || string(got.Config) != string(m.Config) {
		t.Errorf("restored %+v", got)
	}
	if s := restored.summary(); len(s) != 1 ||
		s[0] != (MachineSummary{ID: m.ID, State: stateStarted, SecretsVersion: 1, Restarts: 1}) {
		t.Errorf("restored summary %+v", s)
	}
	st.Apps[0].Machines[0].Config = json.RawMessage(`{"env":{}}`)
	if err := restored.api.Restore(st); err == nil {
		t.Error("restored a machine whose config has no image")
	}
}
