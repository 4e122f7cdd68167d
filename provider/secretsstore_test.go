package provider

import (
	"context"
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

// inline builds a secret `secrets` map input.
func inline(kv ...string) property.Value {
	m := map[string]property.Value{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = property.New(kv[i+1])
	}
	return property.New(m).WithSecret(true)
}

// secretNamesIn lists the store's secrets by name.
func (h *harness) secretNamesIn(storeID string) map[string]string {
	h.t.Helper()
	secrets, err := h.cloudflare().ListSecrets(h.t.Context(), storeID, "")
	require.NoError(h.t, err)
	names := map[string]string{}
	for _, s := range secrets {
		names[s.Name] = s.ID
	}
	return names
}

func TestSecretsStoreLifecycle(t *testing.T) {
	// An account that never used Secrets Store: this resource creates the store.
	h := newHarness(t, emulator.Options{CloudflareEmptyAccount: true})
	r := h.resource(cloudflare.SecretsStoreToken, "store")

	st := h.calls(func() { r.create(props(map[string]any{})) })
	assert.Equal(t, map[string]int{cfListStores: 1, "POST " + cfStores: 1}, st.Routes,
		"one look for the account's default store, one create")
	assert.False(t, r.state.Get("adopted").AsBool())
	assert.True(t, r.state.Get("delete").AsBool(), "a store this resource created is deleted on destroy")
	assert.Equal(t, cloudflare.DefaultStoreName, str(r.state, "name"))
	assert.Equal(t, h.opts.CloudflareAccount, str(r.state, "accountId"))
	assert.Regexp(t, `^[0-9a-f]{32}$`, str(r.state, "storeId"))
	assert.Equal(t, h.opts.CloudflareAccount+"/"+str(r.state, "storeId"), r.id)
	assert.NotEmpty(t, str(r.state, "createdAt"))

	t.Run("no-op diff and token change: no diff, no call", func(t *testing.T) {
		st := h.calls(func() {
			for _, in := range []property.Map{
				props(map[string]any{}),
				props(map[string]any{"name": cloudflare.DefaultStoreName}),
				props(map[string]any{"apiToken": secret("rotated")}),
				props(map[string]any{"accountId": h.opts.CloudflareAccount}),
			} {
				_, diff := r.diff(in)
				assert.False(t, diff.HasChanges, "%v", diff.DetailedDiff)
			}
		})
		assert.Zero(t, st.Total)
	})

	t.Run("a rename replaces, deleting first (one store per account)", func(t *testing.T) {
		_, diff := r.diff(props(map[string]any{"name": "prod"}))
		assert.Equal(t, p.UpdateReplace, diff.DetailedDiff["name"].Kind)
		assert.True(t, diff.DeleteBeforeReplace)
	})

	t.Run("a rename replaces: the old store goes first", func(t *testing.T) {
		old := r.replace(props(map[string]any{"name": "prod"}))
		_, err := h.cloudflare().GetStore(t.Context(), str(old.state, "storeId"))
		assert.True(t, cfapi.IsNotFound(err), "old store still there: %v", err)
		assert.Equal(t, "prod", str(r.state, "name"))
		r.replace(props(map[string]any{}))
		assert.Equal(t, cloudflare.DefaultStoreName, str(r.state, "name"))
	})

	t.Run("delete flag changes in place without a call", func(t *testing.T) {
		st := h.calls(func() { r.update(props(map[string]any{"delete": false})) })
		assert.Zero(t, st.Total)

		// A kept store cannot be renamed (an account holds one store): said at preview.
		checked := r.mustCheck(props(map[string]any{"name": "prod", "delete": false}))
		_, err := h.server.Diff(p.DiffRequest{ID: r.id, Urn: r.urn, State: r.state, Inputs: checked, OldInputs: r.inputs})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "cannot be replaced")
		assert.Contains(t, err.Error(), "`delete: true`")

		st = h.calls(func() { r.update(props(map[string]any{"delete": true})) })
		assert.Zero(t, st.Total)
		// Removing delete: true again is no change: it is the default for a created store.
		_, diff := r.diff(props(map[string]any{}))
		assert.False(t, diff.HasChanges, "%v", diff.DetailedDiff)
	})

	t.Run("refresh is one read", func(t *testing.T) {
		st := h.calls(func() { require.True(t, r.refresh()) })
		onlyRoute(t, st, cfGetStore)
		_, diff := r.diff(props(map[string]any{"delete": true}))
		assert.False(t, diff.HasChanges, "%v", diff.DetailedDiff)
	})

	t.Run("delete is a look at what the store holds, then one call; deleting what is gone succeeds", func(t *testing.T) {
		st := h.calls(func() { require.NoError(t, r.delete()) })
		assert.Equal(t, map[string]int{cfListSecrets: 1, cfDeleteStore: 1}, st.Answered())
		require.NoError(t, r.delete())
		assert.False(t, r.refresh())
	})
}

