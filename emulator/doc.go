// Package emulator serves a local stand-in for the APIs edgesecrets
// manages, on one port: the Fly.io Machines API secrets endpoints under /v1
// (package fly), the Cloudflare Secrets Store API under /client/v4
// (package cloudflare) and, on the same Cloudflare base, the Workers scripts
// API as far as a Worker's own secrets need it (package workers: secrets,
// uploads, settings, versions, deployments, and the Workers for Platforms
// forms). Tests, the demo and users' CI point the provider at it with the
// variables from Env (wrangler takes CLOUDFLARE_BASE_URL's value as
// CLOUDFLARE_API_BASE_URL); cmd/edgesecrets-emulator is the binary.
//
// What this package adds around the two APIs:
//
//   - Stats. Every request under /v1/ and /client/v4/ is counted under its
//     route template, keyed "METHOD /path/{wildcard}", exactly as registered:
//     "POST /v1/apps/{app}/secrets/{name}",
//     "GET /client/v4/accounts/{account_id}/secrets_store/stores/{store_id}/secrets".
//     Requests that match no API route count under their family's catch-all,
//     "GET /v1/" or "GET /client/v4/" (and
//     "GET /client/v4/accounts/{account_id}/secrets_store/" inside Secrets
//     Store). Requests that fault (5xx, 429, drop) are counted too, and
//     Stats.Faults counts them by kind, rate-limited answers included. GET
//     /_emulator/stats answers Stats as JSON, DELETE /_emulator/stats zeroes
//     the counters, POST /_emulator/reset empties everything (answers 204).
//     /_emulator/fly/apps/{app}/machines, .../leases and the fault switches
//     of package fly's RegisterInspection show and steer the machines.
//     /_emulator/* requests are never counted, faulted or authenticated.
//   - Realism, on by default (see Options): rate limits, lagging Fly reads
//     (package fly, Config.ReadLag), Fly machines that take a while to
//     restart and pass their checks, pending Cloudflare secrets and an account
//     that already holds its default store (package cloudflare).
//   - Faults (Options.Latency, DropRate, FailRate, ThrottleRate, ConflictRate,
//     LostResponseRate). Latency delays every API request. Then one number is
//     drawn per API request from a generator seeded with Options.Seed, and its
//     band decides: drop the connection without answering, a 5xx (500, 502 or
//     503), a 429 with "Retry-After: 1" (Fly: on every other 429), (Fly writes only) a 409, or (writes
//     only) a lost response: the write is applied, then the connection is
//     dropped or a 502 answered, else no fault. The same seed and the same
//     request sequence give the same faults; Reset re-seeds. Fault bodies use
//     the API's own error shape ({"error"} or the envelope, Cloudflare 429 is
//     code 971), so clients decode them as API errors.
//   - Fault schedules (Options.FaultSchedule, see ScheduledFault): faults by
//     construction rather than by chance, for tests that need one. Requests
//     are counted per API, per target (Fly app; Cloudflare store, else Workers
//     script, else account) and per kind (writes, or reads), counting only
//     those that passed the random faults and the rate limit; a rule names
//     places (at N, and every K after) and the fault they meet. The places a
//     target's requests take depend only on what the client sent to it, not
//     on timing or on other targets, so the same faults hit on every run.
//   - Rate limits (off with Options.NoRateLimit): Fly's documented limit, a
//     token bucket of 1 request/s with a burst of 3 per action (route
//     template) per app, and per machine for a machine's routes (getting one
//     machine: 5/s, burst 10); beyond it a 429 in Fly's error shape with
//     Retry-After in whole seconds on every other refusal and none on the
//     rest (Fly documents none: a client must back off without it).
//     Cloudflare's is its documented global
//     limit (developers.cloudflare.com/fundamentals/api/reference/limits/):
//     1,200 requests per 5 minutes per user, counted across all of the user's
//     tokens (Options.CloudflareOtherTokens are more tokens of the one user),
//     and the request past it locks the user out: every call answers 429 code
//     971 for the next 5 minutes, with retry-after the seconds left
//     (CloudflareRateLimit, CloudflareRateWindow, CloudflareLockout shorten
//     them for tests). Every Cloudflare answer carries the documented headers
//     Ratelimit ("default";r=LEFT;t=SECONDS-TO-RESET) and Ratelimit-Policy
//     ("default";q=LIMIT;w=WINDOW-SECONDS); retry-after only on refusals.
//   - Workers scripts (package workers): Options.CloudflareWorkers creates
//     scripts at start and after Reset ("NAME", or "NAMESPACE/NAME" for
//     Workers for Platforms), each with one deployed version and no bindings.
//     The Workers routes share Cloudflare's tokens, account check and rate
//     limit, and count in Stats under their own templates, e.g.
//     "PUT /client/v4/accounts/{account_id}/workers/scripts/{script_name}/secrets".
//     A script upload whose keep_bindings lacks "secret_text" drops the
//     script's secrets (Options.CloudflareUploadKeepsSecrets keeps them).
//     Server.Workers reads a script's secrets with values, its versions and
//     deployments, and acts as a foreign tool would (DropSecrets,
//     UploadVersion, Deploy).
//   - State (Options.StatePath): apps, stores, scripts and secrets (values included)
//     are saved to one JSON file after every change, before the change is
//     answered, written atomically (temp file in the same directory, fsync,
//     rename) with mode 0600, and loaded by New. Stats and rate-limit buckets
//     are not saved. Without a path everything lives in memory.
//   - Logs (Options.Logger): one line per API request with method, route
//     template, status, duration and the injected fault, never bodies, query
//     strings, names, values or tokens.
package emulator
