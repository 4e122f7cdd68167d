package cfapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/emulatortest"
)

const routeCreateSecrets = "POST /client/v4/accounts/{account_id}/secrets_store/stores/{store_id}/secrets"

// A create the server applied but whose answer was lost is recovered with one lookup, never
// repeated: the "already exists ... set adopt: true" on every later up.
func TestLostCreateAnswerIsRecoveredNotRepeated(t *testing.T) {
	srv, ts := emulatortest.Start(t, emulator.Options{LostResponseRate: 1})
	c := New(ts.URL+"/client/v4", emulator.DefaultCloudflareToken, account, Options{})
	store := accountStore(t, c)
	srv.ResetStats()
	created, err := c.CreateSecrets(t.Context(), store.ID, []NewSecret{
		{Name: "A", Value: "a", Scopes: []string{"workers"}}, {Name: "B", Value: "b", Scopes: []string{"workers"}},
	}, nil)
	require.NoError(t, err)
	require.Len(t, created, 2)
	assert.Equal(t, []string{"A", "B"}, []string{created[0].Name, created[1].Name})
	assert.NotEmpty(t, created[0].ID)
	assert.Equal(t, 1, srv.Stats().Routes[routeCreateSecrets], "the create is sent once")
	all, err := c.ListSecrets(t.Context(), store.ID, "")
	require.NoError(t, err)
	assert.Len(t, all, 2, "no duplicate")

	// A secret that was there before the create is not taken as the create's own.
	_, err = c.CreateSecrets(t.Context(), store.ID,
		[]NewSecret{{Name: "A", Value: "other", Scopes: []string{"workers"}}}, nil)
	assert.True(t, HasMessage(err, MsgSecretNameExists), "%v", err)
}

func TestLostStoreCreateAnswerIsRecovered(t *testing.T) {
	srv, ts := emulatortest.Start(t, emulator.Options{LostResponseRate: 1, CloudflareEmptyAccount: true})
	c := New(ts.URL+"/client/v4", emulator.DefaultCloudflareToken, account, Options{})
	store, err := c.CreateStore(t.Context(), "edge")
	require.NoError(t, err)
	assert.Equal(t, "edge", store.Name)
	assert.Equal(t, 1, srv.Stats().Routes["POST /client/v4/accounts/{account_id}/secrets_store/stores"])
	stores, err := c.ListStores(t.Context())
	require.NoError(t, err)
	assert.Len(t, stores, 1)
	// The account's one store, made before: a second create fails as the API would.
	_, err = c.CreateStore(t.Context(), "edge")
	assert.True(t, HasMessage(err, MsgMaxStoresExceeded), "%v", err)
}

// Two creates of one name in one process at once: the second fails at once, so that only
// one caller can ever take the secret as its own.
func TestConcurrentCreatesOfOneNameAreRefused(t *testing.T) {
	arrived, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(arrived) })
		<-release
		w.Header().Set("Content-Type", "application/json")
		writeBody(w, `{"success":true,"errors":[],"messages":[],`+
			`"result":[{"id":"`+fmt.Sprintf("%032d", 1)+`","name":"A","status":"pending"}]}`)
	}))
	defer ts.Close()
	c := New(ts.URL, "t", account, Options{})
	store := fmt.Sprintf("%032d", 7)
	first := make(chan error, 1)
	go func() {
		_, err := c.CreateSecrets(context.Background(), store,
			[]NewSecret{{Name: "A", Value: "1", Scopes: []string{"workers"}}}, nil)
		first <- err
	}()
	<-arrived
	_, err := c.CreateSecrets(t.Context(), store, []NewSecret{{Name: "A", Value: "2", Scopes: []string{"workers"}}}, nil)
	assert.ErrorContains(t, err, "another resource of this program is creating \"A\"")
	close(release)
	require.NoError(t, <-first)
	// Once the first is done, the name is free again.
	_, err = c.CreateSecrets(t.Context(), store, []NewSecret{{Name: "A", Value: "3", Scopes: []string{"workers"}}}, nil)
	assert.NoError(t, err)
}

// cloudflare-go sleeps whatever Retry-After says; the client caps it, and says it waits.
func TestRetryAfterIsCappedAndTold(t *testing.T) {
	var calls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "300")
			w.WriteHeader(http.StatusTooManyRequests)
			writeBody(w, `{"success":false,"errors":[{"code":971,"message":"Please wait"}],"messages":[],"result":null}`)
			return
		}
		writeBody(w, `{"success":true,"errors":[],"messages":[],"result":{"secrets":{"quota":100,"usage":0}}}`)
	}))
	defer ts.Close()
	var waits []time.Duration
	var whys []string
	notify := func(_ context.Context, d time.Duration, why string) {
		waits, whys = append(waits, d), append(whys, why)
	}
	c := New(ts.URL, "t", account, Options{MaxBackoff: 20 * time.Millisecond, Notify: notify})
	start := time.Now()
	_, err := c.GetQuota(t.Context())
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.Equal(t, []time.Duration{20 * time.Millisecond}, waits)
	assert.Equal(t, []string{"Cloudflare rate limit"}, whys)
}

// A create that met a 5xx is never sent again blindly (the 5xx may come from a proxy after the
// write): it is looked up, and sent again only when it is not there.
func TestCreateAfterServerErrorIsLookedUpFirst(t *testing.T) {
	srv, ts := emulatortest.Start(t, emulator.Options{FailRate: 1})
	c := New(ts.URL+"/client/v4", emulator.DefaultCloudflareToken, account,
		Options{RetryBudget: 50 * time.Millisecond, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond})
	_, err := c.CreateSecrets(t.Context(), fmt.Sprintf("%032d", 3),
		[]NewSecret{{Name: "A", Value: "v", Scopes: []string{"workers"}}}, nil)
	require.Error(t, err)
	assert.Equal(t, 1, srv.Stats().Routes[routeCreateSecrets], "a create that met a 5xx is not repeated before a lookup")
}
