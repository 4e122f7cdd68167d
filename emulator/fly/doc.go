// Package fly emulates the Fly.io Machines API endpoints that manage app
// secrets, plus the app and machine endpoints a deploy touches (after fly-go's
// flaps client: flaps_machines.go, flaps_machines_wait.go, its leases). It follows the
// project's Fly secrets contract (docs/contract-fly.md) and is an
// independent reading of it: nothing here is shared with the provider's client.
//
// Routes (all under /v1, all answering JSON):
//
//	POST   /v1/apps                        {"app_name","org_slug"} -> 201, empty body
//	GET    /v1/apps?org_slug=ORG           {"total_apps":N,"apps":[App...]}
//	GET    /v1/apps/{app}                  App
//	DELETE /v1/apps/{app}                  202, empty body
//	GET    /v1/apps/{app}/machines         [Machine...], in creation order
//	POST   /v1/apps/{app}/machines         LaunchMachineInput -> 200 Machine
//	GET    /v1/apps/{app}/machines/{id}    Machine
//	POST   /v1/apps/{app}/machines/{id}    LaunchMachineInput (+ current_version) -> 200 Machine, new instance_id
//	GET    /v1/apps/{app}/machines/{id}/wait?state=S&timeout=N&version=V (or instance_id=V) -> 200 {"ok":true} | 408
//	POST   /v1/apps/{app}/machines/{id}/lease?ttl=S  {"ttl","description"} optional
//	                                          -> {"status":"success","data":{nonce,expires_at,owner,description,version}}
//	GET    /v1/apps/{app}/machines/{id}/lease        the lease, or 404 "lease not found"
//	DELETE /v1/apps/{app}/machines/{id}/lease        with fly-machine-lease-nonce -> 200 {}
//	GET    /v1/apps/{app}/secrets          {"secrets":[AppSecret...]}
//	POST   /v1/apps/{app}/secrets          {"values":{"A":"x","B":null}} -> {"secrets":[...],"version":N}
//	GET    /v1/apps/{app}/secrets/{name}   AppSecret
//	POST   /v1/apps/{app}/secrets/{name}   {"value":"x"} -> 201 {name,digest,created_at,updated_at,version}
//	DELETE /v1/apps/{app}/secrets/{name}   {"version":N}
//
// The emulator's own choices, where the real API is undisclosed or the
// contract marks a behaviour UNCONFIRMED:
//
//   - Auth. The Authorization header is read the way fly-go writes it:
//     "Bearer <token>" for plain tokens, "FlyV1 <part>,<part>..." for macaroon
//     tokens (any comma-separated part starting with fm1r_, fm1a_ or fm2_),
//     with only the macaroon parts: fly-go drops the user tokens beside them.
//     The configured token is normalised the same way (a leading "Bearer " or
//     "FlyV1 " is stripped, parts are trimmed, macaroons kept and re-joined
//     with ","), and the header must carry that exact token under the scheme
//     fly-go would pick; FlyV1 with a part that is not a macaroon is 401.
//     So "Bearer FlyV1 fm2_..." and a macaroon sent as Bearer are both 401
//     {"error":"Authenticate: token validation error"}, as is a missing header.
//   - Deploy tokens (Config.DeployTokens) are valid but limited to one app:
//     using one on another app, or on the app-management routes, answers 403
//     {"error":"unauthorized"}, like a token that lacks the scope.
//   - Digest: the first 8 bytes of SHA-256 over
//     "fly-emulator-digest-v1\x00<app>\x00<name>\x00<value>", as 16 lowercase
//     hex characters. Same app, name and value give the same digest. Real Fly
//     does not disclose its algorithm; clients must never recompute it.
//   - Version: each app starts at 0 and every write operation adds exactly 1:
//     a set-one (even with an unchanged value), a delete, and a bulk call that
//     sets at least one name or unsets at least one existing name. A bulk call
//     that only unsets absent names (or has an empty "values") changes nothing
//     and answers the current version. Writes to one app are serialised, so
//     concurrent writers each get a distinct version.
//   - Timestamps are RFC 3339. Writes answer them in UTC with microseconds;
//     reads (list, get one) give them to the second at UTC-05:00 (unless
//     Config.ExactReadTimes), as an API may answer in another precision or
//     zone than it wrote: clients compare them as instants, at the coarser
//     precision. created_at is kept when a secret is overwritten; updated_at
//     moves on every set.
//   - Names must match ^[A-Za-z_][A-Za-z0-9_]*$ (they become environment
//     variables), everywhere a name appears: 400 "\"<name>\" is not a valid
//     secret name". Empty values are accepted (the provider is the one that
//     rejects them); a missing "value" is 400.
//   - show_secrets=true returns "value" on list and get-one. Real Fly reveals
//     plaintext only to the app's own machines; a provider must treat values as
//     write-only and never rely on this. Values never reach a log or an error.
//   - ?version=N (and min_version=N) ask for at least version N: a version the
//     app does not have yet answers 412; a malformed number answers 400.
//   - The bulk response lists the secrets the call set (sorted by name); names
//     it unset are absent.
//   - Apps: app names are lowercase letters, digits and dashes; org_slug
//     defaults to "personal"; creating an existing app answers 422
//     {"error":"Validation failed: Name has already been taken"}.
//   - Machines. A config must be a JSON object with an "image"; the answer
//     carries it with Fly's defaults filled in ("init", "guest"), keys
//     sorted, other fields as sent. Ids are 14 hex characters, instance ids
//     (the machine's version) 26 characters of Crockford base32.
//   - Launches (a create without skip_launch, every update without it) take
//     Config.MachineBootDelay: "created" (create) or "replacing" (update)
//     for the first half, "starting", then "started". An update counts as a
//     restart. A launch boots with the newest secrets version a lagging read
//     sees (Config.ReadLag), or min_secrets_version if that is newer: without
//     it a machine may boot with old secrets. A min_secrets_version beyond
//     the app's version answers 412, as reads do. An update with skip_launch
//     takes the config (a new instance_id) and leaves a stopped machine
//     stopped; a started one is stopped. current_version (the Machines API's
//     UpdateMachineRequest field), when set, must be the machine's instance
//     id, else 412 (status UNCONFIRMED).
//   - Health checks: a machine reports one check status per config "checks"
//     entry and per service check ("servicecheck-NN-<type>-<port>"),
//     "critical" until Config.MachineCheckDelay after it started, then
//     "passing".
//   - Waits poll every 10 ms and block for at most 60 s (timeout in whole
//     seconds, larger values are cut to 60), then answer 408. A wait that
//     names a replaced version never succeeds; one that names no version
//     still sees the replaced version in the first half of an update's
//     launch, as Fly's can: clients pass the instance_id the update answered.
//     An unknown version is 404.
//   - Leases: ttl from ?ttl=S, else the body's "ttl", else 30 s. A second
//     acquire, an update or a release without the holder's nonce answer 409
//     {"error":"aborted: machine ID <id> lease currently held by <owner>,
//     expires at <RFC 3339>"}; an acquire with the nonce refreshes the
//     lease. A release with no lease held answers 404 "lease not found".
//     Leases expire by the clock and are not saved in the state file.
//   - RegisterInspection adds the test routes under /_emulator/fly/ (see it).
//   - Unknown app: 404 {"error":"app not found"}; unknown secret: 404
//     {"error":"secret not found"}; unknown machine: 404 {"error":"machine
//     not found"}; malformed JSON: 400 {"error":"invalid JSON
//     body"}. Every response carries a Fly-Request-Id header.
package fly
