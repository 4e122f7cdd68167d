package config

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/backoff"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/cfapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/coalesce"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/flyapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/version"
)

// Package is the Pulumi package name.
const Package = "edgesecrets"

// CloudflareIDPattern is the form of Cloudflare account and store IDs.
var CloudflareIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// Config is the provider configuration (`pulumi config set edgesecrets:<key>`).
//
// Environment fallbacks are read in Configure, not in Check, so a token taken from the
// environment never lands in the state file.
type Config struct {
	FlyAPIToken         *string `pulumi:"flyApiToken,optional" provider:"secret"`
	FlyAPIURL           *string `pulumi:"flyApiUrl,optional"`
	CloudflareAPIToken  *string `pulumi:"cloudflareApiToken,optional" provider:"secret"`
	CloudflareAccountID *string `pulumi:"cloudflareAccountId,optional"`
	CloudflareAPIURL    *string `pulumi:"cloudflareApiUrl,optional"`

	// timing is what the provider was built with (DefaultTiming; tests shorten the waits).
	timing *Timing
	// inst is the instance Configure made: everything the resources share.
	inst *Instance
}

// New is the configuration of a provider built with timing t.
func New(t *Timing) *Config { return &Config{timing: t} }

type resolvedConfig struct {
	flyToken, flyURL               string
	cloudflareToken, cloudflareURL string
	cloudflareAccount              string
	httpClient                     *http.Client
}

var (
	_ infer.Annotated       = (*Config)(nil)
	_ infer.CustomConfigure = (*Config)(nil)
)

// Config keys and the environment variables that back them.
const (
	KeyFlyToken          = "edgesecrets:flyApiToken"
	KeyCloudflareToken   = "edgesecrets:cloudflareApiToken"
	KeyCloudflareAccount = "edgesecrets:cloudflareAccountId"
	defaultFlyURL        = "https://api.machines.dev"
)

var (
	envFlyToken          = []string{"FLY_API_TOKEN", "FLY_ACCESS_TOKEN"}
	envFlyURL            = []string{"FLY_FLAPS_BASE_URL"}
	envCloudflareToken   = []string{"CLOUDFLARE_API_TOKEN"}
	envCloudflareAccount = []string{"CLOUDFLARE_ACCOUNT_ID"}
	envCloudflareURL     = []string{"CLOUDFLARE_BASE_URL"}
)

// Annotate documents the configuration keys.
func (c *Config) Annotate(a infer.Annotator) {
	a.Describe(&c.FlyAPIToken, "Fly.io API token used by `fly:FlySecret` resources: a personal or "+
		"deploy token (`fly tokens create deploy`), sent as `Bearer`, or a macaroon (`FlyV1 fm2_...`). "+
		"Falls back to the `FLY_API_TOKEN`, then `FLY_ACCESS_TOKEN` environment variable. "+
		"A resource's own `apiToken` takes precedence.")
	a.Describe(&c.FlyAPIURL, "Base URL of the Fly Machines API. Falls back to the `FLY_FLAPS_BASE_URL` "+
		"environment variable, then `https://api.machines.dev`. Point it at `edgesecrets-emulator` to run "+
		"without a Fly.io account.")
	a.Describe(&c.CloudflareAPIToken, "Cloudflare API token with the \"Secrets Store Write\" permission, "+
		"used by `cloudflare:SecretsStore` and `cloudflare:Secret`. Falls back to the `CLOUDFLARE_API_TOKEN` "+
		"environment variable. A resource's own `apiToken` takes precedence.")
	a.Describe(&c.CloudflareAccountID, "Cloudflare account ID (32 hexadecimal characters) that holds the "+
		"Secrets Store. Falls back to the `CLOUDFLARE_ACCOUNT_ID` environment variable. A resource's own "+
		"`accountId` takes precedence.")
	a.Describe(&c.CloudflareAPIURL, "Base URL of the Cloudflare v4 API. Falls back to the `CLOUDFLARE_BASE_URL` "+
		"environment variable, then `https://api.cloudflare.com/client/v4`.")
}

// Configure resolves every setting from config, then environment, then default. Missing
// credentials are not an error here: a program may use only one of the two platforms.
func (c *Config) Configure(context.Context) error {
	r := resolvedConfig{
		flyToken:          firstSet(c.FlyAPIToken, envFlyToken),
		flyURL:            firstSet(c.FlyAPIURL, envFlyURL),
		cloudflareToken:   firstSet(c.CloudflareAPIToken, envCloudflareToken),
		cloudflareAccount: firstSet(c.CloudflareAccountID, envCloudflareAccount),
		cloudflareURL:     firstSet(c.CloudflareAPIURL, envCloudflareURL),
		httpClient:        &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
	}
	if r.flyURL == "" {
		r.flyURL = defaultFlyURL
	}
	if r.cloudflareURL == "" {
		r.cloudflareURL = cfapi.DefaultBaseURL
	}
	urls := map[string]string{"edgesecrets:flyApiUrl": r.flyURL, "edgesecrets:cloudflareApiUrl": r.cloudflareURL}
	for key, raw := range urls {
		if err := checkBaseURL(raw); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
	}
	if r.cloudflareAccount != "" && !CloudflareIDPattern.MatchString(r.cloudflareAccount) {
		return fmt.Errorf("%s (or CLOUDFLARE_ACCOUNT_ID) is %q: a Cloudflare account ID is 32 hexadecimal characters",
			KeyCloudflareAccount, r.cloudflareAccount)
	}
	t := c.timing
	if t == nil {
		t = DefaultTiming()
	}
	// The engine configures each provider instance once, for one operation: what the clients
	// know of each app's and store's secrets lasts that long, and no longer.
	c.inst = newInstance(r, t)
	return nil
}

