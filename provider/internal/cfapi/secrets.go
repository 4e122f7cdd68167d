package cfapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/coalesce"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/option"
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
//
// A create is never repeated blindly: when its answer is lost (a dropped connection, a 5xx), the
// store is listed and a secret of a requested name counts as this call's own only if the server
// created it after the call began (by the server's clock, from its Date headers). Those are
// returned as created; the rest are created again. While the call runs it holds a claim on each
// name in the store, so that two callers of one process never both take the same secret as
// theirs: the second fails at once; and a secret an earlier create of this process returned is
// never taken again. The Date header's resolution leaves one blind spot: a secret of the same
// name made by someone else within about a second before the call is taken as its own.
//
// With Options.Shared, the creates of every such client of the process into one store that
// arrive together are sent as one call (see Options.Shared); op, when not nil, is the operation
// (Begin) the create comes from.
func (c *Client) CreateSecrets(
	ctx context.Context, storeID string, secrets []NewSecret, op *coalesce.Op,
) ([]Secret, error) {
	defer op.Reached(StageCreate)
	desc := fmt.Sprintf("create secret %s in store %s", secretNames(secrets), storeID)
	names := make([]string, len(secrets))
	for i, s := range secrets {
		names[i] = s.Name
	}
	where := c.claimKey(storeID)
	release, err := c.shared.claims.take(where, names)
	if err != nil {
		return nil, fmt.Errorf("cloudflare: %s: %w", desc, err)
	}
	defer release()
	var ours map[string]Secret
	if c.coordinated {
		ours, err = c.createQueue(storeID).Do(ctx, &queuedCreate{c: c, ctx: ctx, op: desc, secrets: secrets}, op)
	} else {
		var before []string
		ours, before, err = c.createRecovering(ctx, desc, storeID, secrets)
		if err == nil && len(before) > 0 {
			err = nameExists(desc)
		}
	}
	if err != nil {
		return nil, err
	}
	out := inOrder(names, ours)
	for _, s := range out {
		c.shared.claims.handOut(where, s.ID)
	}
	c.observe(storeID, c.now(), out...)
	return out, nil
}

// createRecovering is one create call, recovered by a listing when its answer is lost (see
// CreateSecrets); the caller holds the names' c.shared.claims. It returns the secrets it made by name,
// and the names a recovery found there from before the call: not its own, and not made.
func (c *Client) createRecovering(
	ctx context.Context, op, storeID string, secrets []NewSecret,
) (ours map[string]Secret, before []string, err error) {
	where := c.claimKey(storeID)
	ours = map[string]Secret{}
	pending := secrets
	began := c.now()
	for {
		started := c.now()
		created, err := c.createSecretsOnce(ctx, op, storeID, pending)
		var unknown *OutcomeUnknownError
		if !errors.As(err, &unknown) {
			if err != nil {
				return nil, nil, err
			}
			for _, s := range created {
				ours[s.Name] = s
			}
			return ours, before, nil
		}
		// The create may have been applied: see what the store holds now.
		c.retry.Notify(ctx, 0,
			fmt.Sprintf("checking whether Cloudflare applied a create in store %s whose answer was lost", storeID))
		found, since, err := c.createdSince(ctx, storeID, started)
		if err != nil {
			return nil, nil, errors.Join(unknown, err)
		}
		var rest []NewSecret
		for _, s := range pending {
			switch existing, ok := found[s.Name]; {
			case ok && !existing.Created.Before(since) && !c.shared.claims.wasHandedOut(where, existing.ID):
				ours[s.Name] = existing
			case ok:
				// There before this call began, or another create's: not ours, and a create
				// would only fail.
				before = append(before, s.Name)
			default:
				rest = append(rest, s)
			}
		}
		if len(rest) == 0 {
			return ours, before, nil
		}
		if c.now().Sub(began) > c.retry.RetryBudget {
			return nil, nil, unknown
		}
		pending = rest
	}
}

// nameExists is the API's answer to a create of a name the store holds.
func nameExists(op string) error {
	return &APIError{Op: op, Call: CallCreateSecrets, StatusCode: http.StatusBadRequest,
		Errors: []ErrorDetail{{Code: codeRefusedByState, Message: "secret_name_already_exists"}}}
}

// createdSince lists the store's secrets by name, and returns the server time before which a
// secret cannot be one created after local time started. It errs on the early side by the Date
// header's resolution (1s) and the time the listing took.
func (c *Client) createdSince(
	ctx context.Context, storeID string, started time.Time,
) (map[string]Secret, time.Time, error) {
	at := c.now()
	secrets, got, err := c.listSecrets(ctx, storeID, "")
	if err != nil {
		return nil, time.Time{}, err
	}
	c.observe(storeID, at, secrets...)
	if got.date.IsZero() {
		return nil, time.Time{}, fmt.Errorf("cloudflare: list secrets in store %s: the answer has no Date header, "+
			"so a secret cannot be told to be this create's own", storeID)
	}
	since := got.date.Add(-got.received.Sub(started) - time.Second)
	byName := make(map[string]Secret, len(secrets))
	for _, s := range secrets {
		byName[s.Name] = s
	}
	return byName, since, nil
}

func inOrder(names []string, byName map[string]Secret) []Secret {
	out := make([]Secret, len(names))
	for i, name := range names {
		out[i] = byName[name]
	}
	return out
}

