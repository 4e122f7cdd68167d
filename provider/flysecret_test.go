package provider

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/fly"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

func flyInputs(name, value string, extra ...any) property.Map {
	kv := map[string]any{"app": testFlyApp, "name": name, "value": secret(value)}
	for i := 0; i+1 < len(extra); i += 2 {
		kv[extra[i].(string)] = extra[i+1]
	}
	return props(kv)
}

func TestFlySecretLifecycle(t *testing.T) {
	t.Parallel()
	h := newHarness(t, emulator.Options{})
	r := h.resource(fly.FlySecretToken, "db")

	st := h.operation(func() { r.create(flyInputs("DATABASE_URL", "postgres://one")) })
	// Each is shared with every other FlySecret of the app that the operation creates at once.
	assert.Equal(t, map[string]int{flyListRoute: 1, flyBulkRoute: 1}, st.Routes,
		"a look at the app that the name is free, one write")
	assert.Equal(t, "demo-app/DATABASE_URL", r.id)
	assert.Regexp(t, `^[0-9a-f]{16}$`, str(r.state, "digest"))
	assert.NotEmpty(t, str(r.state, "createdAt"))
	assert.Greater(t, r.state.Get("version").AsNumber(), 0.0)
	assertSecret(t, r.state, "value", "create")
	firstDigest, createdAt := str(r.state, "digest"), str(r.state, "createdAt")
	firstVersion := r.state.Get("version").AsNumber()

	t.Run("no-op diff makes no call", func(t *testing.T) {
		st := h.calls(func() {
			_, diff := r.diff(flyInputs("DATABASE_URL", "postgres://one"))
			assert.False(t, diff.HasChanges, "%v", diff.DetailedDiff)
		})
		assert.Zero(t, st.Total)
	})

	t.Run("a token change is no diff", func(t *testing.T) {
		_, diff := r.diff(flyInputs("DATABASE_URL", "postgres://one", "apiToken", secret("rotated")))
		assert.False(t, diff.HasChanges, "%v", diff.DetailedDiff)
	})

	t.Run("value changes in place with one call", func(t *testing.T) {
		_, diff := r.diff(flyInputs("DATABASE_URL", "postgres://two"))
		assert.Equal(t, map[string]p.PropertyDiff{"value": {Kind: p.Update, InputDiff: true}}, diff.DetailedDiff)
		st := h.operation(func() { r.update(flyInputs("DATABASE_URL", "postgres://two")) })
		onlyRoute(t, st, flyBulkRoute)
		assert.NotEqual(t, firstDigest, str(r.state, "digest"))
		assert.Equal(t, createdAt, str(r.state, "createdAt"), "createdAt survives an overwrite")
		assert.Greater(t, r.state.Get("version").AsNumber(), firstVersion)
		assertSecret(t, r.state, "value", "update")
	})

	t.Run("app and name changes replace", func(t *testing.T) {
		_, diff := r.diff(flyInputs("DATABASE_URI", "postgres://two"))
		assert.Equal(t, p.UpdateReplace, diff.DetailedDiff["name"].Kind)
		_, diff = r.diff(props(map[string]any{"app": "other-app", "name": "DATABASE_URL", "value": secret("postgres://two")}))
		assert.Equal(t, p.UpdateReplace, diff.DetailedDiff["app"].Kind)
		assert.False(t, diff.DeleteBeforeReplace, "a Fly secret can be created before the old one goes")
	})

	t.Run("refresh without drift is one read and no diff", func(t *testing.T) {
		before := r.state
		st := h.operation(func() { require.True(t, r.refresh()) })
		onlyRoute(t, st, flyListRoute)
		assert.Equal(t, str(before, "digest"), str(r.state, "digest"))
		assertSecret(t, r.state, "value", "refresh")
		_, diff := r.diff(flyInputs("DATABASE_URL", "postgres://two"))
		assert.False(t, diff.HasChanges, "%v", diff.DetailedDiff)
	})

	t.Run("a value changed outside Pulumi is a diff and is written back", func(t *testing.T) {
		_, err := h.fly().SetSecret(t.Context(), testFlyApp, "DATABASE_URL", "changed-by-hand")
		require.NoError(t, err)
		h.outOfBandLag()
		require.True(t, r.refresh())
		_, diff := r.diff(flyInputs("DATABASE_URL", "postgres://two"))
		assert.Equal(t, p.Update, diff.DetailedDiff["value"].Kind)
		r.update(flyInputs("DATABASE_URL", "postgres://two"))
		remote, err := h.fly().GetSecret(t.Context(), testFlyApp, "DATABASE_URL", secretsVersion(r.state))
		require.NoError(t, err)
		assert.Equal(t, remote.Digest, str(r.state, "digest"))
		require.True(t, r.refresh())
		_, diff = r.diff(flyInputs("DATABASE_URL", "postgres://two"))
		assert.False(t, diff.HasChanges, "after the write-back, refresh finds no drift: %v", diff.DetailedDiff)
	})

	t.Run("a rename replaces: the new name is set, then the old one unset", func(t *testing.T) {
		r.replace(flyInputs("DATABASE_URI", "postgres://two"))
		_, found := h.flySecret(testFlyApp, "DATABASE_URL")
		assert.False(t, found, "old name still set")
		_, found = h.flySecret(testFlyApp, "DATABASE_URI")
		assert.True(t, found, "new name not set")
		assert.Equal(t, "demo-app/DATABASE_URI", r.id)
	})

	t.Run("delete is a look that it is still ours and one call; deleting what is gone succeeds", func(t *testing.T) {
		st := h.operation(func() { require.NoError(t, r.delete()) })
		assert.Equal(t, map[string]int{flyListRoute: 1, flyBulkRoute: 1}, st.Answered())
		_, found := h.flySecret(testFlyApp, "DATABASE_URI")
		assert.False(t, found, "secret still there")
		require.NoError(t, r.delete(), "delete of a secret already gone")
	})
}

