package cloudflare

import (
	"fmt"
	"net/http"
)

// apiError is one Cloudflare error: an HTTP status and an envelope entry.
// Cloudflare shares codes between errors, and its message texts are not a
// contract: the real API's carry detail (a name, an id). So the emulator's
// do too (see about), and a client that matches a message's exact text
// fails here as it would against Cloudflare.
type apiError struct {
	status  int
	code    int
	message string
}

// The catalogue. Codes and messages come from the contract where it names
// them; statuses follow its safe reading (400 validation and duplicates, 404
// not found). Entries marked "emulator" are the emulator's own picks.
var (
	errAuthentication = &apiError{http.StatusForbidden, 10000, "Authentication error"}
	errRouteNotFound  = &apiError{http.StatusNotFound, 7000, "No route for that URI"} // emulator
	errNotFound       = &apiError{http.StatusNotFound, 1000, "not_found"}

	errInvalidJSON    = &apiError{http.StatusBadRequest, 1001, "invalid_json_body"}
	errStoreNotFound  = &apiError{http.StatusNotFound, 1001, "store_not_found"}
	errSecretNotFound = &apiError{http.StatusNotFound, 1001, "secret_not_found"}

	errMaxStores    = &apiError{http.StatusBadRequest, 1003, "maximum_stores_exceeded"}
	errMaxSecrets   = &apiError{http.StatusBadRequest, 1003, "maximum_secrets_exceeded"} // emulator
	errNameExists   = &apiError{http.StatusBadRequest, 1003, "secret_name_already_exists"}
	errStoreInUse   = &apiError{http.StatusConflict, 1003, "store_not_empty"} // code: emulator
	errNameEmpty    = &apiError{http.StatusBadRequest, 1001, "secret_name_empty"}
	errNameInvalid  = &apiError{http.StatusBadRequest, 1001, "secret_name_invalid"}   // emulator
	errNameReadOnly = &apiError{http.StatusBadRequest, 1001, "secret_name_immutable"} // emulator
	errValueEmpty   = &apiError{http.StatusBadRequest, 1001, "secret_value_empty"}    // emulator
	errValueTooLong = &apiError{http.StatusBadRequest, 1001, "secret_value_too_long"}
	errScopesEmpty  = &apiError{http.StatusBadRequest, 1001, "secret_scopes_empty"}
	errScopeInvalid = &apiError{http.StatusBadRequest, 1001, "secret_scope_invalid"}

	errStoreNameEmpty   = &apiError{http.StatusBadRequest, 1001, "store_name_empty"}   // emulator
	errStoreNameInvalid = &apiError{http.StatusBadRequest, 1001, "store_name_invalid"} // emulator

	errPageInvalid      = &apiError{http.StatusBadRequest, 1001, "page_invalid"}      // emulator
	errPerPageInvalid   = &apiError{http.StatusBadRequest, 1001, "per_page_invalid"}  // emulator
	errOrderInvalid     = &apiError{http.StatusBadRequest, 1001, "order_invalid"}     // emulator
	errDirectionInvalid = &apiError{http.StatusBadRequest, 1001, "direction_invalid"} // emulator
	errForceInvalid     = &apiError{http.StatusBadRequest, 1001, "force_invalid"}     // emulator
)

// about is e with detail appended to its message, as Cloudflare's messages
// carry the name or id they are about: "secret_name_already_exists: a secret
// named \"API_KEY\" already exists in store 0123...".
func (e *apiError) about(format string, args ...any) *apiError {
	return &apiError{e.status, e.code, e.message + ": " + fmt.Sprintf(format, args...)}
}

// errUnknownAccount is Cloudflare's answer for an account id it cannot route.
func errUnknownAccount(path string) *apiError {
	return &apiError{http.StatusNotFound, 7003,
		fmt.Sprintf("Could not route to %s, perhaps your object identifier is invalid?", path)}
}
