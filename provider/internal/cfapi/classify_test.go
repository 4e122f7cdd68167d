package cfapi

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Cloudflare's error messages are not a contract (they change, and carry names and ids), and
// its codes are shared between errors. So the client classifies an error by the request it
// answers, its status and its code: the same answer with any message text, detailed, reworded
// or empty, is classified alike, and the same code answering another request is not.
func TestErrorsAreClassifiedByCodeAndRequestNotText(t *testing.T) {
	store := strings.Repeat("a", 32)
	for _, message := range []string{
		"secret_name_already_exists: a secret named \"A\" already exists in store " + store,
		"A secret with this name already exists.",
		"",
	} {
		t.Run(fmt.Sprintf("message %q", message), func(t *testing.T) {
			c := answering400(t, message)
			_, err := c.CreateSecrets(t.Context(), store, []NewSecret{{Name: "A", Value: "v", Scopes: []string{"workers"}}}, nil)
			assert.True(t, NameMayBeTaken(err), "create secrets: %v", err)
			assert.False(t, StoreLimitReached(err), "create secrets: %v", err)

			_, err = c.CreateStore(t.Context(), "second")
			assert.True(t, StoreLimitReached(err), "create store: %v", err)
			assert.False(t, NameMayBeTaken(err), "create store: %v", err)

			// 1003 answering an edit is neither: it must surface as it is.
			_, err = c.EditSecret(t.Context(), store, store, SecretEdit{Comment: new(string)})
			require.Error(t, err)
			assert.False(t, NameMayBeTaken(err) || StoreLimitReached(err) || StoreNotEmpty(err), "edit: %v", err)
		})
	}
}

func TestStoreNotEmptyIsTheDeletesConflict(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		writeBody(w, `{"success":false,"errors":[{"code":1003,"message":"This store still contains 3 secrets"}],`+
			`"messages":[],"result":null}`)
	}))
	defer ts.Close()
	err := New(ts.URL, "t", account, Options{}).DeleteStore(t.Context(), strings.Repeat("a", 32))
	assert.True(t, StoreNotEmpty(err), "%v", err)
}

// Not found is the status (or code 1000), never the message; an unknown account (7003) is not
// a missing secret whatever its status.
func TestNotFoundIsStatusOrCodeNeverText(t *testing.T) {
	assert.True(t, IsNotFound(&APIError{StatusCode: http.StatusNotFound,
		Errors: []ErrorDetail{{Code: 1001, Message: "gone: it was here"}}}))
	assert.True(t, IsNotFound(&APIError{StatusCode: http.StatusBadRequest, Errors: []ErrorDetail{{Code: 1000}}}))
	assert.False(t, IsNotFound(&APIError{StatusCode: http.StatusBadRequest,
		Errors: []ErrorDetail{{Code: 1001, Message: "secret_not_found"}}}), "a 400 whose text says not found")
	assert.False(t, IsNotFound(&APIError{StatusCode: http.StatusNotFound, Errors: []ErrorDetail{{Code: 7003}}}))
}

// answering400 is a client of a server that refuses every request with 400 and code 1003.
func answering400(t *testing.T, message string) *Client {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		writeBody(w, fmt.Sprintf(`{"success":false,"errors":[{"code":1003,"message":%q}],"messages":[],"result":null}`,
			message))
	}))
	t.Cleanup(ts.Close)
	return New(ts.URL, "t", account, Options{})
}
