package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

var usageText = `Usage: edgesecrets-emulator [flags]

Serves the Fly.io Machines API secrets, apps and machines endpoints (under /v1), the Cloudflare
Secrets Store API and the Workers scripts secrets API (both under /client/v4) on one port,
prints the shell exports that point edgesecrets at it (FLY_FLAPS_BASE_URL, FLY_API_TOKEN,
CLOUDFLARE_BASE_URL, CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID; wrangler takes the same
base as CLOUDFLARE_API_BASE_URL), then serves until SIGINT/SIGTERM.
GET /_emulator/stats counts requests per route; POST /_emulator/reset empties
everything. GET /_emulator/fly/apps/APP/machines and .../leases show the
machines (secrets version booted with, restarts, leases);
POST /_emulator/fly/apps/APP/machines/ID/fail-next-update and .../fail-checks
make a machine's next update fail or its health checks stay critical.

Flags:
  --addr HOST:PORT            listen address; port 0 picks a free one
                              (default ` + emulator.DefaultAddr + `)
  --state FILE                keep apps, stores and secrets in FILE (mode 0600,
                              values included) across restarts; default: memory
  --fly-token TOKEN           Fly API token to accept (default ` + emulator.DefaultFlyToken + `);
                              a macaroon (fm2_...) must be sent as "FlyV1 ..."
  --fly-deploy-token APP=TOKEN
                              an extra Fly token limited to APP (403 elsewhere);
                              repeatable
  --fly-app NAME              create Fly app NAME at start; repeatable
  --fly-machines N            give each --fly-app N started machines (default 0)
  --fly-machine-boot-delay DURATION
                              how long a machine takes to restart after an
                              update (replacing, starting, started)
                              (default ` + emulator.DefaultFlyMachineBootDelay.String() + `; 0: at once)
  --fly-machine-check-delay DURATION
                              how long a started machine's health checks stay
                              critical
                              (default ` + emulator.DefaultFlyMachineCheckDelay.String() + `; 0: passing at once)
  --cloudflare-token TOKEN    Cloudflare API token to accept
                              (default ` + emulator.DefaultCloudflareToken + `)
  --cloudflare-other-token TOKEN
                              another token of the same Cloudflare user:
                              accepted, and sharing the user's rate limit;
                              repeatable
  --cloudflare-rate-limit N   requests a Cloudflare user may make per window
                              (default 1200); the one past it locks the user
                              out: every call answers 429 with retry-after
  --cloudflare-rate-window DURATION
                              the window of that limit (default 5m); every
                              answer carries Ratelimit ("default";r=LEFT;t=S)
                              and Ratelimit-Policy ("default";q=N;w=S)
  --cloudflare-lockout DURATION
                              how long a user past the limit is refused
                              (default 5m)
  --cloudflare-account ID     the Cloudflare account id, 32 lowercase hex
                              (default ` + emulator.DefaultCloudflareAccount + `)
  --cloudflare-empty-account start the account with no store, like one that
                              never used Secrets Store (default: it holds
                              "default_secrets_store", like every account
                              that has)
  --cloudflare-auto-store     with --cloudflare-empty-account, create
                              "default_secrets_store" on the account's first
                              Secrets Store request, as the dashboard does
  --cloudflare-worker NAME    create Workers script NAME at start (one deployed
                              version, no bindings); NAMESPACE/NAME makes a
                              Workers for Platforms script; repeatable
  --cloudflare-upload-keeps-secrets  a script upload keeps the script's
                              secrets even without "secret_text" in its
                              keep_bindings (default: such an upload drops
                              them)
  --activation-delay DURATION how long a new Cloudflare secret stays "pending"
                              (default ` + emulator.DefaultActivationDelay.String() + `; 0: active at once)
  --cloudflare-list-lag DURATION  how long a new Cloudflare secret is missing
                              from lists (default ` + emulator.DefaultCloudflareListLag.String() + `; 0: at once)
  --cloudflare-deleted-linger DURATION  how long a deleted Cloudflare secret
                              still shows in lists, "deleted"
                              (default ` + emulator.DefaultCloudflareDeletedLinger.String() + `; 0: gone at once)
  --fly-read-lag DURATION     how long a Fly secrets write takes to reach reads
                              that do not ask for its version (?version=N)
                              (default ` + emulator.DefaultFlyReadLag.String() + `; 0: consistent reads)
  --latency DURATION          delay every API request (e.g. 200ms)
  --fail-rate P               probability of a 5xx answer (0..1)
  --throttle-rate P           probability of a 429 with Retry-After (0..1)
  --drop-rate P               probability of closing the connection unanswered
  --conflict-rate P           probability of a 409 on a Fly secrets write
  --lost-response-rate P      probability that a write is applied and its
                              answer lost (dropped connection or 502)
  --seed N                    seed for the fault rates: the same seed and the
                              same requests give the same faults (default 0)
  --fault RULE                fault the requests RULE names by their place,
                              counted per API, per target (Fly app; store,
                              Workers script or account) and per kind (writes
                              or reads), whatever the timing: kind=KIND
                              (drop, server_error, throttle, conflict,
                              lost_response) and any of api=fly|cloudflare,
                              at=N (the Nth), every=K (and every Kth after),
                              status=S (server_error: 500, 502 or 503;
                              lost_response: 502, else the connection drops),
                              reads; e.g. kind=lost_response,api=fly,at=4;
                              repeatable, the first rule naming a request wins
  --rate-limit=false          turn off the APIs' rate limits, on by default:
                              Fly's 1 request/s per action per app with a
                              burst of 3, Cloudflare's 1,200 requests per 5
                              minutes per user and its 5-minute lockout;
                              beyond them 429 with Retry-After
  --quiet                     log only warnings and errors to stderr, no requests
  --help                      show this help

Request logs (stderr) carry method, route template, status and duration; never
bodies, secret values or tokens.
`

