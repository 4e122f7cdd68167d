package tests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

// Programs of one resource per secret cost about what a bulk call does: the provider combines
// the writes the engine runs at once (at most --parallel P) into one bulk call, and serves reads
// from one listing per app or store. The counts are the emulator's, with Fly's rate limit on.

const coalesceSecrets = 100

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func TestFlySecretsOfOneAppCostAFewCalls(t *testing.T) {
	for _, tc := range []struct {
		parallel, upWrites, destroyCalls int
	}{
		// The bounds: ceil(N/P)+2 at the default P (8 on a 2-core machine), for the up's
		// writes and the destroy's calls, reads included; 5 writes for the up at P=100. (At
		// P=100 the engine hands over a destroy's deletes over a second or two: they take a
		// few more batches, which the issue does not bound.)
		{8, ceilDiv(coalesceSecrets, 8) + 2, ceilDiv(coalesceSecrets, 8) + 2},
		{100, 5, 0},
	} {
		t.Run(fmt.Sprintf("parallel %d", tc.parallel), func(t *testing.T) {
			app := fmt.Sprintf("coalesce-%d", tc.parallel)
			h := newHarnessWith(t, emulator.Options{FlyApps: []string{app}})
			p := newManyProgram(t, h, flySecretsScenario(app, coalesceSecrets), tc.parallel)

			h.emulator.ResetStats()
			timed(t, "up", func() string { return p.run("up", "--yes", "--skip-preview") })
			writes := h.flyCalls(false)
			t.Logf("up: %d Fly write calls, %d reads: %v", writes, h.flyCalls(true), h.emulator.Stats().Routes)
			if writes > tc.upWrites {
				t.Errorf("up of %d FlySecrets at --parallel %d made %d Fly write calls, want at most %d",
					coalesceSecrets, tc.parallel, writes, tc.upWrites)
			}
			for i, want := range p.values {
				got, ok := h.contents().flySecret(app, fmt.Sprintf("SECRET_%03d", i))
				if !ok || got.Value != want {
					t.Errorf("SECRET_%03d: present %v, with the program's value %v", i, ok, got.Value == want)
				}
			}

			h.emulator.ResetStats()
			timed(t, "refresh", func() string { return p.run("refresh", "--yes", "--skip-preview", "--expect-no-changes") })
			if reads := h.flyCalls(true); reads > 3 || h.flyCalls(false) != 0 {
				t.Errorf("refresh made %d Fly read calls and %d writes, want at most 3 and none: %v",
					reads, h.flyCalls(false), h.emulator.Stats().Routes)
			}

			h.emulator.ResetStats()
			timed(t, "destroy", func() string { return p.run("destroy", "--yes", "--skip-preview") })
			calls := h.flyCalls(true) + h.flyCalls(false)
			t.Logf("destroy: %d Fly calls: %v", calls, h.emulator.Stats().Routes)
			if tc.destroyCalls > 0 && calls > tc.destroyCalls {
				t.Errorf("destroy made %d Fly calls (reads included), want at most %d", calls, tc.destroyCalls)
			}
			h.assertEmulatorEmpty("after destroy")
		})
	}
}

