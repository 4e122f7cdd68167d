package cloudflare_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/cloudflare/cloudflare-go/v7/option"
	"github.com/cloudflare/cloudflare-go/v7/secrets_store"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/cloudflare"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/internal/apitest"
)

// These tests drive the emulator with the official cloudflare-go v7
// secrets_store client, so the two readings of the API meet on the wire.
// Params are filled field by field: the SDK's F helper lives in its root
// package, which would pull the whole SDK into the build.

const (
	sdkToken   = "sdk-token"
	sdkAccount = "ffeeddccbbaa99887766554433221100"
)

func startSDK(t *testing.T, cfg cloudflare.Config, extra ...option.RequestOption) *secrets_store.SecretsStoreService {
	t.Helper()
	cfg.Token, cfg.AccountID = sdkToken, sdkAccount
	api, err := cloudflare.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	api.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	opts := append([]option.RequestOption{
		option.WithBaseURL(srv.URL + "/client/v4/"),
		option.WithAPIToken(sdkToken),
		option.WithMaxRetries(0),
	}, extra...)
	return secrets_store.NewSecretsStoreService(opts...)
}

func newStoreParams(name string) (p secrets_store.StoreNewParams) {
	p.AccountID.Value, p.AccountID.Present = sdkAccount, true
	p.Name.Value, p.Name.Present = name, true
	return p
}

func secretBody(
	name, value, comment string,
	scopes ...secrets_store.StoreSecretNewParamsBodyScope,
) (b secrets_store.StoreSecretNewParamsBody) {
	b.Name.Value, b.Name.Present = name, true
	b.Value.Value, b.Value.Present = value, true
	b.Scopes.Value, b.Scopes.Present = scopes, true
	if comment != "" {
		b.Comment.Value, b.Comment.Present = comment, true
	}
	return b
}

func newSecretsParams(bodies ...secrets_store.StoreSecretNewParamsBody) (p secrets_store.StoreSecretNewParams) {
	p.AccountID.Value, p.AccountID.Present = sdkAccount, true
	p.Body = bodies
	return p
}

func listParams(perPage int64, search string) (p secrets_store.StoreSecretListParams) {
	p.AccountID.Value, p.AccountID.Present = sdkAccount, true
	p.PerPage.Value, p.PerPage.Present = perPage, true
	p.Order.Value, p.Order.Present = secrets_store.StoreSecretListParamsOrderName, true
	p.Direction.Value, p.Direction.Present = secrets_store.StoreSecretListParamsDirectionAsc, true
	if search != "" {
		p.Search.Value, p.Search.Present = search, true
	}
	return p
}

func storeListParams() (p secrets_store.StoreListParams) {
	p.AccountID.Value, p.AccountID.Present = sdkAccount, true
	return p
}

func secretGetParams() (p secrets_store.StoreSecretGetParams) {
	p.AccountID.Value, p.AccountID.Present = sdkAccount, true
	return p
}

