package cloudflare

import (
	"context"
	_ "embed"
	"errors"
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/cfapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/config"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// Secret manages one secret of a Cloudflare Secrets Store.
type Secret struct{}

// SecretArgs are Secret's inputs. The store, name and account identify the secret; value,
// scopes and comment change in place (PATCH).
type SecretArgs struct {
	StoreID   *string  `pulumi:"storeId,optional" provider:"replaceOnChanges" diff:"resolved"`
	Name      *string  `pulumi:"name,optional" provider:"replaceOnChanges"`
	Value     string   `pulumi:"value" provider:"secret"`
	Scopes    []string `pulumi:"scopes,optional" diff:"set"`
	Comment   *string  `pulumi:"comment,optional"`
	AccountID *string  `pulumi:"accountId,optional" provider:"replaceOnChanges" diff:"resolved"`
	APIToken  *string  `pulumi:"apiToken,optional" provider:"secret" diff:"credential"`
	Delete    *bool    `pulumi:"delete,optional"`
	Adopt     *bool    `pulumi:"adopt,optional"`
}

// SecretState is what Secret records; resolved defaults are filled in.
type SecretState struct {
	StoreID    string   `pulumi:"storeId"`
	Name       string   `pulumi:"name"`
	Value      string   `pulumi:"value" provider:"secret"`
	Scopes     []string `pulumi:"scopes"`
	Comment    string   `pulumi:"comment"`
	AccountID  string   `pulumi:"accountId"`
	APIToken   *string  `pulumi:"apiToken,optional" provider:"secret"`
	Delete     bool     `pulumi:"delete"`
	Adopt      bool     `pulumi:"adopt"`
	SecretID   string   `pulumi:"secretId"`
	Status     string   `pulumi:"status"`
	CreatedAt  string   `pulumi:"createdAt"`
	ModifiedAt string   `pulumi:"modifiedAt"`
	// WrittenAt is the modification time of this resource's last write: a modifiedAt that
	// differs means the secret was changed outside Pulumi (the diff writes the value back),
	// and Delete leaves a secret someone else has written since.
	WrittenAt string        `pulumi:"writtenAt"`
	Binding   SecretBinding `pulumi:"binding"`
}

// SecretBinding is the Worker binding that reads a Secret.
type SecretBinding struct {
	Type       string `pulumi:"type"`
	StoreID    string `pulumi:"storeId"`
	SecretName string `pulumi:"secretName"`
}

var (
	_ infer.CustomResource[SecretArgs, SecretState]       = Secret{}
	_ infer.CustomCheck[SecretArgs]                       = Secret{}
	_ infer.CustomUpdate[SecretArgs, SecretState]         = Secret{}
	_ infer.CustomRead[SecretArgs, SecretState]           = Secret{}
	_ infer.CustomDelete[SecretState]                     = Secret{}
	_ infer.ExplicitDependencies[SecretArgs, SecretState] = Secret{}
	_ infer.Annotated                                     = (*Secret)(nil)
	_ infer.Annotated                                     = (*SecretArgs)(nil)
	_ infer.Annotated                                     = (*SecretState)(nil)
	_ infer.Annotated                                     = (*SecretBinding)(nil)
)

var secretRules = rules.Of[SecretArgs](rules.Rules{
	Drift: func(state property.Map) string {
		name, modifiedAt := rules.StringProp(state, "name"), rules.StringProp(state, "modifiedAt")
		if secretDrift(name, modifiedAt, rules.StringProp(state, "writtenAt")) == "" {
			return ""
		}
		return "value"
	},
})

// secretDrift says that the secret was modified outside Pulumi, when its modification time is
// not that of this resource's last write ("" when it is, or nothing was written yet).
func secretDrift(name, modified, written string) string {
	if written == "" || written == modified {
		return ""
	}
	return fmt.Sprintf("Cloudflare secret %q was modified outside Pulumi (at %s; this resource wrote it at %s): "+
		"the next up writes the program's value back", name, modified, written)
}

const secretsStoreBindingType = "secrets_store_secret"

// secretDoc is the Secret's schema description, with its examples in every SDK language.
//
//go:embed secret.md
var secretDoc string

func (r *Secret) Annotate(a infer.Annotator) {
	a.SetToken("cloudflare", "Secret")
	a.Describe(r, rules.Doc(secretDoc))
}

func (a *SecretArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.StoreID, "ID of the store that holds the secret. Defaults to the account's store (an account "+
		"holds one). Changing it replaces the secret.")
	an.Describe(&a.Name, "Secret name: letters, digits, `_` and `-` (`^[A-Za-z0-9_-]+$`). Defaults to the "+
		"resource's name. Changing it replaces the secret.")
	an.Describe(&a.Value, "Secret value, at most 65,536 bytes. Always stored as a Pulumi secret; never returned "+
		"by Cloudflare.")
	an.Describe(&a.Scopes, "Cloudflare services allowed to use the secret: `workers`, `ai_gateway`, `dex`, "+
		"`access`, `containers`, `websearch`. Compared as a set. Defaults to `[\"workers\"]`.")
	an.Describe(&a.Comment, "Free-form description of the secret.")
	an.Describe(&a.AccountID, "Cloudflare account ID, overriding the provider's `cloudflareAccountId`. "+
		"Changing it replaces the secret.")
	an.Describe(&a.APIToken, "Cloudflare API token for this secret only, overriding the provider's "+
		"`cloudflareApiToken`. Changing it is not a diff.")
	an.Describe(&a.Delete, "Whether destroying the resource deletes the secret in Cloudflare (default `true`). "+
		"With `false`, Pulumi forgets the secret and Cloudflare keeps it.")
	an.SetDefault(&a.Delete, true)
	an.Describe(&a.Adopt, "If a secret of this name already exists in the store, take it over and write the "+
		"program's value, scopes and comment, instead of failing (default `false`).")
	an.SetDefault(&a.Adopt, false)
}

