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
