package provider

import (
	"sync"
	"testing"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/cloudflare"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/fly"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/cfapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

func cfapiEdit(value *string) cfapi.SecretEdit { return cfapi.SecretEdit{Value: value} }

// The ownership rule: a create never takes over a secret that exists unless adopt says so, and
// a delete never removes what was written since this resource last wrote it.

// Renaming a FlySecret's logical name without an alias: the engine creates the "new" resource,
// then deletes the old one. The create now fails, naming the fix, and the secret survives;
// following the advice to adopt, the old resource's delete leaves the secret to the new one.
func TestFlySecretRenameWithoutAliasLosesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, emulator.Options{})
	old := h.resource(fly.FlySecretToken, "db")
	_, err := old.up(flyInputs("DATABASE_URL", "v1"))
	require.NoError(t, err)

	// The next up (a new provider instance, a while later) no longer has "db" in the program.
	h.outOfBandLag()
	renamed := h.resource(fly.FlySecretToken, "database")
	_, err = renamed.up(flyInputs("DATABASE_URL", "v1"))
	require.Error(t, err, "the create of the renamed resource must not take over the secret")
	assert.Contains(t, err.Error(), "`aliases`")
	assert.Contains(t, err.Error(), "pulumi import edgesecrets:fly:FlySecret database demo-app/DATABASE_URL")
	assert.Contains(t, err.Error(), "adopt: true")
	assertNoLeak(t, err, "v1")
	_, found := h.flySecret(testFlyApp, "DATABASE_URL")
	require.True(t, found)

	// The user sets adopt: the new resource writes, the old one's delete leaves the secret.
	_, err = renamed.up(flyInputs("DATABASE_URL", "v1", "adopt", true))
	require.NoError(t, err)
	require.NoError(t, old.delete())
	_, found = h.flySecret(testFlyApp, "DATABASE_URL")
	assert.True(t, found, "the old resource's delete removed a secret the new one owns")

	// The new one deletes it: nobody wrote it since.
	require.NoError(t, renamed.delete())
	_, found = h.flySecret(testFlyApp, "DATABASE_URL")
	assert.False(t, found)
}

// Two stacks declaring one Fly secret: the second's create fails instead of overwriting, and
// destroying either never deletes what the other wrote.
func TestFlySecretTwoStacksOneName(t *testing.T) {
	t.Parallel()
	h := newHarness(t, emulator.Options{})
	first := h.resource(fly.FlySecretToken, "shared")
	_, err := first.up(flyInputs("SHARED", "one"))
	require.NoError(t, err)

	h.outOfBandLag() // the second stack's up comes later: Fly's reads show the first's write
	other := h.newServer(h.config)
	otherStack := *h
	otherStack.server = other // the second stack's program is checked by its own provider
	second := otherStack.resource(fly.FlySecretToken, "shared")
	checked := second.mustCheck(flyInputs("SHARED", "two"))
	_, err = other.Create(p.CreateRequest{Urn: second.urn, Properties: checked})
	require.ErrorContains(t, err, "already has a secret \"SHARED\"")

	checked = second.mustCheck(flyInputs("SHARED", "two", "adopt", true))
	created, err := other.Create(p.CreateRequest{Urn: second.urn, Properties: checked})
	require.NoError(t, err)
	require.NoError(t, first.delete(), "the first stack's destroy")
	_, found := h.flySecret(testFlyApp, "SHARED")
	assert.True(t, found, "the first stack deleted the second's secret")
	require.NoError(t, other.Delete(p.DeleteRequest{ID: created.ID, Urn: second.urn, Properties: created.Properties,
		OldInputs: checked}))
	_, found = h.flySecret(testFlyApp, "SHARED")
	assert.False(t, found)
}

// Two FlySecrets of one app and name in one program: the engine creates them at once, and
// only one of them succeeds.
func TestFlySecretTwiceInOneProgram(t *testing.T) {
	t.Parallel()
	h := newHarness(t, emulator.Options{})
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, name := range []string{"a", "b"} {
		wg.Go(func() { _, errs[i] = h.resource(fly.FlySecretToken, name).up(flyInputs("TWICE", name)) })
	}
	wg.Wait()
	failed := 0
	for _, err := range errs {
		if err != nil {
			failed++
		}
	}
	assert.Equal(t, 1, failed, "exactly one of two resources declaring one secret fails: %v", errs)
}

