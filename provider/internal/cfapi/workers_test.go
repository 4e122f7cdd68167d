package cfapi

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/emulatortest"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/workers"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/coalesce"
)

const bulkRoute = "PATCH /client/v4/accounts/{account_id}/workers/scripts/{script_name}/secrets-bulk"

func emulatedWorkers(t *testing.T, shared *Shared, scripts ...string) (*emulator.Server, *Client) {
	t.Helper()
	srv, ts := emulatortest.Start(t, emulator.Options{CloudflareWorkers: scripts})
	return srv, New(ts.URL+"/client/v4", emulator.DefaultCloudflareToken, account, Options{Shared: shared})
}

func workerValues(t *testing.T, srv *emulator.Server, ref workers.ScriptRef) map[string]string {
	t.Helper()
	secrets, err := srv.Workers().Secrets(ref)
	require.NoError(t, err)
	out := map[string]string{}
	for _, s := range secrets {
		out[s.Name] = s.Text
	}
	return out
}

func TestWorkerSecretsRoundTrip(t *testing.T) {
	for _, ref := range []workers.ScriptRef{{Name: "api"}, {Namespace: "tenants", Name: "api"}} {
		t.Run(ref.String(), func(t *testing.T) {
			srv, c := emulatedWorkers(t, nil, ref.String())
			script := WorkerScript{Namespace: ref.Namespace, Name: ref.Name}
			ctx := t.Context()
			_, err := c.PutWorkerSecret(ctx, script, "ONE", "1")
			require.NoError(t, err)
			two, three := "2", "3"
			at, err := c.PatchWorkerSecrets(ctx, script, map[string]*string{"TWO": &two, "THREE": &three, "ONE": nil})
			require.NoError(t, err)
			assert.WithinDuration(t, time.Now(), at, 5*time.Second)
			assert.Equal(t, map[string]string{"TWO": "2", "THREE": "3"}, workerValues(t, srv, ref))
			listed, err := c.ListWorkerSecrets(ctx, script)
			require.NoError(t, err)
			assert.Equal(t, []WorkerSecret{{Name: "THREE", Type: "secret_text"}, {Name: "TWO", Type: "secret_text"}}, listed)
			require.NoError(t, c.DeleteWorkerSecret(ctx, script, "TWO"))
			assert.True(t, IsWorkerSecretNotFound(c.DeleteWorkerSecret(ctx, script, "TWO")))
			assert.Equal(t, map[string]string{"THREE": "3"}, workerValues(t, srv, ref))
		})
	}
}

func TestWorkerErrorsAreMatchedOnCodes(t *testing.T) {
	srv, c := emulatedWorkers(t, nil, "api")
	ctx := t.Context()
	_, err := c.ListWorkerSecrets(ctx, WorkerScript{Name: "missing"})
	assert.True(t, IsWorkerNotFound(err), "%v", err)
	assert.Contains(t, err.Error(), `"missing"`)

	ref := workers.ScriptRef{Name: "api"}
	_, err = srv.Workers().UploadVersion(ref) // newest version not deployed, as in a gradual deployment
	require.NoError(t, err)
	canary := "canary-" + strings.Repeat("x", 8)
	_, err = c.PutWorkerSecret(ctx, WorkerScript{Name: "api"}, "K", canary)
	assert.True(t, IsLatestNotDeployed(err), "%v", err)
	assert.NotContains(t, err.Error(), canary)
}