func (s *SecretState) Annotate(a infer.Annotator) {
	a.Describe(&s.StoreID, "ID of the store that holds the secret.")
	a.Describe(&s.Name, "Secret name.")
	a.Describe(&s.Value, "Secret value (secret).")
	a.Describe(&s.Scopes, "Scopes, sorted as Cloudflare reports them.")
	a.Describe(&s.Comment, "Comment (empty when none).")
	a.Describe(&s.AccountID, "Cloudflare account ID.")
	a.Describe(&s.APIToken, "The resource's own API token, if given (secret).")
	a.Describe(&s.Delete, "Whether destroying the resource deletes the secret in Cloudflare.")
	a.Describe(&s.Adopt, "Whether an existing secret of this name was allowed to be taken over.")
	a.Describe(&s.SecretID, "Cloudflare's ID of the secret (32 hexadecimal characters).")
	a.Describe(&s.Status, "`active` once Cloudflare can serve the secret; `pending` just after creation.")
	a.Describe(&s.CreatedAt, "When the secret was created (RFC 3339).")
	a.Describe(&s.ModifiedAt, "When the secret was last modified (RFC 3339).")
	a.Describe(&s.WrittenAt, "When this resource last wrote the secret (RFC 3339): a `modifiedAt` that differs means "+
		"it was changed outside Pulumi. Empty after an import.")
	a.Describe(&s.Binding, "The Worker binding for this secret: `{type: \"secrets_store_secret\", storeId, "+
		"secretName}`. Add a binding `name` and pass it in a Worker's bindings.")
}

func (b *SecretBinding) Annotate(a infer.Annotator) {
	a.SetToken("cloudflare", "SecretBinding")
	a.Describe(b, "A Worker binding of type `secrets_store_secret`.")
	a.Describe(&b.Type, "Always `secrets_store_secret`.")
	a.Describe(&b.StoreID, "ID of the store that holds the secret (`store_id` in the Workers API).")
	a.Describe(&b.SecretName, "Name of the secret (`secret_name` in the Workers API).")
}

