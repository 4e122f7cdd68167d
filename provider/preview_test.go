package provider

import (
	"testing"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/cloudflare"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/fly"
)

// A preview marks unknown exactly the outputs a change can affect: what depends on the
// changed inputs is unknown, identities stay known, so dependent resources preview no
// spurious replacement.
func TestPreviewMarksOnlyAffectedOutputsUnknown(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	unknown := func(m property.Map, keys ...string) {
		t.Helper()
		for _, k := range keys {
			assert.True(t, m.Get(k).IsComputed(), "%s should be unknown at preview", k)
		}
	}
	known := func(m property.Map, keys ...string) {
		t.Helper()
		for _, k := range keys {
			assert.False(t, m.Get(k).IsComputed(), "%s should stay known at preview", k)
		}
	}

	flyRes := h.resource(fly.FlySecretToken, "db").create(flyInputs("DATABASE_URL", "v1"))
	preview := flyRes.previewUpdate(flyInputs("DATABASE_URL", "v2"))
	unknown(preview, "digest", "updatedAt", "version")
	known(preview, "app", "name", "createdAt")

	store := h.resource(cloudflare.SecretsStoreToken, "store").create(props(map[string]any{"secrets": inline("A", "a1")}))
	preview = store.previewUpdate(props(map[string]any{"secrets": inline("A", "a2")}))
	unknown(preview, "modifiedAt", "secretIds")
	known(preview, "storeId", "name", "accountId", "createdAt")

	storeID := str(store.state, "storeId")
	secret := h.resource(cloudflare.SecretToken, "key").create(secretInputs(storeID, "k1"))
	preview = secret.previewUpdate(secretInputs(storeID, "k2"))
	unknown(preview, "modifiedAt", "status")
	known(preview, "secretId", "storeId", "name", "binding", "createdAt", "scopes")

	// An unknown value makes the value-derived outputs unknown, never the identity.
	preview = secret.previewUpdate(props(map[string]any{"storeId": storeID, "value": property.New(property.Computed)}))
	unknown(preview, "modifiedAt")
	known(preview, "secretId", "binding")

	// A create preview knows nothing the API assigns.
	for _, tc := range []struct {
		typ      string
		inputs   property.Map
		assigned []string
	}{
		{cloudflare.SecretsStoreToken, props(map[string]any{"name": "other"}), []string{"storeId", "createdAt"}},
		{cloudflare.SecretToken, secretInputs(storeID, "k"), []string{"secretId", "binding", "createdAt"}},
		{fly.FlySecretToken, flyInputs("OTHER", "v"), []string{"digest", "createdAt", "version"}},
	} {
		r := h.resource(tc.typ, "new")
		resp, err := h.server.Create(p.CreateRequest{Urn: r.urn, Properties: r.mustCheck(tc.inputs), DryRun: true})
		require.NoError(t, err)
		unknown(resp.Properties, tc.assigned...)
	}
}

// A value changed outside Pulumi is written back by the next up, which makes a new secrets
// version: its preview shows the version (and what else the write changes) as computed, so
// that what depends on it (a SecretsDeployment pinned to the version) previews its change too,
// although no input changed.
func TestADriftWriteBackPreviewsTheVersionAsComputed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, emulator.Options{})
	one := h.resource(fly.FlySecretToken, "db").create(flyInputs("DATABASE_URL", "v1"))
	all := h.resource(fly.FlyAppSecretsToken, "all").create(
		props(map[string]any{"app": testFlyApp, "secrets": map[string]any{"OTHER": secret("o1")}}))
	for _, name := range []string{"DATABASE_URL", "OTHER"} {
		_, err := h.fly().SetSecret(t.Context(), testFlyApp, name, "changed by hand")
		require.NoError(t, err)
	}
	h.outOfBandLag()
	require.True(t, one.refresh())
	require.True(t, all.refresh())

	preview := one.previewUpdate(flyInputs("DATABASE_URL", "v1"))
	for _, k := range []string{"version", "digest", "writtenDigest"} {
		assert.True(t, preview.Get(k).IsComputed(), "FlySecret: %s should be unknown: the write-back changes it", k)
	}
	assert.False(t, preview.Get("createdAt").IsComputed(), "FlySecret: createdAt stays known")
	preview = all.previewUpdate(props(map[string]any{"app": testFlyApp, "secrets": map[string]any{"OTHER": secret("o1")}}))
	assert.True(t, preview.Get("version").IsComputed(), "FlyAppSecrets: the version should be unknown")
	assert.False(t, preview.Get("names").IsComputed(), "FlyAppSecrets: names stay known")

	// Without drift, an unchanged resource previews its version as it is.
	fresh := h.resource(fly.FlySecretToken, "fresh").create(flyInputs("FRESH", "f1"))
	assert.False(t, fresh.previewUpdate(flyInputs("FRESH", "f1")).Get("version").IsComputed())
}
