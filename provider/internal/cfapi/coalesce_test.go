package cfapi

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/emulatortest"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/coalesce"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/coalesce/enginetest"
)

const (
	routeListSecrets = "GET /client/v4/accounts/{account_id}/secrets_store/stores/{store_id}/secrets"
	routeGetSecret   = "GET /client/v4/accounts/{account_id}/secrets_store/stores/{store_id}/secrets/{secret_id}"
)

// coalescing is a client of a process that coalesces, as the provider makes one per operation.
func coalescing(url string, sh *Shared) *Client {
	return New(url, emulator.DefaultCloudflareToken, account, Options{Shared: sh})
}

// beginAll enters n operations on the store, as the engine starts a round.
func beginAll(url string, sh *Shared, storeID string, n int) []*coalesce.Op {
	ops := make([]*coalesce.Op, n)
	for i := range ops {
		ops[i] = coalescing(url, sh).Begin(storeID)
	}
	return ops
}

func name(i int) string { return fmt.Sprintf("SECRET_%03d", i) }

// Secrets created one resource each, at the engine's parallelism P, cost one create call per
// round of P and one listing per create call to see them active (each call's secrets are looked
// at when they are due, not on a schedule an earlier round started); each resource gets its own
// secret.
func TestCreatesCoalesceAndShareActivationListings(t *testing.T) {
	sh := &Shared{} // one provider instance
	for _, tc := range []struct{ n, parallel, maxLists int }{{40, 8, 40/8 + 2}, {40, 40, 2}} {
		t.Run(fmt.Sprintf("%d at parallel %d", tc.n, tc.parallel), func(t *testing.T) {
			srv, ts := emulatortest.Start(t, emulator.Options{})
			url := ts.URL + "/client/v4"
			store := accountStore(t, coalescing(url, sh))
			srv.ResetStats()
			got := make([]Secret, tc.n)
			enginetest.Run(t, tc.n, tc.parallel, func(i int) error {
				c := coalescing(url, sh)
				op := c.Begin(store.ID)
				defer op.End()
				created, err := c.CreateSecrets(t.Context(), store.ID,
					[]NewSecret{{Name: name(i), Value: "v", Scopes: []string{"workers"}}}, op)
				if err != nil {
					return err
				}
				active, err := c.AwaitActive(t.Context(), store.ID, created[0].ID)
				got[i] = active[0]
				return err
			})
			creates, lists := srv.Stats().Routes[routeCreateSecrets], srv.Stats().Routes[routeListSecrets]
			t.Logf("%d create calls, %d listings", creates, lists)
			assert.LessOrEqual(t, creates, (tc.n+tc.parallel-1)/tc.parallel+2)
			assert.LessOrEqual(t, lists, tc.maxLists)
			assert.LessOrEqual(t, lists, creates, "one look per create call")
			assert.Zero(t, srv.Stats().Routes[routeGetSecret])
			ids := map[string]bool{}
			for i, s := range got {
				assert.Equal(t, name(i), s.Name)
				assert.Equal(t, StatusActive, s.Status)
				ids[s.ID] = true
			}
			assert.Len(t, ids, tc.n, "each resource its own secret")
		})
	}
}

// A name already taken fails only its own caller: the call is sent again caller by caller.
func TestATakenNameFailsOnlyItsOwnCreate(t *testing.T) {
	sh := &Shared{} // one provider instance
	srv, ts := emulatortest.Start(t, emulator.Options{})
	url := ts.URL + "/client/v4"
	store := accountStore(t, coalescing(url, sh))
	_, err := coalescing(url, sh).CreateSecrets(t.Context(), store.ID,
		[]NewSecret{{Name: "TAKEN", Value: "v", Scopes: []string{"workers"}}}, nil)
	require.NoError(t, err)
	srv.ResetStats()
	names := []string{"A", "TAKEN", "B", "C"}
	errs := make([]error, len(names))
	ops := beginAll(url, sh, store.ID, len(names)) // on their way together: one call
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Go(func() {
			defer ops[i].End()
			_, errs[i] = coalescing(url, sh).CreateSecrets(t.Context(), store.ID,
				[]NewSecret{{Name: n, Value: "v", Scopes: []string{"workers"}}}, ops[i])
		})
	}
	wg.Wait()
	for i, err := range errs {
		if names[i] == "TAKEN" {
			assert.True(t, NameMayBeTaken(err), "%v", err)
		} else {
			assert.NoError(t, err, names[i])
		}
	}
	assert.Equal(t, 1+len(names), srv.Stats().Routes[routeCreateSecrets], "the call, then each caller alone")
}

