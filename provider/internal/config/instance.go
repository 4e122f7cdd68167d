package config

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/cfapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/flyapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/flydeploy"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/ownership"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// Instance is everything one provider instance holds, made once in Configure: the resolved
// configuration, what its API clients share (pacing, the operations in flight, each app's desk
// and each store's queues, listings and claims), the deployer, and the program's declarations.
// Every resource reaches it with Of; nothing of it is a package variable, so that explicit
// provider instances and tests each have their own.
type Instance struct {
	resolved   resolvedConfig
	timing     *Timing
	fly        *flyapi.Shared
	cloudflare *cfapi.Shared
	deployer   *flydeploy.Deployer
	// Owners are the secrets each resource of the program declares (its Check), by place.
	Owners ownership.Table
}

func newInstance(r resolvedConfig, t *Timing) *Instance {
	inst := &Instance{resolved: r, timing: t, deployer: flydeploy.New(flydeploy.Options{}),
		cloudflare: &cfapi.Shared{Grace: t.CreateGrace}}
	pacing := flyapi.FlyPacing()
	pacing.ReadLag, pacing.UnsetFreshness = t.FlyReadLag, t.UnsetFreshness
	pacing.Keep = func(app, name, ownerURN string) string {
		return inst.Owners.DeclaredBy(inst.FlyPlace(app), name, ownerURN)
	}
	inst.fly = flyapi.NewShared(pacing)
	inst.cloudflare.KeepWorkerSecret = func(account string, script cfapi.WorkerScript, name, ownerURN string) string {
		if by := inst.Owners.DeclaredBy(inst.WorkerPlace(account, script), name, ownerURN); by != "" {
			return "declared by " + by
		}
		return ""
	}
	return inst
}

// errNotConfigured is what a resource gets before Configure: the engine configures a provider
// before it uses it, so this is a programming error.
var errNotConfigured = errors.New("edgesecrets: the provider is not configured yet")

// configKey carries the provider's Config in a request's context (WithConfig).
type configKey struct{}

// WithConfig is ctx for a request to the provider built with c: the provider's entry points set
// it on every request, so that everything behind them (diff rules too, which run outside infer)
// reaches the instance.
func WithConfig(ctx context.Context, c *Config) context.Context {
	return context.WithValue(ctx, configKey{}, c)
}

// Of is the instance serving ctx's request.
func Of(ctx context.Context) (*Instance, error) {
	c, _ := ctx.Value(configKey{}).(*Config)
	if c == nil || c.inst == nil {
		return nil, errNotConfigured
	}
	return c.inst, nil
}

// Instance is the instance Configure made, nil before.
func (c *Config) Instance() *Instance { return c.inst }

// Timing is how long the instance waits for what.
func (i *Instance) Timing() *Timing { return i.timing }

// Deployer runs the instance's rollouts.
func (i *Instance) Deployer() *flydeploy.Deployer { return i.deployer }

// FlyPlace names an app of the instance's Fly API in Owners.
func (i *Instance) FlyPlace(app string) string { return "fly\x00" + i.resolved.flyURL + "\x00" + app }

// StorePlace names the Secrets Store of a Cloudflare account in Owners (an account holds one):
// account "" is the provider's.
func (i *Instance) StorePlace(account string) string {
	if account == "" {
		account = i.resolved.cloudflareAccount
	}
	return "cloudflare\x00" + i.resolved.cloudflareURL + "\x00" + account
}

// WorkerPlace names a Worker script's secrets in Owners: account "" is the provider's.
func (i *Instance) WorkerPlace(account string, script cfapi.WorkerScript) string {
	if account == "" {
		account = i.resolved.cloudflareAccount
	}
	return "cloudflare-worker\x00" + i.resolved.cloudflareURL + "\x00" + account + "\x00" + script.Namespace +
		"\x00" + script.Name
}

// CloudflareAccount is the provider's Cloudflare account (config, then environment), "" when none.
func (i *Instance) CloudflareAccount() string { return i.resolved.cloudflareAccount }

// Fly is the one place a Fly client is made, for every operation of every resource: the
// resource's own token over the provider's, the instance's Shared (its writes and reads go
// through the apps' desks) and Timing, and waits told to the CLI.
func (i *Instance) Fly(resourceToken *string) (*flyapi.Client, error) {
	t := i.timing
	token := override(resourceToken, i.resolved.flyToken)
	if token == "" {
		return nil, fmt.Errorf("no Fly.io API token: set it with `pulumi config set --secret %s <token>`, "+
			"or the FLY_API_TOKEN environment variable, or the resource's `apiToken` input", KeyFlyToken)
	}
	return flyapi.New(i.resolved.flyURL, token,
		flyapi.WithHTTPClient(i.resolved.httpClient),
		flyapi.WithRetries(t.RetryBudget, t.MinBackoff, t.MaxBackoff),
		flyapi.WithAttemptTimeout(t.AttemptTimeout),
		flyapi.WithReadLag(t.FlyReadLag),
		flyapi.WithWaitNotifier(flyapi.WaitNotifier(TellWait)),
		flyapi.WithUserAgent(userAgent()),
		flyapi.WithShared(i.fly),
		flyapi.WithDesk(),
	), nil
}

// Cloudflare is the one place a Cloudflare client is made: the resource's account and token over
// the provider's, the instance's Shared and Timing, and waits told to the CLI.
func (i *Instance) Cloudflare(resourceToken, resourceAccount *string) (*cfapi.Client, error) {
	t := i.timing
	token := override(resourceToken, i.resolved.cloudflareToken)
	account := override(resourceAccount, i.resolved.cloudflareAccount)
	if token == "" {
		return nil, fmt.Errorf("no Cloudflare API token: set it with `pulumi config set --secret %s <token>`, "+
			"or the CLOUDFLARE_API_TOKEN environment variable, or the resource's `apiToken` input", KeyCloudflareToken)
	}
	if account == "" {
		return nil, fmt.Errorf("no Cloudflare account ID: set it with `pulumi config set %s <id>`, "+
			"or the CLOUDFLARE_ACCOUNT_ID environment variable, or the resource's `accountId` input", KeyCloudflareAccount)
	}
	return cfapi.New(i.resolved.cloudflareURL, token, account, cfapi.Options{
		RetryBudget:    t.RetryBudget,
		MinBackoff:     t.MinBackoff,
		MaxBackoff:     t.MaxBackoff,
		RequestTimeout: t.AttemptTimeout,
		HTTPClient:     i.resolved.httpClient,
		UserAgent:      userAgent(),
		Notify:         cfapi.WaitNotifier(TellWait),
		Shared:         i.cloudflare,
		ActivePoll:     t.Poll,
		ActiveWait:     t.ActiveWait,
	}), nil
}

// Retract says that the resource urn, announced at its Check, has no operation to run (its diff
// found no change): nothing waits for it.
func (i *Instance) Retract(urn string) { i.fly.InFlight.Retract(urn) }

// PruneSinceNow is the pruneSince of a resource that takes its prune scope over now: the
// instance's Timing.PruneMargin earlier (the default margin outside a configured instance).
func PruneSinceNow(ctx context.Context) string {
	margin := DefaultTiming().PruneMargin
	if inst, err := Of(ctx); err == nil {
		margin = inst.Timing().PruneMargin
	}
	return rules.Timestamp(time.Now().Add(-margin))
}
