package provider

import (
	"fmt"
	"strings"
	"testing"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
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

// workerSecretsInputs are WorkerSecrets inputs on the test script: the secrets and then
// property, value pairs.
func workerSecretsInputs(secrets map[string]string, more ...any) property.Map {
	m := map[string]any{"scriptName": workerScriptName}
	s := map[string]any{}
	for k, v := range secrets {
		s[k] = v
	}
	m["secrets"] = s
	for i := 0; i+1 < len(more); i += 2 {
		m[more[i].(string)] = more[i+1]
	}
	return props(m)
}

// versionsTimedToTheSecond waits until a write now makes a version dated after every write so far:
// the Workers API dates versions to the second.
func versionsTimedToTheSecond() { time.Sleep(1100 * time.Millisecond) }

// keyTemplate names the keys, and a change of template renames them in one write.
func TestWorkerSecretsKeyTemplate(t *testing.T) {
	h := newHarness(t, emulator.Options{CloudflareWorkers: []string{workerScriptName}})
	ref := workers.ScriptRef{Name: workerScriptName}
	r := h.resource(cloudflare.WorkerSecretsToken, "prod")
	secrets := map[string]string{"API_KEY": "k", "TOKEN": "t"}
	r.create(workerSecretsInputs(secrets, "keyTemplate", "PROD_{{key}}"))
	assert.Equal(t, map[string]string{"PROD_API_KEY": "k", "PROD_TOKEN": "t"}, h.workerValues(ref))
	assert.Equal(t, []string{"PROD_API_KEY", "PROD_TOKEN"}, stringsOf(r.state.Get("names")))

	_, diff := r.diff(workerSecretsInputs(secrets, "keyTemplate", "PROD_{{key}}"))
	assert.False(t, diff.HasChanges, "%v", diff.DetailedDiff)
	st := h.calls(func() { r.update(workerSecretsInputs(secrets, "keyTemplate", "STAGING_{{key}}")) })
	assert.Equal(t, 1, st.Routes[workerBulkRoute], "a rename is one write")
	assert.Equal(t, map[string]string{"STAGING_API_KEY": "k", "STAGING_TOKEN": "t"}, h.workerValues(ref))

	for name, tc := range map[string]struct {
		template, reason string
	}{
		"no key":              {"PROD_", "exactly once"},
		"not a variable name": {"9{{key}}", `(named "9API_KEY" by keyTemplate)`},
	} {
		t.Run(name, func(t *testing.T) {
			_, failures := h.resource(cloudflare.WorkerSecretsToken, "bad").check(
				workerSecretsInputs(map[string]string{"API_KEY": "k"}, "keyTemplate", tc.template))
			require.NotEmpty(t, failures)
			assert.Contains(t, failures[0].Reason, tc.reason)
		})
	}
}

// Prune has an explicit scope (the template's fixed parts, or pruneScope), removes only what the
// script had before the resource took the scope over, names each at preview, keeps what is
// written into the scope later, and refuses a name another resource declares inside it.
func TestWorkerSecretsPrune(t *testing.T) {
	t.Parallel()
	h := newHarness(t, emulator.Options{CloudflareWorkers: []string{workerScriptName}})
	ref := workers.ScriptRef{Name: workerScriptName}
	script := cfapi.WorkerScript{Name: workerScriptName}
	for name, value := range map[string]string{"PROD_STALE": "x", "OTHER": "y"} {
		_, err := h.cloudflare().PutWorkerSecret(t.Context(), script, name, value)
		require.NoError(t, err)
	}
	versionsTimedToTheSecond()
	inputs := workerSecretsInputs(map[string]string{"API_KEY": "k", "TOKEN": "t"},
		"keyTemplate", "PROD_{{key}}", "prune", true)

	t.Run("a name another resource declares inside the scope fails the preview, naming both", func(t *testing.T) {
		h.resource(cloudflare.WorkerSecretToken, "db").mustCheck(props(map[string]any{
			"scriptName": workerScriptName, "name": "PROD_DB", "value": secret("z")}))
		_, failures := h.resource(cloudflare.WorkerSecretsToken, "prod").check(inputs)
		require.Len(t, failures, 1)
		assert.Contains(t, failures[0].Reason,
			`"PROD_DB" is inside the prune scope PROD_* of cloudflare:WorkerSecrets "prod"`)
		assert.Contains(t, failures[0].Reason, `cloudflare:WorkerSecret "db"`)
		h.newProcess() // the program without that WorkerSecret
	})

	t.Run("prune needs a scope", func(t *testing.T) {
		_, failures := h.resource(cloudflare.WorkerSecretsToken, "all").check(
			workerSecretsInputs(map[string]string{"A": "a"}, "prune", true))
		require.Len(t, failures, 1)
		assert.Contains(t, failures[0].Reason, "pruneScope")
		assert.Contains(t, failures[0].Reason, "every secret of the script")
	})

	t.Run("a script that does not exist yet has nothing to prune at preview", func(t *testing.T) {
		missing := h.resource(cloudflare.WorkerSecretsToken, "later")
		in := workerSecretsInputs(map[string]string{"A": "a"}, "scriptName", "uploaded-by-this-up",
			"keyTemplate", "LATER_{{key}}", "prune", true)
		_, err := h.server.Create(p.CreateRequest{Urn: missing.urn, Properties: missing.mustCheck(in), DryRun: true})
		require.NoError(t, err)
		h.newProcess()
	})

	r := h.resource(cloudflare.WorkerSecretsToken, "prod")
	preview, err := h.server.Create(p.CreateRequest{Urn: r.urn, Properties: r.mustCheck(inputs), DryRun: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"PROD_STALE"}, stringsOf(preview.Properties.Get("unmanagedNames")),
		"the create's preview names the stray its prune removes, and not the name outside its scope")
	assert.Len(t, h.workerValues(ref), 2, "a preview writes nothing")
	r.create(inputs)
	assert.Equal(t, map[string]string{"OTHER": "y", "PROD_API_KEY": "k", "PROD_TOKEN": "t"}, h.workerValues(ref),
		"prune removes the stray there before, not the name outside its scope")

	assert.Equal(t, []string{"PROD_STALE"}, stringsOf(r.state.Get("removedNames")))

	t.Run("a key written into the scope later is someone else's: kept, and refresh settles", func(t *testing.T) {
		versionsTimedToTheSecond()
		_, err := h.cloudflare().PutWorkerSecret(t.Context(), script, "PROD_NEW", "n")
		require.NoError(t, err)
		// Written again by someone else after the prune removed it: the version from before the
		// takeover has it, but this resource's record of what it removed tells it is not a stray.
		_, err = h.cloudflare().PutWorkerSecret(t.Context(), script, "PROD_STALE", "theirs now")
		require.NoError(t, err)
		h.newProcess()
		before := r.state
		require.True(t, r.refresh())
		assert.Empty(t, stringsOf(r.state.Get("unmanagedNames")))
		assert.Equal(t, before.Get("names"), r.state.Get("names"))
		op, err := r.up(inputs)
		require.NoError(t, err)
		assert.Equal(t, "same", op)
		assert.Contains(t, h.workerValues(ref), "PROD_NEW")
		assert.Equal(t, "theirs now", h.workerValues(ref)["PROD_STALE"])
	})

	t.Run("a prune that finds nothing to remove writes nothing", func(t *testing.T) {
		same := workerSecretsInputs(map[string]string{"API_KEY": "k", "TOKEN": "t"},
			"keyTemplate", "PROD_{{key}}", "prune", true, "pruneScope", "PROD_*")
		written := str(r.state, "writtenAt")
		st := h.calls(func() { r.update(same) })
		assert.Zero(t, st.Routes[workerBulkRoute])
		assert.Equal(t, written, str(r.state, "writtenAt"))
		assert.Contains(t, h.workerValues(ref), "PROD_NEW")
	})

	t.Run("the whole script only with pruneScope *; the update's preview lists each removal", func(t *testing.T) {
		versionsTimedToTheSecond() // PROD_NEW is older than the new scope's takeover
		whole := workerSecretsInputs(map[string]string{"API_KEY": "k", "TOKEN": "t"},
			"keyTemplate", "PROD_{{key}}", "prune", true, "pruneScope", "*")
		_, diff := r.diff(whole)
		require.True(t, diff.HasChanges)
		for _, name := range []string{"OTHER", "PROD_NEW", "PROD_STALE"} {
			d, ok := diff.DetailedDiff[fmt.Sprintf("unmanagedNames[%q]", name)]
			if assert.True(t, ok, "the preview does not list %s: %v", name, diff.DetailedDiff) {
				assert.Equal(t, p.Delete, d.Kind)
			}
		}
		assert.Len(t, h.workerValues(ref), 5, "a diff writes nothing")
		r.update(whole)
		assert.Equal(t, map[string]string{"PROD_API_KEY": "k", "PROD_TOKEN": "t"}, h.workerValues(ref))
		h.newProcess()
		require.True(t, r.refresh())
		_, diff = r.diff(whole)
		assert.False(t, diff.HasChanges, "the prune settles: %v", diff.DetailedDiff)
	})
}
