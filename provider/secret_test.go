package provider

import (
	"strings"
	"testing"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/cloudflare"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/cfapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

const (
	cfStores       = "/client/v4/accounts/{account_id}/secrets_store/stores"
	cfSecrets      = cfStores + "/{store_id}/secrets"
	cfSecret       = cfSecrets + "/{secret_id}"
	cfCreateRoute  = "POST " + cfSecrets
	cfGetRoute     = "GET " + cfSecret
	cfEditRoute    = "PATCH " + cfSecret
	cfDeleteRoute  = "DELETE " + cfSecret
	cfListStores   = "GET " + cfStores
	cfListSecrets  = "GET " + cfSecrets
	cfCreateStore  = "POST " + cfStores
	cfGetStore     = "GET " + cfStores + "/{store_id}"
	cfDeleteStore  = "DELETE " + cfStores + "/{store_id}"
	otherAccountID = "fedcba9876543210fedcba9876543210"
)

// accountStore is the store the account holds: its default store, there from the start as on
// every account that has used Secrets Store, or, on an empty account, one made out of band.
func (h *harness) accountStore() cfapi.Store {
	h.t.Helper()
	stores, err := h.cloudflare().ListStores(h.t.Context())
	require.NoError(h.t, err)
	if len(stores) > 0 {
		return stores[0]
	}
	store, err := h.cloudflare().CreateStore(h.t.Context(), cloudflare.DefaultStoreName)
	require.NoError(h.t, err)
	return store
}

func secretInputs(storeID, value string, extra ...any) property.Map {
	kv := map[string]any{"value": secret(value)}
	if storeID != "" {
		kv["storeId"] = storeID
	}
	for i := 0; i+1 < len(extra); i += 2 {
		kv[extra[i].(string)] = extra[i+1]
	}
	return props(kv)
}

// writesOnly drops the wait-until-active polls from a Stats: listings of the store, shared by
// every secret the operation waits for (and a GET of one secret, which the wait never makes).
func writesOnly(st emulator.Stats) map[string]int {
	routes := map[string]int{}
	for route, n := range st.Routes {
		if route != cfGetRoute && route != cfListSecrets {
			routes[route] = n
		}
	}
	return routes
}

func TestSecretLifecycle(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	store := h.accountStore()
	r := h.resource(cloudflare.SecretToken, "api_key")

	st := h.calls(func() { r.create(secretInputs(store.ID, "v1", "comment", "Stripe key")) })
	assert.Equal(t, map[string]int{cfCreateRoute: 1}, writesOnly(st), "one write; only polls besides")
	assert.Equal(t, "api_key", str(r.state, "name"), "the name defaults to the resource name")
	assert.Equal(t, "active", str(r.state, "status"))
	assert.Regexp(t, `^[0-9a-f]{32}$`, str(r.state, "secretId"))
	assert.Equal(t, h.opts.CloudflareAccount+"/"+store.ID+"/"+str(r.state, "secretId"), r.id)
	assert.Equal(t, "Stripe key", str(r.state, "comment"))
	assert.Equal(t, property.New([]property.Value{property.New("workers")}), r.state.Get("scopes"))
	assert.Equal(t, props(map[string]any{"type": "secrets_store_secret", "storeId": store.ID, "secretName": "api_key"}),
		r.state.Get("binding").AsMap())
	assertSecret(t, r.state, "value", "create")

	t.Run("no-op diff, scopes as a set, token change: no diff and no call", func(t *testing.T) {
		st := h.calls(func() {
			for _, in := range []property.Map{
				secretInputs(store.ID, "v1", "comment", "Stripe key"),
				secretInputs(store.ID, "v1", "comment", "Stripe key", "scopes", []any{"workers", "workers"}),
				secretInputs(store.ID, "v1", "comment", "Stripe key", "apiToken", secret("rotated")),
				secretInputs("", "v1", "comment", "Stripe key"),
			} {
				_, diff := r.diff(in)
				assert.False(t, diff.HasChanges, "%v", diff.DetailedDiff)
			}
		})
		assert.Zero(t, st.Total)
	})

	t.Run("value, scopes and comment change in place with one PATCH", func(t *testing.T) {
		for _, in := range []property.Map{
			secretInputs(store.ID, "v2", "comment", "Stripe key"),
			secretInputs(store.ID, "v2", "comment", "Stripe key", "scopes", []any{"workers", "ai_gateway"}),
			secretInputs(store.ID, "v2", "comment", "rotated monthly", "scopes", []any{"workers", "ai_gateway"}),
			secretInputs(store.ID, "v3", "scopes", []any{"workers"}),
		} {
			st := h.calls(func() { r.update(in) })
			onlyRoute(t, st, cfEditRoute)
		}
		remote, err := h.cloudflare().GetSecret(t.Context(), store.ID, str(r.state, "secretId"))
		require.NoError(t, err)
		assert.Equal(t, []string{"workers"}, remote.Scopes)
		assert.Empty(t, remote.Comment, "removing the comment clears it")
		assertSecret(t, r.state, "value", "update")
	})

	t.Run("sorted scopes in state", func(t *testing.T) {
		r.update(secretInputs(store.ID, "v3", "scopes", []any{"workers", "access", "ai_gateway"}))
		sorted := []property.Value{property.New("access"), property.New("ai_gateway"), property.New("workers")}
		assert.Equal(t, property.New(sorted), r.state.Get("scopes"))
	})

	t.Run("store, name and account changes replace", func(t *testing.T) {
		for prop, in := range map[string]property.Map{
			"storeId":   secretInputs(strings.Repeat("ab", 16), "v3"),
			"name":      secretInputs(store.ID, "v3", "name", "api_key_2"),
			"accountId": secretInputs(store.ID, "v3", "accountId", otherAccountID),
		} {
			_, diff := r.diff(in)
			assert.Equal(t, p.UpdateReplace, diff.DetailedDiff[prop].Kind, prop)
		}
	})

	program := secretInputs(store.ID, "v3", "scopes", []any{"workers", "access", "ai_gateway"})
	t.Run("refresh without drift is one read and no diff", func(t *testing.T) {
		st := h.operation(func() { require.True(t, r.refresh()) })
		onlyRoute(t, st, cfListSecrets)
		assertSecret(t, r.state, "value", "refresh")
		_, diff := r.diff(program)
		assert.False(t, diff.HasChanges, "%v", diff.DetailedDiff)
	})

	t.Run("changes outside Pulumi show on refresh and are written back", func(t *testing.T) {
		other := "edited-in-dashboard"
		_, err := h.cloudflare().EditSecret(t.Context(), store.ID, str(r.state, "secretId"),
			cfapi.SecretEdit{Value: &other, Scopes: []string{"dex"}})
		require.NoError(t, err)
		h.operation(func() { require.True(t, r.refresh()) })
		_, diff := r.diff(program)
		assert.Equal(t, p.Update, diff.DetailedDiff["value"].Kind)
		assert.Equal(t, p.Update, diff.DetailedDiff["scopes"].Kind)
		st := h.calls(func() { r.update(program) })
		onlyRoute(t, st, cfEditRoute)
		// The refresh that follows in the same process sees the edit it made without a call.
		st = h.calls(func() { require.True(t, r.refresh()) })
		assert.Zero(t, st.Total, "%v", st.Routes)
		_, diff = r.diff(program)
		assert.False(t, diff.HasChanges, "%v", diff.DetailedDiff)
		h.operation(func() { require.True(t, r.refresh()) })
		_, diff = r.diff(program)
		assert.False(t, diff.HasChanges, "%v", diff.DetailedDiff)
	})

	t.Run("a rename replaces: a new secret, then the old one deleted", func(t *testing.T) {
		old := r.replace(secretInputs(store.ID, "v3", "name", "api_key_2",
			"scopes", []any{"workers", "access", "ai_gateway"}))
		assert.NotEqual(t, str(old.state, "secretId"), str(r.state, "secretId"))
		names := h.secretNamesIn(store.ID)
		assert.Contains(t, names, "api_key_2")
		assert.NotContains(t, names, "api_key")
	})

	t.Run("delete is a look that it is still ours and one call; deleting what is gone succeeds", func(t *testing.T) {
		st := h.operation(func() { require.NoError(t, r.delete()) })
		assert.Equal(t, map[string]int{cfListSecrets: 1, cfDeleteRoute: 1}, st.Answered())
		require.NoError(t, r.delete())
		assert.False(t, r.refresh(), "a deleted secret leaves the state on refresh")
	})
}

func TestSecretDefaultStoreAndWaitUntilActive(t *testing.T) {
	// An account that never used Secrets Store: the case where a Secret finds no store.
	h := newHarness(t, emulator.Options{ActivationDelay: 300 * time.Millisecond, CloudflareEmptyAccount: true})

	t.Run("no store after the wait: a clear error", func(t *testing.T) {
		r := h.resource(cloudflare.SecretToken, "token")
		checked := r.mustCheck(secretInputs("", "v"))
		start := time.Now()
		_, err := h.server.Create(p.CreateRequest{Urn: r.urn, Properties: checked})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "has no Secrets Store (waited 1s)")
		assert.Contains(t, err.Error(), "pass its storeId")
		assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "it waits for a store made in the same up")
	})

	store := h.accountStore()
	r := h.resource(cloudflare.SecretToken, "token")
	start := time.Now()
	st := h.calls(func() { r.create(secretInputs("", "v")) })
	assert.GreaterOrEqual(t, time.Since(start), 300*time.Millisecond, "create waits until the secret is active")
	assert.Equal(t, map[string]int{cfListStores: 1, cfCreateRoute: 1}, writesOnly(st))
	assert.Positive(t, st.Routes[cfListSecrets], "the wait lists the store")
	assert.Zero(t, st.Routes[cfGetRoute], "the wait never GETs the secret alone")
	assert.Equal(t, "active", str(r.state, "status"))
	assert.Equal(t, store.ID, str(r.state, "storeId"))

	_, diff := r.diff(secretInputs(store.ID, "v"))
	assert.False(t, diff.HasChanges, "naming the default store explicitly is no change: %v", diff.DetailedDiff)
}

