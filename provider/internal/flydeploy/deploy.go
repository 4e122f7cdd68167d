package flydeploy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/coalesce"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/flyapi"
)

// Strategy says how many machines restart at once.
type Strategy string

const (
	// Rolling restarts one machine at a time: the others keep serving.
	Rolling Strategy = "rolling"
	// Immediate restarts every machine at once.
	Immediate Strategy = "immediate"
)

// Machine is one eligible machine of the app as a rollout left it.
type Machine struct {
	ID    string
	State string
	// SecretsVersion is the secrets version the machine is known to run at least (0: unknown,
	// it was never deployed by edgesecrets).
	SecretsVersion int64
}

// Result is what a finished rollout reports.
type Result struct {
	// Version is the secrets version the rollout deployed: the highest its callers asked for,
	// at least the caller's own.
	Version  int64
	Machines []Machine
}

// Request is one caller's deploy.
type Request struct {
	App string
	// Version is the secrets version the app's machines must run at least.
	Version int64
	// Strategy is Rolling (the default) or Immediate. Callers gathered into one rollout get
	// Immediate only if all of them asked for it.
	Strategy Strategy
	// MachineTimeout bounds each machine's turn: its lease, update (retries included), start and
	// health checks (default DefaultMachineTimeout). Callers gathered into one rollout get the
	// longest they asked for.
	MachineTimeout time.Duration
	// Progress, if set, is told what the rollout does ("rolling 2/5: machine 3d8d...: waiting
	// for it to start"), never a secret value.
	Progress func(msg string)
	// Op, when set, is the caller's operation (flyapi.Client.Begin): it reaches StageDeploy
	// once the caller has joined a rollout.
	Op *flyapi.Op
}

// DefaultMachineTimeout is how long one machine may take, as flyctl's --wait-timeout.
const DefaultMachineTimeout = 5 * time.Minute

// StageDeploy is the stage an operation that deploys reaches when it calls Deploy: a rollout
// gathers every operation on the app (flyapi.Client.Begin) that may still reach it.
const StageDeploy coalesce.Stage = "fly-deploy"

// Options tune a Deployer.
type Options struct {
	// MaxGather bounds a rollout's wait for the operations on their way to it, from the first
	// caller: only a liveness bound (an operation that entered always reaches its deploy or
	// returns), never what makes deploys share a rollout (default DefaultMaxGather).
	MaxGather time.Duration
	// LeaseTTL is how long each lease is taken for; it is refreshed while the machine is waited
	// on, so that a lease of a crashed process expires soon (default DefaultLeaseTTL).
	LeaseTTL time.Duration
	// HealthPoll is how often a machine's health checks are read (default DefaultHealthPoll).
	HealthPoll time.Duration
}

// Defaults of Options.
const (
	DefaultMaxGather  = 5 * time.Minute
	DefaultLeaseTTL   = 60 * time.Second
	DefaultHealthPoll = time.Second
)

// Deployer runs rollouts and gathers concurrent deploys of one app into one. It is safe for
// concurrent use; the provider has one per instance.
type Deployer struct {
	opts Options

	mu   sync.Mutex
	apps map[string]*appRollouts // by API, credential and app
}

// appRollouts are one app's rollouts: the one running, and the one gathering callers after it.
type appRollouts struct {
	running *rollout
	next    *rollout
}

// New returns a Deployer.
func New(opts Options) *Deployer {
	if opts.MaxGather <= 0 {
		opts.MaxGather = DefaultMaxGather
	}
	if opts.LeaseTTL < 3*time.Second {
		opts.LeaseTTL = DefaultLeaseTTL
	}
	if opts.HealthPoll <= 0 {
		opts.HealthPoll = DefaultHealthPoll
	}
	return &Deployer{opts: opts, apps: map[string]*appRollouts{}}
}

// rollout is one rollout and the callers waiting for it. Its fields are guarded by
// Deployer.mu until it runs; version, strategy and timeout are then fixed.
type rollout struct {
	client       *flyapi.Client
	app          string
	version      int64
	strategy     Strategy
	timeout      time.Duration
	firstArrival time.Time
	waiters      map[*waiter]bool
	cancel       context.CancelFunc // set once it runs

	done   chan struct{} // closed when it has finished (or was dropped, every caller gone)
	result Result
	err    error
}

type waiter struct{ progress func(string) }

