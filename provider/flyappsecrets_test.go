package provider

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/fly"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

const (
	flyListRoute = "GET /v1/apps/{app}/secrets"
	flyBulkRoute = "POST /v1/apps/{app}/secrets"
)

// appSecrets are FlyAppSecrets inputs for the test app: secrets from key/value pairs, then
// other inputs as key, value.
func appSecrets(secrets map[string]string, extra ...any) property.Map {
	m := map[string]any{}
	for k, v := range secrets {
		m[k] = v
	}
	kv := map[string]any{"app": testFlyApp, "secrets": property.New(props(m)).WithSecret(true)}
	for i := 0; i+1 < len(extra); i += 2 {
		kv[extra[i].(string)] = extra[i+1]
	}
	return props(kv)
}

// numbered is n secrets KEY_000=value-000-<suffix>...
func numbered(n int, suffix string) map[string]string {
	out := map[string]string{}
	for i := range n {
		out[fmt.Sprintf("KEY_%03d", i)] = fmt.Sprintf("value-%03d-%s", i, suffix)
	}
	return out
}

func TestFlyAppSecretsOneWritePerChange(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	r := h.resource(fly.FlyAppSecretsToken, "app")
	secrets := numbered(200, "a")

	st := h.calls(func() { r.create(appSecrets(secrets)) })
	assert.Equal(t, map[string]int{flyListRoute: 1, flyBulkRoute: 1}, st.Routes, "one look, one write for 200 keys")
	assert.Equal(t, testFlyApp, r.id)
	assert.Len(t, h.flySecretNames(testFlyApp), 200)
	assert.Equal(t, slices.Sorted(maps.Keys(secrets)), stringsOf(r.state.Get("names")))
	assertSecret(t, r.state, "secrets", "create")
	v1 := secretsVersion(r.state)

	t.Run("no change, no call", func(t *testing.T) {
		st := h.calls(func() {
			op, err := r.up(appSecrets(secrets))
			require.NoError(t, err)
			assert.Equal(t, "same", op)
		})
		assert.Zero(t, st.Total)
	})

	t.Run("5 changed and 3 removed: one write", func(t *testing.T) {
		next := maps.Clone(secrets)
		for i := range 5 {
			next[fmt.Sprintf("KEY_%03d", i)] = "changed"
		}
		for i := 10; i < 13; i++ {
			delete(next, fmt.Sprintf("KEY_%03d", i))
		}
		before, _ := h.flySecret(testFlyApp, "KEY_100")
		st := h.operation(func() { r.update(appSecrets(next)) })
		assert.Equal(t, map[string]int{flyListRoute: 1, flyBulkRoute: 1}, st.Answered())
		names := h.flySecretNames(testFlyApp)
		assert.Len(t, names, 197)
		assert.NotContains(t, names, "KEY_010")
		assert.NotContains(t, names, "KEY_012")
		after, _ := h.flySecret(testFlyApp, "KEY_100")
		assert.Equal(t, before.UpdatedAt, after.UpdatedAt, "an unchanged key is not written")
		changed, _ := h.flySecret(testFlyApp, "KEY_000")
		assert.Equal(t, "changed", changed.Value)
		assert.Greater(t, secretsVersion(r.state), v1)
		assert.Len(t, stringsOf(r.state.Get("names")), 197)
		secrets = next
	})

	t.Run("refresh reads once and finds nothing changed", func(t *testing.T) {
		st := h.operation(func() { require.True(t, r.refresh()) })
		assert.Equal(t, map[string]int{flyListRoute: 1}, st.Answered())
		_, diff := r.diff(appSecrets(secrets))
		assert.False(t, diff.HasChanges, "%v", diff.DetailedDiff)
	})

	t.Run("destroy is one write", func(t *testing.T) {
		st := h.operation(func() { require.NoError(t, r.delete()) })
		assert.Equal(t, map[string]int{flyListRoute: 1, flyBulkRoute: 1}, st.Answered())
		assert.Empty(t, h.flySecretNames(testFlyApp))
	})
}