// WireDependencies keeps the value and token secret in every output, and says which inputs
// each output derives from: editing a value leaves the secret's ID and binding known at preview.
//
// The identity outputs hang on name alone: store, name and account changes replace the
// secret, so within an update they cannot change; and infer compares each dependency with
// the old state, where a defaulted storeId or accountId would look changed.
func (Secret) WireDependencies(f infer.FieldSelector, args *SecretArgs, state *SecretState) {
	f.OutputField(&state.Value).AlwaysSecret()
	f.OutputField(&state.APIToken).AlwaysSecret()
	name := f.InputField(&args.Name).Computed()
	value, scopes := f.InputField(&args.Value).Computed(), f.InputField(&args.Scopes).Computed()
	comment := f.InputField(&args.Comment).Computed()
	identities := []any{&state.StoreID, &state.Name, &state.AccountID, &state.SecretID, &state.CreatedAt, &state.Binding}
	for _, identity := range identities {
		f.OutputField(identity).DependsOn(name)
	}
	f.OutputField(&state.Value).DependsOn(value)
	f.OutputField(&state.Scopes).DependsOn(scopes)
	f.OutputField(&state.Comment).DependsOn(comment)
	f.OutputField(&state.APIToken).DependsOn(f.InputField(&args.APIToken).Computed())
	f.OutputField(&state.Delete).DependsOn(f.InputField(&args.Delete).Computed())
	f.OutputField(&state.Adopt).DependsOn(f.InputField(&args.Adopt).Computed())
	for _, written := range []any{&state.Status, &state.ModifiedAt, &state.WrittenAt} {
		f.OutputField(written).DependsOn(name, value, scopes, comment)
	}
}

// Check fills the defaults (name from the resource name, scopes ["workers"]) and
// validates at preview, before any API call.
func (Secret) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[SecretArgs], error) {
	news := req.NewInputs
	if _, ok := rules.NonNull(news, "name"); !ok {
		news = news.Set("name", property.New(req.Name))
	}
	if _, ok := rules.NonNull(news, "scopes"); !ok {
		news = news.Set("scopes", property.New([]property.Value{property.New(defaultScopes[0])}))
	}
	return rules.Check[SecretArgs](ctx, news, func(c *rules.Checker) {
		nameRule := "Secrets Store names use letters, digits, `_` and `-`"
		if _, given := rules.NonNull(req.NewInputs, "name"); !given {
			nameRule += fmt.Sprintf("; the name defaults to the resource name %q, so set `name` explicitly", req.Name)
		}
		c.Pattern("name", namePattern, nameRule)
		c.Length("name", limitName)
		c.Pattern("storeId", config.CloudflareIDPattern,
			"a store ID is 32 hexadecimal characters (the SecretsStore's storeId output)")
		c.Pattern("accountId", config.CloudflareIDPattern, "a Cloudflare account ID is 32 hexadecimal characters")
		c.NonEmptyValue(req.OldInputs, "value")
		c.Length("value", limitValue)
		checkScopes(c, "scopes")
		c.Credential("apiToken", config.KeyCloudflareToken)
		if name, ok := c.Str("name"); ok && len(c.Failures) == 0 {
			declare(ctx, c, "name", []string{name})
		}
	})
}

// Create makes the secret with one write, then waits until it is active.
func (r Secret) Create(
	ctx context.Context, req infer.CreateRequest[SecretArgs],
) (infer.CreateResponse[SecretState], error) {
	in := req.Inputs
	client, err := cloudflareClient(ctx, in.APIToken, in.AccountID)
	if err != nil {
		return infer.CreateResponse[SecretState]{}, err
	}
	state := in.state(client.AccountID())
	if req.DryRun {
		return infer.CreateResponse[SecretState]{Output: state}, nil
	}
	if state.StoreID == "" {
		store, err := accountStore(ctx, client)
		if err != nil {
			return infer.CreateResponse[SecretState]{}, err
		}
		state.StoreID = store.ID
	}
	created, err := createSecret(ctx, client, req.Name, state)
	if err != nil {
		return infer.CreateResponse[SecretState]{}, err
	}
	err = r.settle(ctx, client, &state, created)
	state.WrittenAt = state.ModifiedAt
	return infer.CreateResponse[SecretState]{ID: state.id(), Output: state}, err
}

// settle records the secret and waits until it is active. A secret still pending is recorded
// with an init error: the engine then runs Update with no change on the next up, which waits
// again.
func (r Secret) settle(ctx context.Context, client *cfapi.Client, state *SecretState, secret cfapi.Secret) error {
	active, err := waitActive(ctx, client, state.StoreID, secret)
	state.record(active[0])
	if err != nil {
		return infer.ResourceInitFailedError{Reasons: []string{err.Error()}}
	}
	return nil
}