func TestFlySecretDeletedOutsidePulumiLeavesOnRefresh(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	r := h.resource(fly.FlySecretToken, "key").create(flyInputs("API_KEY", "k1"))
	_, err := h.fly().DeleteSecret(t.Context(), testFlyApp, "API_KEY")
	require.NoError(t, err)
	h.outOfBandLag()
	assert.False(t, r.refresh(), "refresh must drop a secret deleted outside Pulumi")
}

func TestFlySecretImport(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	_, err := h.fly().SetSecret(t.Context(), testFlyApp, "API_KEY", "set-by-flyctl")
	require.NoError(t, err)
	h.outOfBandLag()

	var r *res
	st := h.operation(func() {
		r, err = h.importID(fly.FlySecretToken, "key", "demo-app/API_KEY")
		require.NoError(t, err)
	})
	onlyRoute(t, st, flyListRoute)
	require.NotNil(t, r)
	assert.Equal(t, "demo-app", str(r.inputs, "app"))
	assert.Equal(t, "API_KEY", str(r.inputs, "name"))
	assert.Regexp(t, `^[0-9a-f]{16}$`, str(r.state, "digest"))

	// The next up writes the program's value once, in place.
	program := flyInputs("API_KEY", "from-pulumi")
	st = h.operation(func() { r.update(program) })
	onlyRoute(t, st, flyBulkRoute)
	_, diff := r.diff(program)
	assert.False(t, diff.HasChanges, "%v", diff.DetailedDiff)

	t.Run("an imported secret can be destroyed", func(t *testing.T) {
		_, err := h.fly().SetSecret(t.Context(), testFlyApp, "BARE", "x")
		require.NoError(t, err)
		// No outOfBandLag: an import right after the write still finds it (a 404 with no
		// version to ask for is retried for the read lag).
		r, err := h.importID(fly.FlySecretToken, "bare", "demo-app/BARE")
		require.NoError(t, err)
		require.NoError(t, r.delete())
		_, found := h.flySecret(testFlyApp, "BARE")
		assert.False(t, found)
	})

	t.Run("a missing secret fails the import, leaving nothing", func(t *testing.T) {
		r, err := h.importID(fly.FlySecretToken, "gone", "demo-app/NOPE")
		require.ErrorContains(t, err, `Fly.io secret "demo-app/NOPE" not found, so there is nothing to import`)
		assert.Nil(t, r)
	})
	t.Run("malformed IDs fail before any call", func(t *testing.T) {
		ids := []string{"", "demo-app", "demo-app/", "/API_KEY", "Demo_App/API_KEY", "demo-app/1KEY", "demo-app/API-KEY"}
		for _, id := range ids {
			st := h.calls(func() {
				_, err := h.importID(fly.FlySecretToken, "bad", id)
				require.Error(t, err, id)
				assert.Contains(t, err.Error(), "<app>/<name>", id)
			})
			assert.Zero(t, st.Total, id)
		}
	})
}