// A coalesced create whose answer is lost is recovered per name: each caller gets its own
// secret, nothing is created twice, and a name that was there before is nobody's but fails only
// its own caller.
func TestLostAnswerOfACoalescedCreateIsRecoveredPerName(t *testing.T) {
	sh := &Shared{} // one provider instance
	lossy, ts := emulatortest.Start(t, emulator.Options{LostResponseRate: 1})
	url := ts.URL + "/client/v4"
	store := accountStore(t, coalescing(url, sh))
	_, err := New(url, emulator.DefaultCloudflareToken, account, Options{}).CreateSecrets(t.Context(), store.ID,
		[]NewSecret{{Name: "BEFORE", Value: "v", Scopes: []string{"workers"}}}, nil)
	require.NoError(t, err)
	// BEFORE must be older than the next create by the server's clock, whose Date header has a
	// resolution of a second, less the second a recovery allows for: two and a half seconds.
	time.Sleep(2500 * time.Millisecond)
	lossy.ResetStats()
	names := []string{"A", "B", "BEFORE", "C"}
	got := make([]Secret, len(names))
	errs := make([]error, len(names))
	ops := beginAll(url, sh, store.ID, len(names)) // on their way together: one call
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Go(func() {
			var created []Secret
			defer ops[i].End()
			created, errs[i] = coalescing(url, sh).CreateSecrets(t.Context(), store.ID,
				[]NewSecret{{Name: n, Value: "v", Scopes: []string{"workers"}}}, ops[i])
			if len(created) == 1 {
				got[i] = created[0]
			}
		})
	}
	wg.Wait()
	for i, n := range names {
		if n == "BEFORE" {
			assert.True(t, NameMayBeTaken(errs[i]), "%v %+v", errs[i], got[i])
			continue
		}
		require.NoError(t, errs[i], n)
		assert.Equal(t, n, got[i].Name)
	}
	// The call with BEFORE was refused whole (its answer lost too); the rest was sent once more.
	assert.Equal(t, 2, lossy.Stats().Routes[routeCreateSecrets])
	all, err := New(url, emulator.DefaultCloudflareToken, account, Options{}).ListSecrets(t.Context(), store.ID, "")
	require.NoError(t, err)
	assert.Len(t, all, len(names), "no duplicate")
}

// Secrets that stay pending past ActiveWait are answered as such, with what was last seen.
func TestAwaitActiveGivesUpWithThePendingOnes(t *testing.T) {
	_, ts := emulatortest.Start(t, emulator.Options{ActivationDelay: time.Hour})
	c := New(ts.URL+"/client/v4", emulator.DefaultCloudflareToken, account, Options{ActiveWait: 300 * time.Millisecond})
	store := accountStore(t, c)
	created, err := c.CreateSecrets(t.Context(), store.ID,
		[]NewSecret{{Name: "SLOW", Value: "v", Scopes: []string{"workers"}}}, nil)
	require.NoError(t, err)
	got, err := c.AwaitActive(t.Context(), store.ID, created[0].ID)
	var pending *PendingError
	require.True(t, errors.As(err, &pending), "%v", err)
	assert.Equal(t, "SLOW", pending.Pending[0].Name)
	assert.Equal(t, StatusPending, got[0].Status)
}

// A secret deleted while it is waited on is an answer, not a wait to the end: lists show it
// "deleted" for a while, and the wait returns it so.
func TestAwaitActiveAnswersASecretDeletedMeanwhile(t *testing.T) {
	_, ts := emulatortest.Start(t, emulator.Options{ActivationDelay: time.Hour, NoRateLimit: true})
	url := ts.URL + "/client/v4"
	sh := &Shared{}
	c := New(url, emulator.DefaultCloudflareToken, account, Options{Shared: sh, ActiveWait: 20 * time.Second})
	store := accountStore(t, c)
	made, err := c.CreateSecrets(t.Context(), store.ID,
		[]NewSecret{{Name: "A", Value: "v", Scopes: []string{"workers"}}}, nil)
	require.NoError(t, err)
	outside := New(url, emulator.DefaultCloudflareToken, account, Options{})
	require.NoError(t, outside.DeleteSecret(t.Context(), store.ID, made[0].ID))
	began := time.Now()
	got, err := c.AwaitActive(t.Context(), store.ID, made[0].ID)
	require.NoError(t, err)
	assert.Equal(t, StatusDeleted, got[0].Status)
	assert.Less(t, time.Since(began), 10*time.Second, "waited for a secret that is gone")
}
