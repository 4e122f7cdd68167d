package cloudflare

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/cfapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/config"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/ownership"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// DefaultStoreName is the store Cloudflare creates when Secrets Store is first used.
const DefaultStoreName = "default_secrets_store"

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
		if !config.CloudflareIDPattern.MatchString(f) {
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

// cloudflareClient is the Cloudflare client of ctx's provider instance, with the resource's own
// token and account when it has them.
func cloudflareClient(ctx context.Context, token, account *string) (*cfapi.Client, error) {
	inst, err := config.Of(ctx)
	if err != nil {
		return nil, err
	}
	return inst.Cloudflare(token, account)
}

// accountStore finds the account's one store, for secrets given no storeId. An account that
// has none yet may be getting one in this same operation (a SecretsStore beside the Secret,
// which the engine creates in parallel): the wait for it is bounded.
func accountStore(ctx context.Context, client *cfapi.Client) (cfapi.Store, error) {
	inst, err := config.Of(ctx)
	if err != nil {
		return cfapi.Store{}, err
	}
	t := inst.Timing()
	var store cfapi.Store
	what := fmt.Sprintf("waiting for account %s to have a Secrets Store", client.AccountID())
	found, err := t.WaitFor(ctx, t.StoreWait, what,
		func() (bool, error) {
			stores, err := client.ListStores(ctx)
			if len(stores) > 0 {
				store = stores[0]
			}
			return len(stores) > 0, err
		})
	if err != nil {
		return cfapi.Store{}, err
	}
	if !found {
		return cfapi.Store{}, fmt.Errorf("account %s has no Secrets Store (waited %s): create one with "+
			"edgesecrets:cloudflare:SecretsStore and pass its storeId, which also orders the two",
			client.AccountID(), t.StoreWait)
	}
	return store, nil
}

// waitActive waits until new secrets leave "pending": a Worker deploy that binds a pending
// secret fails. Every wait on one store shares one listing per look (cfapi's AwaitActive), so
// the secrets of a whole round of the engine's creates cost one listing, not a GET each. It
// returns the secrets as last seen, in order; those still pending after the limit come back so,
// with an error, for the caller to record.
func waitActive(
	ctx context.Context, client *cfapi.Client, storeID string, secrets ...cfapi.Secret,
) ([]cfapi.Secret, error) {
	out := slices.Clone(secrets)
	var ids []string
	var at []int
	for i, s := range secrets {
		if s.Status == cfapi.StatusPending {
			ids, at = append(ids, s.ID), append(at, i)
		}
	}
	seen, err := client.AwaitActive(ctx, storeID, ids...)
	for k, s := range seen {
		if s.Status != "" { // listed at least once
			out[at[k]] = s
		}
	}
	var pending *cfapi.PendingError
	if errors.As(err, &pending) {
		var errs []error
		for _, s := range pending.Pending {
			name := s.Name
			if name == "" {
				name = out[at[slices.Index(ids, s.ID)]].Name
			}
			errs = append(errs, fmt.Errorf("secret %q is still pending after %s; the next `pulumi up` checks it again",
				name, pending.Waited))
		}
		err = errors.Join(errs...)
	}
	return out, err
}

// takenError is createOrAdopt's answer when names are taken and adopt is off: the secrets that
// hold them, for the caller to say how to take them over.
type takenError struct{ existing []cfapi.Secret }

func (e *takenError) Error() string {
	names := make([]string, len(e.existing))
	for i, s := range e.existing {
		names[i] = fmt.Sprintf("%q", s.Name)
	}
	return "secrets " + strings.Join(names, ", ") + " already exist"
}

// createOrAdopt creates secrets in one call, for a Secret (one) and a store's inline secrets
// (many) alike. When names are taken it takes those secrets over with a PATCH if adopt is set
// (and creates the rest), else answers *takenError. It returns the secrets in the order asked.
//
// The operation it is part of enters the store first, so that the creates the engine runs
// together share one call (cfapi.Options.Shared).
func createOrAdopt(
	ctx context.Context, client *cfapi.Client, storeID string, want []cfapi.NewSecret, adopt bool,
) ([]cfapi.Secret, error) {
	op := client.Begin(storeID)
	defer op.End()
	created, err := client.CreateSecrets(ctx, storeID, want, op)
	if !cfapi.NameMayBeTaken(err) {
		return created, err
	}
	// The API validates the whole call before creating any: none of these was made.
	listed, listErr := client.ListSecrets(ctx, storeID, "")
	if listErr != nil {
		return nil, errors.Join(err, listErr)
	}
	byName := map[string]cfapi.Secret{}
	for _, s := range listed {
		byName[s.Name] = s
	}
	var taken []cfapi.Secret
	var fresh []cfapi.NewSecret
	for _, w := range want {
		if existing, ok := byName[w.Name]; ok {
			taken = append(taken, existing)
		} else {
			fresh = append(fresh, w)
		}
	}
	if len(taken) == 0 {
		// None of the names is there: the refusal was another one with the same code (the
		// account's secrets quota), or a name deleted between the two calls. It stands.
		return nil, err
	}
	if !adopt {
		return nil, &takenError{existing: taken}
	}
	out := map[string]cfapi.Secret{}
	for _, w := range want {
		existing, ok := byName[w.Name]
		if !ok {
			continue
		}
		edit := cfapi.SecretEdit{Value: &w.Value, Scopes: w.Scopes, Comment: &w.Comment}
		edited, err := client.EditSecret(ctx, storeID, existing.ID, edit)
		if err != nil {
			return nil, err
		}
		out[w.Name] = edited
	}
	if len(fresh) > 0 {
		made, err := client.CreateSecrets(ctx, storeID, fresh, nil)
		if err != nil {
			return nil, err
		}
		for _, s := range made {
			out[s.Name] = s
		}
	}
	result := make([]cfapi.Secret, len(want))
	for i, w := range want {
		result[i] = out[w.Name]
	}
	return result, nil
}

// checkScopes validates a list of Secrets Store scopes.
func checkScopes(c *rules.Checker, prop string) {
	v, ok := c.Inputs.GetOk(prop)
	if !ok || v.IsNull() || v.IsComputed() || !v.IsArray() {
		return
	}
	if v.AsArray().Len() == 0 {
		c.Fail(prop, "%s must list at least one scope (allowed: %s)", prop, strings.Join(knownScopes, ", "))
		return
	}
	for i, item := range v.AsArray().All {
		if !item.IsString() {
			continue
		}
		if s := item.AsString(); !slices.Contains(knownScopes, s) {
			c.Fail(fmt.Sprintf("%s[%d]", prop, i), "%s is not a Secrets Store scope; allowed: %s",
				rules.Quoted(item.WithSecret(item.Secret() || v.Secret()), s), strings.Join(knownScopes, ", "))
		}
	}
}

// providerAccount is the provider's Cloudflare account, "" when none is configured.
func providerAccount(ctx context.Context) string {
	if inst, err := config.Of(ctx); err == nil {
		return inst.CloudflareAccount()
	}
	return ""
}

// timing is ctx's provider instance's Timing.
func timing(ctx context.Context) *config.Timing {
	if inst, err := config.Of(ctx); err == nil {
		return inst.Timing()
	}
	return config.DefaultTiming()
}

// declare records, in the instance's table, the secret names a resource's Check found in its
// account's store: a name two resources declare fails the Check, naming both.
func declare(ctx context.Context, c *rules.Checker, prop string, names []string) {
	inst, err := config.Of(ctx)
	if err != nil {
		return
	}
	account, known := c.Str("accountId")
	if v, given := c.Inputs.GetOk("accountId"); given && !v.IsNull() && !known {
		return // an unknown account: checked once it is known
	}
	if err := inst.Owners.Declare(inst.StorePlace(account), ownership.OwnerOf(rules.URN(ctx)), names, nil); err != nil {
		c.Fail(prop, "Cloudflare Secrets Store: %v", err)
	}
}
