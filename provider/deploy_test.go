package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	emufly "github.com/edgesecrets/pulumi-edgesecrets/emulator/fly"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/fly"
)

// machines are the app's machines as the emulator holds them now.
func (h *harness) machines() []emufly.MachineSummary {
	h.t.Helper()
	ms, err := h.emu.Fly().Machines(testFlyApp)
	require.NoError(h.t, err)
	return ms
}

// assertRolledTo checks every machine runs at least version, restarted restarts times, and that
// no lease is held, nor more than one was ever held at once (rolling).
func (h *harness) assertRolledTo(version int64, restarts int) {
	h.t.Helper()
	for _, m := range h.machines() {
		assert.GreaterOrEqual(h.t, int64(m.SecretsVersion), version, "machine %s", m.ID)
		assert.Equal(h.t, "started", m.State, "machine %s", m.ID)
		assert.Equal(h.t, restarts, m.Restarts, "machine %s restarts", m.ID)
	}
	leases, err := h.emu.Fly().Leases(testFlyApp)
	require.NoError(h.t, err)
	assert.Zero(h.t, leases.Held, "no lease is left behind")
	assert.LessOrEqual(h.t, leases.MaxHeldAtOnce, 1, "rolling: one machine at a time")
}

func TestFlyAppSecretsRollingDeploy(t *testing.T) {
	t.Parallel()
	h := newHarness(t, emulator.Options{FlyMachines: 3})
	r := h.resource(fly.FlyAppSecretsToken, "app")
	r.create(appSecrets(map[string]string{"A": "a", "B": "b"}, "deploy", "rolling"))
	version := secretsVersion(r.state)
	h.assertRolledTo(version, 1)
	assert.Equal(t, float64(version), r.state.Get("deployedVersion").AsNumber())
	assert.Equal(t, 3, r.state.Get("machines").AsArray().Len())

	t.Run("no change, no restart", func(t *testing.T) {
		op, err := r.up(appSecrets(map[string]string{"A": "a", "B": "b"}, "deploy", "rolling"))
		require.NoError(t, err)
		assert.Equal(t, "same", op)
		h.assertRolledTo(version, 1)
	})

	t.Run("a failing machine stops the rollout; the next up resumes it", func(t *testing.T) {
		failing := h.machines()[1].ID
		require.NoError(t, h.emu.Fly().FailNextUpdate(testFlyApp, failing))
		_, err := r.up(appSecrets(map[string]string{"A": "a2", "B": "b"}, "deploy", "rolling"))
		require.Error(t, err)
		reasons := strings.Join(r.initErrors, "\n")
		assert.Contains(t, reasons, failing, "the error names the machine")
		assert.Contains(t, reasons, "fly machine status "+failing)
		assert.Contains(t, reasons, "pulumi up")
		leases, _ := h.emu.Fly().Leases(testFlyApp)
		assert.Zero(t, leases.Held)
		assert.NotEmpty(t, r.initErrors, "the write is recorded and the rollout owed")
		next := secretsVersion(r.state)
		assert.Greater(t, next, version)

		op, err := r.up(appSecrets(map[string]string{"A": "a2", "B": "b"}, "deploy", "rolling"))
		require.NoError(t, err)
		assert.Equal(t, "update", op)
		h.assertRolledTo(next, 2)
		assert.Equal(t, float64(next), r.state.Get("deployedVersion").AsNumber())
	})
}

func TestFlySecretsFollowedByOneDeployment(t *testing.T) {
	t.Parallel()
	h := newHarness(t, emulator.Options{FlyMachines: 2})
	secrets := make([]*res, 3)
	versions := func() []any {
		out := make([]any, len(secrets))
		for i, s := range secrets {
			out[i] = float64(secretsVersion(s.state))
		}
		return out
	}
	for i := range secrets {
		secrets[i] = h.resource(fly.FlySecretToken, fmt.Sprintf("s%d", i)).create(flyInputs(fmt.Sprintf("S%d", i), "v1"))
	}
	d := h.resource(fly.SecretsDeploymentToken, "deploy")
	d.create(props(map[string]any{"app": testFlyApp, "secretsVersions": versions()}))
	h.assertRolledTo(secretsVersion(secrets[2].state), 1)

	// An up in which one of them changed: one restart each.
	secrets[1].update(flyInputs("S1", "v2"))
	op, err := d.up(props(map[string]any{"app": testFlyApp, "secretsVersions": versions()}))
	require.NoError(t, err)
	assert.Equal(t, "update", op)
	h.assertRolledTo(secretsVersion(secrets[1].state), 2)

	// An up in which none changed: no restart.
	op, err = d.up(props(map[string]any{"app": testFlyApp, "secretsVersions": versions()}))
	require.NoError(t, err)
	assert.Equal(t, "same", op)
	h.assertRolledTo(secretsVersion(secrets[1].state), 2)
}

func TestFlySecretsDeployingTogetherAreOneRollout(t *testing.T) {
	t.Parallel()
	h := newHarness(t, emulator.Options{FlyMachines: 2})
	// The engine checks each resource before it runs it: once all three are checked, all three are
	// known to be on their way to the app's rollout, however late each goroutine then reaches it.
	// (A resource checked after a rollout has started is another rollout, rightly.)
	resources := make([]*res, 3)
	for i := range resources {
		resources[i] = h.resource(fly.FlySecretToken, fmt.Sprintf("s%d", i))
		resources[i].mustCheck(flyInputs(fmt.Sprintf("S%d", i), "v", "deploy", "rolling"))
	}
	done := make(chan *res, 3)
	for i, r := range resources {
		go func() {
			_, err := r.up(flyInputs(fmt.Sprintf("S%d", i), "v", "deploy", "rolling"))
			assert.NoError(t, err)
			done <- r
		}()
	}
	highest := int64(0)
	for range 3 {
		r := <-done
		assert.GreaterOrEqual(t, r.state.Get("deployedVersion").AsNumber(), float64(secretsVersion(r.state)),
			"each returns when a rollout covering its own write has finished")
		highest = max(highest, secretsVersion(r.state))
	}
	h.assertRolledTo(highest, 1)
}