// usageError is a bad command line (exit status 2).
type usageError struct{ error }

type config struct {
	addr  string
	quiet bool
	opts  emulator.Options
	// Flags whose defaults are the realistic behaviour, turned into Options'
	// opt-outs after parsing.
	rateLimit                  bool
	faults                     listFlag // --fault rules, parsed into opts.FaultSchedule
	flyReadLag, activationTime time.Duration
	cloudflareListLag          time.Duration
	cloudflareDeletedLinger    time.Duration
	bootDelay, checkDelay      time.Duration
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// flagSet binds every flag to cfg, apps, deployTokens and workers.
func flagSet(cfg *config, apps, deployTokens, workers, cfTokens *listFlag) *flag.FlagSet {
	o := &cfg.opts
	fs := flag.NewFlagSet("edgesecrets-emulator", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // main reports errors; --help prints usageText
	fs.StringVar(&cfg.addr, "addr", emulator.DefaultAddr, "")
	fs.StringVar(&o.StatePath, "state", "", "")
	fs.StringVar(&o.FlyToken, "fly-token", emulator.DefaultFlyToken, "")
	fs.Var(deployTokens, "fly-deploy-token", "")
	fs.Var(apps, "fly-app", "")
	fs.IntVar(&o.FlyMachines, "fly-machines", 0, "")
	fs.DurationVar(&cfg.bootDelay, "fly-machine-boot-delay", emulator.DefaultFlyMachineBootDelay, "")
	fs.DurationVar(&cfg.checkDelay, "fly-machine-check-delay", emulator.DefaultFlyMachineCheckDelay, "")
	fs.StringVar(&o.CloudflareToken, "cloudflare-token", emulator.DefaultCloudflareToken, "")
	fs.Var(cfTokens, "cloudflare-other-token", "")
	fs.IntVar(&o.CloudflareRateLimit, "cloudflare-rate-limit", emulator.DefaultCloudflareRateLimit, "")
	fs.DurationVar(&o.CloudflareRateWindow, "cloudflare-rate-window", emulator.DefaultCloudflareRateWindow, "")
	fs.DurationVar(&o.CloudflareLockout, "cloudflare-lockout", emulator.DefaultCloudflareLockout, "")
	fs.StringVar(&o.CloudflareAccount, "cloudflare-account", emulator.DefaultCloudflareAccount, "")
	fs.BoolVar(&o.CloudflareEmptyAccount, "cloudflare-empty-account", false, "")
	fs.BoolVar(&o.CloudflareAutoStore, "cloudflare-auto-store", false, "")
	fs.Var(workers, "cloudflare-worker", "")
	fs.BoolVar(&o.CloudflareUploadKeepsSecrets, "cloudflare-upload-keeps-secrets", false, "")
	fs.DurationVar(&cfg.activationTime, "activation-delay", emulator.DefaultActivationDelay, "")
	fs.DurationVar(&cfg.flyReadLag, "fly-read-lag", emulator.DefaultFlyReadLag, "")
	fs.DurationVar(&cfg.cloudflareListLag, "cloudflare-list-lag", emulator.DefaultCloudflareListLag, "")
	fs.DurationVar(&cfg.cloudflareDeletedLinger, "cloudflare-deleted-linger", emulator.DefaultCloudflareDeletedLinger, "")
	fs.DurationVar(&o.Latency, "latency", 0, "")
	fs.Float64Var(&o.FailRate, "fail-rate", 0, "")
	fs.Float64Var(&o.ThrottleRate, "throttle-rate", 0, "")
	fs.Float64Var(&o.DropRate, "drop-rate", 0, "")
	fs.Float64Var(&o.ConflictRate, "conflict-rate", 0, "")
	fs.Float64Var(&o.LostResponseRate, "lost-response-rate", 0, "")
	fs.Int64Var(&o.Seed, "seed", 0, "")
	fs.Var(&cfg.faults, "fault", "")
	fs.BoolVar(&cfg.rateLimit, "rate-limit", true, "")
	fs.BoolVar(&cfg.quiet, "quiet", false, "")
	return fs
}

// parseFlags reads the command line; --help prints usage to stdout and
// returns flag.ErrHelp.
func parseFlags(args []string, stdout io.Writer) (config, error) {
	var cfg config
	var apps, deployTokens, workers, cfTokens listFlag
	fs := flagSet(&cfg, &apps, &deployTokens, &workers, &cfTokens)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			if _, werr := fmt.Fprint(stdout, usageText); werr != nil {
				return cfg, werr
			}
			return cfg, err
		}
		return cfg, usageError{err}
	}
	if fs.NArg() > 0 {
		return cfg, usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	o := &cfg.opts
	o.FlyApps = apps
	o.CloudflareWorkers = workers
	o.CloudflareOtherTokens = cfTokens
	if o.CloudflareRateLimit <= 0 || o.CloudflareRateWindow <= 0 || o.CloudflareLockout <= 0 {
		return cfg, usageError{fmt.Errorf("--cloudflare-rate-limit, --cloudflare-rate-window and --cloudflare-lockout " +
			"must be positive (--rate-limit=false turns the limits off)")}
	}
	o.NoRateLimit = !cfg.rateLimit
	o.FlyReadLag, o.ConsistentFlyReads = cfg.flyReadLag, cfg.flyReadLag == 0
	o.ActivationDelay, o.InstantActivation = cfg.activationTime, cfg.activationTime == 0
	o.CloudflareListLag, o.CloudflareDeletedLinger = cfg.cloudflareListLag, cfg.cloudflareDeletedLinger
	o.ConsistentCloudflareLists = cfg.cloudflareListLag == 0
	o.CloudflareDeletedGoneAtOnce = cfg.cloudflareDeletedLinger == 0
	if o.FlyMachines < 0 || cfg.bootDelay < 0 || cfg.checkDelay < 0 {
		return cfg, usageError{fmt.Errorf("--fly-machines and the machine delays must not be negative")}
	}
	// Options reads a zero delay as "the default": a single delay of 0 is
	// given as one nanosecond, which is at once too.
	o.InstantFlyMachines = cfg.bootDelay == 0 && cfg.checkDelay == 0
	o.FlyMachineBootDelay = max(cfg.bootDelay, time.Nanosecond)
	o.FlyMachineCheckDelay = max(cfg.checkDelay, time.Nanosecond)
	for _, rule := range cfg.faults {
		f, err := emulator.ParseScheduledFault(rule)
		if err != nil {
			return cfg, usageError{fmt.Errorf("--fault: %w", err)}
		}
		o.FaultSchedule = append(o.FaultSchedule, f)
	}
	for _, pair := range deployTokens {
		app, token, ok := strings.Cut(pair, "=")
		if !ok || app == "" || token == "" {
			return cfg, usageError{fmt.Errorf("--fly-deploy-token wants APP=TOKEN")}
		}
		if o.FlyDeployTokens == nil {
			o.FlyDeployTokens = map[string]string{}
		}
		o.FlyDeployTokens[token] = app
	}
	return cfg, nil
}