func TestFlySecretCheckFailures(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	cases := []struct {
		name     string
		inputs   property.Map
		property string
		reason   string
	}{
		{"name with a dash", flyInputs("API-KEY", "v"), "name", "letters, digits and underscores"},
		{"name starting with a digit", flyInputs("1PASSWORD", "v"), "name", "not starting with a digit"},
		{"name with a space", flyInputs("API KEY", "v"), "name", "environment variables"},
		{"name with a dot", flyInputs("api.key", "v"), "name", "environment variables"},
		{"empty name", flyInputs("", "v"), "name", "environment variables"},
		{"non-ASCII name", flyInputs("CLÉ", "v"), "name", "environment variables"},
		{"empty value", flyInputs("API_KEY", ""), "value", "must not be empty"},
		{"unknown encoding", flyInputs("API_KEY", "v", "encoding", "hex"), "encoding", `use "plain" or "base64"`},
		{"uppercase app", props(map[string]any{"app": "Demo", "name": "A", "value": secret("v")}), "app", "lowercase"},
		{"app with underscore", props(map[string]any{"app": "demo_app", "name": "A", "value": secret("v")}),
			"app", "lowercase"},
		{"app with a slash", props(map[string]any{"app": "demo/app", "name": "A", "value": secret("v")}), "app", "lowercase"},
		{"empty app", props(map[string]any{"app": "", "name": "A", "value": secret("v")}), "app", "lowercase"},
		{"app too long", props(map[string]any{"app": strings.Repeat("a", 64), "name": "A", "value": secret("v")}),
			"app", "at most 63"},
		{"app starting with a dash", props(map[string]any{"app": "-demo", "name": "A", "value": secret("v")}),
			"app", "lowercase"},
		{"missing value", props(map[string]any{"app": "demo", "name": "A"}), "value", ""},
		{"missing app", props(map[string]any{"name": "A", "value": secret("v")}), "app", ""},
	}
	st := h.calls(func() {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := h.resource(fly.FlySecretToken, "bad")
				_, failures := r.check(tc.inputs)
				require.NotEmpty(t, failures, "expected a check failure")
				assertFailureOn(t, failures[0], tc.property, rules.SecretInputNames[fly.FlySecretArgs]())
				assert.Contains(t, failures[0].Reason, tc.reason)
			})
		}
	})
	assert.Zero(t, st.Total, "Check must make no API call")
}

func TestFlySecretUnknownInputsAtPreview(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	r := h.resource(fly.FlySecretToken, "db").create(flyInputs("DATABASE_URL", "v1"))
	st := h.calls(func() {
		unknown := property.New(property.Computed)
		_, failures := r.check(flyInputs("DATABASE_URL", "", "value", unknown))
		assert.Empty(t, failures, "an unknown value is checked once known")
		_, diff := r.diff(props(map[string]any{"app": testFlyApp, "name": "DATABASE_URL", "value": unknown}))
		assert.Equal(t, p.Update, diff.DetailedDiff["value"].Kind)
		_, diff = r.diff(props(map[string]any{"app": unknown, "name": "DATABASE_URL", "value": secret("v1")}))
		assert.Equal(t, p.UpdateReplace, diff.DetailedDiff["app"].Kind, "an unknown app may be another app")
	})
	assert.Zero(t, st.Total)
}

func TestFlySecretBase64Encoding(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	content := "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	r := h.resource(fly.FlySecretToken, "cert").create(flyInputs("TLS_CERT", content, "encoding", "base64"))

	// The same bytes set by hand, base64-encoded, give the same digest.
	set, err := h.fly().SetSecret(t.Context(), testFlyApp, "TLS_CERT", base64.StdEncoding.EncodeToString([]byte(content)))
	require.NoError(t, err)
	assert.Equal(t, set.Digest, str(r.state, "digest"))

	_, diff := r.diff(flyInputs("TLS_CERT", content))
	assert.Equal(t, p.Update, diff.DetailedDiff["encoding"].Kind, "switching to plain rewrites the value")
}

func TestFlySecretErrorsNameTheFixAndNeverTheValue(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	r := h.resource(fly.FlySecretToken, "db")
	checked := r.mustCheck(props(map[string]any{"app": "no-such-app", "name": "DATABASE_URL",
		"value": secret("hunter2-secret")}))
	_, err := h.server.Create(p.CreateRequest{Urn: r.urn, Properties: checked})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "app not found")
	assertNoLeak(t, err, "hunter2-secret", h.opts.FlyToken)

	r = h.resource(fly.FlySecretToken, "db")
	checked = r.mustCheck(flyInputs("DATABASE_URL", "hunter2-secret", "apiToken", secret("wrong-token")))
	_, err = h.server.Create(p.CreateRequest{Urn: r.urn, Properties: checked})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401")
	assertNoLeak(t, err, "hunter2-secret", "wrong-token")
}

// FlySecrets the engine has checked are known to be on their way: the first one's bulk write
// waits for the second (one call, one secrets version), however late the second's create comes.
// The pause before it only gives a write that did not wait the time to go out alone.
func TestCheckedFlySecretsShareOneWrite(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	first, second := h.resource(fly.FlySecretToken, "first"), h.resource(fly.FlySecretToken, "second")
	firstInputs, secondInputs := flyInputs("FIRST", "v"), flyInputs("SECOND", "v")
	st := h.calls(func() {
		first.mustCheck(firstInputs)
		second.mustCheck(secondInputs)
		done := make(chan error, 1)
		go func() {
			_, err := first.up(firstInputs)
			done <- err
		}()
		time.Sleep(300 * time.Millisecond)
		_, err := second.up(secondInputs)
		require.NoError(t, err)
		require.NoError(t, <-done)
	})
	assert.Equal(t, 1, st.Routes[flyBulkRoute], "one bulk write for both")
	assert.Equal(t, secretsVersion(first.state), secretsVersion(second.state))
}
