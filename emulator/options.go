package emulator

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/workers"
)

// Defaults for Options and the binary.
const (
	DefaultAddr              = "127.0.0.1:8787"
	DefaultFlyToken          = "fly-emulator-token"
	DefaultCloudflareToken   = "cloudflare-emulator-token"
	DefaultCloudflareAccount = "0123456789abcdef0123456789abcdef"
	// DefaultActivationDelay is how long a new Cloudflare secret stays
	// "pending" unless Options.ActivationDelay says otherwise.
	DefaultActivationDelay = 100 * time.Millisecond
	// DefaultCloudflareListLag is how long a new Cloudflare secret is missing from lists unless
	// Options.CloudflareListLag says otherwise. Zero for now: the provider's activation wait and
	// lost-answer recovery read lists, and do not yet survive a lag (docs/emulator.md says so).
	DefaultCloudflareListLag time.Duration = 0
	// DefaultCloudflareDeletedLinger is how long a deleted Cloudflare secret still shows in lists,
	// "deleted", unless Options.CloudflareDeletedLinger says otherwise.
	DefaultCloudflareDeletedLinger = 2 * time.Second
	// DefaultFlyReadLag is how long a Fly write takes to reach every read
	// unless Options.FlyReadLag says otherwise.
	DefaultFlyReadLag = 200 * time.Millisecond
	// DefaultFlyMachineBootDelay is how long a Fly machine takes to launch
	// (create or update) unless Options.FlyMachineBootDelay says otherwise.
	DefaultFlyMachineBootDelay = 300 * time.Millisecond
	// DefaultFlyMachineCheckDelay is how long after it started a Fly
	// machine's health checks start passing unless
	// Options.FlyMachineCheckDelay says otherwise.
	DefaultFlyMachineCheckDelay = 500 * time.Millisecond
)

