package provider

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/fly"
)

// recreateApp deletes the app and makes it again under its name, as `fly apps destroy` and
// `fly apps create` do: the new app starts over at secrets version 0, with no secrets.
func (h *harness) recreateApp(app string) {
	h.t.Helper()
	for _, req := range []struct{ method, path, body string }{
		{http.MethodDelete, "/v1/apps/" + app, ""},
		{http.MethodPost, "/v1/apps", `{"app_name":"` + app + `","org_slug":"personal"}`},
	} {
		r, err := http.NewRequestWithContext(h.t.Context(), req.method, h.url+req.path, bytes.NewBufferString(req.body))
		require.NoError(h.t, err)
		r.Header.Set("Authorization", "Bearer "+h.opts.FlyToken)
		r.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(r)
		require.NoError(h.t, err)
		_ = res.Body.Close()
		require.Less(h.t, res.StatusCode, 300, "%s %s", req.method, req.path)
	}
}

// withinTheRetryBudget runs f as an operation of its own, and fails if it took the whole retry
// budget: what a read that waits for a version that never comes takes, 412 after 412. A read
// that takes the app as it is waits versionWaitLags read lags once (5 s here, of 30 s).
func (h *harness) withinTheRetryBudget(what string, f func()) {
	h.t.Helper()
	began := time.Now()
	h.operation(f)
	assert.Less(h.t, time.Since(began), h.timing.RetryBudget, "the %s waited for a version the app will not reach", what)
}

// An app deleted and made again under its name starts over at secrets version 0: the version a
// resource recorded will never come. Refresh and destroy must not wait for it: they read the app
// as it is now, within the read lag, and take what they find there (a secret gone, or someone
// else's under the same name, which a destroy leaves alone).
func TestAnAppMadeAgainIsReadFromScratch(t *testing.T) {
	t.Parallel()
	h := newHarness(t, emulator.Options{})
	gone := h.resource(fly.FlySecretToken, "gone")
	gone.create(flyInputs("GONE", "one"))
	theirs := h.resource(fly.FlySecretToken, "theirs")
	theirs.create(flyInputs("THEIRS", "one"))
	theirs.update(flyInputs("THEIRS", "two"))
	require.GreaterOrEqual(t, secretsVersion(theirs.state), int64(2))

	h.recreateApp(testFlyApp)
	_, err := h.fly().SetSecret(t.Context(), testFlyApp, "THEIRS", "someone else's")
	require.NoError(t, err)
	h.outOfBandLag()

	h.withinTheRetryBudget("refresh", func() {
		assert.False(t, gone.refresh(), "the secret is not on the app made again: the refresh drops it")
		require.True(t, theirs.refresh(), "a secret of that name is on the new app")
		assert.NotEqual(t, "", str(theirs.state, "digest"))
	})
	_, diff := theirs.diff(flyInputs("THEIRS", "two"))
	assert.True(t, diff.HasChanges, "the new app's value differs from the program's: drift")
	h.withinTheRetryBudget("destroy", func() { assert.NoError(t, theirs.delete()) })
	s, ok := h.flySecret(testFlyApp, "THEIRS")
	require.True(t, ok, "the destroy removed a secret another writer set on the new app")
	assert.Equal(t, "someone else's", s.Value)
}

// The same with nothing written to the app made again (it stays at version 0), and a
// FlyAppSecrets beside: a refresh drops what is gone, a destroy ends at once.
func TestAnEmptyAppMadeAgainIsReadFromScratch(t *testing.T) {
	t.Parallel()
	h := newHarness(t, emulator.Options{})
	one := h.resource(fly.FlySecretToken, "one")
	one.create(flyInputs("ONE", "one"))
	all := h.resource(fly.FlyAppSecretsToken, "all")
	all.create(props(map[string]any{"app": testFlyApp, "secrets": map[string]any{"TWO": secret("two")}}))
	h.recreateApp(testFlyApp)
	h.outOfBandLag()

	h.withinTheRetryBudget("refresh", func() {
		assert.False(t, one.refresh(), "the secret is not on the app made again")
		require.True(t, all.refresh(), "a FlyAppSecrets stays: its app exists")
		_, diff := all.diff(props(map[string]any{"app": testFlyApp, "secrets": map[string]any{"TWO": secret("two")}}))
		assert.True(t, diff.HasChanges, "its secret is gone from the app: drift to write back")
	})
	h.withinTheRetryBudget("destroy", func() { assert.NoError(t, all.delete()) })
	assert.Empty(t, h.flySecretNames(testFlyApp))
}
