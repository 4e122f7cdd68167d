package tests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

// The stack of "Survive the real APIs": 40 FlySecrets on one app and 20 Cloudflare Secrets (half
// naming the store, half relying on the account's default), against the emulator as users run it:
// Fly's rate limit, lagging reads, pending secrets, the account's default store. Every run must
// converge in one `pulumi up`, with no error, and hold exactly the program's secrets.
const (
	scaleFlySecrets        = 40
	scaleCloudflareSecrets = 20
	// scaleParallel pins the engine's parallelism (its default depends on the machine's cores),
	// so that the same requests meet the same faults on every machine.
	scaleParallel = "8"
)

func TestScaleAgainstRealisticAPIs(t *testing.T) {
	t.Parallel()
	app := "scale-clean"
	h := newHarnessWith(t, emulator.Options{FlyApps: []string{app}})
	p := newScaleProgram(t, h, app)

	up := timed(t, "up (60 secrets)", func() string { return p.run("up", "--yes", "--skip-preview") })
	p.assertHoldsExactlyTheProgram("after the up")
	st := h.emulator.Stats()
	t.Logf("up: %d requests, faults and limits absorbed: %v", st.Total, st.Faults)
	assertNoErrorOutput(t, up)

	h.emulator.ResetStats()
	timed(t, "refresh --expect-no-changes", func() string {
		return p.run("refresh", "--yes", "--skip-preview", "--expect-no-changes")
	})
	timed(t, "preview --expect-no-changes", func() string { return p.run("preview", "--expect-no-changes") })
	timed(t, "destroy", func() string { return p.run("destroy", "--yes", "--skip-preview") })
	h.assertEmulatorEmpty("after destroy")
}

// scaleFaults is the fault schedule of TestScaleUnderFaults, the same for both APIs: each Fly
// app's and each store's first write meets a 5xx and its second a 429, so a third must come, and
// its answer is lost (the write applied, the connection dropped); Fly's fourth meets a 409 (only
// Fly has them) and its fifth is lost as a proxy loses it. Every 7th read after the third meets a
// 503. Counted per target and past the rate limit, these places fault on every run whatever the
// machine's load, and their retries are bound to come: a refused write has not been applied.
var scaleFaults = []emulator.ScheduledFault{
	{Kind: emulator.FaultServerError, At: 1},
	{Kind: emulator.FaultThrottle, At: 2},
	{Kind: emulator.FaultLostResponse, At: 3},
	{API: emulator.APIFly, Kind: emulator.FaultConflict, At: 4},
	{API: emulator.APIFly, Kind: emulator.FaultLostResponse, Status: 502, At: 5},
	{Kind: emulator.FaultServerError, Status: 503, At: 3, Every: 7, Reads: true},
}

// scaleFaultsInjected are the faults scaleFaults injects by construction in one up, at least:
// both APIs' first three writes, and Fly's fourth and fifth (Cloudflare's fourth write passes),
// each of which leaves a write still to do. Reads are not counted here: how many come after the
// third depends on what the provider has cached.
var scaleFaultsInjected = map[string]int{"server_error": 2, "throttle": 2, "lost_response": 3, "conflict": 1}

// The same stack with lost answers, 5xx, 429 and 409 faults injected by the schedule on every
// run, and, on top of them, a fifth of the writes' answers lost and more faults at random, for
// three seeds: still one `up`, no duplicate, no orphan, a clean preview after.
func TestScaleUnderFaults(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			t.Parallel()
			app := fmt.Sprintf("scale-faults-%d", seed) // rate limits are per app: one each
			h := newHarnessWith(t, emulator.Options{
				FlyApps:          []string{app},
				FaultSchedule:    scaleFaults,
				LostResponseRate: 0.2,
				FailRate:         0.1,
				ThrottleRate:     0.1,
				ConflictRate:     0.1,
				Seed:             seed,
			})
			p := newScaleProgram(t, h, app)
			timed(t, "up under faults", func() string { return p.run("up", "--yes", "--skip-preview") })
			p.assertHoldsExactlyTheProgram("after the up")
			st := h.emulator.Stats()
			t.Logf("seed %d: %d requests, faults and limits absorbed: %v", seed, st.Total, st.Faults)
			for kind, least := range scaleFaultsInjected {
				if st.Faults[kind] < least {
					t.Errorf("%d %s faults injected, want at least the schedule's %d", st.Faults[kind], kind, least)
				}
			}
			timed(t, "preview --expect-no-changes", func() string { return p.run("preview", "--expect-no-changes") })
		})
	}
}

