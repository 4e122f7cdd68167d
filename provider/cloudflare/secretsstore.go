package cloudflare

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/cfapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/config"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/instant"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// SecretsStore manages a Cloudflare Secrets Store and, optionally, secrets inline.
type SecretsStore struct{}

// SecretsStoreArgs are SecretsStore's inputs.
type SecretsStoreArgs struct {
	Name      *string           `pulumi:"name,optional" provider:"replaceOnChanges"`
	AccountID *string           `pulumi:"accountId,optional" provider:"replaceOnChanges" diff:"resolved"`
	APIToken  *string           `pulumi:"apiToken,optional" provider:"secret" diff:"credential"`
	Adopt     *bool             `pulumi:"adopt,optional"`
	Delete    *bool             `pulumi:"delete,optional"`
	Secrets   map[string]string `pulumi:"secrets,optional" provider:"secret"`
}

// SecretsStoreState is what SecretsStore records.
type SecretsStoreState struct {
	Name      string  `pulumi:"name"`
	AccountID string  `pulumi:"accountId"`
	APIToken  *string `pulumi:"apiToken,optional" provider:"secret"`
	Adopt     bool    `pulumi:"adopt"`
	// Delete is what destroying the resource does: the `delete` input, or by default whether
	// this resource created the store (see Adopted).
	Delete bool `pulumi:"delete"`
	// Adopted records that the store existed before this resource: taken over with adopt, as
	// the account's default store, or by import. State written before it existed reads false,
	// which is what 0.1.0's stores were unless adopt was set, and those kept delete: true.
	Adopted    bool              `pulumi:"adopted"`
	Secrets    map[string]string `pulumi:"secrets,optional" provider:"secret"`
	StoreID    string            `pulumi:"storeId"`
	CreatedAt  string            `pulumi:"createdAt"`
	ModifiedAt string            `pulumi:"modifiedAt"`
	SecretIDs  map[string]string `pulumi:"secretIds"`
	// InlineModifiedAt is each inline secret's modification time as Cloudflare last reported
	// it, InlineWrittenAt the one of this resource's last write: where they differ, the secret
	// was changed outside Pulumi and the next up writes the program's value back.
	InlineModifiedAt map[string]string `pulumi:"inlineModifiedAt,optional"`
	InlineWrittenAt  map[string]string `pulumi:"inlineWrittenAt,optional"`
	// ReleasedSecrets are inline secrets removed from `secrets` by the last up, by name: their
	// IDs. They stay in the store until the next up, which deletes each one still as this
	// resource left it (ReleasedModifiedAt) and lets go of one another resource took over: a
	// secret moved from `secrets` to a Secret resource in one up is never absent.
	ReleasedSecrets    map[string]string `pulumi:"releasedSecrets,optional"`
	ReleasedModifiedAt map[string]string `pulumi:"releasedModifiedAt,optional"`
}

var (
	_ infer.CustomResource[SecretsStoreArgs, SecretsStoreState]       = SecretsStore{}
	_ infer.CustomCheck[SecretsStoreArgs]                             = SecretsStore{}
	_ infer.CustomUpdate[SecretsStoreArgs, SecretsStoreState]         = SecretsStore{}
	_ infer.CustomRead[SecretsStoreArgs, SecretsStoreState]           = SecretsStore{}
	_ infer.CustomDelete[SecretsStoreState]                           = SecretsStore{}
	_ infer.ExplicitDependencies[SecretsStoreArgs, SecretsStoreState] = SecretsStore{}
	_ infer.Annotated                                                 = (*SecretsStore)(nil)
	_ infer.Annotated                                                 = (*SecretsStoreArgs)(nil)
	_ infer.Annotated                                                 = (*SecretsStoreState)(nil)
)