// Options configures a Server. The zero value is a memory-only emulator with
// the default tokens and account that is as unkind as the real services: Fly's
// and Cloudflare's rate limits, eventually consistent Fly reads, new
// Cloudflare secrets pending for a while, and an account that already holds
// its default_secrets_store, and Fly machines that take a while to restart
// and to pass their health checks. The fields named No..., Consistent...,
// Instant... and CloudflareEmptyAccount turn one of these off, for tests of
// one behaviour.
type Options struct {
	// FlyToken is the full-access Fly token (default DefaultFlyToken). A
	// macaroon token ("FlyV1 fm2_..." or "fm2_...") must come as FlyV1.
	FlyToken string
	// FlyDeployTokens maps extra Fly tokens to the one app each may touch;
	// elsewhere they get 403 {"error":"unauthorized"}.
	FlyDeployTokens map[string]string
	// CloudflareToken is the Cloudflare API token (default
	// DefaultCloudflareToken).
	CloudflareToken string
	// CloudflareOtherTokens are more tokens of the same user: accepted like
	// CloudflareToken, and sharing its rate limit, as the real limit is per
	// user across all of the user's tokens.
	CloudflareOtherTokens []string
	// CloudflareRateLimit is how many requests a user may make in a
	// CloudflareRateWindow (0: DefaultCloudflareRateLimit); the one past it
	// locks the user out for CloudflareLockout (0: DefaultCloudflareLockout).
	CloudflareRateLimit                     int
	CloudflareRateWindow, CloudflareLockout time.Duration
	// CloudflareAccount is the one Cloudflare account id (default
	// DefaultCloudflareAccount; 32 lowercase hex characters).
	CloudflareAccount string
	// CloudflareEmptyAccount starts the account with no store, like an
	// account that never used Secrets Store. By default it holds
	// "default_secrets_store", as every account that has used it does.
	CloudflareEmptyAccount bool
	// CloudflareAutoStore, with CloudflareEmptyAccount, creates
	// "default_secrets_store" on the account's first Secrets Store request,
	// as the dashboard and wrangler do.
	CloudflareAutoStore bool
	// FlyApps are created at start (and again by Reset); existing ones keep
	// their secrets.
	FlyApps []string
	// CloudflareWorkers are Workers scripts created at start (and again by Reset), each with one
	// deployed version and no bindings, as a draft upload makes; "NAMESPACE/NAME" makes a Workers
	// for Platforms script. Existing ones keep their secrets.
	CloudflareWorkers []string
	// CloudflareUploadKeepsSecrets makes a script upload keep the script's secrets even without
	// "secret_text" in its keep_bindings. By default such an upload drops them.
	CloudflareUploadKeepsSecrets bool
	// FlyMachines gives each of FlyApps that many started machines at start
	// (and again after Reset); an app restored with machines keeps them and
	// gets more only up to the number.
	FlyMachines int
	// FlyMachineBootDelay is how long a Fly machine takes to launch: an
	// update restarts it through "replacing" and "starting" to "started"
	// (0: DefaultFlyMachineBootDelay).
	FlyMachineBootDelay time.Duration
	// FlyMachineCheckDelay is how long after it started a machine's health
	// checks stay critical (0: DefaultFlyMachineCheckDelay).
	FlyMachineCheckDelay time.Duration
	// InstantFlyMachines makes machines start and pass their checks at once.
	InstantFlyMachines bool
	// StatePath is the state file; "" keeps everything in memory.
	StatePath string

	// Latency delays every API request.
	Latency time.Duration
	// DropRate is the probability of closing the connection unanswered.
	DropRate float64
	// FailRate is the probability of a 5xx.
	FailRate float64
	// ThrottleRate is the probability of a 429 with Retry-After.
	ThrottleRate float64
	// ConflictRate is the probability of a 409 on a Fly write (Fly's answer to
	// racing writes to one app).
	ConflictRate float64
	// LostResponseRate is the probability that a write is applied and its
	// answer then lost: the connection is dropped or a proxy answers 502.
	LostResponseRate float64
	// Seed seeds the fault generator.
	Seed int64
	// FaultSchedule names requests to fault by their place in each target's sequence of
	// writes or reads (see ScheduledFault), on top of the random rates: the first rule that
	// names a request decides. A test that needs a fault to happen asks for it here.
	FaultSchedule []ScheduledFault
	// NoRateLimit turns off both APIs' rate limits: Fly's 1 request/s per
	// action per app with a burst of 3, and Cloudflare's 1,200 requests per
	// 5 minutes per user with its 5-minute lockout.
	NoRateLimit bool

	// FlyReadLag is how long a Fly secrets write takes to reach reads that
	// do not ask for its version (0: DefaultFlyReadLag).
	FlyReadLag time.Duration
	// ConsistentFlyReads makes every Fly read see every write at once.
	ConsistentFlyReads bool
	// FlyExactReadTimes makes Fly reads give times as writes answer them; by default they give
	// them to the second at another UTC offset (fly.Config.ExactReadTimes).
	FlyExactReadTimes bool

	// ActivationDelay is how long a new Cloudflare secret stays "pending"
	// (0: DefaultActivationDelay).
	ActivationDelay time.Duration
	// InstantActivation makes new Cloudflare secrets "pending" only in the
	// create answer.
	InstantActivation bool
	// CloudflareListLag is how long a new Cloudflare secret is missing from lists (GET by id
	// shows it at once) (0: DefaultCloudflareListLag).
	CloudflareListLag time.Duration
	// CloudflareDeletedLinger is how long a deleted Cloudflare secret still shows in lists with
	// status "deleted" (0: DefaultCloudflareDeletedLinger).
	CloudflareDeletedLinger time.Duration
	// ConsistentCloudflareLists makes Cloudflare lists show every create at once.
	ConsistentCloudflareLists bool
	// CloudflareDeletedGoneAtOnce makes deleted Cloudflare secrets leave lists at once.
	CloudflareDeletedGoneAtOnce bool

	// Logger receives one line per API request; nil discards them.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.FlyToken == "" {
		o.FlyToken = DefaultFlyToken
	}
	if o.CloudflareToken == "" {
		o.CloudflareToken = DefaultCloudflareToken
	}
	if o.CloudflareAccount == "" {
		o.CloudflareAccount = DefaultCloudflareAccount
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.FlyReadLag == 0 {
		o.FlyReadLag = DefaultFlyReadLag
	}
	if o.ConsistentFlyReads {
		o.FlyReadLag = 0
	}
	if o.FlyMachineBootDelay == 0 {
		o.FlyMachineBootDelay = DefaultFlyMachineBootDelay
	}
	if o.FlyMachineCheckDelay == 0 {
		o.FlyMachineCheckDelay = DefaultFlyMachineCheckDelay
	}
	if o.InstantFlyMachines {
		o.FlyMachineBootDelay, o.FlyMachineCheckDelay = 0, 0
	}
	if o.ActivationDelay == 0 {
		o.ActivationDelay = DefaultActivationDelay
	}
	if o.CloudflareRateLimit == 0 {
		o.CloudflareRateLimit = DefaultCloudflareRateLimit
	}
	if o.CloudflareRateWindow == 0 {
		o.CloudflareRateWindow = DefaultCloudflareRateWindow
	}
	if o.CloudflareLockout == 0 {
		o.CloudflareLockout = DefaultCloudflareLockout
	}
	if o.InstantActivation {
		o.ActivationDelay = 0
	}
	if o.CloudflareListLag == 0 {
		o.CloudflareListLag = DefaultCloudflareListLag
	}
	if o.CloudflareDeletedLinger == 0 {
		o.CloudflareDeletedLinger = DefaultCloudflareDeletedLinger
	}
	if o.ConsistentCloudflareLists {
		o.CloudflareListLag = 0
	}
	if o.CloudflareDeletedGoneAtOnce {
		o.CloudflareDeletedLinger = 0
	}
	return o
}