func TestSecretAdopt(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	store := h.accountStore()
	existing, err := h.cloudflare().CreateSecrets(t.Context(), store.ID,
		[]cfapi.NewSecret{{Name: "shared", Value: "old", Scopes: []string{"workers"}}}, nil)
	require.NoError(t, err)
	id := existing[0].ID

	r := h.resource(cloudflare.SecretToken, "shared")
	checked := r.mustCheck(secretInputs(store.ID, "new-value"))
	_, err = h.server.Create(p.CreateRequest{Urn: r.urn, Properties: checked})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "adopt: true")
	assert.Contains(t, err.Error(),
		"pulumi import edgesecrets:cloudflare:Secret shared "+h.opts.CloudflareAccount+"/"+store.ID+"/"+id,
		"the error gives the exact import command")
	assertNoLeak(t, err, "new-value")

	r.create(secretInputs(store.ID, "new-value", "adopt", true, "comment", "adopted"))
	assert.Equal(t, id, str(r.state, "secretId"))
	remote, err := h.cloudflare().GetSecret(t.Context(), store.ID, id)
	require.NoError(t, err)
	assert.Equal(t, "adopted", remote.Comment, "adopting writes the program's fields")
}

func TestSecretImport(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	store := h.accountStore()
	existing, err := h.cloudflare().CreateSecrets(t.Context(), store.ID,
		[]cfapi.NewSecret{{Name: "legacy", Value: "old", Scopes: []string{"workers", "dex"}, Comment: "from wrangler"}}, nil)
	require.NoError(t, err)
	id := h.opts.CloudflareAccount + "/" + store.ID + "/" + existing[0].ID

	var r *res
	st := h.operation(func() {
		r, err = h.importID(cloudflare.SecretToken, "legacy", id)
		require.NoError(t, err)
	})
	onlyRoute(t, st, cfListSecrets)
	require.NotNil(t, r)
	assert.Equal(t, store.ID, str(r.inputs, "storeId"))
	assert.Equal(t, "legacy", str(r.inputs, "name"))
	assert.Equal(t, "from wrangler", str(r.inputs, "comment"))

	imported := *r
	require.True(t, imported.refresh(), "an imported secret refreshes")

	program := secretInputs(store.ID, "from-pulumi", "name", "legacy", "scopes", []any{"dex", "workers"},
		"comment", "from wrangler")
	st = h.calls(func() { r.update(program) })
	// One write; the secret made just before is still pending, and the update waits for it.
	assert.Equal(t, map[string]int{cfEditRoute: 1}, writesOnly(st))
	_, diff := r.diff(program)
	assert.False(t, diff.HasChanges, "%v", diff.DetailedDiff)

	t.Run("an imported secret can be destroyed", func(t *testing.T) {
		created, err := h.cloudflare().CreateSecrets(t.Context(), store.ID,
			[]cfapi.NewSecret{{Name: "bare", Value: "x", Scopes: []string{"workers"}}}, nil)
		require.NoError(t, err)
		h.newProcess()
		r, err := h.importID(cloudflare.SecretToken, "bare", h.opts.CloudflareAccount+"/"+store.ID+"/"+created[0].ID)
		require.NoError(t, err)
		require.NoError(t, r.delete())
		assert.NotContains(t, h.secretNamesIn(store.ID), "bare")
	})

	t.Run("an ID in an unknown account is an error, not a missing secret", func(t *testing.T) {
		_, err := h.importID(cloudflare.SecretToken, "other", otherAccountID+"/"+store.ID+"/"+existing[0].ID)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "7003")
	})

	t.Run("malformed IDs fail before any call", func(t *testing.T) {
		ids := []string{"", store.ID, h.opts.CloudflareAccount + "/" + store.ID, id + "/x", strings.ToUpper(id), "a/b/c"}
		for _, bad := range ids {
			st := h.calls(func() {
				_, err := h.importID(cloudflare.SecretToken, "bad", bad)
				require.Error(t, err, bad)
				assert.Contains(t, err.Error(), "<accountId>/<storeId>/<secretId>", bad)
			})
			assert.Zero(t, st.Total, bad)
		}
	})
}

