package cloudflare

import (
	"regexp"
	"slices"
)

// maxValueBytes is the Secrets Store value limit (64 KiB).
const maxValueBytes = 65536

// maxSecretsPerAccount is the account quota reported by GET /quota.
const maxSecretsPerAccount = 100

// maxStoresPerAccount is Cloudflare's store limit.
const maxStoresPerAccount = 1

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

var knownScopes = []string{"access", "ai_gateway", "containers", "dex", "websearch", "workers"}

func checkSecretName(name *string) *apiError {
	return checkName(name, errNameEmpty, errNameInvalid)
}

func checkStoreName(name *string) *apiError {
	return checkName(name, errStoreNameEmpty, errStoreNameInvalid)
}

// checkName applies the one naming rule of secrets and stores, answering
// with the caller's errors.
func checkName(name *string, empty, invalid *apiError) *apiError {
	switch {
	case name == nil || *name == "":
		return empty
	case !nameRE.MatchString(*name):
		return invalid
	}
	return nil
}

func checkValue(value *string) *apiError {
	switch {
	case value == nil || *value == "":
		return errValueEmpty
	case len(*value) > maxValueBytes:
		return errValueTooLong
	}
	return nil
}

// normaliseScopes validates scopes and returns them de-duplicated and sorted,
// the way the API reports them.
func normaliseScopes(scopes []string) ([]string, *apiError) {
	if len(scopes) == 0 {
		return nil, errScopesEmpty
	}
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if !slices.Contains(knownScopes, s) {
			return nil, errScopeInvalid
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