func (o Options) validate() error {
	if o.Latency < 0 {
		return fmt.Errorf("latency must not be negative")
	}
	if o.ActivationDelay < 0 {
		return fmt.Errorf("activation delay must not be negative")
	}
	if o.CloudflareListLag < 0 || o.CloudflareDeletedLinger < 0 {
		return fmt.Errorf("the Cloudflare list lag and deleted linger must not be negative")
	}
	if o.CloudflareRateLimit < 0 || o.CloudflareRateWindow < 0 || o.CloudflareLockout < 0 {
		return fmt.Errorf("the Cloudflare rate limit, its window and its lockout must not be negative")
	}
	if o.FlyReadLag < 0 {
		return fmt.Errorf("fly read lag must not be negative")
	}
	if o.FlyMachines < 0 || o.FlyMachineBootDelay < 0 || o.FlyMachineCheckDelay < 0 {
		return fmt.Errorf("fly machines and their delays must not be negative")
	}
	for _, name := range o.CloudflareWorkers {
		if _, err := workers.ParseScriptRef(name); err != nil {
			return err
		}
	}
	if o.CloudflareAutoStore && !o.CloudflareEmptyAccount {
		return fmt.Errorf("the auto-created store is for an empty account: the account already holds its default store")
	}
	for _, f := range o.FaultSchedule {
		if err := f.validate(); err != nil {
			return err
		}
	}
	sum := 0.0
	for _, r := range []struct {
		name string
		p    float64
	}{{"drop rate", o.DropRate}, {"fail rate", o.FailRate}, {"throttle rate", o.ThrottleRate},
		{"conflict rate", o.ConflictRate}, {"lost response rate", o.LostResponseRate}} {
		if r.p < 0 || r.p > 1 {
			return fmt.Errorf("%s must be between 0 and 1, got %v", r.name, r.p)
		}
		sum += r.p
	}
	if sum > 1 {
		return fmt.Errorf("drop, fail, throttle, conflict and lost response rates add up to %v, more than 1", sum)
	}
	return nil
}

// workerRefs are the scripts of CloudflareWorkers; validate has checked them.
func (o Options) workerRefs() []workers.ScriptRef {
	refs := make([]workers.ScriptRef, 0, len(o.CloudflareWorkers))
	for _, name := range o.CloudflareWorkers {
		if ref, err := workers.ParseScriptRef(name); err == nil {
			refs = append(refs, ref)
		}
	}
	return refs
}
