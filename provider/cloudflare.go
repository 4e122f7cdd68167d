package provider

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/cfapi"
)

// defaultStoreName is the store Cloudflare creates when Secrets Store is first used.
const defaultStoreName = "default_secrets_store"

// defaultScopes are the scopes a secret gets when none are given.
var defaultScopes = []string{"workers"}

// parseCloudflareID splits an import ID into its 32-hex parts, checking them before any
// API call. format names the parts for the error message, e.g. "<accountId>/<storeId>".
func parseCloudflareID(kind, id, format string, parts int) ([]string, error) {
	fields := strings.Split(id, "/")
	if len(fields) != parts {
		return nil, fmt.Errorf("%s ID %q is malformed: expected %s, each 32 hexadecimal characters", kind, id, format)
	}
	for _, f := range fields {
		if !cloudflareIDPattern.MatchString(f) {
			return nil, fmt.Errorf("%s ID %q is malformed: %q is not 32 hexadecimal characters (expected %s)",
				kind, id, f, format)
		}
	}
	return fields, nil
}

// sortedScopes returns scopes sorted and de-duplicated, as the API reports them.
func sortedScopes(scopes []string) []string {
	out := slices.Clone(scopes)
	slices.Sort(out)
	return slices.Compact(out)
}

func sameScopes(a, b []string) bool { return slices.Equal(sortedScopes(a), sortedScopes(b)) }

// defaultStore finds the account's one store, for secrets given no storeId.
func defaultStore(ctx context.Context, client *cfapi.Client) (cfapi.Store, error) {
	stores, err := client.ListStores(ctx)
	if err != nil {
		return cfapi.Store{}, err
	}
	if len(stores) == 0 {
		return cfapi.Store{}, fmt.Errorf("account %s has no Secrets Store yet: create one with "+
			"edgesecrets:cloudflare:SecretsStore and pass its storeId", client.AccountID())
	}
	return stores[0], nil
}

// waitActive polls a new secret until it leaves "pending": a Worker deploy that binds a
// pending secret fails. It returns the last secret seen; a secret still pending after
// the limit is returned with an error, so the caller can record it.
func waitActive(ctx context.Context, client *cfapi.Client, storeID string, secret cfapi.Secret, interval, limit time.Duration) (cfapi.Secret, error) {
	deadline := time.Now().Add(limit)
	for secret.Status == cfapi.StatusPending {
		if time.Now().Add(interval).After(deadline) {
			return secret, fmt.Errorf("secret %q is still pending after %s; the next `pulumi up` checks it again",
				secret.Name, limit)
		}
		select {
		case <-ctx.Done():
			return secret, ctx.Err()
		case <-time.After(interval):
		}
		interval = min(interval*2, time.Second)
		next, err := client.GetSecret(ctx, storeID, secret.ID)
		if err != nil {
			return secret, err
		}
		secret = next
	}
	return secret, nil
}
