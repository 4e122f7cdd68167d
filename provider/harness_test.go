package provider

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blang/semver"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"
	presource "github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/emulatortest"
	emufly "github.com/edgesecrets/pulumi-edgesecrets/emulator/fly"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/cloudflare"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/fly"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/cfapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/config"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/flyapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/version"
)

// harness runs the provider through pulumi-go-provider's integration server against an
// emulator over real HTTP, the way the engine would drive it. Each harness has its own
// emulator and provider instance, sharing nothing with another's: the tests that mostly wait
// (rate limits, read lag, machines, takeover confirmations) run in parallel (t.Parallel),
// which also shows that no state outlives an instance.
type harness struct {
	t      testing.TB
	server integration.Server
	emu    *emulator.Server
	url    string
	opts   emulator.Options
	timing *config.Timing
	// config is the provider configuration of h.server: another "stack" serves with it too.
	config property.Map
}

const testFlyApp = "demo-app"

// newHarness starts an emulator and a provider configured for it.
func newHarness(t testing.TB, opts emulator.Options) *harness {
	t.Helper()
	if len(opts.FlyApps) == 0 {
		opts.FlyApps = []string{testFlyApp}
	}
	emu, ts := emulatortest.Start(t, opts)
	h := &harness{t: t, emu: emu, url: ts.URL, opts: emu.Options(), timing: testTiming()}
	h.config = property.NewMap(map[string]property.Value{
		"flyApiUrl":           property.New(ts.URL),
		"flyApiToken":         property.New(h.opts.FlyToken).WithSecret(true),
		"cloudflareApiUrl":    property.New(ts.URL + "/client/v4"),
		"cloudflareApiToken":  property.New(h.opts.CloudflareToken).WithSecret(true),
		"cloudflareAccountId": property.New(h.opts.CloudflareAccount),
	})
	h.server = h.newServer(h.config)
	return h
}

// testTiming is the provider's timing with the long waits shortened, so that tests drive the
// slow paths (a store that never appears, a secret that stays pending) quickly.
func testTiming() *config.Timing {
	t := config.DefaultTiming()
	t.RetryBudget, t.MinBackoff, t.MaxBackoff = 30*time.Second, 20*time.Millisecond, time.Second
	t.AttemptTimeout = 10 * time.Second
	t.Poll, t.ActiveWait, t.StoreWait = 20*time.Millisecond, 10*time.Second, time.Second
	// The emulator's reads lag 200ms: a takeover confirms its write 2 x 500ms + 3s after it.
	t.FlyReadLag, t.UnsetFreshness = 500*time.Millisecond, 3*time.Second
	t.CreateGrace = 300 * time.Millisecond
	t.PruneMargin = 0 // tests arrange what was written before a takeover by the order of their steps
	return t
}

// allRules are every resource type's diff rules, by type token.
func allRules() map[string]rules.Rules {
	all := map[string]rules.Rules{}
	for _, m := range []rules.Module{fly.Module(), cloudflare.Module()} {
		maps.Copy(all, m.Rules)
	}
	return all
}

// newServer starts a provider configured with config.
func (h *harness) newServer(config property.Map) integration.Server {
	h.t.Helper()
	s, err := integration.NewServer(h.t.Context(), Name, semver.MustParse(version.Version),
		integration.WithProvider(newProvider(h.timing)))
	require.NoError(h.t, err)
	require.NoError(h.t, s.Configure(p.ConfigureRequest{Args: config}))
	return s
}

// fly is an out-of-band Fly client: changes made behind the provider's back, as from another
// process (flyctl): its pacing and the versions it has seen are its own.
func (h *harness) fly() *flyapi.Client {
	pacing := flyapi.SharedOptions{PerSecond: flyapi.FlyRequestsPerSecond, Burst: flyapi.FlyRequestBurst}
	return flyapi.New(h.url, h.opts.FlyToken, flyapi.WithShared(flyapi.NewShared(pacing)))
}

// flySecret is what the emulator holds for the app's secret now (not a lagging read).
func (h *harness) flySecret(app, name string) (emufly.SecretState, bool) {
	state, _ := h.emu.State()
	for _, a := range state.Apps {
		for _, s := range a.Secrets {
			if a.Name == app && s.Name == name {
				return s, true
			}
		}
	}
	return emufly.SecretState{}, false
}

