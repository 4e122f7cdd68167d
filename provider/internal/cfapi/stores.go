package cfapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/option"
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
	stores, _, err := c.listStores(ctx)
	return stores, err
}

// listStores is ListStores that also returns the last page's answer.
func (c *Client) listStores(ctx context.Context) ([]Store, answer, error) {
	var params secrets_store.StoreListParams
	set(&params.AccountID.Value, &params.AccountID.Present, c.accountID)
	set(&params.PerPage.Value, &params.PerPage.Present, int64(pageSize))
	var stores []Store
	for page := int64(1); ; page++ {
		set(&params.Page.Value, &params.Page.Present, page)
		var raw string
		got, err := c.call(ctx, "list stores", idempotent, func(ctx context.Context, capture option.RequestOption) error {
			res, err := c.svc.Stores.List(ctx, params, capture)
			if err == nil {
				raw = res.JSON.Result.Raw()
			}
			return err
		})
		if err != nil {
			return nil, got, err
		}
		page, err := fromRaw[[]Store](raw)
		if err != nil {
			return nil, got, err
		}
		stores = append(stores, page...)
		if len(page) < pageSize { // a short page is the last one
			return stores, got, nil
		}
	}
}

// GetStore returns one store.
func (c *Client) GetStore(ctx context.Context, storeID string) (Store, error) {
	var params secrets_store.StoreGetParams
	set(&params.AccountID.Value, &params.AccountID.Present, c.accountID)
	var raw string
	op := fmt.Sprintf("get store %s", storeID)
	_, err := c.call(ctx, op, idempotent, func(ctx context.Context, capture option.RequestOption) error {
		res, err := c.svc.Stores.Get(ctx, storeID, params, capture)
		if err == nil {
			raw = res.JSON.RawJSON()
		}
		return err
	})
	if err != nil {
		return Store{}, err
	}
	return fromRaw[Store](raw)
}

// CreateStore creates a store. An account holds one: a second answers
// maximum_stores_exceeded. As for CreateSecrets, a create whose answer is lost is never
// repeated blindly: a store of that name created after the call began is taken as its own.
func (c *Client) CreateStore(ctx context.Context, name string) (Store, error) {
	op := fmt.Sprintf("create store %q", name)
	where := c.claimKey("")
	release, err := c.shared.claims.take(where, []string{name})
	if err != nil {
		return Store{}, fmt.Errorf("cloudflare: %s: %w", op, err)
	}
	defer release()
	var params secrets_store.StoreNewParams
	set(&params.AccountID.Value, &params.AccountID.Present, c.accountID)
	set(&params.Name.Value, &params.Name.Present, name)
	began := c.now()
	for {
		started := c.now()
		var raw string
		_, err := c.call(ctx, op, nonIdempotent, func(ctx context.Context, capture option.RequestOption) error {
			res, err := c.svc.Stores.New(ctx, params, capture)
			if err == nil {
				raw = res.JSON.RawJSON()
			}
			return err
		})
		err = answering(CallCreateStore, err)
		var unknown *OutcomeUnknownError
		if !errors.As(err, &unknown) {
			if err != nil {
				return Store{}, err
			}
			store, err := fromRaw[Store](raw)
			if err == nil {
				c.shared.claims.handOut(where, store.ID)
			}
			return store, err
		}
		c.retry.Notify(ctx, 0, "checking whether Cloudflare applied a store create whose answer was lost")
		stores, got, err := c.listStores(ctx)
		if err != nil {
			return Store{}, errors.Join(unknown, err)
		}
		if got.date.IsZero() {
			return Store{}, fmt.Errorf("%w; the store listing has no Date header, "+
				"so a store cannot be told to be its own", unknown)
		}
		since := got.date.Add(-got.received.Sub(started) - time.Second)
		for _, st := range stores {
			if st.Name == name && !st.Created.Before(since) && !c.shared.claims.wasHandedOut(where, st.ID) {
				c.shared.claims.handOut(where, st.ID)
				return st, nil
			}
		}
		if len(stores) > 0 {
			// The account's one store was there before the call: the create would only fail.
			return Store{}, &APIError{Op: op, Call: CallCreateStore, StatusCode: http.StatusBadRequest,
				Errors: []ErrorDetail{{Code: codeRefusedByState, Message: "maximum_stores_exceeded"}}}
		}
		if c.now().Sub(began) > c.retry.RetryBudget {
			return Store{}, unknown
		}
	}
}

// DeleteStore deletes an empty store. It never forces: a store that still holds secrets
// answers store_not_empty rather than losing secrets this caller does not manage.
func (c *Client) DeleteStore(ctx context.Context, storeID string) error {
	var params secrets_store.StoreDeleteParams
	set(&params.AccountID.Value, &params.AccountID.Present, c.accountID)
	op := fmt.Sprintf("delete store %s", storeID)
	_, err := c.call(ctx, op, idempotent, func(ctx context.Context, capture option.RequestOption) error {
		_, err := c.svc.Stores.Delete(ctx, storeID, params, capture)
		return err
	})
	return answering(CallDeleteStore, err)
}

// GetQuota returns the account's secrets quota and usage.
func (c *Client) GetQuota(ctx context.Context) (Quota, error) {
	var params secrets_store.QuotaGetParams
	set(&params.AccountID.Value, &params.AccountID.Present, c.accountID)
	var raw string
	_, err := c.call(ctx, "get quota", idempotent, func(ctx context.Context, capture option.RequestOption) error {
		res, err := c.svc.Quota.Get(ctx, params, capture)
		if err == nil {
			raw = res.Secrets.JSON.RawJSON()
		}
		return err
	})
	if err != nil {
		return Quota{}, err
	}
	return fromRaw[Quota](raw)
}