// The account's default_secrets_store is a fixture, like pulumi-aws's default VPC: a
// SecretsStore of the default name takes it over without adopt, and keeps it on destroy
// unless delete: true is explicit. The examples then run unchanged on a used account.
func TestSecretsStoreTakesOverTheDefaultStore(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	existing := h.accountStore()

	r := h.resource(cloudflare.SecretsStoreToken, "store")
	st := h.calls(func() { r.create(props(map[string]any{})) })
	assert.Equal(t, map[string]int{cfListStores: 1}, st.Routes, "found by one listing, no create")
	assert.Equal(t, existing.ID, str(r.state, "storeId"))
	assert.True(t, r.state.Get("adopted").AsBool())
	assert.False(t, r.state.Get("delete").AsBool(), "a store this resource did not create is kept by default")

	_, diff := r.diff(props(map[string]any{}))
	assert.False(t, diff.HasChanges, "%v", diff.DetailedDiff)
	checked := r.mustCheck(props(map[string]any{"name": "prod"}))
	_, err := h.server.Diff(p.DiffRequest{ID: r.id, Urn: r.urn, State: r.state, Inputs: checked, OldInputs: r.inputs})
	assert.ErrorContains(t, err, "cannot be replaced", "renaming the kept default store fails at preview")

	st = h.calls(func() { require.NoError(t, r.delete()) })
	assert.Zero(t, st.Total, "destroy keeps the default store")
	_, err = h.cloudflare().GetStore(t.Context(), existing.ID)
	require.NoError(t, err)

	t.Run("delete: true deletes it", func(t *testing.T) {
		r := h.resource(cloudflare.SecretsStoreToken, "store").create(props(map[string]any{"delete": true}))
		assert.True(t, r.state.Get("delete").AsBool())
		require.NoError(t, r.delete())
		_, err := h.cloudflare().GetStore(t.Context(), existing.ID)
		assert.True(t, cfapi.IsNotFound(err), "%v", err)
	})
}

func TestSecretsStoreDeletedOutsidePulumiLeavesOnRefresh(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	r := h.resource(cloudflare.SecretsStoreToken, "store").create(props(map[string]any{}))
	require.NoError(t, h.cloudflare().DeleteStore(t.Context(), str(r.state, "storeId")))
	assert.False(t, r.refresh())
}

func TestSecretsStoreOnePerAccount(t *testing.T) {
	// The account's one store is not the default one: it is taken over only with adopt.
	h := newHarness(t, emulator.Options{CloudflareEmptyAccount: true})
	existing, err := h.cloudflare().CreateStore(t.Context(), "prod")
	require.NoError(t, err)

	for _, tc := range []struct {
		inputs property.Map
		want   []string
	}{
		{props(map[string]any{"name": "prod"}), []string{"adopt: true", h.opts.CloudflareAccount + "/" + existing.ID}},
		{props(map[string]any{"name": "staging", "adopt": true}), []string{"holds its one Secrets Store", `name: "prod"`}},
		{props(map[string]any{}), []string{"holds its one Secrets Store", `name: "prod"`}},
	} {
		r := h.resource(cloudflare.SecretsStoreToken, "store")
		checked := r.mustCheck(tc.inputs)
		_, err := h.server.Create(p.CreateRequest{Urn: r.urn, Properties: checked})
		require.Error(t, err)
		for _, want := range tc.want {
			assert.Contains(t, err.Error(), want)
		}
	}

	r := h.resource(cloudflare.SecretsStoreToken, "store").create(props(map[string]any{"name": "prod", "adopt": true}))
	assert.Equal(t, existing.ID, str(r.state, "storeId"), "adopt takes over the existing store")

	st := h.calls(func() { require.NoError(t, r.delete()) })
	assert.Zero(t, st.Total, "an adopted store is kept by default")
	_, err = h.cloudflare().GetStore(t.Context(), existing.ID)
	assert.NoError(t, err)
}

