package provider

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/workers"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/cloudflare"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/cfapi"
)

const (
	workerScripts    = "/client/v4/accounts/{account_id}/workers/scripts/{script_name}"
	workerBulkRoute  = "PATCH " + workerScripts + "/secrets-bulk"
	workerListRoute  = "GET " + workerScripts + "/secrets"
	workerScriptName = "api"
)

// workerValues are the script's secrets, values included, as the emulator holds them.
func (h *harness) workerValues(ref workers.ScriptRef) map[string]string {
	h.t.Helper()
	secrets, err := h.emu.Workers().Secrets(ref)
	require.NoError(h.t, err)
	out := map[string]string{}
	for _, s := range secrets {
		out[s.Name] = s.Text
	}
	return out
}

func TestWorkerSecretLifecycle(t *testing.T) {
	h := newHarness(t, emulator.Options{CloudflareWorkers: []string{workerScriptName}})
	ref := workers.ScriptRef{Name: workerScriptName}
	canary := "canary-" + strings.Repeat("w", 12)
	inputs := func(v string) map[string]any {
		return map[string]any{"scriptName": workerScriptName, "name": "API_KEY", "value": secret(v)}
	}
	r := h.resource(cloudflare.WorkerSecretToken, "apiKey")
	st := h.calls(func() { r.create(props(inputs(canary))) })
	assert.Equal(t, map[string]int{workerListRoute: 1, workerBulkRoute: 1}, st.Routes,
		"one listing (the create must not take a secret over) and one bulk write")
	assert.Equal(t, workerScriptName+"/API_KEY", r.id)
	assert.Equal(t, map[string]string{"API_KEY": canary}, h.workerValues(ref))
	assert.Regexp(t, `^[0-9a-f]{64}$`, str(r.state, "digest"))
	assert.NotEmpty(t, str(r.state, "writtenAt"))
	// Every value of the state, secrets included, rendered: the digest shows that it holds them.
	rendered := property.New(r.state).GoString()
	assert.Contains(t, rendered, str(r.state, "digest"))
	assert.NotContains(t, rendered, canary, "the value is never in the state")

	_, diff := r.diff(props(inputs(canary)))
	assert.False(t, diff.HasChanges)
	r.update(props(inputs("v2")))
	assert.Equal(t, map[string]string{"API_KEY": "v2"}, h.workerValues(ref))

	require.True(t, r.refresh())
	require.NoError(t, h.emu.Workers().DropSecrets(ref)) // an upload without keep_bindings
	h.newProcess()                                       // the next pulumi refresh
	assert.False(t, r.refresh(), "a dropped secret leaves the state; the next up writes it again")

	r = h.resource(cloudflare.WorkerSecretToken, "apiKey")
	r.create(props(inputs("v2")))
	require.NoError(t, r.delete())
	assert.Empty(t, h.workerValues(ref))
	require.NoError(t, r.delete(), "a secret already gone is success")
}

func TestWorkerSecretOwnership(t *testing.T) {
	h := newHarness(t, emulator.Options{CloudflareWorkers: []string{workerScriptName}})
	ref := workers.ScriptRef{Name: workerScriptName}
	_, err := h.cloudflare().PutWorkerSecret(t.Context(), cfapi.WorkerScript{Name: workerScriptName}, "TAKEN", "theirs")
	require.NoError(t, err)

	r := h.resource(cloudflare.WorkerSecretToken, "taken")
	in := props(map[string]any{"scriptName": workerScriptName, "name": "TAKEN", "value": secret("ours")})
	_, err = r.up(in)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `"TAKEN"`)
	assert.Contains(t, err.Error(), "adopt: true")
	assert.Contains(t, err.Error(), "pulumi import edgesecrets:cloudflare:WorkerSecret taken api/TAKEN")
	assert.Equal(t, map[string]string{"TAKEN": "theirs"}, h.workerValues(ref), "nothing written")

	missing := h.resource(cloudflare.WorkerSecretToken, "missing")
	_, err = missing.up(props(map[string]any{"scriptName": "nope", "name": "K", "value": secret("v")}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `Worker "nope" does not exist`)

	// What `wrangler secret put` wrote is imported, and the next up writes the program's value once.
	imported, err := h.importID(cloudflare.WorkerSecretToken, "taken", workerScriptName+"/TAKEN")
	require.NoError(t, err)
	require.NotNil(t, imported)
	assert.Empty(t, str(imported.state, "digest"))
	_, err = imported.up(in)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"TAKEN": "ours"}, h.workerValues(ref))
}

func TestWorkerSecretsLifecycle(t *testing.T) {
	h := newHarness(t, emulator.Options{CloudflareWorkers: []string{workerScriptName}})
	ref := workers.ScriptRef{Name: workerScriptName}
	inputs := func(kv map[string]any) map[string]any {
		secrets := map[string]any{}
		for k, v := range kv {
			secrets[k] = v
		}
		return map[string]any{"scriptName": workerScriptName, "secrets": secrets}
	}
	before, err := h.emu.Workers().Versions(ref)
	require.NoError(t, err)
	r := h.resource(cloudflare.WorkerSecretsToken, "all")
	r.create(props(inputs(map[string]any{"A": "1", "B": "2", "C": "3"})))
	after, err := h.emu.Workers().Versions(ref)
	require.NoError(t, err)
	assert.Len(t, after, len(before)+1, "the whole map is one version")
	assert.Equal(t, map[string]string{"A": "1", "B": "2", "C": "3"}, h.workerValues(ref))

	st := h.calls(func() { r.update(props(inputs(map[string]any{"A": "1", "B": "changed"}))) })
	assert.Equal(t, 1, st.Routes[workerBulkRoute], "a change and a removal in one call")
	assert.Equal(t, map[string]string{"A": "1", "B": "changed"}, h.workerValues(ref))

	require.NoError(t, h.emu.Workers().DropSecrets(ref))
	h.newProcess() // the next pulumi refresh
	require.True(t, r.refresh())
	_, diff := r.diff(props(inputs(map[string]any{"A": "1", "B": "changed"})))
	assert.True(t, diff.HasChanges, "dropped secrets are drift")
	r.update(props(inputs(map[string]any{"A": "1", "B": "changed"})))
	assert.Equal(t, map[string]string{"A": "1", "B": "changed"}, h.workerValues(ref), "one up restores them")

	require.NoError(t, r.delete())
	assert.Empty(t, h.workerValues(ref))
}

// A gradual deployment in progress: the write is refused with nothing deployed.
func TestWorkerSecretGradualDeployment(t *testing.T) {
	h := newHarness(t, emulator.Options{CloudflareWorkers: []string{workerScriptName}})
	ref := workers.ScriptRef{Name: workerScriptName}
	_, err := h.emu.Workers().UploadVersion(ref)
	require.NoError(t, err)
	r := h.resource(cloudflare.WorkerSecretToken, "k")
	_, err = r.up(props(map[string]any{"scriptName": workerScriptName, "name": "K", "value": secret("v")}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "wrangler versions deploy")
	assert.Empty(t, h.workerValues(ref))
}