func TestSDKRoundTrip(t *testing.T) {
	ctx := context.Background()
	// An account that never used Secrets Store: the round trip starts by creating it.
	sdk := startSDK(t, cloudflare.Config{EmptyAccount: true})

	// Store: create, get, list.
	store, err := sdk.Stores.New(ctx, newStoreParams("default_secrets_store"))
	if err != nil {
		t.Fatalf("create store: %v", err)
	}
	if len(store.ID) != 32 || store.Name != "default_secrets_store" || store.AccountID != sdkAccount ||
		store.Created.IsZero() {
		t.Errorf("store %+v", store)
	}
	var storeGet secrets_store.StoreGetParams
	storeGet.AccountID.Value, storeGet.AccountID.Present = sdkAccount, true
	gotStore, err := sdk.Stores.Get(ctx, store.ID, storeGet)
	if err != nil || gotStore.ID != store.ID || !gotStore.Created.Equal(store.Created) {
		t.Fatalf("get store: %+v, %v", gotStore, err)
	}
	stores, err := sdk.Stores.List(ctx, storeListParams())
	if err != nil || len(stores.Result) != 1 || stores.Result[0].ID != store.ID {
		t.Fatalf("list stores: %+v, %v", stores, err)
	}

	// Bulk create.
	var bodies []secrets_store.StoreSecretNewParamsBody
	for i := range 5 {
		bodies = append(bodies, secretBody(fmt.Sprintf("KEY_%d", i), fmt.Sprintf("value-%d", i), fmt.Sprintf("comment %d", i),
			secrets_store.StoreSecretNewParamsBodyScopeWorkers))
	}
	bodies[3].Comment.Value = "the needle"
	bodies[4].Scopes.Value = []secrets_store.StoreSecretNewParamsBodyScope{"workers", "ai_gateway"}
	created, err := sdk.Stores.Secrets.New(ctx, store.ID, newSecretsParams(bodies...))
	if err != nil {
		t.Fatalf("create secrets: %v", err)
	}
	if len(created.Result) != 5 {
		t.Fatalf("created %d secrets", len(created.Result))
	}
	for _, s := range created.Result {
		if s.Status != secrets_store.StoreSecretNewResponseStatusPending || s.StoreID != store.ID || len(s.ID) != 32 {
			t.Errorf("created %+v", s)
		}
	}
	sorted := []secrets_store.StoreSecretNewResponseScope{"ai_gateway", "workers"}
	if got := created.Result[4].Scopes; !slices.Equal(got, sorted) {
		t.Errorf("scopes %v, want sorted", got)
	}

	// List with paging: the auto-pager walks pages of 2 until an empty one.
	var listed []string
	pager := sdk.Stores.Secrets.ListAutoPaging(ctx, store.ID, listParams(2, ""))
	for pager.Next() {
		listed = append(listed, pager.Current().Name)
	}
	if err := pager.Err(); err != nil {
		t.Fatalf("auto-paging: %v", err)
	}
	if strings.Join(listed, ",") != "KEY_0,KEY_1,KEY_2,KEY_3,KEY_4" {
		t.Errorf("auto-paged %v", listed)
	}
	page, err := sdk.Stores.Secrets.List(ctx, store.ID, listParams(2, ""))
	if err != nil {
		t.Fatal(err)
	}
	if page.ResultInfo.Page != 1 || page.ResultInfo.PerPage != 2 || len(page.Result) != 2 {
		t.Errorf("first page %+v", page.ResultInfo)
	}
	next, err := page.GetNextPage()
	if err != nil || next == nil || next.ResultInfo.Page != 2 || next.Result[0].Name != "KEY_2" {
		t.Fatalf("next page: %+v, %v", next, err)
	}

	// Search over name and comment.
	found, err := sdk.Stores.Secrets.List(ctx, store.ID, listParams(100, "needle"))
	if err != nil || len(found.Result) != 1 || found.Result[0].Name != "KEY_3" {
		t.Fatalf("search by comment: %+v, %v", found, err)
	}
	found, err = sdk.Stores.Secrets.List(ctx, store.ID, listParams(100, "key_1"))
	if err != nil || len(found.Result) != 1 || found.Result[0].Name != "KEY_1" {
		t.Fatalf("search by name: %+v, %v", found, err)
	}

	// Get; with no activation delay the secret is active once created.
	target := created.Result[0]
	got, err := sdk.Stores.Secrets.Get(ctx, store.ID, target.ID, secretGetParams())
	if err != nil || got.Name != "KEY_0" || got.Status != secrets_store.StoreSecretGetResponseStatusActive ||
		got.Comment != "comment 0" {
		t.Fatalf("get: %+v, %v", got, err)
	}

	// Edit value, scopes and comment.
	var edit secrets_store.StoreSecretEditParams
	edit.AccountID.Value, edit.AccountID.Present = sdkAccount, true
	edit.Value.Value, edit.Value.Present = "rotated", true
	edit.Scopes.Value, edit.Scopes.Present = []secrets_store.StoreSecretEditParamsScope{"workers", "access"}, true
	edit.Comment.Value, edit.Comment.Present = "edited", true
	edited, err := sdk.Stores.Secrets.Edit(ctx, store.ID, target.ID, edit)
	if err != nil {
		t.Fatalf("edit: %v", err)
	}
	if edited.Comment != "edited" ||
		!slices.Equal(edited.Scopes, []secrets_store.StoreSecretEditResponseScope{"access", "workers"}) ||
		!edited.Created.Equal(target.Created) {
		t.Errorf("edited %+v", edited)
	}

	// Duplicate.
	var dup secrets_store.StoreSecretDuplicateParams
	dup.AccountID.Value, dup.AccountID.Present = sdkAccount, true
	dup.Name.Value, dup.Name.Present = "KEY_0_COPY", true
	dup.Scopes.Value, dup.Scopes.Present = []secrets_store.StoreSecretDuplicateParamsScope{"workers"}, true
	copied, err := sdk.Stores.Secrets.Duplicate(ctx, store.ID, target.ID, dup)
	if err != nil || copied.Name != "KEY_0_COPY" || copied.ID == target.ID ||
		copied.Status != secrets_store.StoreSecretDuplicateResponseStatusPending {
		t.Fatalf("duplicate: %+v, %v", copied, err)
	}

	// Quota counts the six secrets.
	var qp secrets_store.QuotaGetParams
	qp.AccountID.Value, qp.AccountID.Present = sdkAccount, true
	quota, err := sdk.Quota.Get(ctx, qp)
	if err != nil || quota.Secrets.Quota != 100 || quota.Secrets.Usage != 6 {
		t.Fatalf("quota: %+v, %v", quota, err)
	}

	// Delete a secret, then the store (forced, as it is not empty).
	var del secrets_store.StoreSecretDeleteParams
	del.AccountID.Value, del.AccountID.Present = sdkAccount, true
	if _, err := sdk.Stores.Secrets.Delete(ctx, store.ID, copied.ID, del); err != nil {
		t.Fatalf("delete secret: %v", err)
	}
	_, err = sdk.Stores.Secrets.Get(ctx, store.ID, copied.ID, secretGetParams())
	if !isAPIError(err, 404, 1001, "secret_not_found") {
		t.Errorf("get deleted secret: %v", err)
	}
	var sdel secrets_store.StoreDeleteParams
	sdel.AccountID.Value, sdel.AccountID.Present = sdkAccount, true
	if _, err := sdk.Stores.Delete(ctx, store.ID, sdel); !isAPIError(err, 409, 1003, "store_not_empty") {
		t.Errorf("delete non-empty store: %v", err)
	}
	sdel.Force.Value, sdel.Force.Present = true, true
	if _, err := sdk.Stores.Delete(ctx, store.ID, sdel); err != nil {
		t.Fatalf("force delete store: %v", err)
	}
	stores, err = sdk.Stores.List(ctx, storeListParams())
	if err != nil || len(stores.Result) != 0 {
		t.Errorf("stores after delete: %+v, %v", stores, err)
	}
}

