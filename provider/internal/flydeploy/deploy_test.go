package flydeploy

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/fly"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/flyapi"
)

const secretValue = "s3cret-value-never-shown"

type env struct {
	t      *testing.T
	url    string
	srv    *emulator.Server
	client *flyapi.Client
	d      *Deployer
}

// newEnv serves an emulator whose app "demo" has n started machines, with the realistic
// defaults (rate limits, boot and check delays, lagging reads) unless opts say otherwise.
func newEnv(t *testing.T, n int, opts emulator.Options) *env {
	t.Helper()
	opts.FlyApps, opts.FlyMachines = []string{"demo"}, n
	srv, err := emulator.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	client := flyapi.New(ts.URL, emulator.DefaultFlyToken, flyapi.WithShared(flyapi.NewShared(flyapi.FlyPacing())))
	d := New(Options{MaxGather: time.Hour, HealthPoll: 100 * time.Millisecond})
	return &env{t: t, url: ts.URL, srv: srv, client: client, d: d}
}

// write sets a secret and returns the app's version.
func (e *env) write(name string) int64 {
	e.t.Helper()
	res, err := e.client.SetSecret(context.Background(), "demo", name, secretValue)
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Version
}

func (e *env) machines() []fly.MachineSummary {
	e.t.Helper()
	got, err := e.srv.Fly().Machines("demo")
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

func (e *env) leases() fly.LeaseSummary {
	e.t.Helper()
	got, err := e.srv.Fly().Leases("demo")
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

// progressLog collects progress messages.
type progressLog struct {
	mu   sync.Mutex
	msgs []string
}

func (p *progressLog) add(msg string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, msg)
}

func (p *progressLog) all() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.msgs, "\n")
}

// addMachine creates a machine with the given process group metadata; stopped ones are made
// by an update with skip_launch, as Fly has no other way here.
func (e *env) addMachine(metadata string, stopped bool) string {
	e.t.Helper()
	ctx := context.Background()
	config := flyapi.MachineConfig(`{"image":"registry.fly.io/demo:1","metadata":` + metadata + `}`)
	m, err := e.client.CreateMachine(ctx, "demo", flyapi.LaunchMachineInput{Config: config})
	if err != nil {
		e.t.Fatal(err)
	}
	if stopped {
		stop := flyapi.LaunchMachineInput{Config: m.Config, SkipLaunch: true}
		if _, err := e.client.UpdateMachine(ctx, "demo", m.ID, "", stop); err != nil {
			e.t.Fatal(err)
		}
	}
	return m.ID
}

func summaryOf(machines []fly.MachineSummary, id string) fly.MachineSummary {
	for _, m := range machines {
		if m.ID == id {
			return m
		}
	}
	return fly.MachineSummary{}
}

