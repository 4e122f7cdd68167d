package emulator_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/fly"
)

type machineReply struct {
	ID         string           `json:"id"`
	State      string           `json:"state"`
	InstanceID string           `json:"instance_id"`
	Config     map[string]any   `json:"config"`
	Checks     []map[string]any `json:"checks"`
}

func machineSummaries(t *testing.T, base, app string) []fly.MachineSummary {
	t.Helper()
	var got []fly.MachineSummary
	call(t, "GET", base+"/_emulator/fly/apps/"+app+"/machines", "", nil).want(t, 200).decode(t, &got)
	return got
}

// --fly-machines (Options.FlyMachines) gives each start app started machines,
// again after a reset; the inspection routes are neither counted nor
// authenticated.
func TestStartAppsGetMachines(t *testing.T) {
	srv, base := start(t, emulator.Options{FlyApps: []string{"demo", "other"}, FlyMachines: 3})
	for _, app := range []string{"demo", "other"} {
		got := machineSummaries(t, base, app)
		if len(got) != 3 {
			t.Fatalf("%s has %d machines, want 3", app, len(got))
		}
		for _, m := range got {
			if m.State != "started" || m.Restarts != 0 || m.Leased {
				t.Errorf("%s: %+v", app, m)
			}
		}
	}
	var list []machineReply
	call(t, "GET", base+"/v1/apps/demo/machines", flyAuth, nil).want(t, 200).decode(t, &list)
	if len(list) != 3 || list[0].Config["image"] != "registry.fly.io/demo:deployment-emulator" ||
		len(list[0].Checks) != 1 {
		t.Errorf("list %+v", list)
	}
	var leases fly.LeaseSummary
	call(t, "GET", base+"/_emulator/fly/apps/demo/leases", "", nil).want(t, 200).decode(t, &leases)
	if leases != (fly.LeaseSummary{}) {
		t.Errorf("leases %+v", leases)
	}
	if s := srv.Stats(); s.Total != 1 {
		t.Errorf("stats %+v: the inspection routes were counted", s)
	}
	before := list[0].ID
	srv.Reset()
	after := machineSummaries(t, base, "demo")
	if len(after) != 3 || after[0].ID == before {
		t.Errorf("after reset: %+v", after)
	}
	if got, err := srv.Fly().Machines("demo"); err != nil || len(got) != 3 {
		t.Errorf("Fly().Machines: %v %v", got, err)
	}
	if _, err := emulator.New(emulator.Options{FlyMachines: -1}); err == nil {
		t.Error("accepted a negative machine count")
	}
}

// Fly's documented limit for machine actions is per machine: a fourth quick
// update of one machine is refused while another machine's goes through;
// getting one machine allows 5/s with bursts of 10.
func TestMachineRateLimitsArePerMachine(t *testing.T) {
	_, base := start(t, emulator.Options{FlyApps: []string{"demo"}, FlyMachines: 2, InstantFlyMachines: true})
	machines := machineSummaries(t, base, "demo")
	update := func(id string) reply {
		return call(t, "POST", base+"/v1/apps/demo/machines/"+id, flyAuth,
			map[string]any{"config": map[string]any{"image": "registry.fly.io/demo:v2"}})
	}
	for range 3 {
		update(machines[0].ID).want(t, 200)
	}
	limited := update(machines[0].ID).want(t, 429)
	if limited.header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	update(machines[1].ID).want(t, 200)

	for range 10 {
		call(t, "GET", base+"/v1/apps/demo/machines/"+machines[0].ID, flyAuth, nil).want(t, 200)
	}
	call(t, "GET", base+"/v1/apps/demo/machines/"+machines[0].ID, flyAuth, nil).want(t, 429)
	call(t, "GET", base+"/v1/apps/demo/machines/"+machines[1].ID, flyAuth, nil).want(t, 200)
}

// A lost update answer still restarts the machine: a client that retries
// blindly restarts it twice.
func TestLostUpdateAnswersApplyTheUpdate(t *testing.T) {
	srv, base := start(t, emulator.Options{FlyApps: []string{"demo"}, FlyMachines: 1, InstantFlyMachines: true,
		NoRateLimit: true, LostResponseRate: 1})
	id := machineSummaries(t, base, "demo")[0].ID
	r := call(
		t,
		"POST",
		base+"/v1/apps/demo/machines/"+id,
		flyAuth,
		map[string]any{"config": map[string]any{"image": "x"}},
	)
	if r.err == nil && r.status != 502 {
		t.Fatalf("update answered %d, want its answer lost", r.status)
	}
	if got := machineSummaries(t, base, "demo")[0]; got.Restarts != 1 {
		t.Errorf("after a lost update: %+v", got)
	}
	if n := srv.Stats().Faults["lost_response"]; n != 1 {
		t.Errorf("lost responses %d", n)
	}
}

func TestMachinesAreKeptInTheStateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	opts := emulator.Options{FlyApps: []string{"demo"}, FlyMachines: 2, StatePath: path, InstantFlyMachines: true}
	first, base := start(t, opts)
	ids := machineSummaries(t, base, "demo")
	call(
		t,
		"POST",
		base+"/v1/apps/demo/machines/"+ids[0].ID,
		flyAuth,
		map[string]any{"config": map[string]any{"image": "x"}},
	).want(t, 200)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	_, base2 := start(t, opts)
	got := machineSummaries(t, base2, "demo")
	if len(got) != 2 || got[0].ID != ids[0].ID || got[0].Restarts != 1 || got[1].ID != ids[1].ID {
		t.Errorf("restored %+v, want the two machines with the first restarted once", got)
	}
}

// The default machines take a while to boot and to pass their checks.
func TestMachinesAreSlowByDefault(t *testing.T) {
	srv, base := start(t, emulator.Options{FlyApps: []string{"demo"}, FlyMachines: 1})
	if o := srv.Options(); o.FlyMachineBootDelay != emulator.DefaultFlyMachineBootDelay ||
		o.FlyMachineCheckDelay != emulator.DefaultFlyMachineCheckDelay {
		t.Errorf("delays %v %v", o.FlyMachineBootDelay, o.FlyMachineCheckDelay)
	}
	id := machineSummaries(t, base, "demo")[0].ID
	var updated machineReply
	call(t, "POST", base+"/v1/apps/demo/machines/"+id, flyAuth,
		map[string]any{"config": map[string]any{"image": "x", "checks": map[string]any{"c": map[string]any{"type": "tcp"}}}}).
		want(t, 200).decode(t, &updated)
	if updated.State != "replacing" {
		t.Errorf("just updated: %s", updated.State)
	}
	began := time.Now()
	call(
		t,
		"GET",
		fmt.Sprintf("%s/v1/apps/demo/machines/%s/wait?state=started&timeout=10&version=%s", base, id, updated.InstanceID),
		flyAuth,
		nil,
	).want(t, 200)
	if waited := time.Since(began); waited < emulator.DefaultFlyMachineBootDelay/2 {
		t.Errorf("started after %v", waited)
	}
	var now machineReply
	call(t, "GET", base+"/v1/apps/demo/machines/"+id, flyAuth, nil).want(t, 200).decode(t, &now)
	if len(now.Checks) != 1 || now.Checks[0]["status"] != "critical" {
		t.Errorf("checks right after the start: %+v", now.Checks)
	}
}