// isAPIError reports whether err is the SDK's API error with this status,
// code and message token.
func isAPIError(err error, status int, code int64, msg string) bool {
	var apiErr *secrets_store.Error
	return errors.As(err, &apiErr) && apiErr.StatusCode == status &&
		len(apiErr.Errors) == 1 && apiErr.Errors[0].Code == code &&
		apitest.HasToken(apiErr.Errors[0].Message, msg)
}

func TestSDKDecodesErrors(t *testing.T) {
	ctx := context.Background()
	sdk := startSDK(t, cloudflare.Config{EmptyAccount: true})
	store, err := sdk.Stores.New(ctx, newStoreParams("s"))
	if err != nil {
		t.Fatal(err)
	}
	taken := newSecretsParams(secretBody("TAKEN", "v", "", "workers"))
	if _, err := sdk.Stores.Secrets.New(ctx, store.ID, taken); err != nil {
		t.Fatal(err)
	}
	const missing = "0123456789abcdef0123456789abcdef"

	wrongToken := startSDK(t, cloudflare.Config{}, option.WithAPIToken("wrong"))
	var otherAccount secrets_store.StoreListParams
	otherAccount.AccountID.Value, otherAccount.AccountID.Present = "00000000000000000000000000000000", true

	tests := []struct {
		name   string
		call   func() error
		status int
		code   int64
		msg    string
	}{
		{
			"bad token",
			func() error { _, err := wrongToken.Stores.List(ctx, storeListParams()); return err },
			403,
			10000,
			"Authentication error",
		},
		{"unknown account", func() error { _, err := sdk.Stores.List(ctx, otherAccount); return err }, 404, 7003,
			"Could not route to /client/v4/accounts/00000000000000000000000000000000/secrets_store/stores, " +
				"perhaps your object identifier is invalid?"},
		{
			"second store",
			func() error { _, err := sdk.Stores.New(ctx, newStoreParams("two")); return err },
			400,
			1003,
			"maximum_stores_exceeded",
		},
		{"unknown store", func() error {
			var p secrets_store.StoreGetParams
			p.AccountID.Value, p.AccountID.Present = sdkAccount, true
			_, err := sdk.Stores.Get(ctx, missing, p)
			return err
		}, 404, 1001, "store_not_found"},
		{
			"unknown secret",
			func() error { _, err := sdk.Stores.Secrets.Get(ctx, store.ID, missing, secretGetParams()); return err },
			404,
			1001,
			"secret_not_found",
		},
		{"duplicate name", func() error {
			_, err := sdk.Stores.Secrets.New(ctx, store.ID, newSecretsParams(secretBody("TAKEN", "v", "", "workers")))
			return err
		}, 400, 1003, "secret_name_already_exists"},
		{"value too long", func() error {
			_, err := sdk.Stores.Secrets.New(
				ctx,
				store.ID,
				newSecretsParams(secretBody("BIG", strings.Repeat("x", 65537), "", "workers")),
			)
			return err
		}, 400, 1001, "secret_value_too_long"},
		{"no scopes", func() error {
			_, err := sdk.Stores.Secrets.New(ctx, store.ID, newSecretsParams(secretBody("NOSCOPE", "v", "")))
			return err
		}, 400, 1001, "secret_scopes_empty"},
		{"unknown scope", func() error {
			_, err := sdk.Stores.Secrets.New(ctx, store.ID, newSecretsParams(secretBody("BADSCOPE", "v", "", "email")))
			return err
		}, 400, 1001, "secret_scope_invalid"},
		{"non-empty store", func() error {
			var p secrets_store.StoreDeleteParams
			p.AccountID.Value, p.AccountID.Present = sdkAccount, true
			_, err := sdk.Stores.Delete(ctx, store.ID, p)
			return err
		}, 409, 1003, "store_not_empty"},
		{"bulk delete without ids", func() error {
			var p secrets_store.StoreSecretBulkDeleteParams
			p.AccountID.Value, p.AccountID.Present = sdkAccount, true
			_, err := sdk.Stores.Secrets.BulkDelete(ctx, store.ID, p)
			return err
		}, 400, 1001, "invalid_json_body"},
		{
			"per_page over 100",
			func() error { _, err := sdk.Stores.Secrets.List(ctx, store.ID, listParams(101, "")); return err },
			400,
			1001,
			"per_page_invalid",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !isAPIError(err, tt.status, tt.code, tt.msg) {
				t.Errorf("got %v, want API error %d %d %q", err, tt.status, tt.code, tt.msg)
			}
		})
	}
}