func TestSecretsStoreInlineSecrets(t *testing.T) {
	t.Parallel()
	h := newHarness(t, emulator.Options{})
	r := h.resource(cloudflare.SecretsStoreToken, "store")

	st := h.calls(func() { r.create(props(map[string]any{"secrets": inline("STRIPE", "s1", "SENDGRID", "g1")})) })
	assert.Equal(t, map[string]int{cfListStores: 1, cfCreateRoute: 1}, writesOnly(st),
		"the default store, one bulk create")
	storeID := str(r.state, "storeId")
	assertSecret(t, r.state, "secrets", "create")
	ids := r.state.Get("secretIds").AsMap()
	assert.Equal(t, 2, ids.Len())
	assert.Equal(t, h.secretNamesIn(storeID)["STRIPE"], ids.Get("STRIPE").AsString())

	t.Run("change one, remove one, add one: one call each, the removed one deleted by the next up", func(t *testing.T) {
		program := props(map[string]any{"secrets": inline("STRIPE", "s2", "WEBHOOK", "w1")})
		st := h.calls(func() { r.update(program) })
		// The wait until the new one is active; the removed one is released, kept for now.
		assert.Equal(t, map[string]int{cfEditRoute: 1, cfCreateRoute: 1}, writesOnly(st))
		names := h.secretNamesIn(storeID)
		assert.Contains(t, names, "WEBHOOK")
		assert.Contains(t, names, "SENDGRID", "released, so that a move to a Secret resource loses nothing")
		assertSecret(t, r.state, "secrets", "update")

		h.newProcess()
		st = h.calls(func() { r.update(program) })
		// One look that the released secret is still as this resource left it, then its delete.
		assert.Equal(t, map[string]int{cfDeleteRoute: 1}, writesOnly(st))
		assert.NotContains(t, h.secretNamesIn(storeID), "SENDGRID")
	})

	t.Run("a secret deleted outside Pulumi is re-created", func(t *testing.T) {
		require.NoError(t, h.cloudflare().DeleteSecret(t.Context(), storeID, h.secretNamesIn(storeID)["WEBHOOK"]))
		require.True(t, r.refresh())
		program := props(map[string]any{"secrets": inline("STRIPE", "s2", "WEBHOOK", "w1")})
		_, diff := r.diff(program)
		assert.True(t, diff.HasChanges)
		r.update(program)
		assert.Contains(t, h.secretNamesIn(storeID), "WEBHOOK")
	})

	t.Run("a store holding secrets it does not manage is refused before anything is deleted", func(t *testing.T) {
		r.update(props(map[string]any{"secrets": inline("STRIPE", "s2", "WEBHOOK", "w1"), "delete": true}))
		_, err := h.cloudflare().CreateSecrets(t.Context(), storeID,
			[]cfapi.NewSecret{{Name: "HAND_MADE", Value: "x", Scopes: []string{"workers"}}}, nil)
		require.NoError(t, err)
		start := time.Now()
		err = r.delete()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "HAND_MADE")
		assert.Contains(t, err.Error(), "nothing was deleted")
		assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "it waits for deletes running alongside first")
		assert.ElementsMatch(t, []string{"HAND_MADE", "STRIPE", "WEBHOOK"}, keys(h.secretNamesIn(storeID)),
			"the inline secrets stay with the store")
		_, err = h.cloudflare().GetStore(t.Context(), storeID)
		assert.NoError(t, err, "the store stays")
	})

	t.Run("secrets that another resource deletes meanwhile are waited for", func(t *testing.T) {
		go func() {
			time.Sleep(300 * time.Millisecond)
			_ = h.cloudflare().DeleteSecret(context.Background(), storeID, h.secretNamesIn(storeID)["HAND_MADE"])
		}()
		require.NoError(t, r.delete())
		_, err := h.cloudflare().GetStore(t.Context(), storeID)
		assert.True(t, cfapi.IsNotFound(err), "%v", err)
	})
}

