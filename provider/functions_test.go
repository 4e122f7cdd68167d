package provider

import (
	"fmt"
	"testing"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/fly"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/cfapi"
)

// invoke calls a function as the engine does.
func (h *harness) invoke(token string, args map[string]any) (property.Map, error) {
	h.t.Helper()
	resp, err := h.server.Invoke(p.InvokeRequest{Token: tokens.Type(token), Args: props(args)})
	if err == nil && len(resp.Failures) > 0 {
		require.Empty(h.t, resp.Failures)
	}
	return resp.Return, err
}

func TestGetFlySecretsListsWhatTheAppHolds(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	r := h.resource(fly.FlyAppSecretsToken, "app")
	r.create(appSecrets(map[string]string{"B_KEY": "b", "A_KEY": "a"}))
	// In the instance that wrote, the function knows the version written.
	same, err := h.invoke("edgesecrets:fly:getFlySecrets", map[string]any{"app": testFlyApp})
	require.NoError(t, err)
	assert.Equal(t, secretsVersion(r.state), int64(same.Get("version").AsNumber()), "the version this instance wrote")
	h.outOfBandLag() // a later command: Fly's reads show the writes by then

	var out property.Map
	st := h.operation(func() {
		var err error
		out, err = h.invoke("edgesecrets:fly:getFlySecrets", map[string]any{"app": testFlyApp})
		require.NoError(t, err)
	})
	assert.Equal(t, map[string]int{flyListRoute: 1}, st.Answered())
	assert.Equal(t, []string{"A_KEY", "B_KEY"}, stringsOf(out.Get("names")))
	secrets := out.Get("secrets").AsArray()
	require.Equal(t, 2, secrets.Len())
	first := secrets.Get(0).AsMap()
	assert.Equal(t, "A_KEY", str(first, "name"))
	assert.Equal(t, str(r.state.Get("digests").AsMap(), "A_KEY"), str(first, "digest"))
	assert.NotEmpty(t, str(first, "updatedAt"))
	assert.Zero(t, out.Get("version").AsNumber(), "another instance has written nothing: the list names no version")

	_, err = h.invoke("edgesecrets:fly:getFlySecrets", map[string]any{"app": "Not An App"})
	assert.ErrorContains(t, err, "Fly.io app names")
}

func TestGetSecretsStoreAndGetSecret(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	store := h.accountStore()
	made, err := h.cloudflare().CreateSecrets(t.Context(), store.ID, []cfapi.NewSecret{
		{Name: "api_key", Value: "never-returned", Scopes: []string{"workers", "ai_gateway"}, Comment: "for the API"}}, nil)
	require.NoError(t, err)

	out, err := h.invoke("edgesecrets:cloudflare:getSecretsStore", map[string]any{})
	require.NoError(t, err)
	assert.Equal(t, store.ID, str(out, "storeId"))
	assert.Equal(t, "default_secrets_store", str(out, "name"))
	assert.Equal(t, h.opts.CloudflareAccount, str(out, "accountId"))
	assert.NotEmpty(t, str(out, "createdAt"))

	_, err = h.invoke("edgesecrets:cloudflare:getSecretsStore", map[string]any{"name": "other"})
	assert.ErrorContains(t, err, `no Secrets Store named "other"`)

	for name, args := range map[string]map[string]any{
		"default store": {"name": "api_key"},
		"given store":   {"name": "api_key", "storeId": store.ID},
	} {
		t.Run(name, func(t *testing.T) {
			out, err := h.invoke("edgesecrets:cloudflare:getSecret", args)
			require.NoError(t, err)
			assert.Equal(t, made[0].ID, str(out, "secretId"))
			assert.Equal(t, store.ID, str(out, "storeId"))
			assert.Equal(t, []string{"ai_gateway", "workers"}, stringsOf(out.Get("scopes")))
			assert.Equal(t, "for the API", str(out, "comment"))
			assert.Contains(t, []string{"pending", "active"}, str(out, "status"))
			binding := out.Get("binding").AsMap()
			assert.Equal(t, "secrets_store_secret", str(binding, "type"))
			assert.Equal(t, "api_key", str(binding, "secretName"))
			assert.NotContains(t, fmt.Sprint(out.AsMap()), "never-returned")
		})
	}
	_, err = h.invoke("edgesecrets:cloudflare:getSecret", map[string]any{"name": "missing"})
	assert.ErrorContains(t, err, `no secret named "missing"`)
}
