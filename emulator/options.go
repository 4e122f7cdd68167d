package emulator

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults for Options and the binary.
const (
	DefaultAddr              = "127.0.0.1:8787"
	DefaultFlyToken          = "fly-emulator-token"
	DefaultCloudflareToken   = "cloudflare-emulator-token"
	DefaultCloudflareAccount = "0123456789abcdef0123456789abcdef"
	// DefaultActivationDelay is the binary's default; the zero Options value
	// means no delay.
	DefaultActivationDelay = 100 * time.Millisecond
)

// Options configures a Server. The zero value is a usable memory-only
// emulator with the default tokens and account.
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
	// CloudflareAccount is the one Cloudflare account id (default
	// DefaultCloudflareAccount; 32 lowercase hex characters).
	CloudflareAccount string
	// CloudflareAutoStore creates "default_secrets_store" on the account's
	// first Secrets Store request, as Cloudflare does; by default the account
	// has no store until one is created.
	CloudflareAutoStore bool
	// FlyApps are created at start (and again by Reset); existing ones keep
	// their secrets.
	FlyApps []string
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
	// Seed seeds the fault generator.
	Seed int64
	// RateLimit enables Fly's limit: 1 request/s per action per app, burst 3.
	RateLimit bool

	// ActivationDelay is how long a new Cloudflare secret stays "pending".
	// Zero means it is "pending" only in the create answer.
	ActivationDelay time.Duration

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
	return o
}

func (o Options) validate() error {
	if o.Latency < 0 {
		return fmt.Errorf("latency must not be negative")
	}
	if o.ActivationDelay < 0 {
		return fmt.Errorf("activation delay must not be negative")
	}
	sum := 0.0
	for _, r := range []struct {
		name string
		p    float64
	}{{"drop rate", o.DropRate}, {"fail rate", o.FailRate}, {"throttle rate", o.ThrottleRate}, {"conflict rate", o.ConflictRate}} {
		if r.p < 0 || r.p > 1 {
			return fmt.Errorf("%s must be between 0 and 1, got %v", r.name, r.p)
		}
		sum += r.p
	}
	if sum > 1 {
		return fmt.Errorf("drop, fail, throttle and conflict rates add up to %v, more than 1", sum)
	}
	return nil
}
