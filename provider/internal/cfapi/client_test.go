package cfapi

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/emulatortest"
)

const account = emulator.DefaultCloudflareAccount

func emulated(t *testing.T) *Client {
	t.Helper()
	_, ts := emulatortest.Start(t, emulator.Options{})
	return New(ts.URL+"/client/v4", emulator.DefaultCloudflareToken, account, Options{})
}

// accountStore is the store the emulated account starts with, as a used account does.
func accountStore(t *testing.T, c *Client) Store {
	t.Helper()
	stores, err := c.ListStores(t.Context())
	require.NoError(t, err)
	require.Len(t, stores, 1)
	return stores[0]
}

// A 409 is an answer, not a race: the SDK's default would retry it for minutes.
// writeBody writes a fake handler's answer. The write fails only when the client has gone,
// which the test sees on the client's side: it is ignored.
func writeBody(w io.Writer, body string) {
	_, _ = io.WriteString(w, body)
}

func TestConflictIsNotRetried(t *testing.T) {
	var calls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		writeBody(w, `{"success":false,"errors":[{"code":1003,"message":"store_not_empty"}],"messages":[],"result":null}`)
	}))
	defer ts.Close()
	c := New(ts.URL, "t", account, Options{})
	err := c.DeleteStore(t.Context(), strings.Repeat("a", 32))
	require.Error(t, err)
	assert.True(t, StoreNotEmpty(err))
	assert.Equal(t, int32(1), calls.Load())
}

func TestServerErrorsAreRetried(t *testing.T) {
	var calls atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusBadGateway)
			writeBody(w, `{"success":false,"errors":[{"code":10002,"message":"bad gateway"}],"messages":[],"result":null}`)
			return
		}
		writeBody(w, `{"success":true,"errors":[],"messages":[],"result":{"secrets":{"quota":100,"usage":7}}}`)
	}))
	defer ts.Close()
	fast := Options{MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}
	q, err := New(ts.URL, "t", account, fast).GetQuota(t.Context())
	require.NoError(t, err)
	assert.Equal(t, Quota{Quota: 100, Usage: 7}, q)
	assert.Equal(t, int32(3), calls.Load())
}

func TestErrorsAreTypedAndCarryNoValue(t *testing.T) {
	c := emulated(t)
	store := accountStore(t, c)

	_, err := c.CreateStore(t.Context(), "second")
	assert.True(t, StoreLimitReached(err), "%v", err)

	_, err = c.CreateSecrets(t.Context(), store.ID,
		[]NewSecret{{Name: "A", Value: "value-1", Scopes: []string{"workers"}}}, nil)
	require.NoError(t, err)
	_, err = c.CreateSecrets(t.Context(), store.ID,
		[]NewSecret{{Name: "A", Value: "value-2-hunter2", Scopes: []string{"workers"}}}, nil)
	require.Error(t, err)
	assert.True(t, NameMayBeTaken(err), "%v", err)
	assert.NotContains(t, err.Error(), "hunter2")
	assert.Contains(t, err.Error(), `create secret "A"`, "the error names the operation")

	_, err = c.GetSecret(t.Context(), store.ID, strings.Repeat("f", 32))
	assert.True(t, IsNotFound(err), "%v", err)
	_, err = c.GetStore(t.Context(), strings.Repeat("f", 32))
	assert.True(t, IsNotFound(err), "%v", err)
}

func TestListingFollowsPages(t *testing.T) {
	c := emulated(t)
	store := accountStore(t, c)
	var batch []NewSecret
	for i := range 100 {
		batch = append(batch, NewSecret{Name: fmt.Sprintf("KEY_%03d", i), Value: "v", Scopes: []string{"workers"}})
	}
	_, err := c.CreateSecrets(t.Context(), store.ID, batch[:60], nil)
	require.NoError(t, err)
	_, err = c.CreateSecrets(t.Context(), store.ID, batch[60:], nil)
	require.NoError(t, err)

	all, err := c.ListSecrets(t.Context(), store.ID, "")
	require.NoError(t, err)
	assert.Len(t, all, 100)
}

func TestEditSendsOnlyWhatChanged(t *testing.T) {
	c := emulated(t)
	store := accountStore(t, c)
	created, err := c.CreateSecrets(t.Context(), store.ID,
		[]NewSecret{{Name: "A", Value: "v", Scopes: []string{"workers", "dex"}, Comment: "keep me"}}, nil)
	require.NoError(t, err)
	v := "v2"
	edited, err := c.EditSecret(t.Context(), store.ID, created[0].ID, SecretEdit{Value: &v})
	require.NoError(t, err)
	assert.Equal(t, "keep me", edited.Comment)
	assert.Equal(t, []string{"dex", "workers"}, edited.Scopes)
	empty := ""
	edited, err = c.EditSecret(t.Context(), store.ID, created[0].ID, SecretEdit{Comment: &empty})
	require.NoError(t, err)
	assert.Empty(t, edited.Comment, "an empty comment clears it")
}

func TestUnknownAccountIsNotNotFound(t *testing.T) {
	_, ts := emulatortest.Start(t, emulator.Options{})
	_, err := New(ts.URL+"/client/v4", emulator.DefaultCloudflareToken, strings.Repeat("f", 32), Options{}).
		GetSecret(t.Context(), strings.Repeat("a", 32), strings.Repeat("b", 32))
	require.Error(t, err)
	assert.False(t, IsNotFound(err), "a wrong account must not read as a deleted secret: %v", err)
}

func TestUnauthorized(t *testing.T) {
	_, ts := emulatortest.Start(t, emulator.Options{})
	_, err := New(ts.URL+"/client/v4", "wrong", account, Options{}).ListStores(t.Context())
	require.Error(t, err)
	assert.True(t, IsUnauthorized(err), "%v", err)
	assert.NotContains(t, err.Error(), "wrong")
}