// Rolling: every started machine restarts once onto the version, one at a time; a stopped
// machine takes the config and stays stopped; release-command and console machines are left
// alone.
func TestRollingDeploy(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3, emulator.Options{})
	stopped := e.addMachine(`{"fly_platform_version":"v2","fly_process_group":"app"}`, true)
	release := e.addMachine(`{"fly_platform_version":"v2","fly_process_group":"fly_app_release_command"}`, false)
	console := e.addMachine(`{"fly_platform_version":"v2","fly_process_group":"fly_app_console"}`, false)
	before := e.machines()
	e.write("A")
	version := e.write("B")

	progress := &progressLog{}
	res, err := e.d.Deploy(context.Background(), e.client, Request{App: "demo", Version: version, Progress: progress.add})
	if err != nil {
		t.Fatal(err)
	}
	after := e.machines()
	for _, m := range before[:3] {
		if got := summaryOf(after, m.ID); got.State != "started" || got.SecretsVersion != uint64(version) ||
			got.Restarts != 1 || got.Leased {
			t.Errorf("started machine after the rollout: %+v", got)
		}
	}
	if got := summaryOf(after, stopped); got.State != "stopped" || got.Restarts != 0 {
		t.Errorf("stopped machine: %+v", got)
	}
	if m, err := e.client.GetMachine(context.Background(), "demo", stopped); err != nil || secretsVersion(m) != version {
		t.Errorf("the stopped machine's config does not record version %d: %v %v", version, m.Config, err)
	}
	for _, id := range []string{release, console} {
		if got := summaryOf(after, id); got.Restarts != 0 {
			t.Errorf("release/console machine %s restarted: %+v", id, got)
		}
	}
	if l := e.leases(); l != (fly.LeaseSummary{Held: 0, MaxHeldAtOnce: 1}) {
		t.Errorf("leases %+v, want none held and never two at once", l)
	}
	if res.Version != version || len(res.Machines) != 4 {
		t.Fatalf("result %+v", res)
	}
	for _, m := range res.Machines {
		if m.SecretsVersion != version || (m.ID == stopped) != (m.State == "stopped") {
			t.Errorf("result machine %+v", m)
		}
	}
	said := progress.all()
	for _, want := range []string{
		"rolling 1/4: machine " + before[0].ID, "rolling 4/4: machine " + stopped,
		"waiting for it to start (version ", "waiting for its health checks: 0/1 passing", "health checks passing (1/1)",
		fmt.Sprintf("all 4 machines run secrets version %d", version),
	} {
		if !strings.Contains(said, want) {
			t.Errorf("progress lacks %q:\n%s", want, said)
		}
	}
	if strings.Contains(said, secretValue) {
		t.Error("progress shows a secret value")
	}

	// A rerun at the same version restarts nothing.
	res, err = e.d.Deploy(context.Background(), e.client, Request{App: "demo", Version: version})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range e.machines() {
		if m.Restarts != summaryOf(after, m.ID).Restarts {
			t.Errorf("a rerun restarted %s", m.ID)
		}
	}
	if len(res.Machines) != 4 {
		t.Errorf("rerun result %+v", res)
	}
}

func TestImmediateDeploy(t *testing.T) {
	e := newEnv(t, 4, emulator.Options{})
	version := e.write("A")
	req := Request{App: "demo", Version: version, Strategy: Immediate}
	if _, err := e.d.Deploy(context.Background(), e.client, req); err != nil {
		t.Fatal(err)
	}
	for _, m := range e.machines() {
		if m.State != "started" || m.SecretsVersion != uint64(version) || m.Restarts != 1 {
			t.Errorf("machine %+v", m)
		}
	}
	if l := e.leases(); l.Held != 0 || l.MaxHeldAtOnce < 2 {
		t.Errorf("leases %+v: want all released, several held at once", l)
	}
}

// A machine whose update fails stops a rolling rollout with an error naming it and what to
// run; no lease remains; the next deploy finishes the rest without restarting the ones done.
func TestFailingMachineStopsTheRollout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3, emulator.Options{})
	ids := e.machines()
	version := e.write("A")
	if err := e.srv.Fly().FailNextUpdate("demo", ids[1].ID); err != nil {
		t.Fatal(err)
	}
	_, err := e.d.Deploy(context.Background(), e.client,
		Request{App: "demo", Version: version, MachineTimeout: 3 * time.Second})
	var rollout *RolloutError
	if !errors.As(err, &rollout) || len(rollout.Failed) != 1 || rollout.Failed[0].MachineID != ids[1].ID ||
		rollout.Done != 1 || rollout.Total != 3 {
		t.Fatalf("err %v", err)
	}
	for _, want := range []string{
		"stopped at machine " + ids[1].ID, "updating it", "fail-next-update", "1 of 3 machines run secrets version",
		"fly machine status " + ids[1].ID + " -a demo", "pulumi up",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	if l := e.leases(); l.Held != 0 {
		t.Errorf("leases after the failure: %+v", l)
	}
	got := e.machines()
	if got[0].Restarts != 1 || got[1].Restarts != 0 || got[2].Restarts != 0 {
		t.Errorf("after the failure: %+v", got)
	}

	progress := &progressLog{}
	rerun := Request{App: "demo", Version: version, Progress: progress.add}
	if _, err := e.d.Deploy(context.Background(), e.client, rerun); err != nil {
		t.Fatal(err)
	}
	for _, m := range e.machines() {
		if m.Restarts != 1 || m.SecretsVersion != uint64(version) {
			t.Errorf("after the rerun: %+v", m)
		}
	}
	if !strings.Contains(progress.all(), "deploying secrets version 1 to 2 of 3 machines") {
		t.Errorf("the rerun did not resume:\n%s", progress.all())
	}
}