// A value changed outside Pulumi: refresh records what is there, the diff says so (no empty
// value standing in for "unknown"), and the up writes the program's value back.
func TestFlySecretDriftIsRecordedAndWrittenBack(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	r := h.resource(fly.FlySecretToken, "db").create(flyInputs("DATABASE_URL", "mine"))
	_, err := h.fly().SetSecret(t.Context(), testFlyApp, "DATABASE_URL", "by-hand")
	require.NoError(t, err)
	h.outOfBandLag()
	require.True(t, r.refresh())
	assert.Equal(t, "mine", r.state.Get("value").AsString(), "the recorded value is the program's, not a placeholder")
	assert.NotEqual(t, str(r.state, "digest"), str(r.state, "writtenDigest"), "the drift is on record")
	_, diff := r.diff(flyInputs("DATABASE_URL", "mine"))
	assert.Equal(t, p.Update, diff.DetailedDiff["value"].Kind)
	op, err := r.up(flyInputs("DATABASE_URL", "mine"))
	require.NoError(t, err)
	assert.Equal(t, "update", op)
	assert.Equal(t, str(r.state, "digest"), str(r.state, "writtenDigest"))
	remote, _ := h.flySecret(testFlyApp, "DATABASE_URL")
	assert.Equal(t, "mine", remote.Value)

	// Changed by hand again, then destroyed: the hand-written value stays, with a warning.
	_, err = h.fly().SetSecret(t.Context(), testFlyApp, "DATABASE_URL", "by-hand-again")
	require.NoError(t, err)
	h.outOfBandLag()
	require.NoError(t, r.delete())
	remote, found := h.flySecret(testFlyApp, "DATABASE_URL")
	assert.True(t, found)
	assert.Equal(t, "by-hand-again", remote.Value)
}

// The same rules for Cloudflare secrets: a renamed Secret that adopts leaves the old one's
// delete with nothing to delete; a secret modified since is left in place.
func TestSecretRenameWithAdoptLosesNothing(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	store := h.accountStore()
	old := h.resource(cloudflare.SecretToken, "api")
	_, err := old.up(secretInputs(store.ID, "v1", "name", "API_KEY"))
	require.NoError(t, err)

	h.newProcess() // the next up, whose program no longer has "api"
	renamed := h.resource(cloudflare.SecretToken, "apiKey")
	_, err = renamed.up(secretInputs(store.ID, "v1", "name", "API_KEY"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "`aliases`")
	_, err = renamed.up(secretInputs(store.ID, "v1", "name", "API_KEY", "adopt", true))
	require.NoError(t, err)
	require.NoError(t, old.delete())
	assert.Contains(t, h.secretNamesIn(store.ID), "API_KEY", "the old resource's delete removed the adopted secret")
	require.NoError(t, renamed.delete())
	assert.NotContains(t, h.secretNamesIn(store.ID), "API_KEY")
}

// Inline secrets' drift is detected as a Secret's is: recorded on refresh, a diff, written back.
func TestInlineSecretDriftIsDetected(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	program := props(map[string]any{"secrets": inline("STRIPE", "mine", "OTHER", "o")})
	r := h.resource(cloudflare.SecretsStoreToken, "store").create(program)
	_, diff := r.diff(program)
	require.False(t, diff.HasChanges, "%v", diff.DetailedDiff)

	storeID := str(r.state, "storeId")
	changed := "by-hand"
	_, err := h.cloudflare().EditSecret(t.Context(), storeID, h.secretNamesIn(storeID)["STRIPE"], cfapiEdit(&changed))
	require.NoError(t, err)
	require.True(t, r.refresh())
	_, diff = r.diff(program)
	assert.Equal(t, p.Update, diff.DetailedDiff["secrets"].Kind, "a value changed outside Pulumi is a diff")

	st := h.calls(func() {
		op, err := r.up(program)
		require.NoError(t, err)
		assert.Equal(t, "update", op)
	})
	assert.Equal(t, 1, st.Routes[cfEditRoute], "only the drifted secret is written back")
	require.True(t, r.refresh())
	_, diff = r.diff(program)
	assert.False(t, diff.HasChanges, "written back: %v", diff.DetailedDiff)
}

// Inline secrets follow the same rule as a Secret, through the same code: an existing name is
// taken over only with adopt.
func TestInlineSecretsTakeOverOnlyWithAdopt(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	store := h.accountStore()
	_, err := h.cloudflare().CreateSecrets(t.Context(), store.ID,
		[]cfapi.NewSecret{{Name: "EXISTING", Value: "theirs", Scopes: []string{"workers"}}}, nil)
	require.NoError(t, err)

	r := h.resource(cloudflare.SecretsStoreToken, "store")
	_, err = r.up(props(map[string]any{"secrets": inline("EXISTING", "ours", "NEW", "n")}))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "resource failed to initialize")
	require.NotEmpty(t, r.initErrors)
	assert.Contains(t, r.initErrors[0], `secrets "EXISTING" already exist`)
	assert.Contains(t, r.initErrors[0], "adopt: true")
	assert.NotContains(t, h.secretNamesIn(store.ID), "NEW", "nothing created while a name is taken")

	_, err = r.up(props(map[string]any{"secrets": inline("EXISTING", "ours", "NEW", "n"), "adopt": true}))
	require.NoError(t, err)
	names := h.secretNamesIn(store.ID)
	assert.Contains(t, names, "NEW")
	assert.Equal(t, names["EXISTING"], r.state.Get("secretIds").AsMap().Get("EXISTING").AsString(),
		"taken over, not duplicated")
}

