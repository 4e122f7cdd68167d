package flyapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/fly"
)

const (
	updateRoute = "POST /v1/apps/{app}/machines/{id}"
	leaseRoute  = "POST /v1/apps/{app}/machines/{id}/lease"
)

// lossyProxy serves an emulator and loses the answers of the first `lose` requests that match:
// the request is applied, then a proxy's 502 comes back.
type lossyProxy struct {
	next  http.Handler
	match func(r *http.Request) bool
	lose  int32
	lost  atomic.Int32
}

func (p *lossyProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p.match != nil && p.match(r) && p.lost.Add(1) <= p.lose {
		p.next.ServeHTTP(httptest.NewRecorder(), r)
		w.WriteHeader(http.StatusBadGateway)
		writeBody(w, "<html>502 Bad Gateway</html>")
		return
	}
	p.next.ServeHTTP(w, r)
}

type machineEnv struct {
	srv    *emulator.Server
	proxy  *lossyProxy
	client *Client
	url    string
}

// newMachineEnv serves an emulator with app "demo" and its machines (realistic delays) behind
// a lossy proxy, and a client paced on its own.
func newMachineEnv(t *testing.T, machines int, opts ...Option) *machineEnv {
	t.Helper()
	srv, err := emulator.New(emulator.Options{FlyApps: []string{"demo"}, FlyMachines: machines})
	if err != nil {
		t.Fatal(err)
	}
	proxy := &lossyProxy{next: srv}
	ts := httptest.NewServer(proxy)
	t.Cleanup(func() {
		ts.Close()
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	opts = append([]Option{WithShared(NewShared(FlyPacing()))}, opts...)
	return &machineEnv{srv: srv, proxy: proxy, client: New(ts.URL, emulator.DefaultFlyToken, opts...), url: ts.URL}
}

func (e *machineEnv) summary(t *testing.T) []fly.MachineSummary {
	t.Helper()
	got, err := e.srv.Fly().Machines("demo")
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestMachineCallsAgainstTheEmulator(t *testing.T) {
	t.Parallel()
	log := &waitLog{}
	env := newMachineEnv(t, 2, WithWaitNotifier(log.notify))
	c, ctx := env.client, context.Background()
	machines, err := c.ListMachines(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	if len(machines) != 2 {
		t.Fatalf("machines %+v", machines)
	}
	m := machines[0]
	if m.State != MachineStateStarted || len(m.InstanceID) != 26 || m.ProcessGroup() != "app" ||
		m.Config.CheckCount() != 1 || m.HostStatus != "ok" || m.IsReleaseCommandMachine() || m.IsFlyAppsConsole() ||
		m.CreatedAt.IsZero() {
		t.Errorf("machine %+v", m)
	}
	if passing, total := m.ChecksPassing(); passing != 1 || total != 1 {
		t.Errorf("checks %d/%d", passing, total)
	}
	got, err := c.GetMachine(ctx, "demo", m.ID)
	if err != nil || got.InstanceID != m.InstanceID || string(got.Config) != string(m.Config) {
		t.Errorf("get: %+v %v", got, err)
	}
	if _, err := c.GetMachine(ctx, "demo", "0123456789abcd"); !IsNotFound(err) {
		t.Errorf("unknown machine: %v", err)
	}

	set, err := c.SetSecret(ctx, "demo", "A", "value")
	if err != nil {
		t.Fatal(err)
	}
	lease, err := c.AcquireLease(ctx, "demo", m.ID, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if lease.Nonce == "" || lease.Version != m.InstanceID ||
		!strings.HasPrefix(lease.Description, "edgesecrets deploy ") || time.Until(lease.ExpiresAt) < 25*time.Second {
		t.Errorf("lease %+v", lease)
	}
	if found, err := c.FindLease(ctx, "demo", m.ID); err != nil || found.Nonce != lease.Nonce {
		t.Errorf("find lease: %+v %v", found, err)
	}
	if refreshed, err := c.RefreshLease(ctx, "demo", m.ID, lease.Nonce, time.Minute); err != nil ||
		refreshed.Nonce != lease.Nonce || time.Until(refreshed.ExpiresAt) < 55*time.Second {
		t.Errorf("refresh: %+v %v", refreshed, err)
	}

	updated, err := c.UpdateMachine(ctx, "demo", m.ID, lease.Nonce, LaunchMachineInput{
		Config: m.Config, MinSecretsVersion: set.Version, CurrentVersion: m.InstanceID,
	})
	if err != nil {
		t.Fatal(err)
	}
	if updated.InstanceID == m.InstanceID || updated.State != MachineStateReplacing ||
		string(updated.Config) != string(m.Config) {
		t.Errorf("updated %+v", updated)
	}
	if err := c.WaitMachine(ctx, "demo", m.ID, updated.InstanceID, MachineStateStarted, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if !log.said("waiting for machine " + m.ID + ` of app "demo" to be started`) {
		t.Errorf("the wait was not told: %v", log.whys)
	}
	if err := c.ReleaseLease(ctx, "demo", m.ID, lease.Nonce); err != nil {
		t.Fatal(err)
	}
	if err := c.ReleaseLease(ctx, "demo", m.ID, lease.Nonce); err != nil {
		t.Errorf("a second release (lease gone): %v", err)
	}
	if _, err := c.FindLease(ctx, "demo", m.ID); !IsNotFound(err) {
		t.Errorf("lease after release: %v", err)
	}
	s := env.summary(t)
	want := fly.MachineSummary{ID: m.ID, State: "started", SecretsVersion: uint64(set.Version), Restarts: 1}
	if s[0] != want || s[1].Restarts != 0 {
		t.Errorf("emulator sees %+v", s)
	}

	// The other machine is leased elsewhere: an update without the nonce is refused (409, retried
	// within the budget, then returned).
	other, err := env.client.AcquireLease(ctx, "demo", s[1].ID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	short := New(env.url, emulator.DefaultFlyToken,
		WithRetries(2500*time.Millisecond, 200*time.Millisecond, 400*time.Millisecond),
		WithShared(NewShared(FlyPacing())))
	_, err = short.UpdateMachine(ctx, "demo", s[1].ID, "", LaunchMachineInput{Config: m.Config})
	if statusOf(err) != http.StatusConflict || !strings.Contains(err.Error(), "lease currently held by") {
		t.Errorf("update of a machine leased by another: %v", err)
	}
	if _, err := short.AcquireLease(ctx, "demo", s[1].ID, time.Minute); statusOf(err) != http.StatusConflict {
		t.Errorf("second lease: %v", err)
	}
	if err := c.ReleaseLease(ctx, "demo", s[1].ID, other.Nonce); err != nil {
		t.Fatal(err)
	}
	if leases, _ := env.srv.Fly().Leases("demo"); leases.Held != 0 {
		t.Errorf("leases %+v", leases)
	}
}

// An update whose answer is lost has restarted the machine already: the client settles it
// (reads the machine, sees the new version) instead of restarting it a second time.
func TestUpdateWhoseAnswerIsLostRestartsOnce(t *testing.T) {
	env, m := newLossyEnv(t, func(r *http.Request) bool {
		return r.Method == http.MethodPost && !strings.Contains(r.URL.Path, "/lease")
	})
	c, ctx := env.client, context.Background()
	lease, err := c.AcquireLease(ctx, "demo", m.ID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	updated, err := c.UpdateMachine(ctx, "demo", m.ID, lease.Nonce,
		LaunchMachineInput{Config: m.Config, CurrentVersion: m.InstanceID})
	if err != nil {
		t.Fatal(err)
	}
	if updated.InstanceID == m.InstanceID || updated.InstanceID == "" {
		t.Errorf("settled update answered %+v", updated)
	}
	if s := env.summary(t); s[0].Restarts != 1 {
		t.Errorf("%d restarts after one update whose answer was lost, want 1", s[0].Restarts)
	}
	if n := env.srv.Stats().Routes[updateRoute]; n != 1 {
		t.Errorf("%d update requests, want the one (settled by a read)", n)
	}

	// Without the version it is based on, an update whose outcome is unknown is not retried.
	env.proxy.lost.Store(0)
	_, err = c.UpdateMachine(ctx, "demo", m.ID, lease.Nonce, LaunchMachineInput{Config: m.Config})
	if statusOf(err) != http.StatusBadGateway {
		t.Errorf("update without current_version after a lost answer: %v", err)
	}
	if n := env.srv.Stats().Routes[updateRoute]; n != 2 {
		t.Errorf("%d update requests, want no retry of the second", n)
	}
	if err := c.ReleaseLease(ctx, "demo", m.ID, lease.Nonce); err != nil {
		t.Fatal(err)
	}
}

// A lease whose answer is lost is this call's own: it is found by its description, not waited
// for as another's until it expires.
func TestLeaseWhoseAnswerIsLostIsFound(t *testing.T) {
	env, m := newLossyEnv(t, func(r *http.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/lease")
	})
	c, ctx := env.client, context.Background()
	lease, err := c.AcquireLease(ctx, "demo", m.ID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if n := env.srv.Stats().Routes[leaseRoute]; n != 1 {
		t.Errorf("%d lease requests, want 1", n)
	}
	if err := c.ReleaseLease(ctx, "demo", m.ID, lease.Nonce); err != nil {
		t.Fatal(err)
	}
	if leases, _ := env.srv.Fly().Leases("demo"); leases.Held != 0 {
		t.Errorf("the lost lease is still held: %+v", leases)
	}
}

// A release whose answer is lost is retried and meets "lease not found": released.
func TestReleaseWhoseAnswerIsLost(t *testing.T) {
	env, m := newLossyEnv(t, func(r *http.Request) bool { return r.Method == http.MethodDelete })
	c, ctx := env.client, context.Background()
	lease, err := c.AcquireLease(ctx, "demo", m.ID, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ReleaseLease(ctx, "demo", m.ID, lease.Nonce); err != nil {
		t.Fatal(err)
	}
	if n := env.srv.Stats().Routes["DELETE /v1/apps/{app}/machines/{id}/lease"]; n != 2 {
		t.Errorf("%d release requests, want the lost one and its retry", n)
	}
}

// newLossyEnv is an emulator with one machine whose proxy loses the first answer to a request
// that matches.
func newLossyEnv(t *testing.T, match func(r *http.Request) bool) (*machineEnv, Machine) {
	t.Helper()
	env := newMachineEnv(t, 1)
	env.proxy.match, env.proxy.lose = match, 1
	machines, err := env.client.ListMachines(context.Background(), "demo")
	if err != nil || len(machines) != 1 {
		t.Fatalf("machines %v: %v", machines, err)
	}
	return env, machines[0]
}

// A 412 to an update is told from facts, never from its message: with min_secrets_version and a
// machine still at current_version it is the secrets version not there yet, waited out; with the
// machine moved on, or without min_secrets_version, it is final.
func TestUpdate412(t *testing.T) {
	for _, tc := range []struct {
		name    string
		input   LaunchMachineInput
		machine string // the instance the machine is at when read
		retried bool
	}{
		{"secrets version, no current_version", LaunchMachineInput{MinSecretsVersion: 5}, "V1", true},
		{"secrets version, machine still at current_version",
			LaunchMachineInput{MinSecretsVersion: 5, CurrentVersion: "V1"}, "V1", true},
		{"machine moved on", LaunchMachineInput{MinSecretsVersion: 5, CurrentVersion: "V1"}, "V3", false},
		{"no min_secrets_version", LaunchMachineInput{CurrentVersion: "V1"}, "V1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var updates atomic.Int32
			c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodGet {
					writeBody(w, `{"id":"m1","instance_id":"`+tc.machine+`","state":"started"}`)
					return
				}
				if updates.Add(1) == 1 {
					// The same text whatever the cause: it decides nothing.
					writeError(w, http.StatusPreconditionFailed, `{"error":"precondition failed (secrets)"}`)
					return
				}
				writeBody(w, `{"id":"m1","instance_id":"V2","state":"replacing"}`)
			})
			tc.input.Config = MachineConfig(`{"image":"x"}`)
			got, err := c.UpdateMachine(context.Background(), "a", "m1", "", tc.input)
			switch {
			case tc.retried && (err != nil || got.InstanceID != "V2"):
				t.Errorf("a 412 for the secrets version was not waited out: %+v %v", got, err)
			case !tc.retried && (statusOf(err) != 412 || updates.Load() != 1):
				t.Errorf("a final 412: %v after %d updates", err, updates.Load())
			}
		})
	}
}

// What an update sends: the config as it came, the nonce header, and the fields fly-go sends.
func TestUpdateRequest(t *testing.T) {
	config := MachineConfig(`{"image":"registry.fly.io/a:1","zeta":{"kept":[1,2]},"env":{"A":"b"}}`)
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		checkRequest(t, r, http.MethodPost, "/v1/apps/my-app/machines/m%2F1", true)
		if got := r.Header.Get("fly-machine-lease-nonce"); got != "n0nce" {
			t.Errorf("nonce header %q", got)
		}
		var body map[string]json.RawMessage
		if err := json.Unmarshal(readBody(t, r), &body); err != nil {
			t.Fatal(err)
		}
		if string(body["config"]) != string(config) || string(body["min_secrets_version"]) != "7" ||
			string(body["current_version"]) != `"V1"` || string(body["skip_launch"]) != "true" {
			t.Errorf("body %v", body)
		}
		writeBody(w, `{"id":"m/1","instance_id":"V2","state":"stopped","config":{"image":"x"},"checks":[
			{"name":"bg_deployments_compat_1","status":"passing"},{"name":"http","status":"critical","output":"refused"}]}`)
	})
	got, err := c.UpdateMachine(context.Background(), "my-app", "m/1", "n0nce", LaunchMachineInput{
		Config: config, MinSecretsVersion: 7, CurrentVersion: "V1", SkipLaunch: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Checks) != 1 || got.Checks[0] != (CheckStatus{Name: "http", Status: "critical", Output: "refused"}) {
		t.Errorf("checks %+v (the compat check is dropped, as fly-go does)", got.Checks)
	}
}

// A create whose answer is lost may have made a machine: it is not retried.
func TestCreateIsNotRetriedAfterALostAnswer(t *testing.T) {
	var requests atomic.Int32
	c, _ := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		dropConnection(t, w)
	})
	image := LaunchMachineInput{Config: MachineConfig(`{"image":"x"}`)}
	if _, err := c.CreateMachine(context.Background(), "a", image); err == nil || requests.Load() != 1 {
		t.Errorf("create: %v after %d requests", err, requests.Load())
	}
}

// Waits longer than Fly's 60 s cap are a series of waits; the time up is a WaitTimeoutError.
func TestWaitLoopsPastTheCap(t *testing.T) {
	var mu sync.Mutex
	var queries []string
	var sleeps *sleepRecorder
	answers := []int{408, 408, 200}
	c, rec := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		status := answers[0]
		answers = answers[1:]
		mu.Unlock()
		// The wait blocks for its timeout before a 408.
		if status == 408 {
			_ = sleeps.sleep(r.Context(), 60*time.Second) // recorded; a request gone is answered all the same
			writeError(w, 408, `{"error":"deadline_exceeded"}`)
			return
		}
		writeBody(w, `{"ok":true}`)
	})
	sleeps = rec
	if err := c.WaitMachine(context.Background(), "a", "m1", "V2", "started", 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	want := "instance_id=V2&state=started&timeout=60&version=V2"
	if len(queries) != 3 || queries[0] != want || queries[2] != want {
		t.Errorf("queries %q", queries)
	}

	// 100 s in all: a wait of 60 s, then one of the 40 s left, then the time is up.
	queries, answers = nil, []int{408, 408, 408}
	c2, rec2 := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.Query().Get("timeout"))
		mu.Unlock()
		seconds := map[string]time.Duration{"60": 60 * time.Second, "40": 40 * time.Second}[r.URL.Query().Get("timeout")]
		_ = sleeps.sleep(r.Context(), seconds) // recorded; a request gone is answered all the same
		writeError(w, 408, `{"error":"deadline_exceeded"}`)
	})
	sleeps = rec2
	err := c2.WaitMachine(context.Background(), "a", "m1", "", "started", 100*time.Second)
	if !IsWaitTimeout(err) ||
		!strings.Contains(err.Error(), `machine m1 of app "a" did not reach state "started" within 1m40s`) {
		t.Errorf("err %v", err)
	}
	if strings.Join(queries, ",") != "60,40" {
		t.Errorf("timeouts asked %q", queries)
	}
}