// A machine that never passes its health checks fails after the timeout, its lease released.
func TestUnhealthyMachineTimesOut(t *testing.T) {
	e := newEnv(t, 2, emulator.Options{})
	ids := e.machines()
	version := e.write("A")
	if err := e.srv.Fly().FailChecks("demo", ids[0].ID); err != nil {
		t.Fatal(err)
	}
	_, err := e.d.Deploy(context.Background(), e.client,
		Request{App: "demo", Version: version, MachineTimeout: 2 * time.Second})
	want := "machine " + ids[0].ID + ": waiting for its health checks: not passing after 2s: 0/1 passing, alive critical"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err %v", err)
	}
	if l := e.leases(); l.Held != 0 {
		t.Errorf("leases %+v", l)
	}
	if got := e.machines(); got[1].Restarts != 0 {
		t.Errorf("the rollout went on past the failure: %+v", got)
	}
}

// A rollout writes the version into a machine's config with its update, before its checks pass:
// a machine that failed its checks says it runs the version. The rerun must not take that
// for done: while its checks fail, it is rolled again (and fails again, saying why).
func TestAMachineFailingItsChecksIsRolledAgain(t *testing.T) {
	e := newEnv(t, 1, emulator.Options{})
	ids := e.machines()
	version := e.write("A")
	if err := e.srv.Fly().FailChecks("demo", ids[0].ID); err != nil {
		t.Fatal(err)
	}
	req := Request{App: "demo", Version: version, MachineTimeout: time.Second}
	if _, err := e.d.Deploy(context.Background(), e.client, req); err == nil {
		t.Fatal("the first rollout passed although the machine's checks fail")
	}
	_, err := e.d.Deploy(context.Background(), e.client, req)
	if err == nil || !strings.Contains(err.Error(), "waiting for its health checks") {
		t.Fatalf("the rerun reported %v; want the machine's failing checks", err)
	}
	if got := e.machines(); got[0].Restarts != 2 {
		t.Errorf("the rerun did not roll the machine again: %+v", got[0])
	}
}

// Two deploys of one app by operations on their way together, at versions 5 and 6, are one
// rollout to 6: each machine restarts once, and both return. The rollout waits for the second
// however late it comes (MaxGather is an hour): it closes on what is in flight, not on a timer.
func TestConcurrentDeploysAreOneRollout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3, emulator.Options{})
	var versions []int64
	for i := range 6 {
		versions = append(versions, e.write(fmt.Sprintf("K%d", i)))
	}
	ops := []*flyapi.Op{e.client.Begin("demo", "", StageDeploy), e.client.Begin("demo", "", StageDeploy)}
	for _, op := range ops {
		op.Reached(flyapi.StageWrite) // their writes are done
	}
	var wg sync.WaitGroup
	results := make([]Result, 2)
	errs := make([]error, 2)
	for i, v := range versions[4:] {
		wg.Go(func() {
			defer ops[i].End()
			if i == 1 {
				time.Sleep(300 * time.Millisecond) // comes late: the rollout waits for it all the same
			}
			results[i], errs[i] = e.d.Deploy(context.Background(), e.client, Request{App: "demo", Version: v, Op: ops[i]})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil || results[i].Version != 6 {
			t.Errorf("deploy %d: %+v %v", i, results[i], err)
		}
	}
	for _, m := range e.machines() {
		if m.Restarts != 1 || m.SecretsVersion != 6 {
			t.Errorf("machine %+v: want one restart onto version 6", m)
		}
	}
}

// A deploy whose version the running rollout does not cover waits for the next rollout; one it
// covers returns with it.
func TestDeployDuringARollout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2, emulator.Options{})
	v1 := e.write("A")
	started := make(chan struct{})
	var once sync.Once
	first := make(chan error, 1)
	go func() {
		_, err := e.d.Deploy(context.Background(), e.client, Request{App: "demo", Version: v1, Progress: func(msg string) {
			if strings.Contains(msg, "rolling 1/2") {
				once.Do(func() { close(started) })
			}
		}})
		first <- err
	}()
	<-started
	covered := make(chan error, 1)
	go func() {
		_, err := e.d.Deploy(context.Background(), e.client, Request{App: "demo", Version: v1})
		covered <- err
	}()
	v2 := e.write("B")
	res, err := e.d.Deploy(context.Background(), e.client, Request{App: "demo", Version: v2})
	if err != nil || res.Version != v2 {
		t.Fatalf("second deploy: %+v %v", res, err)
	}
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := <-covered; err != nil {
		t.Fatal(err)
	}
	for _, m := range e.machines() {
		if m.Restarts != 2 || m.SecretsVersion != uint64(v2) {
			t.Errorf("machine %+v: want one restart per rollout", m)
		}
	}
}