// Writes of one script that arrive together are one secrets-bulk call, one version.
func TestWorkerWritesCoalesce(t *testing.T) {
	shared := &Shared{Grace: 50 * time.Millisecond}
	srv, c := emulatedWorkers(t, shared, "api")
	script := WorkerScript{Name: "api"}
	ref := workers.ScriptRef{Name: "api"}
	before, err := srv.Workers().Versions(ref)
	require.NoError(t, err)
	const n = 8
	ops := make([]*coalesce.Op, n)
	for i := range n {
		ops[i] = c.BeginWorker(script) // the engine's round: each write waits for the others
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer ops[i].End()
			name := fmt.Sprintf("K%d", i)
			_, errs[i] = c.WriteWorkerSecrets(context.Background(), script,
				WorkerWrite{Set: map[string]string{name: "v"}, Create: []string{name}}, ops[i])
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.Len(t, workerValues(t, srv, ref), n)
	after, err := srv.Workers().Versions(ref)
	require.NoError(t, err)
	assert.Equal(t, 1, len(after)-len(before), "one version for the whole round")
	assert.Equal(t, 1, srv.Stats().Routes[bulkRoute])
}

// A create of a name the script has fails naming it, and sends nothing; a removal another
// resource declares is kept.
func TestWorkerWriteOwnership(t *testing.T) {
	shared := &Shared{KeepWorkerSecret: func(_ string, _ WorkerScript, name, owner string) string {
		if name == "MOVED" && owner != "new-owner" {
			return "declared by new-owner"
		}
		return ""
	}}
	srv, c := emulatedWorkers(t, shared, "api")
	script := WorkerScript{Name: "api"}
	ctx := t.Context()
	_, err := c.PatchWorkerSecrets(ctx, script, map[string]*string{"TAKEN": ptr("old"), "MOVED": ptr("m")})
	require.NoError(t, err)
	_, err = c.WriteWorkerSecrets(ctx, script, WorkerWrite{Set: map[string]string{"TAKEN": "new"},
		Create: []string{"TAKEN"}}, nil)
	var exists *WorkerExistsError
	require.ErrorAs(t, err, &exists)
	assert.Equal(t, []string{"TAKEN"}, exists.Names)
	res, err := c.WriteWorkerSecrets(ctx, script, WorkerWrite{Remove: []string{"MOVED", "TAKEN"}, Owner: "old-owner"}, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"TAKEN"}, res.Removed)
	assert.Equal(t, map[string]string{"MOVED": "declared by new-owner"}, res.Kept)
	assert.Equal(t, map[string]string{"MOVED": "m"}, workerValues(t, srv, workers.ScriptRef{Name: "api"}))
}

// Prune removes only the scope's secrets the script had before the scope was taken over.
func TestWorkerPrune(t *testing.T) {
	srv, c := emulatedWorkers(t, &Shared{}, "api")
	script := WorkerScript{Name: "api"}
	ctx := t.Context()
	_, err := c.PatchWorkerSecrets(ctx, script, map[string]*string{"PROD_OLD": ptr("o"), "OTHER": ptr("x")})
	require.NoError(t, err)
	time.Sleep(1100 * time.Millisecond) // versions are timed to the second
	since := time.Now()
	time.Sleep(1100 * time.Millisecond)
	_, err = c.PatchWorkerSecrets(ctx, script, map[string]*string{"PROD_NEW": ptr("n")})
	require.NoError(t, err)
	prune := &WorkerPrune{Match: func(n string) bool { return strings.HasPrefix(n, "PROD_") }, Describe: "PROD_*",
		Before: since}
	strays, kept, err := c.WorkerStrays(ctx, script, *prune, []string{"PROD_A"}, "me")
	require.NoError(t, err)
	assert.Equal(t, []string{"PROD_OLD"}, strays)
	assert.Contains(t, kept, "PROD_NEW")
	res, err := c.WriteWorkerSecrets(ctx, script, WorkerWrite{Set: map[string]string{"PROD_A": "a"}, Prune: prune}, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"PROD_OLD"}, res.Removed)
	assert.Equal(t, map[string]string{"OTHER": "x", "PROD_A": "a", "PROD_NEW": "n"},
		workerValues(t, srv, workers.ScriptRef{Name: "api"}))

	// A name the resource removed after taking the scope over and that is back was written since.
	again := *prune
	again.RemovedSince = []string{"PROD_OLD"}
	_, err = c.PatchWorkerSecrets(ctx, script, map[string]*string{"PROD_OLD": ptr("someone else's")})
	require.NoError(t, err)
	strays, kept, err = c.WorkerStrays(ctx, script, again, []string{"PROD_A"}, "me")
	require.NoError(t, err)
	assert.Empty(t, strays)
	assert.Contains(t, kept["PROD_OLD"], "written again since")
	_, err = c.PatchWorkerSecrets(ctx, script, map[string]*string{"PROD_OLD": nil})
	require.NoError(t, err)

	// A managed name the write does not set (unchanged in an update) is no stray.
	whole := &WorkerPrune{Match: func(string) bool { return true }, Describe: "*", Before: time.Now(),
		Managed: []string{"PROD_A"}}
	res, err = c.WriteWorkerSecrets(ctx, script, WorkerWrite{Prune: whole}, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"OTHER", "PROD_NEW"}, res.Removed)
	assert.Equal(t, map[string]string{"PROD_A": "a"}, workerValues(t, srv, workers.ScriptRef{Name: "api"}))
}

func ptr(s string) *string { return &s }