// createSecret creates the secret, or takes over an existing one of the same name when
// adopt is set.
func createSecret(ctx context.Context, client *cfapi.Client, resourceName string, s SecretState) (cfapi.Secret, error) {
	created, err := createOrAdopt(ctx, client, s.StoreID, []cfapi.NewSecret{{
		Name: s.Name, Value: s.Value, Scopes: s.Scopes, Comment: s.Comment,
	}}, s.Adopt)
	var taken *takenError
	if errors.As(err, &taken) {
		existing := taken.existing[0]
		return cfapi.Secret{}, fmt.Errorf("store %s already has a secret named %q (modified %s), and this resource did "+
			"not create it. If you renamed this resource, add the old name to its `aliases`, so that Pulumi moves it "+
			"instead of creating a new one and deleting the old. Otherwise bring it under management with "+
			"`pulumi import %s %s %s/%s/%s`, or set `adopt: true` to overwrite it",
			s.StoreID, s.Name, rules.Timestamp(existing.Modified), SecretToken, resourceName, client.AccountID(), s.StoreID,
			existing.ID)
	}
	if err != nil {
		return cfapi.Secret{}, err
	}
	return created[0], nil
}

// Update sends one PATCH with what changed among value, scopes and comment; changes to
// delete, adopt or the token need no call. A secret recorded pending is waited on again.
func (r Secret) Update(
	ctx context.Context, req infer.UpdateRequest[SecretArgs, SecretState],
) (infer.UpdateResponse[SecretState], error) {
	in, old := req.Inputs, req.State
	client, err := cloudflareClient(ctx, in.APIToken, &old.AccountID)
	if err != nil {
		return infer.UpdateResponse[SecretState]{}, err
	}
	next := in.state(old.AccountID)
	next.StoreID, next.SecretID, next.Status = old.StoreID, old.SecretID, old.Status
	next.CreatedAt, next.ModifiedAt = old.CreatedAt, old.ModifiedAt
	next.WrittenAt, next.Binding = old.WrittenAt, old.Binding
	drifted := old.WrittenAt != "" && old.WrittenAt != old.ModifiedAt
	var edit cfapi.SecretEdit
	if next.Value != old.Value || drifted {
		edit.Value = &next.Value
	}
	if !sameScopes(next.Scopes, old.Scopes) {
		edit.Scopes = next.Scopes
	}
	if next.Comment != old.Comment {
		edit.Comment = &next.Comment
	}
	if req.DryRun {
		return infer.UpdateResponse[SecretState]{Output: next}, nil
	}
	current := cfapi.Secret{ID: old.SecretID, Name: old.Name, Status: old.Status, Scopes: old.Scopes, Comment: old.Comment}
	if edit.Value != nil || edit.Scopes != nil || edit.Comment != nil {
		if current, err = client.EditSecret(ctx, old.StoreID, old.SecretID, edit); err != nil {
			return infer.UpdateResponse[SecretState]{}, err
		}
		next.record(current)
		next.WrittenAt = next.ModifiedAt
	}
	if current.Status != cfapi.StatusPending {
		return infer.UpdateResponse[SecretState]{Output: next}, nil
	}
	return infer.UpdateResponse[SecretState]{Output: next}, r.settle(ctx, client, &next, current)
}

// Read serves refresh and import from one listing of the store, shared by every Secret the
// operation reads (cfapi.LookUpSecret). Import passes the ID alone.
func (r Secret) Read(
	ctx context.Context, req infer.ReadRequest[SecretArgs, SecretState],
) (infer.ReadResponse[SecretArgs, SecretState], error) {
	parts, err := parseCloudflareID("Secret", req.ID, "<accountId>/<storeId>/<secretId>", 3)
	if err != nil {
		return infer.ReadResponse[SecretArgs, SecretState]{}, err
	}
	accountID, storeID, secretID := parts[0], parts[1], parts[2]
	state := req.State
	imported := state.SecretID == ""
	client, err := cloudflareClient(ctx, state.APIToken, &accountID)
	if err != nil {
		return infer.ReadResponse[SecretArgs, SecretState]{}, err
	}
	remote, err := client.LookUpSecret(ctx, storeID, secretID)
	gone := cfapi.IsNotFound(err) || (err == nil && remote.Status == cfapi.StatusDeleted)
	switch {
	case gone && imported:
		return infer.ReadResponse[SecretArgs, SecretState]{}, rules.NotFoundForImport("Cloudflare secret", req.ID, err)
	case gone:
		return infer.ReadResponse[SecretArgs, SecretState]{}, nil // deleted outside Pulumi
	}
	if err != nil {
		return infer.ReadResponse[SecretArgs, SecretState]{}, err
	}
	// A secret modified outside Pulumi shows as a modifiedAt other than writtenAt, which the
	// diff turns into a write-back. After an import nothing was written: the value is unknown
	// (""), so the next up writes the program's.
	if imported {
		state.Delete = true
	}
	state.AccountID, state.StoreID, state.SecretID = accountID, storeID, secretID
	state.Name = remote.Name
	state.record(remote)
	if why := secretDrift(state.Name, state.ModifiedAt, state.WrittenAt); why != "" {
		p.GetLogger(ctx).Warning(why)
	}

	inputs := req.Inputs
	if imported {
		// An imported resource is described by what was read: name and store explicitly.
		inputs = SecretArgs{StoreID: &storeID, Name: &state.Name, AccountID: &accountID, Adopt: &state.Adopt,
			Delete: &state.Delete}
	}
	inputs.Value, inputs.Scopes = state.Value, state.Scopes
	if state.Comment != "" || inputs.Comment != nil {
		inputs.Comment = &state.Comment
	}
	return infer.ReadResponse[SecretArgs, SecretState]{ID: state.id(), Inputs: inputs, State: state}, nil
}