// secretsStoreRules: an account holds one store, so a replacement deletes the old one first,
// and cannot happen when the old one is kept. An absent `delete` means "delete what this
// resource created".
var secretsStoreRules = rules.Of[SecretsStoreArgs](rules.Rules{
	DeleteBeforeReplace: true,
	Drift: func(state property.Map) string {
		if len(driftedInline(rules.StringMap(state, "inlineModifiedAt"), rules.StringMap(state, "inlineWrittenAt"))) == 0 &&
			len(rules.StringMap(state, "releasedSecrets")) == 0 {
			return ""
		}
		return "secrets" // values to write back, or released secrets to delete
	},
	StateDefaults: map[string]func(property.Map) property.Value{
		"delete": func(state property.Map) property.Value {
			adopted, _ := rules.NonNull(state, "adopted")
			return property.New(!adopted.IsBool() || !adopted.AsBool())
		},
	},
	CanReplace: func(state property.Map) error {
		if del, ok := rules.NonNull(state, "delete"); !ok || !del.IsBool() || del.AsBool() {
			return nil
		}
		return fmt.Errorf("the Secrets Store %s (%q) is kept when this resource goes (`delete: false`, or a store this "+
			"resource did not create), and an account holds one store, so it cannot be replaced: a new name or account "+
			"would need the old store deleted first. Keep its name and account, or set `delete: true` in a separate "+
			"`pulumi up` first to let the replacement delete it (its secrets go with it)",
			rules.StringProp(state, "storeId"), rules.StringProp(state, "name"))
	},
})

// secretsStoreDoc is the SecretsStore's schema description, with its examples in every SDK language.
//
//go:embed secretsstore.md
var secretsStoreDoc string

func (r *SecretsStore) Annotate(a infer.Annotator) {
	a.SetToken("cloudflare", "SecretsStore")
	a.Describe(r, rules.Doc(secretsStoreDoc))
}

func (a *SecretsStoreArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.Name, "Store name. Defaults to `default_secrets_store`, the store Cloudflare creates first. "+
		"Changing it replaces the store.")
	an.SetDefault(&a.Name, DefaultStoreName)
	an.Describe(&a.AccountID, "Cloudflare account ID, overriding the provider's `cloudflareAccountId`. Changing it "+
		"replaces the store.")
	an.Describe(&a.APIToken, "Cloudflare API token for this store only, overriding the provider's "+
		"`cloudflareApiToken`. Changing it is not a diff.")
	an.Describe(&a.Adopt, "Take over the account's existing store of this name instead of failing (an account "+
		"holds one store). Default `false`; not needed for `default_secrets_store`, the account's fixture.")
	an.SetDefault(&a.Adopt, false)
	an.Describe(&a.Delete, "Whether destroying the resource deletes the store in Cloudflare. Default: `true` for a "+
		"store this resource created, `false` for one that existed before (adopted, the account's default store, or "+
		"imported). With `false` Pulumi forgets the store and Cloudflare keeps it; a store this resource created keeps "+
		"its inline secrets too, while one that existed before loses the inline secrets this resource made. A store "+
		"that still holds secrets this resource does not manage is never deleted: the destroy fails before deleting "+
		"anything.")
	an.Describe(&a.Secrets, "Secrets managed inline: a map of secret name to value, created with the "+
		"`workers` scope. Removing an entry releases that secret: the next `pulumi up` deletes it if it is "+
		"unchanged and no resource declares it (so a move to a Secret loses nothing).")
}

func (s *SecretsStoreState) Annotate(a infer.Annotator) {
	a.Describe(&s.Name, "Store name.")
	a.Describe(&s.AccountID, "Cloudflare account ID that holds the store.")
	a.Describe(&s.APIToken, "The resource's own API token, if given (secret).")
	a.Describe(&s.Adopt, "Whether an existing store could be taken over.")
	a.Describe(&s.Delete, "Whether destroying the resource deletes the store in Cloudflare.")
	a.Describe(&s.Adopted, "Whether the store existed before this resource (adopted, the account's default store, or "+
		"imported): such a store is kept on destroy unless `delete: true` is set.")
	a.Describe(&s.Secrets, "The inline secrets (secret).")
	a.Describe(&s.StoreID, "Cloudflare's ID of the store (32 hexadecimal characters): pass it to "+
		"`cloudflare:Secret` and to Worker bindings.")
	a.Describe(&s.CreatedAt, "When the store was created (RFC 3339).")
	a.Describe(&s.ModifiedAt, "When the store was last modified (RFC 3339).")
	a.Describe(&s.SecretIDs, "Cloudflare's IDs of the inline secrets, by name.")
	a.Describe(&s.InlineModifiedAt,
		"When each inline secret was last modified, as Cloudflare last reported it (RFC 3339).")
	a.Describe(&s.InlineWrittenAt, "When this resource last wrote each inline secret (RFC 3339): a different "+
		"`inlineModifiedAt` means it was changed outside Pulumi.")
	a.Describe(&s.ReleasedSecrets, "Inline secrets the last `pulumi up` removed from `secrets`, by name (their IDs): "+
		"they stay in the store until the next `pulumi up`, which deletes each one still as this resource left it and "+
		"lets go of one another resource took over, so that moving a secret to a Secret resource loses nothing.")
	a.Describe(&s.ReleasedModifiedAt, "When each released secret was last modified by this resource (RFC 3339).")
}

