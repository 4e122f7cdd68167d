package cfapi

import (
	"context"
	"fmt"
	"strings"

	"github.com/cloudflare/cloudflare-go/v7/secrets_store"
)

// scopesAs converts scope names to one of the SDK's per-endpoint scope types.
func scopesAs[S ~string](scopes []string) []S {
	out := make([]S, len(scopes))
	for i, s := range scopes {
		out[i] = S(s)
	}
	return out
}

// secretNames is for operation labels: names are not secret, values are never shown.
func secretNames(secrets []NewSecret) string {
	names := make([]string, len(secrets))
	for i, s := range secrets {
		names[i] = fmt.Sprintf("%q", s.Name)
	}
	return strings.Join(names, ", ")
}

// CreateSecrets creates secrets in one call; the API validates them all before creating any.
func (c *Client) CreateSecrets(ctx context.Context, storeID string, secrets []NewSecret) ([]Secret, error) {
	var params secrets_store.StoreSecretNewParams
	set(&params.AccountID.Value, &params.AccountID.Present, c.accountID)
	body := make([]secrets_store.StoreSecretNewParamsBody, len(secrets))
	for i, s := range secrets {
		set(&body[i].Name.Value, &body[i].Name.Present, s.Name)
		set(&body[i].Value.Value, &body[i].Value.Present, s.Value)
		set(&body[i].Scopes.Value, &body[i].Scopes.Present, scopesAs[secrets_store.StoreSecretNewParamsBodyScope](s.Scopes))
		if s.Comment != "" {
			set(&body[i].Comment.Value, &body[i].Comment.Present, s.Comment)
		}
	}
	set(&params.Body, new(bool), body)
	op := fmt.Sprintf("create secret %s in store %s", secretNames(secrets), storeID)
	res, err := c.svc.Stores.Secrets.New(ctx, storeID, params)
	if err != nil {
		return nil, wrap(op, err)
	}
	out := make([]Secret, 0, len(res.Result))
	for _, s := range res.Result {
		secret, err := fromRaw[Secret](s.JSON.RawJSON())
		if err != nil {
			return nil, err
		}
		out = append(out, secret)
	}
	if len(out) != len(secrets) {
		return out, fmt.Errorf("cloudflare: %s: the API returned %d secrets for %d created", op, len(out), len(secrets))
	}
	return out, nil
}

// GetSecret returns one secret's metadata.
func (c *Client) GetSecret(ctx context.Context, storeID, secretID string) (Secret, error) {
	var params secrets_store.StoreSecretGetParams
	set(&params.AccountID.Value, &params.AccountID.Present, c.accountID)
	res, err := c.svc.Stores.Secrets.Get(ctx, storeID, secretID, params)
	if err != nil {
		return Secret{}, wrap(fmt.Sprintf("get secret %s in store %s", secretID, storeID), err)
	}
	return fromRaw[Secret](res.JSON.RawJSON())
}

// EditSecret changes a secret's value, scopes or comment in one PATCH.
func (c *Client) EditSecret(ctx context.Context, storeID, secretID string, edit SecretEdit) (Secret, error) {
	var params secrets_store.StoreSecretEditParams
	set(&params.AccountID.Value, &params.AccountID.Present, c.accountID)
	if edit.Value != nil {
		set(&params.Value.Value, &params.Value.Present, *edit.Value)
	}
	if edit.Scopes != nil {
		set(&params.Scopes.Value, &params.Scopes.Present, scopesAs[secrets_store.StoreSecretEditParamsScope](edit.Scopes))
	}
	if edit.Comment != nil {
		set(&params.Comment.Value, &params.Comment.Present, *edit.Comment)
	}
	res, err := c.svc.Stores.Secrets.Edit(ctx, storeID, secretID, params)
	if err != nil {
		return Secret{}, wrap(fmt.Sprintf("edit secret %s in store %s", secretID, storeID), err)
	}
	return fromRaw[Secret](res.JSON.RawJSON())
}

// DeleteSecret deletes one secret.
func (c *Client) DeleteSecret(ctx context.Context, storeID, secretID string) error {
	var params secrets_store.StoreSecretDeleteParams
	set(&params.AccountID.Value, &params.AccountID.Present, c.accountID)
	_, err := c.svc.Stores.Secrets.Delete(ctx, storeID, secretID, params)
	return wrap(fmt.Sprintf("delete secret %s in store %s", secretID, storeID), err)
}

// ListSecrets returns every secret of a store whose name or comment contains search
// ("" lists all), following pages.
func (c *Client) ListSecrets(ctx context.Context, storeID, search string) ([]Secret, error) {
	var params secrets_store.StoreSecretListParams
	set(&params.AccountID.Value, &params.AccountID.Present, c.accountID)
	set(&params.PerPage.Value, &params.PerPage.Present, int64(pageSize))
	if search != "" {
		set(&params.Search.Value, &params.Search.Present, search)
	}
	var secrets []Secret
	for page := int64(1); ; page++ {
		set(&params.Page.Value, &params.Page.Present, page)
		res, err := c.svc.Stores.Secrets.List(ctx, storeID, params)
		if err != nil {
			return nil, wrap(fmt.Sprintf("list secrets in store %s", storeID), err)
		}
		for _, s := range res.Result {
			secret, err := fromRaw[Secret](s.JSON.RawJSON())
			if err != nil {
				return nil, err
			}
			secrets = append(secrets, secret)
		}
		if len(res.Result) < pageSize { // a short page is the last one
			return secrets, nil
		}
	}
}

// FindSecretByName returns the secret called name, if any. The API's search matches
// names and comments by substring, so the exact match is filtered here.
func (c *Client) FindSecretByName(ctx context.Context, storeID, name string) (Secret, bool, error) {
	secrets, err := c.ListSecrets(ctx, storeID, name)
	if err != nil {
		return Secret{}, false, err
	}
	for _, s := range secrets {
		if s.Name == name {
			return s, true, nil
		}
	}
	return Secret{}, false, nil
}