// firstSet returns the config value if set, else the first non-empty environment variable.
func firstSet(configured *string, env []string) string {
	if configured != nil && *configured != "" {
		return *configured
	}
	for _, name := range env {
		if v := os.Getenv(name); v != "" {
			return v
		}
	}
	return ""
}

// override returns a resource's own setting when given, else the provider's.
func override(resourceValue *string, providerValue string) string {
	if resourceValue != nil && *resourceValue != "" {
		return *resourceValue
	}
	return providerValue
}

func checkBaseURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", raw)
	}
	return nil
}

func userAgent() string { return "pulumi-edgesecrets/" + version.Version }

// Timing is how long the provider waits for what, and how often it looks again. Resources carry
// it (the provider is built with DefaultTiming), so that tests can drive the slow paths quickly.
type Timing struct {
	// RetryBudget is how long a failing API request is retried; MinBackoff and MaxBackoff
	// bound the waits between attempts, and MaxBackoff caps a server's Retry-After.
	RetryBudget, MinBackoff, MaxBackoff time.Duration
	// AttemptTimeout bounds each attempt of an API request.
	AttemptTimeout time.Duration
	// FlyReadLag is how long after a write a Fly read may miss it.
	FlyReadLag time.Duration
	// Poll is the first interval of every wait that looks again (it doubles up to a second);
	// ActiveWait bounds the wait for a new Cloudflare secret to become active, StoreWait the
	// waits on the account's store (to appear for a Secret that names none; to hold only
	// what a deleted SecretsStore manages, while the same operation deletes the rest).
	Poll, ActiveWait, StoreWait time.Duration
	// UnsetFreshness bounds the age of the listing a Fly unset is decided from (a write another
	// process made since may be missing from it); a takeover confirms its write twice a read lag
	// and this long after it (flyapi.SharedOptions).
	UnsetFreshness time.Duration
	// PruneMargin is how long before a FlyAppSecrets or WorkerSecrets took its prune scope over
	// a secret must have been written to be pruned: one written during the operation that took it
	// over, by a resource this instance cannot see (another provider instance, a --target run), is
	// never a stray.
	PruneMargin time.Duration
	// CreateGrace bounds a Cloudflare create batch's wait for a round as large as the last
	// (coalesce.Batcher.Grace).
	CreateGrace time.Duration
}

// DefaultTiming is what users get; docs/reliability.md quotes it.
func DefaultTiming() *Timing {
	return &Timing{
		RetryBudget:    2 * time.Minute,
		MinBackoff:     250 * time.Millisecond,
		MaxBackoff:     8 * time.Second,
		AttemptTimeout: 60 * time.Second,
		FlyReadLag:     2 * time.Second,
		Poll:           100 * time.Millisecond,
		ActiveWait:     30 * time.Second,
		StoreWait:      30 * time.Second,
		UnsetFreshness: flyapi.DefaultUnsetFreshness,
		CreateGrace:    coalesce.DefaultGrace,
		PruneMargin:    10 * time.Minute,
	}
}

// TellWait shows a wait in the CLI's status column ("waiting 3s: Fly.io rate limit for app
// \"my-app\""), so that no long operation is silent.
func TellWait(ctx context.Context, wait time.Duration, why string) {
	if wait <= 0 {
		p.GetLogger(ctx).InfoStatus(why)
		return
	}
	p.GetLogger(ctx).InfoStatusf("waiting %s: %s", wait.Round(100*time.Millisecond), why)
}

// WaitFor runs check, then again after growing intervals (poll, doubling up to a second), until
// it reports done, limit has passed, or ctx ends. The CLI's status column says what it waits
// for. done is false when the limit passed first.
func (t *Timing) WaitFor(
	ctx context.Context, limit time.Duration, what string, check func() (bool, error),
) (done bool, err error) {
	deadline := time.Now().Add(limit)
	interval := t.Poll
	for {
		if done, err := check(); done || err != nil {
			return done, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return false, nil
		}
		wait := min(interval, left) // the last look is at the deadline
		TellWait(ctx, wait, what)
		if err := backoff.Sleep(ctx, wait); err != nil {
			return false, err
		}
		interval = min(interval*2, time.Second)
	}
}

// engineConfigKeys are provider inputs the engine adds itself, not the user's configuration.
var engineConfigKeys = []string{"version", "pluginDownloadURL"}

// UnknownKeys fails configuration keys the provider does not have, so that a misspelt
// key (edgesecrets:flyToken) is not silently ignored, with the nearest real key as the fix.
func UnknownKeys(inputs property.Map) []p.CheckFailure {
	known := rules.Of[Config](rules.Rules{}).Inputs
	var failures []p.CheckFailure
	for key := range inputs.AllStable {
		if slices.Contains(known, key) || slices.Contains(engineConfigKeys, key) || strings.HasPrefix(key, "__") {
			continue
		}
		reason := fmt.Sprintf("%s:%s is not a configuration key of this provider", Package, key)
		if near := nearest(key, known); near != "" {
			reason += fmt.Sprintf("; did you mean %s:%s?", Package, near)
		}
		failures = append(failures, p.CheckFailure{Reason: reason + " (keys: " + strings.Join(known, ", ") + ")"})
	}
	return failures
}

// nearest is the candidate closest to key by edit distance, case aside, if it is close enough
// to be a misspelling (within a third of its length).
func nearest(key string, candidates []string) string {
	best, bestDistance := "", len(key)/3+2
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(key), strings.ToLower(c)); d < bestDistance {
			best, bestDistance = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