// Prune has an explicit scope (the template's fixed parts, or pruneScope), unsets only what was
// there before the resource took the scope over, keeps what is written into it later, and
// refuses a name another resource declares inside it.
func TestFlyAppSecretsKeyTemplateAndPrune(t *testing.T) {
	t.Parallel()
	h := newHarness(t, emulator.Options{})
	for name, value := range map[string]string{"PROD_STALE": "x", "OTHER": "y"} {
		_, err := h.fly().SetSecret(t.Context(), testFlyApp, name, value)
		require.NoError(t, err)
	}
	h.outOfBandLag()
	h.nextSecond() // the stray reads as written before the prune takes its scope

	t.Run("a name another resource declares inside the scope fails the preview, naming both", func(t *testing.T) {
		h.resource(fly.FlySecretToken, "db").mustCheck(flyInputs("PROD_DB", "z"))
		_, failures := h.resource(fly.FlyAppSecretsToken, "prod").check(
			appSecrets(map[string]string{"API_KEY": "k"}, "keyTemplate", "PROD_{{key}}", "prune", true))
		require.Len(t, failures, 1)
		assert.Contains(t, failures[0].Reason, `"PROD_DB" is inside the prune scope PROD_* of fly:FlyAppSecrets "prod"`)
		h.newProcess() // the program without that FlySecret
	})

	t.Run("prune needs a scope", func(t *testing.T) {
		_, failures := h.resource(fly.FlyAppSecretsToken, "all").check(appSecrets(map[string]string{"A": "a"}, "prune", true))
		require.Len(t, failures, 1)
		assert.Contains(t, failures[0].Reason, `pruneScope`)
	})

	r := h.resource(fly.FlyAppSecretsToken, "prod")
	inputs := appSecrets(map[string]string{"API_KEY": "k", "TOKEN": "t"}, "keyTemplate", "PROD_{{key}}", "prune", true)
	r.create(inputs)
	names := h.flySecretNames(testFlyApp)
	slices.Sort(names)
	assert.Equal(t, []string{"OTHER", "PROD_API_KEY", "PROD_TOKEN"}, names,
		"the template names the keys; prune unsets the stray there before, not the name outside its scope")
	assert.Equal(t, []string{"PROD_API_KEY", "PROD_TOKEN"}, stringsOf(r.state.Get("names")))

	t.Run("a key written into the scope later is someone else's: kept, and refresh settles", func(t *testing.T) {
		_, err := h.fly().SetSecret(t.Context(), testFlyApp, "PROD_NEW", "n")
		require.NoError(t, err)
		h.outOfBandLag()
		before := r.state
		require.True(t, r.refresh())
		assert.Empty(t, stringsOf(r.state.Get("unmanagedNames")))
		assert.Equal(t, before, r.state, "refresh changes nothing")
		op, err := r.up(inputs)
		require.NoError(t, err)
		assert.Equal(t, "same", op)
		assert.Contains(t, h.flySecretNames(testFlyApp), "PROD_NEW")
	})

	t.Run("the whole app only with pruneScope *", func(t *testing.T) {
		all := h.resource(fly.FlyAppSecretsToken, "all")
		h.outOfBandLag()
		h.nextSecond() // the app's other secrets read as written before it takes the app over
		all.create(appSecrets(map[string]string{"OTHER": "mine now"}, "adopt", true, "prune", true, "pruneScope", "*"))
		assert.Equal(t, []string{"OTHER"}, h.flySecretNames(testFlyApp),
			"everything else of the app was there before it took the app over")
		require.NoError(t, all.delete())
		h.outOfBandLag() // the next program, without it
		r = h.resource(fly.FlyAppSecretsToken, "prod")
	})

	t.Run("a template change renames in one write", func(t *testing.T) {
		r.create(inputs)
		st := h.calls(func() {
			r.update(appSecrets(map[string]string{"API_KEY": "k", "TOKEN": "t"}, "keyTemplate", "STAGING_{{key}}"))
		})
		assert.Equal(t, 1, st.Answered()[flyBulkRoute])
		names := h.flySecretNames(testFlyApp)
		assert.Contains(t, names, "STAGING_API_KEY")
		assert.NotContains(t, names, "PROD_API_KEY")
	})
}

func TestFlyAppSecretsOwnership(t *testing.T) {
	t.Parallel()
	h := newHarness(t, emulator.Options{})
	_, err := h.fly().SetSecret(t.Context(), testFlyApp, "TAKEN", "theirs")
	require.NoError(t, err)
	h.outOfBandLag()

	r := h.resource(fly.FlyAppSecretsToken, "app")
	_, err = r.up(appSecrets(map[string]string{"TAKEN": "ours-secret-value", "FREE": "f"}))
	require.Error(t, err)
	// The advice imports only the program's keys: the app's other secrets stay outside.
	assert.Contains(t, err.Error(), "pulumi import edgesecrets:fly:FlyAppSecrets app 'demo-app?keys=TAKEN'")
	assertNoLeak(t, err, "ours-secret-value", "theirs")
	assert.ElementsMatch(t, []string{"TAKEN"}, h.flySecretNames(testFlyApp), "a refused create writes nothing")

	r = h.resource(fly.FlyAppSecretsToken, "app")
	r.create(appSecrets(map[string]string{"TAKEN": "ours", "FREE": "f"}, "adopt", true))
	taken, _ := h.flySecret(testFlyApp, "TAKEN")
	assert.Equal(t, "ours", taken.Value, "adopt writes the program's value")

	t.Run("a key written since by someone else is left on removal and destroy", func(t *testing.T) {
		_, err := h.fly().SetSecret(t.Context(), testFlyApp, "FREE", "someone else's")
		require.NoError(t, err)
		h.outOfBandLag()
		require.NoError(t, r.delete())
		assert.Equal(t, []string{"FREE"}, h.flySecretNames(testFlyApp))
	})
}