// flySecretNames lists the app's secrets the emulator holds now.
func (h *harness) flySecretNames(app string) []string {
	state, _ := h.emu.State()
	var names []string
	for _, a := range state.Apps {
		for _, s := range a.Secrets {
			if a.Name == app {
				names = append(names, s.Name)
			}
		}
	}
	return names
}

// outOfBandLag waits until a write made outside the provider reaches every read, as time
// passing between someone's `fly secrets set` and a `pulumi refresh` would.
// That next command is a new provider process: it starts with no listing of the last one's.
func (h *harness) outOfBandLag() {
	time.Sleep(h.emu.Options().FlyReadLag)
	h.newProcess()
}

// nextSecond waits until the clock is past the next whole second: Fly's reads give times to the
// second, so what was written before then reads as earlier than what is done after (a prune
// takes a secret written in its own second for one written since, and keeps it).
func (h *harness) nextSecond() {
	now := time.Now()
	time.Sleep(now.Truncate(time.Second).Add(time.Second).Sub(now) + time.Millisecond)
}

// newProcess starts the provider anew, as the engine does for each operation: it starts with
// no listing of the last one's.
func (h *harness) newProcess() { h.server = h.newServer(h.config) }

// operation runs f as an operation of its own (a new provider process) and returns the API
// requests it made, by route.
func (h *harness) operation(f func()) emulator.Stats {
	h.t.Helper()
	h.newProcess()
	return h.calls(f)
}

// secretsVersion reads a resource's recorded secrets version.
func secretsVersion(state property.Map) int64 { return int64(state.Get("version").AsNumber()) }

// cloudflare is an out-of-band Cloudflare client.
func (h *harness) cloudflare() *cfapi.Client {
	return cfapi.New(h.url+"/client/v4", h.opts.CloudflareToken, h.opts.CloudflareAccount, cfapi.Options{})
}

// calls runs f and returns the API requests it made, by route.
func (h *harness) calls(f func()) emulator.Stats {
	h.t.Helper()
	h.emu.ResetStats()
	f()
	return h.emu.Stats()
}

// res is one resource under test, tracking what the engine would keep in state.
type res struct {
	h      *harness
	urn    presource.URN
	id     string
	inputs property.Map // last checked inputs
	state  property.Map
	// initErrors are the reasons the last create or update left the resource partly
	// initialised; the engine then runs Update on the next up even without a diff.
	initErrors []string
}

func (h *harness) resource(typ, name string) *res {
	return &res{h: h, urn: presource.NewURN("test", "edgesecrets", "", tokens.Type(typ), name)}
}

func props(kv map[string]any) property.Map {
	m := map[string]property.Value{}
	for k, v := range kv {
		m[k] = value(v)
	}
	return property.NewMap(m)
}

// value converts plain Go test data (strings, bools, numbers, lists) to a property value.
func value(v any) property.Value {
	switch v := v.(type) {
	case property.Value:
		return v
	case []any:
		items := make([]property.Value, len(v))
		for i, item := range v {
			items[i] = value(item)
		}
		return property.New(items)
	case map[string]any:
		return property.New(props(v))
	}
	pv, err := property.Any(v)
	if err != nil {
		panic(err)
	}
	return pv
}

func secret(s string) property.Value { return property.New(s).WithSecret(true) }

// check runs Check with the resource's old inputs.
func (r *res) check(inputs property.Map) (property.Map, []p.CheckFailure) {
	r.h.t.Helper()
	resp, err := r.h.server.Check(p.CheckRequest{Urn: r.urn, State: r.inputs, Inputs: inputs})
	require.NoError(r.h.t, err)
	return resp.Inputs, resp.Failures
}

// mustCheck runs Check and fails the test on any failure.
func (r *res) mustCheck(inputs property.Map) property.Map {
	r.h.t.Helper()
	checked, failures := r.check(inputs)
	require.Empty(r.h.t, failures)
	return checked
}

