package provider

import (
	"fmt"
	"sync"
	"testing"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/cloudflare"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/fly"
)

// The failures of "Survive the real APIs", each driven the way the engine drives resources,
// against the emulator's realistic defaults (rate limits, lagging reads, pending secrets, an
// account that holds its default store).

// A dozen FlySecrets of one app created at once (the engine runs them in parallel) all
// succeed: the provider paces itself to Fly's rate limit instead of failing with 429s.
func TestManyFlySecretsOfOneAppAtOnce(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	var wg sync.WaitGroup
	errs := make([]error, 12)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = h.resource(fly.FlySecretToken, fmt.Sprintf("s%d", i)).up(flyInputs(fmt.Sprintf("SECRET_%02d", i), "v"))
		})
	}
	wg.Wait()
	for i, err := range errs {
		assert.NoError(t, err, "secret %d", i)
	}
	assert.Len(t, h.flySecretNames(testFlyApp), 12)
}

// A refresh right after a write asks for the version written: no false drift, no secret
// dropped from state although Fly's reads lag writes.
func TestFlySecretRefreshRightAfterAWrite(t *testing.T) {
	h := newHarness(t, emulator.Options{FlyReadLag: 2 * time.Second})
	r := h.resource(fly.FlySecretToken, "db").create(flyInputs("DATABASE_URL", "one"))
	require.True(t, r.refresh(), "a refresh right after the create must find the secret")
	r.update(flyInputs("DATABASE_URL", "two"))
	digest := str(r.state, "digest")
	require.True(t, r.refresh())
	assert.Equal(t, digest, str(r.state, "digest"), "a refresh right after the update sees its digest")
	_, diff := r.diff(flyInputs("DATABASE_URL", "two"))
	assert.False(t, diff.HasChanges, "no false drift: %v", diff.DetailedDiff)
}

// A secret still pending when the create's wait ends is recorded with an init error, and the
// engine's next up runs an Update with no diff, which waits for it again.
func TestPendingSecretIsWaitedOnByTheNextUp(t *testing.T) {
	h := newHarness(t, emulator.Options{ActivationDelay: time.Second})
	h.timing.ActiveWait = 100 * time.Millisecond
	store := h.accountStore()
	r := h.resource(cloudflare.SecretToken, "key")
	op, err := r.up(secretInputs(store.ID, "v"))
	require.Error(t, err, "the up reports the secret that is not active yet")
	assert.Equal(t, "create", op)
	require.NotEmpty(t, r.initErrors, "still pending after the wait: an init error")
	assert.Contains(t, r.initErrors[0], "still pending")
	assert.Equal(t, "pending", str(r.state, "status"))

	time.Sleep(time.Second)
	h.timing.ActiveWait = 10 * time.Second
	op, err = r.up(secretInputs(store.ID, "v"))
	require.NoError(t, err)
	assert.Equal(t, "update", op, "the engine updates a resource with init errors even without a diff")
	assert.Empty(t, r.initErrors)
	assert.Equal(t, "active", str(r.state, "status"))

	op, err = r.up(secretInputs(store.ID, "v"))
	require.NoError(t, err)
	assert.Equal(t, "same", op)
}