func TestSecretDeletedOutsidePulumiLeavesOnRefresh(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	store := h.accountStore()
	r := h.resource(cloudflare.SecretToken, "key").create(secretInputs(store.ID, "v"))
	require.NoError(t, h.cloudflare().DeleteSecret(t.Context(), store.ID, str(r.state, "secretId")))
	assert.False(t, r.refresh())
}

func TestSecretKeepOnDestroy(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	store := h.accountStore()
	r := h.resource(cloudflare.SecretToken, "kept").create(secretInputs(store.ID, "v", "delete", false))
	st := h.calls(func() { require.NoError(t, r.delete()) })
	assert.Zero(t, st.Total)
	_, err := h.cloudflare().GetSecret(t.Context(), store.ID, str(r.state, "secretId"))
	assert.NoError(t, err, "delete: false keeps the secret")
}

func TestSecretCheckFailures(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	storeID := strings.Repeat("0a", 16)
	cases := []struct {
		name, resourceName string
		inputs             property.Map
		property, reason   string
	}{
		{"name with a space", "x", secretInputs(storeID, "v", "name", "api key"), "name", "letters, digits"},
		{"name with a dot", "x", secretInputs(storeID, "v", "name", "api.key"), "name", "letters, digits"},
		{"name with a slash", "x", secretInputs(storeID, "v", "name", "api/key"), "name", "letters, digits"},
		{"empty name", "x", secretInputs(storeID, "v", "name", ""), "name", "letters, digits"},
		{"default name from an invalid resource name", "api.key", secretInputs(storeID, "v"),
			"name", "set `name` explicitly"},
		{"name too long", "x", secretInputs(storeID, "v", "name", strings.Repeat("n", 256)), "name", "at most 255"},
		{"store ID too short", "x", secretInputs("abc123", "v"), "storeId", "32 hexadecimal"},
		{"store ID uppercase", "x", secretInputs(strings.ToUpper(storeID), "v"), "storeId", "32 hexadecimal"},
		{"store ID not hex", "x", secretInputs(strings.Repeat("zz", 16), "v"), "storeId", "32 hexadecimal"},
		{"account ID malformed", "x", secretInputs(storeID, "v", "accountId", "my-account"), "accountId", "32 hexadecimal"},
		{"empty value", "x", secretInputs(storeID, ""), "value", "must not be empty"},
		{"value over 64 KiB", "x", secretInputs(storeID, strings.Repeat("v", 65537)), "value", "at most 65536 bytes"},
		{"empty scopes", "x", secretInputs(storeID, "v", "scopes", []any{}), "scopes", "at least one scope"},
		{"unknown scope", "x", secretInputs(storeID, "v", "scopes", []any{"workers", "kv"}),
			"scopes[1]", `"kv" is not a Secrets Store scope`},
		{"scope with wrong case", "x", secretInputs(storeID, "v", "scopes", []any{"Workers"}),
			"scopes[0]", "allowed: access"},
		{"missing value", "x", props(map[string]any{"storeId": storeID}), "value", ""},
	}
	st := h.calls(func() {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := h.resource(cloudflare.SecretToken, tc.resourceName)
				_, failures := r.check(tc.inputs)
				require.NotEmpty(t, failures, "expected a check failure")
				assertFailureOn(t, failures[0], tc.property, rules.SecretInputNames[cloudflare.SecretArgs]())
				assert.Contains(t, failures[0].Reason, tc.reason)
				for _, f := range failures {
					assert.NotContains(t, f.Reason, "vvvvvvvv", "a failure must not echo the value")
				}
			})
		}
	})
	assert.Zero(t, st.Total, "Check must make no API call")

	t.Run("a 64 KiB value is accepted", func(t *testing.T) {
		_, failures := h.resource(cloudflare.SecretToken, "x").check(secretInputs(storeID, strings.Repeat("v", 65536)))
		assert.Empty(t, failures)
	})
}