// WireDependencies keeps the inline values and the token secret in every output, and says
// which inputs each output derives from: changing inline secrets leaves storeId known at
// preview, so the Secrets bound to the store do not preview a replacement. The identity
// outputs hang on name alone, as for Secret: a name or account change replaces the store.
func (SecretsStore) WireDependencies(f infer.FieldSelector, args *SecretsStoreArgs, state *SecretsStoreState) {
	f.OutputField(&state.Secrets).AlwaysSecret()
	f.OutputField(&state.APIToken).AlwaysSecret()
	name, secrets := f.InputField(&args.Name).Computed(), f.InputField(&args.Secrets).Computed()
	for _, identity := range []any{&state.Name, &state.AccountID, &state.StoreID, &state.CreatedAt} {
		f.OutputField(identity).DependsOn(name)
	}
	f.OutputField(&state.Secrets).DependsOn(secrets)
	f.OutputField(&state.APIToken).DependsOn(f.InputField(&args.APIToken).Computed())
	f.OutputField(&state.Adopt).DependsOn(f.InputField(&args.Adopt).Computed())
	f.OutputField(&state.Delete).DependsOn(f.InputField(&args.Delete).Computed())
	f.OutputField(&state.Adopted).DependsOn(name)
	for _, written := range []any{&state.ModifiedAt, &state.SecretIDs, &state.InlineModifiedAt, &state.InlineWrittenAt,
		&state.ReleasedSecrets, &state.ReleasedModifiedAt} {
		f.OutputField(written).DependsOn(name, secrets)
	}
}

// Check validates at preview, before any API call.
func (SecretsStore) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[SecretsStoreArgs], error) {
	return rules.Check[SecretsStoreArgs](ctx, req.NewInputs, func(c *rules.Checker) {
		c.Pattern("name", namePattern, "store names use letters, digits, `_` and `-`")
		c.Length("name", limitName)
		c.Pattern("accountId", config.CloudflareIDPattern, "a Cloudflare account ID is 32 hexadecimal characters")
		c.Credential("apiToken", config.KeyCloudflareToken)
		secrets, ok := c.Inputs.GetOk("secrets")
		if !ok || !secrets.IsMap() {
			return
		}
		defer func() {
			if len(c.Failures) == 0 && !secrets.IsComputed() {
				var names []string
				for name := range secrets.AsMap().AllStable {
					names = append(names, name)
				}
				declare(ctx, c, "secrets", names)
			}
		}()
		entries := secrets.AsMap()
		if reason := limitInlineSecrets.Exceeds("secrets", entries.Len()); reason != "" {
			c.Fail("secrets", "%s", reason)
		}
		c.SecretMap("secrets", req.OldInputs, func(name string) string {
			if !namePattern.MatchString(name) {
				return fmt.Sprintf("secrets has an entry named %q: Secrets Store names use letters, digits, `_` and `-`", name)
			}
			return limitName.Exceeds(fmt.Sprintf("the name of secrets[%q]", name), len(name))
		}, limitValue)
	})
}

// Create makes the store (or adopts it) and its inline secrets.
func (r SecretsStore) Create(
	ctx context.Context, req infer.CreateRequest[SecretsStoreArgs],
) (infer.CreateResponse[SecretsStoreState], error) {
	in := req.Inputs
	client, err := cloudflareClient(ctx, in.APIToken, in.AccountID)
	if err != nil {
		return infer.CreateResponse[SecretsStoreState]{}, err
	}
	state := in.state(client.AccountID(), false)
	if req.DryRun {
		state.Secrets = in.Secrets
		return infer.CreateResponse[SecretsStoreState]{Output: state}, nil
	}
	store, adopted, err := createStore(ctx, client, req.Name, state.Name, state.Adopt)
	if err != nil {
		return infer.CreateResponse[SecretsStoreState]{}, err
	}
	state = in.state(client.AccountID(), adopted)
	state.record(store)
	resp := infer.CreateResponse[SecretsStoreState]{ID: state.id()}
	err = r.syncInlineSecrets(ctx, client, &state, in.Secrets)
	resp.Output = state
	if err != nil {
		// The store exists: record it with the secrets that were written.
		return resp, infer.ResourceInitFailedError{Reasons: []string{err.Error()}}
	}
	return resp, nil
}