func TestMachineKinds(t *testing.T) {
	for _, tt := range []struct {
		name              string
		state, metadata   string
		release, console  bool
		active            bool
		group, checkCount string
	}{
		{name: "app", state: "started", metadata: `{"fly_platform_version":"v2","fly_process_group":"app"}`, active: true},
		{name: "release command", state: "stopped", metadata: `{"fly_process_group":"fly_app_release_command"}`,
			release: true, active: true},
		{name: "old release command", state: "started", metadata: `{"process_group":"release_command"}`,
			release: true, active: true},
		{name: "console", state: "started", metadata: `{"fly_platform_version":"v2","fly_process_group":"fly_app_console"}`,
			console: true, active: true},
		{name: "console of apps v1", state: "started", metadata: `{"fly_process_group":"fly_app_console"}`, active: true},
		{name: "destroyed", state: "destroyed", metadata: `{}`},
		{name: "destroying", state: "destroying", metadata: `null`},
	} {
		m := Machine{State: tt.state, Config: MachineConfig(`{"image":"x","metadata":` + tt.metadata + `}`)}
		if m.IsReleaseCommandMachine() != tt.release || m.IsFlyAppsConsole() != tt.console || m.IsActive() != tt.active {
			t.Errorf("%s: release %v console %v active %v",
				tt.name, m.IsReleaseCommandMachine(), m.IsFlyAppsConsole(), m.IsActive())
		}
	}
}

