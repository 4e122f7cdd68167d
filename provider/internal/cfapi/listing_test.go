package cfapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/emulatortest"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/coalesce/enginetest"
)

// seedSecrets creates n secrets from outside the process's shared view (a client that does not
// coalesce is someone else), and returns them in order.
func seedSecrets(t *testing.T, url, storeID string, n int) []Secret {
	t.Helper()
	outside := New(url, emulator.DefaultCloudflareToken, account, Options{})
	want := make([]NewSecret, n)
	for i := range want {
		want[i] = NewSecret{Name: name(i), Value: "v", Scopes: []string{"workers"}}
	}
	made, err := outside.CreateSecrets(t.Context(), storeID, want, nil)
	require.NoError(t, err)
	return made
}

// A refresh of a store's Secret resources, at the engine's parallelism, reads one listing.
func TestLookUpsShareOneListing(t *testing.T) {
	sh := &Shared{} // one provider instance
	srv, ts := emulatortest.Start(t, emulator.Options{})
	url := ts.URL + "/client/v4"
	store := accountStore(t, coalescing(url, sh))
	seeded := seedSecrets(t, url, store.ID, 40)
	srv.ResetStats()
	got := make([]Secret, len(seeded))
	enginetest.Run(t, len(seeded), 8, func(i int) error {
		s, err := coalescing(url, sh).LookUpSecret(t.Context(), store.ID, seeded[i].ID)
		got[i] = s
		return err
	})
	assert.Equal(t, map[string]int{routeListSecrets: 1}, srv.Stats().Routes)
	for i, s := range got {
		assert.Equal(t, seeded[i].ID, s.ID)
		assert.Equal(t, name(i), s.Name)
	}
	_, err := coalescing(url, sh).LookUpSecret(t.Context(), store.ID, "0123456789abcdef0123456789abcdef")
	assert.True(t, IsNotFound(err), "a secret the listing lacks is not found: %v", err)
	// Lists lag creates: a miss is confirmed by its id before it is taken for gone.
	assert.Equal(t, map[string]int{routeListSecrets: 1, routeGetSecret: 1}, srv.Stats().Routes,
		"still the one listing, and one look by id for the miss")
}

// The process's own writes show without another listing; someone else's show from the next
// operation on, or once the listing is older than ListingMaxAge.
func TestLookUpSeesOwnWritesAtOnceAndOthersNextOperation(t *testing.T) {
	sh := &Shared{} // one provider instance
	srv, ts := emulatortest.Start(t, emulator.Options{})
	url := ts.URL + "/client/v4"
	c := coalescing(url, sh)
	store := accountStore(t, c)
	seeded := seedSecrets(t, url, store.ID, 3)
	first, err := c.LookUpSecret(t.Context(), store.ID, seeded[0].ID)
	require.NoError(t, err)

	time.Sleep(1100 * time.Millisecond) // modified times have a resolution of a second
	comment := "ours"
	edited, err := c.EditSecret(t.Context(), store.ID, seeded[0].ID, SecretEdit{Comment: &comment})
	require.NoError(t, err)
	require.NoError(t, c.DeleteSecret(t.Context(), store.ID, seeded[1].ID))
	made, err := c.CreateSecrets(t.Context(), store.ID,
		[]NewSecret{{Name: "NEW", Value: "v", Scopes: []string{"workers"}}}, nil)
	require.NoError(t, err)
	other := "someone else's"
	_, err = New(url, emulator.DefaultCloudflareToken, account, Options{}).
		EditSecret(t.Context(), store.ID, seeded[2].ID, SecretEdit{Comment: &other})
	require.NoError(t, err)

	srv.ResetStats()
	s, err := c.LookUpSecret(t.Context(), store.ID, seeded[0].ID)
	require.NoError(t, err)
	assert.Equal(t, "ours", s.Comment)
	assert.Equal(t, edited.Modified, s.Modified)
	assert.NotEqual(t, first.Modified, s.Modified)
	_, err = c.LookUpSecret(t.Context(), store.ID, seeded[1].ID)
	assert.True(t, IsNotFound(err), "deleted by this process: %v", err)
	s, err = c.LookUpSecret(t.Context(), store.ID, made[0].ID)
	require.NoError(t, err)
	assert.Equal(t, "NEW", s.Name)
	s, err = c.LookUpSecret(t.Context(), store.ID, seeded[2].ID)
	require.NoError(t, err)
	assert.Empty(t, s.Comment, "someone else's edit is not seen within the operation")
	assert.Zero(t, srv.Stats().Total, "all from the listing and the writes' answers: %v", srv.Stats().Routes)

	t.Run("an old listing is fetched again", func(t *testing.T) {
		later := *c
		later.now = func() time.Time { return time.Now().Add(ListingMaxAge) }
		s, err := later.LookUpSecret(t.Context(), store.ID, seeded[2].ID)
		require.NoError(t, err)
		assert.Equal(t, other, s.Comment)
		assert.Equal(t, 1, srv.Stats().Routes[routeListSecrets])
	})

	t.Run("the next operation lists again", func(t *testing.T) {
		srv.ResetStats()
		next := coalescing(url, &Shared{}) // the next operation's instance
		s, err := next.LookUpSecret(t.Context(), store.ID, seeded[2].ID)
		require.NoError(t, err)
		assert.Equal(t, other, s.Comment)
		assert.Equal(t, map[string]int{routeListSecrets: 1}, srv.Stats().Routes)
	})
}

// Of a listing and a write's answer, the later one tells: a write answered after the listing
// was asked for may be missing from it.
func TestLookUpTakesTheLaterOfListingAndWrite(t *testing.T) {
	t0 := time.Now()
	listed := Secret{ID: "a", Comment: "listed"}
	for _, tc := range []struct {
		name      string
		seen      observation
		wantFound bool
		want      string
	}{
		{"a write before the listing",
			observation{secret: Secret{ID: "a", Comment: "written"}, at: t0.Add(-time.Second)}, true, "listed"},
		{"a write after the listing",
			observation{secret: Secret{ID: "a", Comment: "written"}, at: t0.Add(time.Second)}, true, "written"},
		{"a delete after the listing", observation{secret: Secret{ID: "a"}, gone: true, at: t0.Add(time.Second)}, false, ""},
		{"a delete before the listing, listed since",
			observation{secret: Secret{ID: "a"}, gone: true, at: t0.Add(-time.Second)}, true, "listed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &listing{full: &fullListing{byID: map[string]Secret{"a": listed}, at: t0},
				seen: map[string]observation{"a": tc.seen}}
			s, ok, _ := l.lookUp("a")
			assert.Equal(t, tc.wantFound, ok)
			if ok {
				assert.Equal(t, tc.want, s.Comment)
			}
		})
	}
	l := &listing{full: &fullListing{byID: map[string]Secret{}, at: t0},
		seen: map[string]observation{"b": {secret: Secret{ID: "b", Name: "made"}, at: t0.Add(time.Second)}}}
	s, ok, _ := l.lookUp("b")
	assert.True(t, ok, "created after the listing")
	assert.Equal(t, "made", s.Name)
}