// createStore creates the store; when the account already holds one, it adopts it if allowed
// (adopt, or the account's default store, a fixture every used account has) and if the name
// matches, or says how to proceed. adopted reports that the store existed before.
func createStore(
	ctx context.Context, client *cfapi.Client, resourceName, name string, adopt bool,
) (store cfapi.Store, adopted bool, err error) {
	if name == DefaultStoreName {
		// The usual case on a used account: look before creating, which would only fail.
		stores, err := client.ListStores(ctx)
		if err != nil {
			return cfapi.Store{}, false, err
		}
		for _, st := range stores {
			if st.Name == DefaultStoreName {
				return st, true, nil
			}
		}
	}
	store, err = client.CreateStore(ctx, name)
	if err == nil || !cfapi.StoreLimitReached(err) {
		return store, false, err
	}
	stores, listErr := client.ListStores(ctx)
	if listErr != nil || len(stores) == 0 {
		return cfapi.Store{}, false, errors.Join(err, listErr)
	}
	existing := stores[0]
	switch {
	case existing.Name == name && (adopt || name == DefaultStoreName):
		return existing, true, nil
	case existing.Name == name:
		return cfapi.Store{}, false, fmt.Errorf("account %s already has a Secrets Store named %q (id %s): set `adopt: true` "+
			"to manage it, or import it with `pulumi import %s %s %s/%s`",
			client.AccountID(), name, existing.ID, SecretsStoreToken, resourceName, client.AccountID(), existing.ID)
	default:
		return cfapi.Store{}, false, fmt.Errorf("account %s already holds its one Secrets Store, %q (id %s), and an account "+
			"holds one store: set `name: %q` (and `adopt: true` unless it is %q) to manage it",
			client.AccountID(), existing.Name, existing.ID, existing.Name, DefaultStoreName)
	}
}

// Update writes inline secret changes; adopt, delete and the token need no call.
func (r SecretsStore) Update(
	ctx context.Context, req infer.UpdateRequest[SecretsStoreArgs, SecretsStoreState],
) (infer.UpdateResponse[SecretsStoreState], error) {
	in, old := req.Inputs, req.State
	client, err := cloudflareClient(ctx, in.APIToken, &old.AccountID)
	if err != nil {
		return infer.UpdateResponse[SecretsStoreState]{}, err
	}
	next := in.state(old.AccountID, old.Adopted)
	next.StoreID, next.CreatedAt, next.ModifiedAt = old.StoreID, old.CreatedAt, old.ModifiedAt
	next.Secrets, next.SecretIDs = old.Secrets, old.SecretIDs
	next.InlineModifiedAt, next.InlineWrittenAt = old.InlineModifiedAt, old.InlineWrittenAt
	next.ReleasedSecrets, next.ReleasedModifiedAt = old.ReleasedSecrets, old.ReleasedModifiedAt
	if req.DryRun {
		next.Secrets = in.Secrets
		return infer.UpdateResponse[SecretsStoreState]{Output: next}, nil
	}
	if err := r.syncInlineSecrets(ctx, client, &next, in.Secrets); err != nil {
		return infer.UpdateResponse[SecretsStoreState]{Output: next},
			infer.ResourceInitFailedError{Reasons: []string{err.Error()}}
	}
	return infer.UpdateResponse[SecretsStoreState]{Output: next}, nil
}

// inlineRecord is what SecretsStore records of its inline secrets, by name, while a sync
// changes it: the values written, the IDs, and the modification times seen and written.
type inlineRecord struct {
	values, ids, modified, written map[string]string
	// released are the secrets released by the last up (IDs), and when each was last modified.
	released, releasedAt map[string]string
}

func (s SecretsStoreState) inline() inlineRecord {
	orEmpty := func(m map[string]string) map[string]string {
		if m = maps.Clone(m); m == nil {
			m = map[string]string{}
		}
		return m
	}
	return inlineRecord{orEmpty(s.Secrets), orEmpty(s.SecretIDs), orEmpty(s.InlineModifiedAt), orEmpty(s.InlineWrittenAt),
		orEmpty(s.ReleasedSecrets), orEmpty(s.ReleasedModifiedAt)}
}

