package provider

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/cloudflare"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/fly"
)

// TestLifecyclesSurviveFaults runs every resource's lifecycle against an emulator that
// answers about one request in five with a 5xx, a 429 with Retry-After, a 409 (Fly) or a
// dropped connection. The clients' bounded retries must absorb them: every operation
// succeeds and the end state is what the program says.
func TestLifecyclesSurviveFaults(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("waits on Retry-After")
	}
	h := newHarness(t, emulator.Options{FailRate: 0.1, DropRate: 0.04, ThrottleRate: 0.03, ConflictRate: 0.03, Seed: 42})

	var total int
	st := h.calls(func() {
		flyRes := h.resource(fly.FlySecretToken, "db").create(flyInputs("DATABASE_URL", "v1"))
		flyRes.update(flyInputs("DATABASE_URL", "v2"))
		require.True(t, flyRes.refresh())

		store := h.resource(cloudflare.SecretsStoreToken, "store").
			create(props(map[string]any{"secrets": inline("A", "a1", "B", "b1")}))
		store.update(props(map[string]any{"secrets": inline("A", "a2", "C", "c1")}))
		require.True(t, store.refresh())

		secret := h.resource(cloudflare.SecretToken, "key").create(secretInputs(str(store.state, "storeId"), "k1"))
		secret.update(secretInputs(str(store.state, "storeId"), "k2", "comment", "rotated"))
		require.True(t, secret.refresh())

		require.NoError(t, secret.delete())
		require.NoError(t, store.delete())
		require.NoError(t, flyRes.delete())
	})
	total = st.Total

	// The faults really happened: far more requests than the ~20 a clean run makes.
	assert.Greater(t, total, 22, "expected retried requests, got %v", st.Routes)
	assert.Empty(t, h.flySecretNames(testFlyApp), "destroy left Fly secrets behind")
	// The account's default store is a fixture: kept, and empty.
	stores, err := h.cloudflare().ListStores(t.Context())
	require.NoError(t, err)
	require.Len(t, stores, 1)
	assert.Empty(t, h.secretNamesIn(stores[0].ID), "destroy left Cloudflare secrets behind")
}