// create previews then creates the resource.
func (r *res) create(inputs property.Map) *res {
	r.h.t.Helper()
	checked := r.mustCheck(inputs)
	_, err := r.h.server.Create(p.CreateRequest{Urn: r.urn, Properties: checked, DryRun: true})
	require.NoError(r.h.t, err, "preview create")
	resp, err := r.h.server.Create(p.CreateRequest{Urn: r.urn, Properties: checked})
	require.NoError(r.h.t, err, "create")
	require.NotEmpty(r.h.t, resp.ID)
	r.id, r.inputs, r.state = resp.ID, checked, resp.Properties
	r.initErrors = partial(resp.PartialState)
	return r
}

func partial(state *p.InitializationFailed) []string {
	if state == nil {
		return nil
	}
	return state.Reasons
}

// up is one `pulumi up` of this resource, as the engine carries it out: Check against the
// stored inputs; then create; or, by the Diff, same, update or replace (in the order the Diff
// asks for). "same" stores the new inputs beside the old outputs, and becomes an Update with
// no diff when the last operation left init errors. It returns what it did.
func (r *res) up(inputs property.Map) (op string, err error) {
	r.h.t.Helper()
	checked, failures := r.check(inputs)
	if len(failures) > 0 {
		return "", fmt.Errorf("check failed: %v", failures)
	}
	if r.id == "" {
		resp, err := r.h.server.Create(p.CreateRequest{Urn: r.urn, Properties: checked})
		if err != nil && resp.PartialState == nil {
			return "create", err
		}
		// A resource that failed to initialise is recorded, and the up reports the error.
		r.id, r.inputs, r.state, r.initErrors = resp.ID, checked, resp.Properties, partial(resp.PartialState)
		return "create", err
	}
	diff, err := r.h.server.Diff(p.DiffRequest{ID: r.id, Urn: r.urn, State: r.state, Inputs: checked, OldInputs: r.inputs})
	if err != nil {
		return "diff", err
	}
	for _, d := range diff.DetailedDiff {
		if strings.Contains(string(d.Kind), "replace") {
			old := &res{h: r.h, urn: r.urn, id: r.id, inputs: r.inputs, state: r.state}
			if diff.DeleteBeforeReplace {
				if err := old.delete(); err != nil {
					return "replace", err
				}
			}
			*r = res{h: r.h, urn: r.urn}
			if _, err := r.up(inputs); err != nil {
				return "replace", err
			}
			if !diff.DeleteBeforeReplace {
				return "replace", old.delete()
			}
			return "replace", nil
		}
	}
	if !diff.HasChanges && len(r.initErrors) == 0 {
		r.inputs = checked
		return "same", nil
	}
	resp, err := r.h.server.Update(p.UpdateRequest{ID: r.id, Urn: r.urn, State: r.state, Inputs: checked,
		OldInputs: r.inputs})
	if err != nil && resp.PartialState == nil {
		return "update", err
	}
	r.inputs, r.state, r.initErrors = checked, resp.Properties, partial(resp.PartialState)
	return "update", err
}

// diff checks the new inputs and diffs them against the recorded state.
func (r *res) diff(inputs property.Map) (property.Map, p.DiffResponse) {
	r.h.t.Helper()
	checked := r.mustCheck(inputs)
	resp, err := r.h.server.Diff(p.DiffRequest{ID: r.id, Urn: r.urn, State: r.state, Inputs: checked, OldInputs: r.inputs})
	require.NoError(r.h.t, err)
	return checked, resp
}

// update diffs, expects an in-place change, previews it and applies it.
func (r *res) update(inputs property.Map) {
	r.h.t.Helper()
	checked, diff := r.diff(inputs)
	require.True(r.h.t, diff.HasChanges, "expected a diff")
	for k, d := range diff.DetailedDiff {
		require.NotContains(r.h.t, string(d.Kind), "replace", "property %s would replace", k)
	}
	req := p.UpdateRequest{ID: r.id, Urn: r.urn, State: r.state, Inputs: checked, OldInputs: r.inputs, DryRun: true}
	_, err := r.h.server.Update(req)
	require.NoError(r.h.t, err, "preview update")
	req.DryRun = false
	resp, err := r.h.server.Update(req)
	require.NoError(r.h.t, err, "update")
	r.inputs, r.state, r.initErrors = checked, resp.Properties, partial(resp.PartialState)
}