// Lost answers and server errors on every kind of request: the rollout still restarts each
// machine exactly once and leaves no lease.
func TestRolloutThroughFaults(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3, emulator.Options{LostResponseRate: 0.25, FailRate: 0.1, Seed: 7})
	e.client = flyapi.New(e.url, emulator.DefaultFlyToken,
		flyapi.WithShared(flyapi.NewShared(flyapi.FlyPacing())),
		flyapi.WithRetries(time.Minute, 50*time.Millisecond, 400*time.Millisecond))
	version := e.write("A")
	if _, err := e.d.Deploy(context.Background(), e.client, Request{App: "demo", Version: version}); err != nil {
		t.Fatal(err)
	}
	for _, m := range e.machines() {
		if m.Restarts != 1 || m.SecretsVersion < uint64(version) {
			t.Errorf("machine %+v: want exactly one restart", m)
		}
	}
	if l := e.leases(); l.Held != 0 || l.MaxHeldAtOnce != 1 {
		t.Errorf("leases %+v", l)
	}
	if f := e.srv.Stats().Faults; f["lost_response"] == 0 {
		t.Errorf("no lost responses met: %v", f)
	}
}

// A cancelled deploy stops and releases its lease.
func TestCancelledDeployReleasesItsLease(t *testing.T) {
	e := newEnv(t, 2, emulator.Options{})
	version := e.write("A")
	ctx, cancel := context.WithCancel(context.Background())
	_, err := e.d.Deploy(ctx, e.client, Request{App: "demo", Version: version, Progress: func(msg string) {
		if strings.Contains(msg, "waiting for it to start") {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for e.leases().Held != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if l := e.leases(); l.Held != 0 {
		t.Errorf("leases after cancel: %+v", l)
	}
	if got := e.machines(); got[1].Restarts != 0 {
		t.Errorf("the cancelled rollout went on: %+v", got)
	}
}

func TestRequestChecks(t *testing.T) {
	d := New(Options{})
	c := flyapi.New("http://127.0.0.1:1", "t")
	for _, req := range []Request{{Version: 1}, {App: "a"}, {App: "a", Version: 1, Strategy: "canary"}} {
		if _, err := d.Deploy(context.Background(), c, req); !errors.Is(err, flyapi.ErrInvalidArgument) {
			t.Errorf("%+v: %v", req, err)
		}
	}
}

func TestEligible(t *testing.T) {
	config := func(group string) flyapi.MachineConfig {
		return flyapi.MachineConfig(`{"image":"x","metadata":{"fly_platform_version":"v2",` +
			`"fly_process_group":"` + group + `"}}`)
	}
	var got []string
	for _, m := range []flyapi.Machine{
		{ID: "app", State: "started", Config: config("app")},
		{ID: "stopped", State: "stopped", Config: config("worker")},
		{ID: "destroyed", State: "destroyed", Config: config("app")},
		{ID: "destroying", State: "destroying", Config: config("app")},
		{ID: "release", State: "stopped", Config: config("fly_app_release_command")},
		{ID: "console", State: "started", Config: config("fly_app_console")},
	} {
		if eligible(m) {
			got = append(got, m.ID)
		}
	}
	if !slices.Equal(got, []string{"app", "stopped"}) {
		t.Errorf("eligible %v", got)
	}
}