// A resource token removed from the program stops being used: refresh and destroy use the
// provider's, even when the recorded one has been revoked since.
func TestRemovedResourceTokenIsNotUsed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, emulator.Options{})
	flyRes := h.resource(fly.FlySecretToken, "db").
		create(flyInputs("DATABASE_URL", "v", "apiToken", secret(h.opts.FlyToken)))
	store := h.accountStore()
	cf := h.resource(cloudflare.SecretToken, "key").
		create(secretInputs(store.ID, "v", "apiToken", secret(h.opts.CloudflareToken)))
	for _, r := range []*res{flyRes, cf} {
		// The program drops apiToken: no diff (a token is no change), so the engine keeps the
		// old outputs, token included, beside the new inputs. Then the token is revoked.
		inputs := r.inputs.Delete("apiToken")
		op, err := r.up(inputs)
		require.NoError(t, err)
		require.Equal(t, "same", op)
		r.state = r.state.Set("apiToken", secret("revoked-token"))

		require.True(t, r.refresh(), "%s: refresh with the provider's token", r.urn.Name())
		require.NoError(t, r.delete(), "%s: delete with the provider's token", r.urn.Name())
	}

	t.Run("a token still in the program is used", func(t *testing.T) {
		r := h.resource(fly.FlySecretToken, "kept").create(flyInputs("KEPT", "v", "apiToken", secret(h.opts.FlyToken)))
		r.state = r.state.Set("apiToken", secret("revoked-token"))
		r.inputs = r.inputs.Set("apiToken", secret("revoked-token"))
		_, err := h.server.Read(p.ReadRequest{ID: r.id, Urn: r.urn, Properties: r.state, Inputs: r.inputs})
		assert.ErrorContains(t, err, "401")
	})
}

// The resource's customTimeouts bound the provider's waits (infer drops them: the provider
// carries them through).
func TestCustomTimeoutsBoundTheWaits(t *testing.T) {
	h := newHarness(t, emulator.Options{ActivationDelay: time.Hour})
	h.timing.ActiveWait = time.Hour
	store := h.accountStore()
	r := h.resource(cloudflare.SecretToken, "slow")
	checked := r.mustCheck(secretInputs(store.ID, "v"))
	start := time.Now()
	_, err := h.server.Create(p.CreateRequest{Urn: r.urn, Properties: checked, Timeout: 0.5})
	elapsed := time.Since(start)
	require.Error(t, err)
	assert.ErrorContains(t, err, "deadline exceeded")
	assert.Less(t, elapsed, 10*time.Second, "the create's timeout ended the wait")
}

// An engine that sends no old inputs: the state stands in for them, and its output-only keys
// are not inputs removed.
func TestDiffWithoutOldInputsIgnoresOutputs(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	flyRes := h.resource(fly.FlySecretToken, "db").create(flyInputs("DATABASE_URL", "v"))
	store := h.accountStore()
	cf := h.resource(cloudflare.SecretToken, "key").create(secretInputs(store.ID, "v"))
	st := h.resource(cloudflare.SecretsStoreToken, "store").create(props(map[string]any{}))
	for _, r := range []*res{flyRes, cf, st} {
		diff, err := h.server.Diff(p.DiffRequest{ID: r.id, Urn: r.urn, State: r.state, Inputs: r.inputs})
		require.NoError(t, err)
		assert.False(t, diff.HasChanges, "%s: %v", r.urn.Name(), diff.DetailedDiff)
	}
}

// A Secret with no storeId beside the SecretsStore that makes the account's store: the engine
// runs both at once. Creating and destroying them together succeeds, with latency.
func TestSecretWithoutStoreIDBesideItsStore(t *testing.T) {
	h := newHarness(t, emulator.Options{CloudflareEmptyAccount: true, Latency: 200 * time.Millisecond})
	store := h.resource(cloudflare.SecretsStoreToken, "store")
	secret := h.resource(cloudflare.SecretToken, "key")
	both := func(f func(r *res) error) {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, r := range []*res{store, secret} {
			wg.Go(func() { errs[i] = f(r) })
		}
		wg.Wait()
		for i, err := range errs {
			require.NoError(t, err, []string{"store", "secret"}[i])
		}
	}
	both(func(r *res) error {
		inputs := props(map[string]any{})
		if r == secret {
			inputs = secretInputs("", "v")
		}
		_, err := r.up(inputs)
		return err
	})
	assert.Equal(t, str(store.state, "storeId"), str(secret.state, "storeId"))
	both(func(r *res) error { return r.delete() })
	stores, err := h.cloudflare().ListStores(t.Context())
	require.NoError(t, err)
	assert.Empty(t, stores, "the store this stack created is gone with its secret")
}
