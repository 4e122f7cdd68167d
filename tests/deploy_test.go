package tests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

// machine is what the emulator's inspection route tells of one machine.
type machine struct {
	ID             string `json:"id"`
	State          string `json:"state"`
	SecretsVersion int64  `json:"secrets_version"`
	Restarts       int    `json:"restarts"`
	Leased         bool   `json:"leased"`
}

// machines reads the app's machines through the emulator's inspection route.
func (h *harness) machines() []machine {
	var out []machine
	h.apiJSON("GET", "/_emulator/fly/apps/"+flyApp+"/machines", nil, &out)
	return out
}

// assertRollout checks that every machine of the app is started on the app's current secrets
// version with restarts restarts, that no lease is held and that no two were ever held at once.
func (h *harness) assertRollout(step string, restarts int) {
	h.t.Helper()
	var version int64
	for _, a := range h.contents().Fly.Apps {
		if a.Name == flyApp {
			version = int64(a.Version)
		}
	}
	for _, m := range h.machines() {
		if m.State != "started" || m.SecretsVersion != version || m.Restarts != restarts {
			h.t.Errorf("%s: machine %s is %s on secrets version %d with %d restarts, want started on %d with %d",
				step, m.ID, m.State, m.SecretsVersion, m.Restarts, version, restarts)
		}
	}
	var leases struct {
		Held          int `json:"held"`
		MaxHeldAtOnce int `json:"max_held_at_once"`
	}
	h.apiJSON("GET", "/_emulator/fly/apps/"+flyApp+"/leases", nil, &leases)
	if leases.Held != 0 || leases.MaxHeldAtOnce > 1 {
		h.t.Errorf(
			"%s: %d leases held, at most %d at once; want none left and one at a time",
			step,
			leases.Held,
			leases.MaxHeldAtOnce,
		)
	}
}

// assertSecretWrites is assertWrites for the Fly secrets routes alone (a rollout's machine
// calls aside).
func (h *harness) assertSecretWrites(step string, want map[string]int) {
	h.t.Helper()
	got := map[string]int{}
	for route, n := range h.emulator.Stats().Routes {
		if !strings.HasPrefix(route, "GET ") && strings.Contains(route, "/secrets") {
			got[route] = n
		}
	}
	if !mapsEqual(got, want) {
		h.t.Fatalf("%s: the emulator served these secrets writes: %v, want exactly %v", step, got, want)
	}
}

// deploy: rolling leaves every started machine on the new version with one restart each, one at
// a time; a machine set to fail stops the rollout with an error naming it and no lease left,
// and the next up finishes it.
func TestRollingDeployReachesEveryMachine(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, emulator.Options{FlyApps: []string{flyApp}, FlyMachines: 3})
	program := func(value string) string {
		return appSecretsProgram(
			"app",
			map[string]string{"API_KEY": value, "DB_URL": "postgres://db"},
			"      deploy: rolling\n",
		)
	}
	dir := yamlProgram(t, h, program("one"))
	out := h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	h.assertRollout("the first up", 1)
	if !strings.Contains(out, "edgesecrets:fly:FlyAppSecrets") {
		t.Errorf("the up does not show the resource:\n%s", out)
	}
	h.pulumi(dir, "", "preview", "--expect-no-changes")

	failing := h.machines()[1].ID
	h.apiJSON("POST", "/_emulator/fly/apps/"+flyApp+"/machines/"+failing+"/fail-next-update", nil, nil)
	rewrite(t, dir, program("two"))
	out = h.pulumiFails(dir, "", "up", "--yes", "--skip-preview")
	for _, want := range []string{failing, "fly machine status " + failing, "pulumi up"} {
		if !strings.Contains(out, want) {
			t.Errorf("the failed up does not say %q:\n%s", want, tail(out, 30))
		}
	}
	var leases struct {
		Held int `json:"held"`
	}
	h.apiJSON("GET", "/_emulator/fly/apps/"+flyApp+"/leases", nil, &leases)
	if leases.Held != 0 {
		t.Errorf("%d leases are left after the failed rollout", leases.Held)
	}
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	h.assertRollout("the up after the failure", 2)
	h.pulumi(dir, "", "preview", "--expect-no-changes")
}

// A SecretsDeployment that follows three FlySecrets restarts each machine once per up in which
// any of them changed, and not at all when none did.
func TestSecretsDeploymentRestartsOncePerUp(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, emulator.Options{FlyApps: []string{flyApp}, FlyMachines: 2})
	program := func(values [3]string) string {
		var b strings.Builder
		for i, v := range values {
			b.WriteString(flySecretProgram(fmt.Sprintf("s%d", i), fmt.Sprintf("SECRET_%d", i), v, ""))
		}
		b.WriteString("  deployment:\n    type: edgesecrets:fly:SecretsDeployment\n    properties:\n      app: demo\n" +
			"      secretsVersions:\n        - ${s0.version}\n        - ${s1.version}\n        - ${s2.version}\n")
		return b.String()
	}
	dir := yamlProgram(t, h, program([3]string{"a", "b", "c"}))
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	h.assertRollout("the first up", 1)

	rewrite(t, dir, program([3]string{"a", "b2", "c"}))
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	h.assertRollout("an up that changed one secret", 2)

	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	h.assertRollout("an up that changed none", 2)
	h.pulumi(dir, "", "preview", "--expect-no-changes")
	h.pulumi(dir, "", "destroy", "--yes", "--skip-preview")
}