// previewUpdate returns the outputs an update would preview, without applying it.
func (r *res) previewUpdate(inputs property.Map) property.Map {
	r.h.t.Helper()
	checked := r.mustCheck(inputs)
	resp, err := r.h.server.Update(p.UpdateRequest{ID: r.id, Urn: r.urn, State: r.state, Inputs: checked,
		OldInputs: r.inputs, DryRun: true})
	require.NoError(r.h.t, err)
	return resp.Properties
}

// replace diffs, expects a replacement, and carries it out in the engine's order: create
// the new resource then delete the old one, or the reverse when the diff asks for it.
func (r *res) replace(inputs property.Map) (old *res) {
	r.h.t.Helper()
	_, diff := r.diff(inputs)
	replaces := false
	for _, d := range diff.DetailedDiff {
		replaces = replaces || strings.Contains(string(d.Kind), "replace")
	}
	require.True(r.h.t, replaces, "expected a replacement: %v", diff.DetailedDiff)
	old = &res{h: r.h, urn: r.urn, id: r.id, inputs: r.inputs, state: r.state}
	if diff.DeleteBeforeReplace {
		require.NoError(r.h.t, old.delete())
	}
	r.inputs = property.Map{} // a replacement is checked as a new resource
	r.create(inputs)
	if !diff.DeleteBeforeReplace {
		require.NoError(r.h.t, old.delete())
	}
	return old
}

// refresh reads the resource as `pulumi refresh` does; it reports whether it still exists.
func (r *res) refresh() bool {
	r.h.t.Helper()
	resp, err := r.h.server.Read(p.ReadRequest{ID: r.id, Urn: r.urn, Properties: r.state, Inputs: r.inputs})
	require.NoError(r.h.t, err)
	if resp.ID == "" {
		return false
	}
	r.id, r.inputs, r.state = resp.ID, resp.Inputs, resp.Properties
	return true
}

// delete destroys the resource.
func (r *res) delete() error {
	return r.h.server.Delete(p.DeleteRequest{ID: r.id, Urn: r.urn, Properties: r.state, OldInputs: r.inputs})
}

// importID reads a resource from its ID alone, as `pulumi import` does.
func (h *harness) importID(typ, name, id string) (*res, error) {
	r := h.resource(typ, name)
	resp, err := h.server.Read(p.ReadRequest{ID: id, Urn: r.urn})
	if err != nil {
		return nil, err
	}
	if resp.ID == "" {
		return nil, nil
	}
	r.id, r.inputs, r.state = resp.ID, resp.Inputs, resp.Properties
	// The engine checks imported inputs as read, old and new alike.
	resp2, err := h.server.Check(p.CheckRequest{Urn: r.urn, State: r.inputs, Inputs: r.inputs})
	require.NoError(h.t, err)
	assert.Empty(h.t, resp2.Failures, "imported inputs must pass Check")
	return r, nil
}

// str reads a string output.
func str(m property.Map, key string) string {
	v := m.Get(key)
	if v.IsString() {
		return v.AsString()
	}
	return ""
}

// assertSecret checks that m[key] is marked secret (or absent).
func assertSecret(t *testing.T, m property.Map, key, what string) {
	t.Helper()
	if v, ok := m.GetOk(key); ok && !v.IsNull() {
		assert.True(t, v.Secret(), "%s: %s must be secret", what, key)
	}
}

// assertNoLeak checks that no error text carries a secret value.
func assertNoLeak(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		assert.False(t, strings.Contains(err.Error(), s), "error leaks a secret: %v", err)
	}
}

// onlyRoute asserts that st holds exactly one request, to route.
func onlyRoute(t *testing.T, st emulator.Stats, route string) {
	t.Helper()
	assert.Equal(t, map[string]int{route: 1}, st.Routes, "expected exactly one call to %s", route)
}

// assertFailureOn checks that a Check failure is about prop. A failure about a secret input
// names no property (the engine would print the value beside it): its reason names the input.
func assertFailureOn(t *testing.T, f p.CheckFailure, prop string, secretInputs []string) {
	t.Helper()
	top, _, _ := strings.Cut(prop, "[")
	if !slices.Contains(secretInputs, top) {
		assert.Equal(t, prop, f.Property, "%v", f)
		return
	}
	assert.Empty(t, f.Property, "a failure on secret input %s must not name the property: %v", prop, f)
	assert.True(t, strings.HasPrefix(f.Reason, top), "the reason must name %s: %q", top, f.Reason)
}