// An inline secret removed from the map is released: kept until the next up, which deletes it
// only if it is still as this resource left it. One written since (by someone else) is left in
// place, as a Secret's delete leaves it.
func TestInlineSecretWrittenSinceIsLeft(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	r := h.resource(cloudflare.SecretsStoreToken, "store").
		create(props(map[string]any{"secrets": inline("A", "a", "B", "b")}))
	storeID := str(r.state, "storeId")
	theirs := "theirs"
	_, err := h.cloudflare().EditSecret(t.Context(), storeID, h.secretNamesIn(storeID)["A"], cfapiEdit(&theirs))
	require.NoError(t, err)
	program := props(map[string]any{"secrets": inline()})
	r.update(program)
	assert.ElementsMatch(t, []string{"A", "B"}, keys(h.secretNamesIn(storeID)),
		"released, not deleted, by the up that removes them")
	assert.ElementsMatch(t, []string{"A", "B"}, keys(rules.StringMap(r.state, "releasedSecrets")))
	h.newProcess()
	r.update(program) // the next up: what was released and left as it was goes
	names := h.secretNamesIn(storeID)
	assert.Contains(t, names, "A", "the secret someone wrote since was deleted")
	assert.NotContains(t, names, "B")
	assert.True(t, r.state.Get("releasedSecrets").IsNull() || r.state.Get("releasedSecrets").AsMap().Len() == 0)
	_, diff := r.diff(program)
	assert.False(t, diff.HasChanges, "settled: %v", diff.DetailedDiff)
}

// A secret moved from a store's inline map to a Secret resource in one up, the Secret after the
// store (it takes the store's storeId): it is never absent, also when the Secret's create fails;
// when the Secret takes it over, the store's next up lets go of it.
func TestInlineSecretMovedToASecretIsNeverAbsent(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	store := h.resource(cloudflare.SecretsStoreToken, "store").create(
		props(map[string]any{"secrets": inline("MOVED", "v", "FAILED", "f", "KEPT", "k")}))
	storeID := str(store.state, "storeId")
	before := h.secretNamesIn(storeID)

	h.newProcess() // the up of the move
	program := props(map[string]any{"secrets": inline("KEPT", "k")})
	store.update(program)
	assert.Equal(t, before, h.secretNamesIn(storeID), "all there after the store's update")
	moved := h.resource(cloudflare.SecretToken, "moved")
	_, err := moved.up(secretInputs(storeID, "v2", "name", "MOVED", "adopt", true))
	require.NoError(t, err)
	// The other Secret's create fails (here: its token is refused): its secret stays all the same.
	failed := h.resource(cloudflare.SecretToken, "failed")
	_, err = failed.up(secretInputs(storeID, "f", "name", "FAILED", "adopt", true, "apiToken", secret("refused-token")))
	require.Error(t, err)
	assert.Equal(t, before, h.secretNamesIn(storeID), "all there after the move")

	h.newProcess() // the next up, its Secret fixed
	store.update(program)
	assert.Equal(t, before["MOVED"], h.secretNamesIn(storeID)["MOVED"],
		"the store deleted the secret the Secret took over")
	_, diff := store.diff(program)
	assert.False(t, diff.HasChanges, "settled: %v", diff.DetailedDiff)
}