func TestCloudflareMissingCredentialsFailAtPreview(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	t.Setenv("CLOUDFLARE_API_TOKEN", "")
	t.Setenv("CLOUDFLARE_ACCOUNT_ID", "")
	bare := h.newServer(props(map[string]any{"cloudflareApiUrl": h.url + "/client/v4"}))
	for _, tc := range []struct {
		typ, name string
		inputs    property.Map
		want      []string
	}{
		{cloudflare.SecretToken, "s", secretInputs("", "v"),
			[]string{"edgesecrets:cloudflareApiToken", "CLOUDFLARE_API_TOKEN"}},
		{cloudflare.SecretsStoreToken, "st", props(map[string]any{}),
			[]string{"edgesecrets:cloudflareApiToken", "CLOUDFLARE_API_TOKEN"}},
		{cloudflare.SecretToken, "s", secretInputs("", "v", "apiToken", secret("t")),
			[]string{"edgesecrets:cloudflareAccountId", "CLOUDFLARE_ACCOUNT_ID"}},
	} {
		r := h.resource(tc.typ, tc.name)
		st := h.calls(func() {
			check, err := bare.Check(p.CheckRequest{Urn: r.urn, Inputs: tc.inputs})
			require.NoError(t, err)
			require.Empty(t, check.Failures)
			_, err = bare.Create(p.CreateRequest{Urn: r.urn, Properties: check.Inputs, DryRun: true})
			require.Error(t, err)
			for _, want := range tc.want {
				assert.Contains(t, err.Error(), want)
			}
		})
		assert.Zero(t, st.Total)
	}
}