// Delete deletes the secret unless delete is false; one already gone is success. Its look that
// the secret is still this resource's reads the store's listing that every Delete and Read of
// the operation shares (cfapi.LookUpSecret), so a destroy of N Secrets is N deletes and one list.
func (r Secret) Delete(ctx context.Context, req infer.DeleteRequest[SecretState]) (infer.DeleteResponse, error) {
	s := req.State
	if !s.Delete {
		return infer.DeleteResponse{}, nil
	}
	client, err := cloudflareClient(ctx, s.APIToken, &s.AccountID)
	if err != nil {
		return infer.DeleteResponse{}, err
	}
	remote, err := client.LookUpSecret(ctx, s.StoreID, s.SecretID)
	switch {
	case cfapi.IsNotFound(err) || (err == nil && remote.Status == cfapi.StatusDeleted):
		return infer.DeleteResponse{}, nil
	case err != nil:
		return infer.DeleteResponse{}, err
	}
	ours := s.WrittenAt
	if ours == "" {
		ours = s.ModifiedAt // state of 0.1.0, or an import: the last time this resource saw it
	}
	if got := rules.Timestamp(remote.Modified); got != ours {
		p.GetLogger(ctx).Warningf("left Cloudflare secret %q in store %s in place: it was modified at %s, after this "+
			"resource last wrote it (%s), so another stack, resource or person owns it now. To remove it anyway, delete "+
			"it in the dashboard or with the API (DELETE .../secrets_store/stores/%s/secrets/%s)",
			s.Name, s.StoreID, got, ours, s.StoreID, s.SecretID)
		return infer.DeleteResponse{}, nil
	}
	err = client.DeleteSecret(ctx, s.StoreID, s.SecretID)
	if cfapi.IsNotFound(err) {
		err = nil
	}
	return infer.DeleteResponse{}, err
}

// state is the state the inputs describe, before the API fills in the rest.
func (a SecretArgs) state(accountID string) SecretState {
	s := SecretState{
		StoreID:   rules.OrDefault(a.StoreID, ""),
		Name:      rules.OrDefault(a.Name, ""),
		Value:     a.Value,
		Scopes:    sortedScopes(a.Scopes),
		Comment:   rules.OrDefault(a.Comment, ""),
		AccountID: accountID,
		APIToken:  a.APIToken,
		Delete:    rules.OrDefault(a.Delete, true),
		Adopt:     rules.OrDefault(a.Adopt, false),
	}
	if len(s.Scopes) == 0 {
		s.Scopes = defaultScopes
	}
	s.Binding = SecretBinding{Type: secretsStoreBindingType, StoreID: s.StoreID, SecretName: s.Name}
	return s
}

// record copies what the API reported into the state.
func (s *SecretState) record(remote cfapi.Secret) {
	s.SecretID = remote.ID
	s.Status = remote.Status
	s.Scopes = sortedScopes(remote.Scopes)
	s.Comment = remote.Comment
	s.CreatedAt, s.ModifiedAt = rules.Timestamp(remote.Created), rules.Timestamp(remote.Modified)
	s.Binding = SecretBinding{Type: secretsStoreBindingType, StoreID: s.StoreID, SecretName: s.Name}
}

func (s SecretState) id() string { return s.AccountID + "/" + s.StoreID + "/" + s.SecretID }