// Deploy makes every eligible machine of req.App run secrets version req.Version at least,
// through client. It returns when a rollout that covers the version has finished: the one
// this call joined, which may deploy a higher version for another caller. A failing machine
// stops a rolling rollout; the error (a *RolloutError) names it and says what to run. A
// rollout runs with the client of the caller that started it (its pacing, retries and wait
// notifier); every caller waiting for it is told its progress. A caller whose ctx ends returns
// at once; the rollout stops (releasing its lease) only when no caller waits for it any more.
func (d *Deployer) Deploy(ctx context.Context, client *flyapi.Client, req Request) (Result, error) {
	if req.App == "" {
		return Result{}, fmt.Errorf("fly: deploy: %w: app is empty", flyapi.ErrInvalidArgument)
	}
	if req.Version < 1 {
		return Result{}, fmt.Errorf("fly: deploy app %q: %w: secrets version %d (versions start at 1)",
			req.App, flyapi.ErrInvalidArgument, req.Version)
	}
	if req.Strategy == "" {
		req.Strategy = Rolling
	}
	if req.Strategy != Rolling && req.Strategy != Immediate {
		return Result{}, fmt.Errorf("fly: deploy app %q: %w: strategy %q (want rolling or immediate)",
			req.App, flyapi.ErrInvalidArgument, req.Strategy)
	}
	if req.MachineTimeout <= 0 {
		req.MachineTimeout = DefaultMachineTimeout
	}

	w := &waiter{progress: req.Progress}
	r := d.join(client, req, w)
	if req.Op != nil {
		req.Op.Reached(StageDeploy)
	}
	select {
	case <-r.done:
		return r.result, r.err
	case <-ctx.Done():
		d.leave(r, w)
		return Result{}, fmt.Errorf("fly: deploy secrets version %d to app %q: %w", req.Version, req.App, ctx.Err())
	}
}

// join adds the caller to the running rollout if it covers the version, else to the one
// gathering (started if need be).
func (d *Deployer) join(client *flyapi.Client, req Request, w *waiter) *rollout {
	d.mu.Lock()
	defer d.mu.Unlock()
	key := client.Identity() + " " + req.App
	ar := d.apps[key]
	if ar == nil {
		ar = &appRollouts{}
		d.apps[key] = ar
	}
	// A running rollout whose callers have all left is being stopped: it covers nobody.
	if r := ar.running; r != nil && r.version >= req.Version && len(r.waiters) > 0 {
		r.waiters[w] = true
		return r
	}
	now := time.Now()
	r := ar.next
	if r == nil {
		r = &rollout{client: client, app: req.App, strategy: Immediate, firstArrival: now,
			waiters: map[*waiter]bool{}, done: make(chan struct{})}
		ar.next = r
		go d.gather(key, ar, r)
	}
	r.version = max(r.version, req.Version)
	if req.Strategy == Rolling {
		r.strategy = Rolling
	}
	r.timeout = max(r.timeout, req.MachineTimeout)
	r.waiters[w] = true
	return r
}

// leave takes a caller that gave up off its rollout; a rollout nobody waits for any more is
// stopped (running) or dropped (gathering).
func (d *Deployer) leave(r *rollout, w *waiter) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(r.waiters, w)
	if len(r.waiters) == 0 && r.cancel != nil {
		r.cancel()
	}
}

// gather waits until no operation on the app may still join the rollout (or MaxGather has
// passed) and the app has no rollout running, then runs it.
func (d *Deployer) gather(key string, ar *appRollouts, r *rollout) {
	for {
		d.mu.Lock()
		if len(r.waiters) == 0 {
			if ar.next == r {
				ar.next = nil
			}
			d.forget(key, ar)
			d.mu.Unlock()
			r.err = errors.New("fly: deploy: every caller left")
			close(r.done)
			return
		}
		if running := ar.running; running != nil {
			d.mu.Unlock()
			<-running.done
			continue
		}
		if onTheirWay, changed := r.client.OnTheirWay(r.app, StageDeploy); onTheirWay > 0 {
			if wait := time.Until(r.firstArrival.Add(d.opts.MaxGather)); wait > 0 {
				d.mu.Unlock()
				timer := time.NewTimer(wait)
				select {
				case <-changed:
				case <-timer.C:
				}
				timer.Stop()
				continue
			}
		}
		ar.running, ar.next = r, nil
		ctx, cancel := context.WithCancel(context.Background())
		r.cancel = cancel
		d.mu.Unlock()

		r.result, r.err = d.roll(ctx, r)
		cancel()

		d.mu.Lock()
		ar.running = nil
		d.forget(key, ar)
		d.mu.Unlock()
		close(r.done)
		return
	}
}

// forget drops an app with nothing running or gathering. The caller holds mu.
func (d *Deployer) forget(key string, ar *appRollouts) {
	if ar.running == nil && ar.next == nil && d.apps[key] == ar {
		delete(d.apps, key)
	}
}

// say tells every caller waiting for the rollout.
func (d *Deployer) say(r *rollout, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	d.mu.Lock()
	var tell []func(string)
	for w := range r.waiters {
		if w.progress != nil {
			tell = append(tell, w.progress)
		}
	}
	d.mu.Unlock()
	for _, progress := range tell {
		progress(msg)
	}
}