// scaleProgram is the generated YAML program of the scale tests.
type scaleProgram struct {
	t      *testing.T
	h      *harness
	dir    string
	app    string
	values map[string]string // Fly name or Cloudflare name -> value
}

func newScaleProgram(t *testing.T, h *harness, app string) *scaleProgram {
	t.Helper()
	requireCommand(t, "pulumi-language-yaml", "run `make tools`")
	p := &scaleProgram{t: t, h: h, dir: t.TempDir(), app: app, values: map[string]string{}}
	var b strings.Builder
	b.WriteString(
		"name: edgesecrets-scale\nruntime: yaml\nresources:\n  store:\n    type: edgesecrets:cloudflare:SecretsStore\n",
	)
	for i := range scaleFlySecrets {
		name := fmt.Sprintf("FLY_SECRET_%02d", i)
		p.values[name] = uniqueValue("fly-")
		fmt.Fprintf(&b, "  fly%02d:\n    type: edgesecrets:fly:FlySecret\n    properties:\n      app: %s\n      name: %s\n"+
			"      value:\n        fn::secret: %s\n", i, app, name, p.values[name])
	}
	for i := range scaleCloudflareSecrets {
		name := fmt.Sprintf("CF_SECRET_%02d", i)
		p.values[name] = uniqueValue("cf-")
		fmt.Fprintf(&b, "  cf%02d:\n    type: edgesecrets:cloudflare:Secret\n    properties:\n      name: %s\n"+
			"      value:\n        fn::secret: %s\n", i, name, p.values[name])
		if i%2 == 0 {
			b.WriteString("      storeId: ${store.storeId}\n")
		}
	}
	writeProgram(t, p.dir, b.String())
	h.pulumi(p.dir, "", "stack", "init", "scale")
	return p
}

// run runs a Pulumi command at the pinned parallelism; any failure stops the test.
func (p *scaleProgram) run(args ...string) string {
	p.t.Helper()
	if args[0] != "preview" && args[0] != "refresh" && args[0] != "up" && args[0] != "destroy" {
		return p.h.pulumi(p.dir, "", args...)
	}
	return p.h.pulumi(p.dir, "", append(args, "--parallel", scaleParallel)...)
}

// assertHoldsExactlyTheProgram fails unless the emulator holds the program's secrets with their
// values, and nothing else: no duplicate, no orphan.
func (p *scaleProgram) assertHoldsExactlyTheProgram(step string) {
	p.t.Helper()
	c := p.h.contents()
	got := map[string]string{}
	for _, a := range c.Fly.Apps {
		for _, s := range a.Secrets {
			if a.Name != p.app {
				p.t.Errorf("%s: secret %s on app %s, which the program does not use", step, s.Name, a.Name)
			}
			got[s.Name] = s.Value
		}
	}
	stores := c.stores()
	if len(stores) != 1 {
		p.t.Fatalf("%s: %d stores, want the account's one", step, len(stores))
	}
	for _, s := range stores[0].Secrets {
		if _, dup := got[s.Name]; dup {
			p.t.Errorf("%s: Cloudflare secret %s twice", step, s.Name)
		}
		got[s.Name] = s.Value
	}
	if len(got) != len(p.values) {
		p.t.Errorf("%s: the APIs hold %d secrets, the program declares %d", step, len(got), len(p.values))
	}
	for name, want := range p.values {
		if value, ok := got[name]; !ok {
			p.t.Errorf("%s: %s is missing", step, name)
		} else if value != want {
			p.t.Errorf("%s: %s holds another value than the program's", step, name)
		}
	}
}

// assertNoErrorOutput fails if a successful command still printed errors.
func assertNoErrorOutput(t *testing.T, out string) {
	t.Helper()
	if strings.Contains(out, "error:") {
		t.Errorf("the output reports errors:\n%s", out)
	}
}