func TestMachineConfigWithMetadata(t *testing.T) {
	in := MachineConfig(`{"image":"x","env":{"B":"1","A":"2"},"metadata":{"fly_process_group":"app","n":"1"},` +
		`"services":[{"checks":[{}]}],"checks":{"a":{}}}`)
	out, err := in.WithMetadata("edgesecrets_secrets_version", "7")
	if err != nil {
		t.Fatal(err)
	}
	if md := out.Metadata(); md["edgesecrets_secrets_version"] != "7" || md["fly_process_group"] != "app" ||
		md["n"] != "1" {
		t.Errorf("metadata %v", md)
	}
	var before, after map[string]json.RawMessage
	if err := json.Unmarshal(in, &before); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &after); err != nil {
		t.Fatal(err)
	}
	for key, value := range before {
		if key != "metadata" && string(after[key]) != string(value) {
			t.Errorf("%s changed: %s -> %s", key, value, after[key])
		}
	}
	if out.CheckCount() != 2 {
		t.Errorf("check count %d", out.CheckCount())
	}
	if bare, err := MachineConfig(`{"image":"x"}`).WithMetadata("k", "v"); err != nil || bare.Metadata()["k"] != "v" {
		t.Errorf("no metadata before: %s %v", bare, err)
	}
	if _, err := MachineConfig(`[1]`).WithMetadata("k", "v"); err == nil {
		t.Error("a config that is not an object")
	}
}

func TestIdentity(t *testing.T) {
	a, b := New("http://x", "fm2_secret-token"), New("http://x", "fm2_other")
	if a.Identity() == b.Identity() || a.Identity() != New("http://x/", "fm2_secret-token").Identity() {
		t.Errorf("identities %q %q", a.Identity(), b.Identity())
	}
	if strings.Contains(a.Identity(), "secret") || !strings.HasPrefix(a.Identity(), "http://x ") {
		t.Errorf("identity %q", a.Identity())
	}
}