func TestFlyAppSecretsDriftIsWrittenBackInOneCall(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	r := h.resource(fly.FlyAppSecretsToken, "app")
	secrets := map[string]string{"A": "a", "B": "b", "C": "c"}
	r.create(appSecrets(secrets))

	_, err := h.fly().SetSecret(t.Context(), testFlyApp, "A", "changed outside")
	require.NoError(t, err)
	_, err = h.fly().DeleteSecret(t.Context(), testFlyApp, "B")
	require.NoError(t, err)
	h.outOfBandLag()

	require.True(t, r.refresh())
	_, diff := r.diff(appSecrets(secrets))
	assert.True(t, diff.HasChanges, "a value changed and a key removed outside are a diff")
	st := h.calls(func() {
		op, err := r.up(appSecrets(secrets))
		require.NoError(t, err)
		assert.Equal(t, "update", op)
	})
	assert.Equal(t, map[string]int{flyBulkRoute: 1}, st.Answered())
	a, _ := h.flySecret(testFlyApp, "A")
	assert.Equal(t, "a", a.Value)
	assert.Contains(t, h.flySecretNames(testFlyApp), "B")
	_, diff = r.diff(appSecrets(secrets))
	assert.False(t, diff.HasChanges, "%v", diff.DetailedDiff)
}

func TestFlyAppSecretsImportThenOneWrite(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	for name, value := range map[string]string{"PROD_A": "a", "PROD_B": "b", "OTHER": "o"} {
		_, err := h.fly().SetSecret(t.Context(), testFlyApp, name, value)
		require.NoError(t, err)
	}
	h.outOfBandLag()

	r, err := h.importID(fly.FlyAppSecretsToken, "prod", "demo-app?keyTemplate=PROD_{{key}}")
	require.NoError(t, err)
	require.NotNil(t, r)
	assert.Equal(t, []string{"PROD_A", "PROD_B"}, stringsOf(r.state.Get("names")))
	assert.Equal(t, "PROD_{{key}}", str(r.inputs, "keyTemplate"))

	st := h.calls(func() {
		op, err := r.up(appSecrets(map[string]string{"A": "a2", "B": "b2"}, "keyTemplate", "PROD_{{key}}"))
		require.NoError(t, err)
		assert.Equal(t, "update", op)
	})
	assert.Equal(t, map[string]int{flyBulkRoute: 1}, st.Routes, "the program's values, once, in one call")

	for _, bad := range []string{"Demo App", "demo-app?keyTemplate=NOKEY", "demo-app?other=x"} {
		_, err := h.importID(fly.FlyAppSecretsToken, "bad", bad)
		assert.ErrorContains(t, err, "FlyAppSecrets ID", bad)
	}
	_, err = h.importID(fly.FlyAppSecretsToken, "none", "demo-app?keyTemplate=NONE_{{key}}")
	assert.ErrorContains(t, err, "nothing to import")
}

func TestFlyAppSecretsCheckFailures(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	r := h.resource(fly.FlyAppSecretsToken, "app")
	cases := map[string]struct {
		inputs   property.Map
		property string
		reason   string
	}{
		"template without key": {appSecrets(map[string]string{"A": "a"}, "keyTemplate", "PROD_"),
			"keyTemplate", "exactly once"},
		"name a variable cannot be": {appSecrets(map[string]string{"1A": "a"}), "secrets", `secrets["1A"]`},
		"template makes it invalid": {appSecrets(map[string]string{"A": "a"}, "keyTemplate", "9{{key}}"), "secrets", `"9A"`},
		"empty value":               {appSecrets(map[string]string{"A": "  "}), "secrets", "whitespace"},
		"bad encoding":              {appSecrets(map[string]string{"A": "a"}, "encoding", "hex"), "encoding", "plain"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, failures := r.check(tc.inputs)
			require.NotEmpty(t, failures)
			assert.Contains(t, failures[0].Reason, tc.reason)
			assertFailureOn(t, failures[0], tc.property, rules.SecretInputNames[fly.FlyAppSecretsArgs]())
			for _, f := range failures {
				assert.NotContains(t, f.Reason, "  ")
			}
		})
	}
}

// stringsOf reads a list of strings.
func stringsOf(v property.Value) []string {
	var out []string
	if v.IsArray() {
		for _, item := range v.AsArray().All {
			out = append(out, item.AsString())
		}
	}
	return out
}
