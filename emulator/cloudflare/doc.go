// Package cloudflare emulates the Cloudflare Secrets Store API under
// /client/v4/accounts/{account_id}/secrets_store, following the project's
// contract (docs/contract-cloudflare-secrets-store.md) and what cloudflare-go
// v7.9.0's secrets_store package sends and decodes. It shares nothing with the
// provider's client.
//
// Routes (every answer is the v4 envelope {success, errors, messages, result
// [, result_info]}):
//
//	GET    /stores                                   list stores (paged)
//	POST   /stores                                   {"name"} -> Store
//	GET    /stores/{store_id}                        Store
//	DELETE /stores/{store_id}[?force=true]           null
//	GET    /stores/{store_id}/secrets                list secrets (paged, search, order, direction, scopes)
//	POST   /stores/{store_id}/secrets                [{name,value,scopes,comment?}] -> [Secret]
//	DELETE /stores/{store_id}/secrets                ["<secret_id>", ...] -> null
//	GET    /stores/{store_id}/secrets/{secret_id}    Secret
//	PATCH  /stores/{store_id}/secrets/{secret_id}    {value?,scopes?,comment?} -> Secret
//	DELETE /stores/{store_id}/secrets/{secret_id}    null
//	POST   /stores/{store_id}/secrets/{secret_id}/duplicate  {name,scopes,comment?} -> Secret
//	GET    /quota                                    {"secrets":{"quota":100,"usage":N}}
//
// The emulator's own choices, where the contract says UNCONFIRMED (all error
// codes, messages and statuses live in errors.go):
//
//   - Messages carry detail after the error's token, as Cloudflare's may (its
//     messages are not a contract): "secret_name_already_exists: a secret
//     named \"A\" already exists in store <id>", "store_not_empty: store <id>
//     holds 3 secrets". Clients must classify on request, status and code.
//
//   - Auth: only "Authorization: Bearer <token>" with the configured token;
//     anything else (missing header, wrong token, legacy X-Auth-Key) is 403
//     code 10000 "Authentication error". Auth is checked before the account.
//
//   - One account (Config.AccountID); any other account id is 404 code 7003
//     "Could not route to <path>, perhaps your object identifier is invalid?".
//
//   - Default store: the account starts holding "default_secrets_store", as
//     every account that has used Secrets Store does (Reset puts it back).
//     With Config.EmptyAccount it starts with no store; adding
//     Config.AutoCreateStore then creates "default_secrets_store" on the first
//     authenticated request to the account's Secrets Store (the real "created
//     when first used"), once, and not again after it is deleted.
//
//   - Store and secret ids are 32 random lowercase hex characters.
//
//   - Status: a new secret (create or duplicate) is "pending" in the create
//     answer and until Config.ActivationDelay has passed, then "active". With a
//     zero delay it is "active" from the next read on. Edits do not change the
//     status. Deleted secrets disappear (404), they never read as "deleted".
//
//   - Limits: one store per account (400 1003 maximum_stores_exceeded), 100
//     secrets per account across stores (400 1003 maximum_secrets_exceeded,
//     checked before anything is created), values of at most 65,536 bytes
//     (400 1001 secret_value_too_long), non-empty values (secret_value_empty),
//     names ^[A-Za-z0-9_-]+$ (secret_name_empty / secret_name_invalid; store
//     names likewise store_name_empty / store_name_invalid), scopes non-empty
//     and among workers, ai_gateway, dex, access, containers, websearch
//     (secret_scopes_empty / secret_scope_invalid), returned de-duplicated and
//     sorted.
//
//   - Bulk create is all or nothing: every entry is validated, names are
//     checked against the store and each other (secret_name_already_exists),
//     and the quota is checked, before anything is written. A non-array body or
//     an empty array is invalid_json_body (older SDKs sent store creation as an
//     array; that is rejected the same way).
//
//   - PATCH changes value, scopes and comment; a "name" that differs from the
//     secret's is rejected with 400 1001 secret_name_immutable.
//
//   - Duplicate copies the value; name and scopes come from the body, comment
//     from the body or "".
//
//   - Bulk delete (body undocumented): a JSON array of secret ids; all must
//     exist in the store or nothing is deleted. No body is invalid_json_body,
//     never "delete everything".
//
//   - Paging: page from 1, per_page 1..100 (default 20); out-of-range values
//     are 400 1001 (page_invalid, per_page_invalid), as are unknown order or
//     direction values. A page past the end is an empty list. result_info's
//     total_count counts the items matching the filters. search matches name
//     or comment, case-insensitively; scopes=X (repeatable) keeps secrets that
//     have every given scope. Ties in the sort order fall back to name, then id.
//
//   - Deleting a store with secrets is 409 1003 store_not_empty unless
//     force=true, which deletes its secrets too.
//
//   - Not found: store_not_found / secret_not_found (404 1001); unknown routes
//     under secrets_store are 404 1000 not_found, elsewhere 404 7000.
//
//   - Timestamps are RFC 3339 in UTC with microseconds.
//
//   - Values are never returned, logged, or quoted in an error.
package cloudflare