func TestSecretsStoreImport(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	store := h.accountStore()

	for _, id := range []string{h.opts.CloudflareAccount + "/" + store.ID, store.ID} {
		var r *res
		var err error
		st := h.calls(func() {
			r, err = h.importID(cloudflare.SecretsStoreToken, "store", id)
			require.NoError(t, err)
		})
		onlyRoute(t, st, cfGetStore)
		require.NotNil(t, r)
		assert.Equal(t, h.opts.CloudflareAccount+"/"+store.ID, r.id)
		assert.Equal(t, cloudflare.DefaultStoreName, str(r.inputs, "name"))
		_, diff := r.diff(props(map[string]any{}))
		assert.False(t, diff.HasChanges, "the imported store matches a program with defaults: %v", diff.DetailedDiff)
		require.True(t, r.refresh(), "an imported store refreshes")
	}

	t.Run("an imported store is kept on destroy, or deleted with delete: true", func(t *testing.T) {
		r, err := h.importID(cloudflare.SecretsStoreToken, "store", store.ID)
		require.NoError(t, err)
		assert.True(t, r.state.Get("adopted").AsBool(), "this resource did not create it")
		require.NoError(t, r.delete())
		_, err = h.cloudflare().GetStore(t.Context(), store.ID)
		require.NoError(t, err, "kept")

		r, err = h.importID(cloudflare.SecretsStoreToken, "store", store.ID)
		require.NoError(t, err)
		r.update(props(map[string]any{"delete": true}))
		require.NoError(t, r.delete())
		_, err = h.cloudflare().GetStore(t.Context(), store.ID)
		assert.True(t, cfapi.IsNotFound(err), "%v", err)
	})

	t.Run("a store that does not exist fails the import", func(t *testing.T) {
		r, err := h.importID(cloudflare.SecretsStoreToken, "gone", strings.Repeat("ab", 16))
		assert.ErrorContains(t, err, "not found, so there is nothing to import")
		assert.Nil(t, r)
	})

	for _, bad := range []string{"", "nope", store.ID + "/" + store.ID + "/x", "/" + store.ID} {
		st := h.calls(func() {
			_, err := h.importID(cloudflare.SecretsStoreToken, "bad", bad)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "<accountId>/<storeId>")
		})
		assert.Zero(t, st.Total)
	}
}

func TestSecretsStoreCheckFailures(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	many := []string{}
	for i := range 101 {
		many = append(many, "S"+strings.Repeat("x", i%3)+string(rune('A'+i%26))+strings.Repeat("_", i/26), "v")
	}
	cases := []struct {
		name             string
		inputs           property.Map
		property, reason string
	}{
		{"name with a space", props(map[string]any{"name": "my store"}), "name", "letters, digits"},
		{"empty name", props(map[string]any{"name": ""}), "name", "letters, digits"},
		{"account ID malformed", props(map[string]any{"accountId": "acme"}), "accountId", "32 hexadecimal"},
		{"inline secret with a bad name", props(map[string]any{"secrets": inline("bad name", "v")}), "secrets", `"bad name"`},
		{"inline secret with an empty value", props(map[string]any{"secrets": inline("EMPTY", "")}),
			"secrets", "must not be empty"},
		{"inline secret over 64 KiB", props(map[string]any{"secrets": inline("BIG", strings.Repeat("v", 65537))}),
			"secrets", "at most 65536"},
		{"over 100 inline secrets", props(map[string]any{"secrets": inline(many...)}), "secrets", "at most 100"},
	}
	st := h.calls(func() {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, failures := h.resource(cloudflare.SecretsStoreToken, "bad").check(tc.inputs)
				require.NotEmpty(t, failures)
				assertFailureOn(t, failures[0], tc.property, rules.SecretInputNames[cloudflare.SecretsStoreArgs]())
				assert.Contains(t, failures[0].Reason, tc.reason)
			})
		}
	})
	assert.Zero(t, st.Total)
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