// store puts the record back into the state.
func (r inlineRecord) store(s *SecretsStoreState) {
	s.Secrets, s.SecretIDs = emptyAsNil(r.values), r.ids
	s.InlineModifiedAt, s.InlineWrittenAt = emptyAsNil(r.modified), emptyAsNil(r.written)
	s.ReleasedSecrets, s.ReleasedModifiedAt = emptyAsNil(r.released), emptyAsNil(r.releasedAt)
}

// release stops managing an inline secret without deleting it: the next up deletes it if it is
// still as this resource left it (see SecretsStoreState.ReleasedSecrets).
func (r inlineRecord) release(name string) {
	r.released[name] = r.ids[name]
	r.releasedAt[name] = cmp.Or(r.written[name], r.modified[name])
	r.forget(name)
}

// unrelease takes a released secret back under management: the program lists it again.
func (r inlineRecord) unrelease(name string) {
	r.ids[name] = r.released[name]
	r.modified[name], r.written[name] = r.releasedAt[name], r.releasedAt[name]
	delete(r.released, name)
	delete(r.releasedAt, name)
}

// wrote records a write of value to the secret.
func (r inlineRecord) wrote(name, value string, secret cfapi.Secret) {
	r.values[name], r.ids[name] = value, secret.ID
	r.modified[name] = rules.Timestamp(secret.Modified)
	r.written[name] = r.modified[name]
}

func (r inlineRecord) forget(name string) {
	for _, m := range []map[string]string{r.values, r.ids, r.modified, r.written} {
		delete(m, name)
	}
}

// inlineDrift says which inline secrets were modified outside Pulumi ("" for none).
func inlineDrift(storeID string, modified, written map[string]string) string {
	names := driftedInline(modified, written)
	if len(names) == 0 {
		return ""
	}
	return fmt.Sprintf("inline secrets %s of store %s were modified outside Pulumi: the next up writes the "+
		"program's values back", strings.Join(names, ", "), storeID)
}

