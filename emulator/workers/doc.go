// Package workers emulates the Cloudflare Workers scripts API as far as a Worker's own secrets
// need it, under /client/v4/accounts/{account_id}/workers, following the project's contract
// (docs/contract-cloudflare-workers-secrets.md) and what wrangler 4's secret commands and
// cloudflare-go v7.9.0's workers packages send and decode. It shares nothing with the provider's
// client.
//
// Routes, for an account's scripts (prefix /scripts/{script_name}) and, where marked WfP, for
// Workers for Platforms scripts too (prefix /dispatch/namespaces/{dispatch_namespace}/scripts/
// {script_name}); every answer is the v4 envelope {success, errors, messages, result}:
//
//	GET    {prefix}/secrets                  WfP  [{name, type}], the newest version's secrets
//	PUT    {prefix}/secrets                  WfP  {name, text, type} -> {name, type}; new version, deployed
//	GET    {prefix}/secrets/{secret_name}    WfP  {name, type}
//	DELETE {prefix}/secrets/{secret_name}    WfP  null; new version, deployed
//	PATCH  {prefix}/secrets-bulk             WfP  {secrets: {NAME: {...} | null}} -> {NAME: {name, type}}
//	PUT    {prefix}                          WfP  multipart upload (metadata + modules); new version, deployed
//	DELETE {prefix}                          WfP  null
//	GET    {prefix}/settings                 WfP  {bindings (no values), compatibility_date, ...}
//	PATCH  {prefix}/settings                 WfP  multipart "settings" part or JSON; bindings replace
//	POST   /scripts/{script_name}/versions        multipart upload; new version, not deployed
//	GET    /scripts/{script_name}/versions        {items: [version...]}, newest first
//	GET    /scripts/{script_name}/versions/{id}   version
//	GET    /scripts/{script_name}/deployments     {deployments: [...]}, newest first
//	POST   /scripts/{script_name}/deployments     {strategy: "percentage", versions: [{version_id, percentage}]}
//	PATCH  /workers/{script_name}/versions/latest {env: {NAME: {type, text} | null}, annotations}; new version,
//	                                              not deployed
//
// The model: a script is a list of versions, each with its bindings (secrets are bindings of type
// secret_text or secret_key), and a list of deployments, each splitting traffic between one or
// two versions. The secret routes read the newest version. A secret write (put, delete, bulk)
// needs the newest version to take all traffic (else 400 10215, as during a gradual deployment),
// then makes one new version with the change and deploys it. The versions API's write makes a
// version and does not deploy it. An upload keeps the previous version's bindings only of the
// types its keep_bindings lists (so one without "secret_text" drops the secrets, unless
// Config.UploadKeepsSecrets), and resolves "inherit" bindings from the previous version.
//
// Limits and errors (errors.go has the catalogue; the contract doc says which are confirmed):
// 403 10000 for a bad token, 404 7003 for another account, 404 10007 for a missing script,
// 404 10056 for a missing secret, 400 10053 for a secret named like another kind of binding,
// 400 10054 for a value over 5 KiB, 400 10055 over 64 text bindings, 400 10222 for a script
// with no version, secret names must be JavaScript identifiers, at most 100 secrets in one bulk
// request, and bulk requests are all or nothing.
//
// Ids are deterministic: version and deployment ids (UUID form) and script tags come from a
// counter kept in State, so the same requests in the same order give the same ids. Values are
// never returned, logged, or quoted in an error; a secret_key's key material is never returned.
package workers
