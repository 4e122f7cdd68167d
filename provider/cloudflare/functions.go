package cloudflare

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/cfapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/config"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// GetSecretsStore looks up a Secrets Store of the account: by name, or the account's store.
type GetSecretsStore struct{}

// GetSecretsStoreArgs are getSecretsStore's inputs.
type GetSecretsStoreArgs struct {
	Name      *string `pulumi:"name,optional"`
	AccountID *string `pulumi:"accountId,optional"`
	APIToken  *string `pulumi:"apiToken,optional" provider:"secret"`
}

// GetSecretsStoreResult is the store found.
type GetSecretsStoreResult struct {
	StoreID    string `pulumi:"storeId"`
	Name       string `pulumi:"name"`
	AccountID  string `pulumi:"accountId"`
	CreatedAt  string `pulumi:"createdAt"`
	ModifiedAt string `pulumi:"modifiedAt"`
}

// GetSecret looks up a secret of a store by name: its metadata and Worker binding, never a value.
type GetSecret struct{}

// GetSecretArgs are getSecret's inputs.
type GetSecretArgs struct {
	StoreID   *string `pulumi:"storeId,optional"`
	Name      string  `pulumi:"name"`
	AccountID *string `pulumi:"accountId,optional"`
	APIToken  *string `pulumi:"apiToken,optional" provider:"secret"`
}

// GetSecretResult is the secret found.
type GetSecretResult struct {
	SecretID   string        `pulumi:"secretId"`
	StoreID    string        `pulumi:"storeId"`
	Name       string        `pulumi:"name"`
	Status     string        `pulumi:"status"`
	Scopes     []string      `pulumi:"scopes"`
	Comment    string        `pulumi:"comment"`
	CreatedAt  string        `pulumi:"createdAt"`
	ModifiedAt string        `pulumi:"modifiedAt"`
	Binding    SecretBinding `pulumi:"binding"`
}

var (
	_ infer.Fn[GetSecretsStoreArgs, GetSecretsStoreResult] = GetSecretsStore{}
	_ infer.Fn[GetSecretArgs, GetSecretResult]             = GetSecret{}
	_ infer.Annotated                                      = (*GetSecretsStore)(nil)
	_ infer.Annotated                                      = (*GetSecretsStoreArgs)(nil)
	_ infer.Annotated                                      = (*GetSecretsStoreResult)(nil)
	_ infer.Annotated                                      = (*GetSecret)(nil)
	_ infer.Annotated                                      = (*GetSecretArgs)(nil)
	_ infer.Annotated                                      = (*GetSecretResult)(nil)
)

// getSecretsStoreDoc is getSecretsStore's schema description, with its examples in every SDK language.
//
//go:embed getsecretsstore.md
var getSecretsStoreDoc string

func (f *GetSecretsStore) Annotate(a infer.Annotator) {
	a.SetToken("cloudflare", "getSecretsStore")
	a.Describe(f, rules.Doc(getSecretsStoreDoc))
}

func (a *GetSecretsStoreArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.Name, "Name of the store; by default the account's store, whatever its name.")
	an.Describe(&a.AccountID, "Cloudflare account ID, overriding the provider's `cloudflareAccountId`.")
	an.Describe(&a.APIToken, "Cloudflare API token for this call only, overriding the provider's `cloudflareApiToken`.")
}

func (r *GetSecretsStoreResult) Annotate(a infer.Annotator) {
	a.Describe(&r.StoreID, "ID of the store (32 hexadecimal characters).")
	a.Describe(&r.Name, "Name of the store.")
	a.Describe(&r.AccountID, "Cloudflare account ID that holds the store.")
	a.Describe(&r.CreatedAt, "When the store was created (RFC 3339).")
	a.Describe(&r.ModifiedAt, "When the store was last modified (RFC 3339).")
}

// getSecretDoc is getSecret's schema description, with its examples in every SDK language.
//
//go:embed getsecret.md
var getSecretDoc string

func (f *GetSecret) Annotate(a infer.Annotator) {
	a.SetToken("cloudflare", "getSecret")
	a.Describe(f, rules.Doc(getSecretDoc))
}

func (a *GetSecretArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.StoreID, "ID of the store; by default the account's store.")
	an.Describe(&a.Name, "Name of the secret.")
	an.Describe(&a.AccountID, "Cloudflare account ID, overriding the provider's `cloudflareAccountId`.")
	an.Describe(&a.APIToken, "Cloudflare API token for this call only, overriding the provider's `cloudflareApiToken`.")
}