// driftedInline lists, sorted, the inline secrets modified since this resource wrote them.
func driftedInline(modified, written map[string]string) []string {
	var names []string
	for name, at := range written {
		if at != "" && !instant.SameText(modified[name], at) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// syncInlineSecrets makes the store's inline secrets match want: one bulk create for new
// names, one PATCH per changed value (or one changed outside Pulumi); a removed name is released
// (kept until the next up), and the secrets the last up released are deleted, one DELETE each,
// if still as this resource left them. The state records only what succeeded, so a failure
// halfway loses nothing and the next up finishes the job.
func (r SecretsStore) syncInlineSecrets(
	ctx context.Context, client *cfapi.Client, s *SecretsStoreState, want map[string]string,
) error {
	rec := s.inline()
	defer rec.store(s)
	for name := range rec.released {
		if _, again := want[name]; again {
			rec.unrelease(name)
		}
	}
	drifted := driftedInline(rec.modified, rec.written)

	var errs []error
	var create []cfapi.NewSecret
	for _, name := range slices.Sorted(maps.Keys(want)) {
		id, known := rec.ids[name]
		if !known {
			create = append(create, cfapi.NewSecret{Name: name, Value: want[name], Scopes: defaultScopes})
			continue
		}
		if current, ok := rec.values[name]; ok && current == want[name] && !slices.Contains(drifted, name) {
			continue
		}
		value := want[name]
		edited, err := client.EditSecret(ctx, s.StoreID, id, cfapi.SecretEdit{Value: &value})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rec.wrote(name, value, edited)
	}
	if len(rec.released) > 0 {
		if err := deleteReleased(ctx, client, s, rec); err != nil {
			errs = append(errs, err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(rec.ids)) {
		if _, keep := want[name]; !keep {
			rec.release(name)
			p.GetLogger(ctx).Infof("released inline secret %q of store %s: it stays until the next up, which deletes it "+
				"unless another resource takes it over (a move to a Secret resource loses nothing)", name, s.StoreID)
		}
	}
	if len(create) > 0 {
		if err := r.createInlineSecrets(ctx, client, s, create, rec); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// deleteReleased deletes the secrets the last up released that are still as this resource left
// them, and lets go of those another resource took over or declares, or that are gone.
func deleteReleased(ctx context.Context, client *cfapi.Client, s *SecretsStoreState, rec inlineRecord) error {
	current, err := currentSecrets(ctx, client, s.StoreID, len(rec.released))
	if err != nil {
		return err
	}
	inst, _ := config.Of(ctx)
	for _, name := range slices.Sorted(maps.Keys(rec.released)) {
		id := rec.released[name]
		remote, there := current[id]
		by := ""
		if inst != nil {
			by = inst.Owners.DeclaredBy(inst.StorePlace(s.AccountID), name, rules.URN(ctx))
		}
		switch {
		case !there:
		case by != "":
			p.GetLogger(ctx).Infof("let go of released secret %q of store %s: %s declares it now", name, s.StoreID, by)
		case !instant.SameText(rules.Timestamp(remote.Modified), rec.releasedAt[name]):
			p.GetLogger(ctx).Infof("let go of released secret %q of store %s: it was modified at %s, after this resource "+
				"released it: another resource took it over", name, s.StoreID, rules.Timestamp(remote.Modified))
		default:
			if err := client.DeleteSecret(ctx, s.StoreID, id); err != nil && !cfapi.IsNotFound(err) {
				return err
			}
			p.GetLogger(ctx).Infof("deleted released secret %q of store %s", name, s.StoreID)
		}
		delete(rec.released, name)
		delete(rec.releasedAt, name)
	}
	return nil
}

// createInlineSecrets creates new inline secrets in one call, as a Secret is created
// (createOrAdopt: existing ones of the same name are taken over only with adopt), and waits
// until they are active, all of them at once.
func (r SecretsStore) createInlineSecrets(ctx context.Context, client *cfapi.Client, s *SecretsStoreState,
	create []cfapi.NewSecret, rec inlineRecord,
) error {
	created, err := createOrAdopt(ctx, client, s.StoreID, create, s.Adopt)
	var taken *takenError
	if errors.As(err, &taken) {
		return fmt.Errorf("%w in store %s, and this resource did not create them: set `adopt: true` to take them over, "+
			"or remove them from `secrets`", taken, s.StoreID)
	}
	if err != nil {
		return err
	}
	active, err := waitActive(ctx, client, s.StoreID, created...)
	for i, secret := range active {
		rec.wrote(secret.Name, create[i].Value, secret)
	}
	return err
}

// Read serves refresh and import. Import passes the ID alone.
func (r SecretsStore) Read(
	ctx context.Context, req infer.ReadRequest[SecretsStoreArgs, SecretsStoreState],
) (infer.ReadResponse[SecretsStoreArgs, SecretsStoreState], error) {
	state := req.State
	imported := state.StoreID == ""
	accountID, storeID, err := parseStoreID(req.ID, providerAccount(ctx))
	if err != nil {
		return infer.ReadResponse[SecretsStoreArgs, SecretsStoreState]{}, err
	}
	client, err := cloudflareClient(ctx, state.APIToken, &accountID)
	if err != nil {
		return infer.ReadResponse[SecretsStoreArgs, SecretsStoreState]{}, err
	}
	store, err := client.GetStore(ctx, storeID)
	switch {
	case cfapi.IsNotFound(err) && imported:
		return infer.ReadResponse[SecretsStoreArgs, SecretsStoreState]{},
			rules.NotFoundForImport("Secrets Store", req.ID, err)
	case cfapi.IsNotFound(err):
		return infer.ReadResponse[SecretsStoreArgs, SecretsStoreState]{}, nil // deleted outside Pulumi
	case err != nil:
		return infer.ReadResponse[SecretsStoreArgs, SecretsStoreState]{}, err
	}
	state.AccountID = accountID
	state.record(store)
	inputs := req.Inputs
	if imported {
		// Not created by this resource: kept on destroy unless the program says delete: true.
		state.Adopted, state.Delete = true, false
		inputs = SecretsStoreArgs{Name: &state.Name, AccountID: &accountID, Adopt: &state.Adopt}
	}
	if len(state.SecretIDs) > 0 {
		// Inline secrets deleted outside Pulumi leave the state, so the next up re-creates them;
		// those modified outside Pulumi are recorded so, and the next up writes them back.
		remote, err := client.ListSecrets(ctx, storeID, "")
		if err != nil {
			return infer.ReadResponse[SecretsStoreArgs, SecretsStoreState]{}, err
		}
		byID := map[string]cfapi.Secret{}
		for _, secret := range remote {
			byID[secret.ID] = secret
		}
		rec := state.inline()
		for name, id := range rec.ids {
			secret, present := byID[id]
			if !present {
				rec.forget(name)
				delete(inputs.Secrets, name)
				continue
			}
			rec.modified[name] = rules.Timestamp(secret.Modified)
		}
		rec.store(&state)
		if why := inlineDrift(storeID, rec.modified, rec.written); why != "" {
			p.GetLogger(ctx).Warning(why)
		}
	}
	return infer.ReadResponse[SecretsStoreArgs, SecretsStoreState]{ID: state.id(), Inputs: inputs, State: state}, nil
}

// Delete deletes the inline secrets, then the store, unless delete is false. It never
// forces, and it checks before deleting anything: a store that holds secrets this resource
// does not manage (after a bounded wait for those the same operation deletes: a Secret that
// names no storeId is deleted alongside) is refused whole, its inline secrets left in place.
func (r SecretsStore) Delete(
	ctx context.Context, req infer.DeleteRequest[SecretsStoreState],
) (infer.DeleteResponse, error) {
	s := req.State
	if !s.Delete && !s.Adopted {
		p.GetLogger(ctx).Infof("keeping Secrets Store %s (%q) and its secrets: delete: false", s.StoreID, s.Name)
		return infer.DeleteResponse{}, nil
	}
	client, err := cloudflareClient(ctx, s.APIToken, &s.AccountID)
	if err != nil {
		return infer.DeleteResponse{}, err
	}
	if !s.Delete {
		// It existed before this resource: it stays, without the secrets this resource made.
		p.GetLogger(ctx).Infof("keeping Secrets Store %s (%q): it existed before this resource; set `delete: true` "+
			"to delete it", s.StoreID, s.Name)
		current, err := currentSecrets(ctx, client, s.StoreID, len(s.SecretIDs)+len(s.ReleasedSecrets))
		if err != nil {
			return infer.DeleteResponse{}, err
		}
		return infer.DeleteResponse{}, deleteInlineSecrets(ctx, client, s, current)
	}
	current, err := r.onlyManagedSecretsLeft(ctx, client, s)
	if cfapi.IsNotFound(err) {
		return infer.DeleteResponse{}, nil // already gone
	} else if err != nil {
		return infer.DeleteResponse{}, err
	}
	if err := deleteInlineSecrets(ctx, client, s, current); err != nil {
		return infer.DeleteResponse{}, err
	}
	err = client.DeleteStore(ctx, s.StoreID)
	switch {
	case cfapi.IsNotFound(err):
		return infer.DeleteResponse{}, nil
	case cfapi.StoreNotEmpty(err):
		return infer.DeleteResponse{}, fmt.Errorf("%w: store %s still holds secrets that this resource does not manage; "+
			"delete them first, or set `delete: false` to keep the store", err, s.StoreID)
	}
	return infer.DeleteResponse{}, err
}

// deleteInlineSecrets deletes the secrets this resource manages inline, given the store's
// secrets by ID as just listed; those already gone are no error, and those written since this
// resource last wrote them (someone else owns them now) are left in place, with a warning.
// Released secrets go too, if still as this resource left them.
func deleteInlineSecrets(
	ctx context.Context, client *cfapi.Client, s SecretsStoreState, current map[string]cfapi.Secret,
) error {
	rec := s.inline()
	for name, id := range rec.released {
		rec.ids[name], rec.written[name] = id, rec.releasedAt[name]
	}
	for _, name := range slices.Sorted(maps.Keys(rec.ids)) {
		if err := deleteInline(ctx, client, s.StoreID, rec, name, current); err != nil {
			return err
		}
	}
	return nil
}

// currentSecrets lists the store's secrets by ID when there is anything to delete (one call).
func currentSecrets(
	ctx context.Context, client *cfapi.Client, storeID string, deletes int,
) (map[string]cfapi.Secret, error) {
	byID := map[string]cfapi.Secret{}
	if deletes == 0 {
		return byID, nil
	}
	secrets, err := client.ListSecrets(ctx, storeID, "")
	for _, s := range secrets {
		byID[s.ID] = s
	}
	return byID, err
}

// deleteInline deletes one inline secret unless it was written since this resource wrote it.
func deleteInline(
	ctx context.Context, client *cfapi.Client, storeID string, rec inlineRecord, name string,
	current map[string]cfapi.Secret,
) error {
	id := rec.ids[name]
	remote, there := current[id]
	if !there {
		return nil // already gone
	}
	if written := rec.written[name]; written != "" && !instant.SameText(rules.Timestamp(remote.Modified), written) {
		p.GetLogger(ctx).Warningf("left inline secret %q of store %s in place: it was modified at %s, after this "+
			"resource last wrote it (%s), so another stack, resource or person owns it now", name, storeID,
			rules.Timestamp(remote.Modified), written)
		return nil
	}
	if err := client.DeleteSecret(ctx, storeID, id); err != nil && !cfapi.IsNotFound(err) {
		return err
	}
	return nil
}

// onlyManagedSecretsLeft waits, for a bounded time, until the store holds no secret but this
// resource's inline ones, and refuses the delete if others remain: nothing has been deleted yet.
// It returns the last listing of the store's secrets, by ID.
func (r SecretsStore) onlyManagedSecretsLeft(
	ctx context.Context, client *cfapi.Client, s SecretsStoreState,
) (map[string]cfapi.Secret, error) {
	managed := map[string]bool{}
	for _, id := range s.SecretIDs {
		managed[id] = true
	}
	for _, id := range s.ReleasedSecrets {
		managed[id] = true
	}
	var others []string
	current := map[string]cfapi.Secret{}
	what := fmt.Sprintf("waiting for the other secrets of store %s to be deleted", s.StoreID)
	done, err := timing(ctx).WaitFor(ctx, timing(ctx).StoreWait, what,
		func() (bool, error) {
			secrets, err := client.ListSecrets(ctx, s.StoreID, "")
			others, current = others[:0], map[string]cfapi.Secret{}
			for _, secret := range secrets {
				current[secret.ID] = secret
				if !managed[secret.ID] && secret.Status != cfapi.StatusDeleted {
					others = append(others, secret.Name)
				}
			}
			return len(others) == 0, err
		})
	if err != nil || done {
		return current, err
	}
	slices.Sort(others)
	return nil, fmt.Errorf("store %s (%q) still holds %d secrets that this resource does not manage (%s), "+
		"after waiting %s: nothing was deleted. Delete them first (or remove them from the program), "+
		"or set `delete: false` to keep the store; give every Secret in it `storeId: <store>.storeId` "+
		"so that Pulumi deletes them before the store",
		s.StoreID, s.Name, len(others), strings.Join(others, ", "), timing(ctx).StoreWait)
}

// state is the state the inputs describe, before the API fills in the rest; adopted says
// whether the store existed before the resource, which decides what an absent delete means.
func (a SecretsStoreArgs) state(accountID string, adopted bool) SecretsStoreState {
	return SecretsStoreState{
		Name:      rules.OrDefault(a.Name, DefaultStoreName),
		AccountID: accountID,
		APIToken:  a.APIToken,
		Adopt:     rules.OrDefault(a.Adopt, false),
		Delete:    rules.OrDefault(a.Delete, !adopted),
		Adopted:   adopted,
	}
}

// record copies what the API reported into the state.
func (s *SecretsStoreState) record(store cfapi.Store) {
	s.StoreID, s.Name = store.ID, store.Name
	s.CreatedAt, s.ModifiedAt = rules.Timestamp(store.Created), rules.Timestamp(store.Modified)
	if s.SecretIDs == nil {
		// A required output: a nil map would be left out of the state, which then fails to
		// decode on the next operation (an imported store could not be destroyed).
		s.SecretIDs = map[string]string{}
	}
}

func (s SecretsStoreState) id() string { return s.AccountID + "/" + s.StoreID }

// parseStoreID reads `<accountId>/<storeId>`, or `<storeId>` with the provider's account.
func parseStoreID(id, configuredAccount string) (accountID, storeID string, err error) {
	const format = "<accountId>/<storeId> or <storeId>"
	if parts, err := parseCloudflareID("SecretsStore", id, format, 2); err == nil {
		return parts[0], parts[1], nil
	}
	parts, err := parseCloudflareID("SecretsStore", id, format, 1)
	if err != nil {
		return "", "", err
	}
	if configuredAccount == "" {
		return "", "", fmt.Errorf("SecretsStore ID %q names no account and no account is configured: use "+
			"<accountId>/<storeId>, or set %s or CLOUDFLARE_ACCOUNT_ID", id, config.KeyCloudflareAccount)
	}
	return configuredAccount, parts[0], nil
}

func emptyAsNil(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}