// Creates in one store share create calls, at most ceil(N/8)+2 for the default P of 8 (and no
// more at P=100, where the engine hands the creates over as it checks each resource, over a
// second or two). Activation is waited for with one listing of the store per look, shared by
// every Secret waiting. A create call's secrets need a look after it, and the engine starts the
// next round only when a round is done: at P=8 that is 13 rounds, so "at most 10 activation
// reads" is the bound at P=100, and at P=8 one look per create call (13, or 14 when a round
// reaches the provider in two parts), the fewest any provider can make that never hands a
// pending secret to a Worker.
func TestCloudflareSecretsOfOneStoreCostAFewCalls(t *testing.T) {
	for _, tc := range []struct{ parallel, reads int }{
		{8, ceilDiv(coalesceSecrets, 8) + 2},
		{100, 10},
	} {
		t.Run(fmt.Sprintf("parallel %d", tc.parallel), func(t *testing.T) {
			h := newHarness(t)
			p := newManyProgram(t, h, cloudflareSecretsScenario(coalesceSecrets), tc.parallel)
			h.emulator.ResetStats()
			timed(t, "up", func() string { return p.run("up", "--yes", "--skip-preview") })
			st := h.emulator.Stats()
			creates := st.Routes["POST /client/v4/accounts/{account_id}/secrets_store/stores/{store_id}/secrets"]
			reads := secretReads(st)
			t.Logf("up: %d create calls, %d activation reads: %v", creates, reads, st.Routes)
			if limit := ceilDiv(coalesceSecrets, 8) + 2; creates > limit {
				t.Errorf("%d create calls, want at most %d", creates, limit)
			}
			if reads > tc.reads || reads > creates {
				t.Errorf("%d activation reads, want at most %d and one per create call (%d)", reads, tc.reads, creates)
			}
			stores := h.contents().stores()
			if len(stores) != 1 || len(stores[0].Secrets) != coalesceSecrets {
				t.Fatalf("the account holds %d stores; want its one, with %d secrets", len(stores), coalesceSecrets)
			}
			// Refresh and the ownership checks before each delete read one listing of the store,
			// not a GET per secret.
			h.emulator.ResetStats()
			timed(t, "refresh", func() string { return p.run("refresh", "--yes", "--skip-preview") })
			st = h.emulator.Stats()
			reads = secretReads(st)
			t.Logf("refresh: %d reads: %v", reads, st.Routes)
			if reads > 3 {
				t.Errorf("refresh of %d Secrets made %d reads, want at most 3", coalesceSecrets, reads)
			}
			h.emulator.ResetStats()
			timed(t, "destroy", func() string { return p.run("destroy", "--yes", "--skip-preview") })
			st = h.emulator.Stats()
			deletes := st.Routes["DELETE /client/v4/accounts/{account_id}/secrets_store/stores/{store_id}/secrets/{secret_id}"]
			t.Logf("destroy: %d calls, %d deletes: %v", st.Total, deletes, st.Routes)
			if deletes != coalesceSecrets || st.Total > coalesceSecrets+3 {
				t.Errorf("destroy made %d calls (%d deletes); want one delete per secret and at most 3 reads", st.Total, deletes)
			}
			h.assertEmulatorEmpty("after destroy")
		})
	}
}

// secretReads counts the reads of Cloudflare secrets: listings of a store and GETs of one.
func secretReads(st emulator.Stats) int {
	return st.Routes["GET /client/v4/accounts/{account_id}/secrets_store/stores/{store_id}/secrets"] +
		st.Routes["GET /client/v4/accounts/{account_id}/secrets_store/stores/{store_id}/secrets/{secret_id}"]
}

// manyProgram is a scenario's YAML program, run at a pinned parallelism.
type manyProgram struct {
	t        *testing.T
	h        *harness
	dir      string
	parallel int
	values   []string
}

func newManyProgram(t *testing.T, h *harness, s benchScenario, parallel int) *manyProgram {
	t.Helper()
	requireCommand(t, "pulumi-language-yaml", "run `make tools`")
	p := &manyProgram{t: t, h: h, dir: t.TempDir(), parallel: parallel}
	p.values = s.program(t, p.dir)
	h.pulumi(p.dir, "", "stack", "init", "many")
	return p
}

func (p *manyProgram) run(args ...string) string {
	p.t.Helper()
	return p.h.pulumi(p.dir, "", append(args, "--parallel", fmt.Sprint(p.parallel))...)
}

// flyCalls counts the Fly API calls since the last ResetStats: reads (GETs) or writes.
func (h *harness) flyCalls(reads bool) int {
	n := 0
	for route, count := range h.emulator.Stats().Routes {
		if strings.Contains(route, " /v1/apps/") && strings.HasPrefix(route, "GET ") == reads {
			n += count
		}
	}
	return n
}
