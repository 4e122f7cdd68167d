package workers

import (
	"fmt"
	"net/http"
)

// apiError is one Cloudflare error: an HTTP status and an envelope entry.
type apiError struct {
	status  int
	code    int
	message string
}

// The catalogue. docs/contract-cloudflare-workers-secrets.md says where each entry comes from; the
// ones marked "emulator" are the emulator's own picks where no source pins the code, the message
// or the status.
var (
	errAuthentication = &apiError{http.StatusForbidden, 10000, "Authentication error"}
	errRouteNotFound  = &apiError{http.StatusNotFound, 7000, "No route for that URI"} // emulator
	// wrangler's WORKER_NOT_FOUND_ERR_CODE and workerNotFoundErrorMessage; the status is the
	// emulator's reading.
	errScriptNotFound = &apiError{http.StatusNotFound, 10007, "This Worker does not exist on your account."}
	// wrangler's VERSION_NOT_DEPLOYED_ERR_CODE; the message is the emulator's.
	errLatestNotDeployed = &apiError{http.StatusBadRequest, 10215,
		"Secret edit failed. You attempted to modify a secret, but the latest version of your Worker " +
			"isn't currently deployed. Use the versions API to change secrets without deploying, or " +
			"deploy the latest version first."}
	// Reported with this text for the settings endpoint (workers-sdk issue 12392).
	errSettingsLatestNotDeployed = &apiError{http.StatusBadRequest, 10214,
		"Script edit failed. You attempted to deploy the latest version with modified settings, but the " +
			"latest version isn't currently deployed. Either upload a new version to edit the version " +
			"settings, or use the script-level settings API."}
	// wrangler's NO_VERSIONS_ERR_CODE and NO_VERSIONS_MESSAGE.
	errNoVersions = &apiError{http.StatusBadRequest, 10222,
		"There are currently no uploaded versions of this Worker. Please upload a version before modifying a secret."}

	// emulator
	errInvalidBody = &apiError{http.StatusBadRequest, 10026, "Could not parse the request body"}
	// emulator
	errSecretType = &apiError{http.StatusBadRequest, 10021, "Secret type must be secret_text or secret_key"}
	// emulator
	errSecretTextMissing = &apiError{http.StatusBadRequest, 10021, "A secret_text binding needs text"}
	errBulkTooMany       = &apiError{http.StatusBadRequest, 10021,
		fmt.Sprintf("At most %d secrets can be changed in one request", maxBulkSecrets)} // emulator
	errTooManyBindings = &apiError{http.StatusBadRequest, 10055,
		// message: emulator
		fmt.Sprintf("A Worker can have at most %d environment variables and secrets", maxTextBindings)}
	// emulator
	errVersionNotFound = &apiError{http.StatusNotFound, 10220, "Version not found"}
	// emulator
	errDeploymentInvalid = &apiError{http.StatusBadRequest, 10021, "Invalid deployment"}
	// emulator
	errMainModuleMissing = &apiError{http.StatusBadRequest, 10021, "No such module: the main module was not uploaded"}
	// emulator
	errMetadataMissing = &apiError{http.StatusBadRequest, 10021, "The upload has no metadata part"}
)

// errBindingNotFound is the answer for an unknown secret (workers-sdk issue 12812: "Binding 'X'
// not found." [code: 10056]); the status is the emulator's reading.
func errBindingNotFound(name string) *apiError {
	return &apiError{http.StatusNotFound, 10056, fmt.Sprintf("Binding '%s' not found.", name)}
}

// errBindingInUse is the answer for a secret whose name another kind of binding has (workers-sdk
// issue 12812: "Binding name 'X' already in use." [code: 10053]).
func errBindingInUse(name string) *apiError {
	return &apiError{http.StatusBadRequest, 10053, fmt.Sprintf("Binding name '%s' already in use.", name)}
}

// errSecretTooLarge: code 10054 from wrangler-legacy's table; the message is the emulator's.
func errSecretTooLarge(name string) *apiError {
	return &apiError{http.StatusBadRequest, 10054,
		fmt.Sprintf("Binding '%s' is too large: a secret must be %d bytes or less", name, maxSecretBytes)}
}

// errInvalidName: the emulator's pick (no source pins the rule or the code).
func errInvalidName(name string) *apiError {
	return &apiError{http.StatusBadRequest, 10021,
		fmt.Sprintf("Binding name '%s' is not valid: it must be a JavaScript identifier", name)}
}

// errInheritMissing: an upload binds "inherit" to a name the previous version does not have.
func errInheritMissing(name string) *apiError {
	return &apiError{http.StatusBadRequest, 10021,
		fmt.Sprintf("Binding '%s' of type inherit: the previous version has no binding of that name", name)} // emulator
}

// errUnknownAccount is Cloudflare's answer for an account id it cannot route.
func errUnknownAccount(path string) *apiError {
	return &apiError{http.StatusNotFound, 7003,
		fmt.Sprintf("Could not route to %s, perhaps your object identifier is invalid?", path)}
}

// errInvalidScriptName: the emulator's pick of code and message.
var errInvalidScriptName = &apiError{http.StatusBadRequest, 10016, "Invalid Worker name"}
