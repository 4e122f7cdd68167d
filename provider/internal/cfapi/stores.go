package cfapi

import (
	"context"
	"fmt"

	"github.com/cloudflare/cloudflare-go/v7/secrets_store"
)

// pageSize is the API's maximum per_page.
const pageSize = 100

// set fills a cloudflare-go request field. The SDK's Field type lives in an internal
// package and its constructor (cloudflare.F) in the SDK's root package, which we do not
// link, so the two members are set directly.
func set[T any](value *T, present *bool, v T) { *value, *present = v, true }

// ListStores returns every store of the account (in practice zero or one).
func (c *Client) ListStores(ctx context.Context) ([]Store, error) {
	var params secrets_store.StoreListParams
	set(&params.AccountID.Value, &params.AccountID.Present, c.accountID)
	set(&params.PerPage.Value, &params.PerPage.Present, int64(pageSize))
	var stores []Store
	for page := int64(1); ; page++ {
		set(&params.Page.Value, &params.Page.Present, page)
		res, err := c.svc.Stores.List(ctx, params)
		if err != nil {
			return nil, wrap("list stores", err)
		}
		for _, s := range res.Result {
			store, err := fromRaw[Store](s.JSON.RawJSON())
			if err != nil {
				return nil, err
			}
			stores = append(stores, store)
		}
		if len(res.Result) < pageSize { // a short page is the last one
			return stores, nil
		}
	}
}

// GetStore returns one store.
func (c *Client) GetStore(ctx context.Context, storeID string) (Store, error) {
	var params secrets_store.StoreGetParams
	set(&params.AccountID.Value, &params.AccountID.Present, c.accountID)
	res, err := c.svc.Stores.Get(ctx, storeID, params)
	if err != nil {
		return Store{}, wrap(fmt.Sprintf("get store %s", storeID), err)
	}
	return fromRaw[Store](res.JSON.RawJSON())
}

// CreateStore creates a store. An account holds one: a second answers
// maximum_stores_exceeded.
func (c *Client) CreateStore(ctx context.Context, name string) (Store, error) {
	var params secrets_store.StoreNewParams
	set(&params.AccountID.Value, &params.AccountID.Present, c.accountID)
	set(&params.Name.Value, &params.Name.Present, name)
	res, err := c.svc.Stores.New(ctx, params)
	if err != nil {
		return Store{}, wrap(fmt.Sprintf("create store %q", name), err)
	}
	return fromRaw[Store](res.JSON.RawJSON())
}

// DeleteStore deletes an empty store. It never forces: a store that still holds secrets
// answers store_not_empty rather than losing secrets this caller does not manage.
func (c *Client) DeleteStore(ctx context.Context, storeID string) error {
	var params secrets_store.StoreDeleteParams
	set(&params.AccountID.Value, &params.AccountID.Present, c.accountID)
	_, err := c.svc.Stores.Delete(ctx, storeID, params)
	return wrap(fmt.Sprintf("delete store %s", storeID), err)
}

// GetQuota returns the account's secrets quota and usage.
func (c *Client) GetQuota(ctx context.Context) (Quota, error) {
	var params secrets_store.QuotaGetParams
	set(&params.AccountID.Value, &params.AccountID.Present, c.accountID)
	res, err := c.svc.Quota.Get(ctx, params)
	if err != nil {
		return Quota{}, wrap("get quota", err)
	}
	return fromRaw[Quota](res.Secrets.JSON.RawJSON())
}