// createSecretsOnce is one create call, repeated only when it provably was not applied.
func (c *Client) createSecretsOnce(ctx context.Context, op, storeID string, secrets []NewSecret) ([]Secret, error) {
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
	var raw string
	_, err := c.call(ctx, op, nonIdempotent, func(ctx context.Context, capture option.RequestOption) error {
		res, err := c.svc.Stores.Secrets.New(ctx, storeID, params, capture)
		if err == nil {
			raw = res.JSON.Result.Raw()
		}
		return err
	})
	if err != nil {
		return nil, answering(CallCreateSecrets, err)
	}
	out, err := fromRaw[[]Secret](raw)
	if err != nil {
		return nil, err
	}
	if len(out) != len(secrets) {
		return out, fmt.Errorf("cloudflare: %s: the API returned %d secrets for %d created", op, len(out), len(secrets))
	}
	return out, nil
}

// GetSecret returns one secret's metadata with one GET (LookUpSecret reads the store's shared
// listing instead).
func (c *Client) GetSecret(ctx context.Context, storeID, secretID string) (Secret, error) {
	var params secrets_store.StoreSecretGetParams
	set(&params.AccountID.Value, &params.AccountID.Present, c.accountID)
	var raw string
	_, err := c.call(ctx, fmt.Sprintf("get secret %s in store %s", secretID, storeID), idempotent,
		func(ctx context.Context, capture option.RequestOption) error {
			res, err := c.svc.Stores.Secrets.Get(ctx, storeID, secretID, params, capture)
			if err == nil {
				raw = res.JSON.RawJSON()
			}
			return err
		})
	if err != nil {
		return Secret{}, err
	}
	return fromRaw[Secret](raw)
}

// EditSecret changes a secret's value, scopes or comment in one PATCH. It carries whole
// values, so repeating it is safe.
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
	var raw string
	_, err := c.call(ctx, fmt.Sprintf("edit secret %s in store %s", secretID, storeID), idempotent,
		func(ctx context.Context, capture option.RequestOption) error {
			res, err := c.svc.Stores.Secrets.Edit(ctx, storeID, secretID, params, capture)
			if err == nil {
				raw = res.JSON.RawJSON()
			}
			return err
		})
	if err != nil {
		return Secret{}, err
	}
	s, err := fromRaw[Secret](raw)
	if err == nil {
		c.observe(storeID, c.now(), s)
	}
	return s, err
}

// DeleteSecret deletes one secret. IsNotFound(err) when it is gone, also when a repeated
// attempt finds that the first one was applied.
func (c *Client) DeleteSecret(ctx context.Context, storeID, secretID string) error {
	var params secrets_store.StoreSecretDeleteParams
	set(&params.AccountID.Value, &params.AccountID.Present, c.accountID)
	_, err := c.call(ctx, fmt.Sprintf("delete secret %s in store %s", secretID, storeID), idempotent,
		func(ctx context.Context, capture option.RequestOption) error {
			_, err := c.svc.Stores.Secrets.Delete(ctx, storeID, secretID, params, capture)
			return err
		})
	if err == nil || IsNotFound(err) {
		c.observeGone(storeID, secretID, c.now())
	}
	return err
}

// ListSecrets returns every secret of a store whose name or comment contains search
// ("" lists all), following pages.
func (c *Client) ListSecrets(ctx context.Context, storeID, search string) ([]Secret, error) {
	secrets, _, err := c.listSecrets(ctx, storeID, search)
	return secrets, err
}

// listSecrets is ListSecrets that also returns the last page's answer. A deleted secret may still
// show, "deleted", for a while: it is gone, and left out. (AwaitActive's listings keep it: for a
// secret waited on, deleted is an answer.)
func (c *Client) listSecrets(ctx context.Context, storeID, search string) ([]Secret, answer, error) {
	secrets, got, err := c.listPages(ctx, storeID, search, nil)
	return slices.DeleteFunc(secrets, func(s Secret) bool { return s.Status == StatusDeleted }), got, err
}

// listSecretsUntil lists the store newest first, and stops at the page where every secret of
// want has been seen (they are new, so that is usually the first).
func (c *Client) listSecretsUntil(ctx context.Context, storeID string, want map[string]bool) ([]Secret, answer, error) {
	return c.listPages(ctx, storeID, "", want)
}

// listPages lists the store's secrets page by page, until the last page, or until every ID of
// want (when given) has been seen.
func (c *Client) listPages(
	ctx context.Context, storeID, search string, want map[string]bool,
) ([]Secret, answer, error) {
	var params secrets_store.StoreSecretListParams
	set(&params.AccountID.Value, &params.AccountID.Present, c.accountID)
	set(&params.PerPage.Value, &params.PerPage.Present, int64(pageSize))
	if search != "" {
		set(&params.Search.Value, &params.Search.Present, search)
	}
	seen := 0
	var secrets []Secret
	for page := int64(1); ; page++ {
		set(&params.Page.Value, &params.Page.Present, page)
		var raw, info string
		got, err := c.call(ctx, fmt.Sprintf("list secrets in store %s", storeID), idempotent,
			func(ctx context.Context, capture option.RequestOption) error {
				res, err := c.svc.Stores.Secrets.List(ctx, storeID, params, capture)
				if err == nil {
					raw, info = res.JSON.Result.Raw(), res.JSON.ResultInfo.Raw()
				}
				return err
			})
		if err != nil {
			return nil, got, err
		}
		items, err := fromRaw[[]Secret](raw)
		if err != nil {
			return nil, got, err
		}
		secrets = append(secrets, items...)
		for _, s := range items {
			if want[s.ID] {
				seen++
			}
		}
		if len(items) < pageSize || lastPage(info, page) || (want != nil && seen == len(want)) {
			return secrets, got, nil
		}
	}
}

// lastPage reads result_info's total_count: a full page that reaches it is the last one, and
// asking for the next would cost a call for nothing.
func lastPage(info string, page int64) bool {
	var ri struct {
		TotalCount *int64 `json:"total_count"`
	}
	if json.Unmarshal([]byte(info), &ri) != nil || ri.TotalCount == nil {
		return false
	}
	return page*pageSize >= *ri.TotalCount
}