func (r *GetSecretResult) Annotate(a infer.Annotator) {
	a.Describe(&r.SecretID, "ID of the secret.")
	a.Describe(&r.StoreID, "ID of the store that holds it.")
	a.Describe(&r.Name, "Name of the secret.")
	a.Describe(&r.Status, "`pending` just after a create, then `active`.")
	a.Describe(&r.Scopes, "The services that may read the secret, sorted.")
	a.Describe(&r.Comment, "The secret's comment.")
	a.Describe(&r.CreatedAt, "When the secret was created (RFC 3339).")
	a.Describe(&r.ModifiedAt, "When the secret was last modified (RFC 3339).")
	a.Describe(&r.Binding, "The Worker binding for this secret: `{type: \"secrets_store_secret\", storeId, secretName}`.")
}

// Invoke lists the account's stores once and picks the one asked for.
func (f GetSecretsStore) Invoke(
	ctx context.Context, req infer.FunctionRequest[GetSecretsStoreArgs],
) (infer.FunctionResponse[GetSecretsStoreResult], error) {
	in := req.Input
	client, err := cloudflareClient(ctx, in.APIToken, in.AccountID)
	if err != nil {
		return infer.FunctionResponse[GetSecretsStoreResult]{}, err
	}
	stores, err := client.ListStores(ctx)
	if err != nil {
		return infer.FunctionResponse[GetSecretsStoreResult]{}, err
	}
	for _, s := range stores {
		if in.Name == nil || *in.Name == s.Name {
			return infer.FunctionResponse[GetSecretsStoreResult]{Output: GetSecretsStoreResult{StoreID: s.ID, Name: s.Name,
				AccountID: client.AccountID(), CreatedAt: rules.Timestamp(s.Created), ModifiedAt: rules.Timestamp(s.Modified)}}, nil
		}
	}
	what := "no Secrets Store"
	if in.Name != nil {
		what = fmt.Sprintf("no Secrets Store named %q", *in.Name)
	}
	return infer.FunctionResponse[GetSecretsStoreResult]{}, fmt.Errorf("account %s has %s (it has %d): create one with %s",
		client.AccountID(), what, len(stores), SecretsStoreToken)
}

// Invoke finds the secret by name in one listing of the store.
func (f GetSecret) Invoke(
	ctx context.Context, req infer.FunctionRequest[GetSecretArgs],
) (infer.FunctionResponse[GetSecretResult], error) {
	in := req.Input
	if !namePattern.MatchString(in.Name) {
		return infer.FunctionResponse[GetSecretResult]{},
			fmt.Errorf("name is %q: Secrets Store names use letters, digits, `_` and `-`", in.Name)
	}
	client, err := cloudflareClient(ctx, in.APIToken, in.AccountID)
	if err != nil {
		return infer.FunctionResponse[GetSecretResult]{}, err
	}
	storeID := rules.OrDefault(in.StoreID, "")
	if storeID == "" {
		store, err := accountStore(ctx, client)
		if err != nil {
			return infer.FunctionResponse[GetSecretResult]{}, err
		}
		storeID = store.ID
	} else if !config.CloudflareIDPattern.MatchString(storeID) {
		return infer.FunctionResponse[GetSecretResult]{},
			fmt.Errorf("storeId is %q: a store ID is 32 hexadecimal characters", storeID)
	}
	listed, err := client.ListSecrets(ctx, storeID, in.Name)
	if err != nil {
		return infer.FunctionResponse[GetSecretResult]{}, err
	}
	for _, s := range listed {
		if s.Name == in.Name {
			return infer.FunctionResponse[GetSecretResult]{Output: secretResult(s, storeID)}, nil
		}
	}
	return infer.FunctionResponse[GetSecretResult]{}, fmt.Errorf("store %s has no secret named %q", storeID, in.Name)
}

func secretResult(s cfapi.Secret, storeID string) GetSecretResult {
	return GetSecretResult{SecretID: s.ID, StoreID: storeID, Name: s.Name, Status: s.Status,
		Scopes: sortedScopes(s.Scopes), Comment: s.Comment,
		CreatedAt: rules.Timestamp(s.Created), ModifiedAt: rules.Timestamp(s.Modified),
		Binding: SecretBinding{Type: secretsStoreBindingType, StoreID: storeID, SecretName: s.Name}}
}
