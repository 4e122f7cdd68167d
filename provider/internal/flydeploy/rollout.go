package flydeploy

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/flyapi"
)

// MetadataSecretsVersion is the config metadata key in which a rollout records the secrets
// version it pinned with min_secrets_version: Fly's Machine object does not tell the version a
// machine booted with.
const MetadataSecretsVersion = "edgesecrets_secrets_version"

// maxConcurrent bounds an immediate rollout's machines in flight, as flyctl bounds its leases.
const maxConcurrent = 20

// updateTimeout bounds one machine's update, retries included: the update call answers at once
// (the restart is waited for after it), so one that keeps failing this long is a failure, and
// the rerun resumes.
const updateTimeout = 30 * time.Second

// releaseTimeout bounds a lease's release, which runs on a fresh context: a cancelled rollout
// releases its lease too.
const releaseTimeout = 15 * time.Second

// launched says whether an update starts a machine in state; the others (stopped, suspended,
// created) get skip_launch and stay as they are, as flyctl's shouldSkipLaunch.
func launched(state string) bool {
	switch state {
	case flyapi.MachineStateStarted, flyapi.MachineStateStarting, flyapi.MachineStateFailed,
		flyapi.MachineStateReplacing, "updating", "restarting":
		return true
	}
	return false
}

// eligible reports the machines a rollout updates: fly-go's ListActive without release-command
// and console machines.
func eligible(m flyapi.Machine) bool {
	return m.IsActive() && !m.IsReleaseCommandMachine() && !m.IsFlyAppsConsole()
}

// secretsVersion is the version the machine's config says a rollout pinned (0 for none).
func secretsVersion(m flyapi.Machine) int64 {
	v, err := strconv.ParseInt(m.Config.Metadata()[MetadataSecretsVersion], 10, 64)
	if err != nil || v < 0 {
		return 0
	}
	return v
}

// rolled says whether the machine runs version already: its config says it was updated to it
// (or later) and, if it runs and has health checks, they pass. The version goes into the config
// with the update, before the checks are known: a machine whose checks failed says it runs the
// version all the same, and is rolled again.
func rolled(m flyapi.Machine, version int64) bool {
	if secretsVersion(m) < version {
		return false
	}
	if !launched(m.State) || m.Config.CheckCount() == 0 {
		return true
	}
	passing, total := m.ChecksPassing()
	return total > 0 && passing == total
}

// RolloutError is a rollout stopped by machines that failed.
type RolloutError struct {
	App     string
	Version int64
	// Failed are the machines that failed, each with its error.
	Failed []*MachineError
	// Done counts the eligible machines that run the version now, of Total.
	Done, Total int
}

// MachineError is one machine's failure.
type MachineError struct {
	MachineID string
	// Step is what failed: "taking its lease", "updating it", "waiting for it to start", ...
	Step string
	Err  error
}

func (e *MachineError) Error() string {
	return fmt.Sprintf("machine %s: %s: %v", e.MachineID, e.Step, e.Err)
}

func (e *MachineError) Unwrap() error { return e.Err }

func (e *RolloutError) Error() string {
	var b strings.Builder
	ids := make([]string, 0, len(e.Failed))
	for _, f := range e.Failed {
		ids = append(ids, f.MachineID)
	}
	fmt.Fprintf(&b, "fly: deploying secrets version %d to app %q stopped at machine %s: ",
		e.Version, e.App, strings.Join(ids, ", "))
	for i, f := range e.Failed {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Error())
	}
	fmt.Fprintf(&b, ". %d of %d machines run secrets version %d now; "+
		"the others keep their old secrets until the next rollout. ", e.Done, e.Total, e.Version)
	first := e.Failed[0].MachineID
	fmt.Fprintf(&b, "Inspect the machine with `fly machine status %s -a %s` (and `fly logs -a %s --machine %s`), "+
		"fix what stops it, then run `pulumi up` again: the rollout resumes with the machines not yet on version %d.",
		first, e.App, e.App, first, e.Version)
	return b.String()
}

// Unwrap gives the machines' errors.
func (e *RolloutError) Unwrap() []error {
	out := make([]error, 0, len(e.Failed))
	for _, f := range e.Failed {
		out = append(out, f)
	}
	return out
}

// roll runs one rollout.
func (d *Deployer) roll(ctx context.Context, r *rollout) (Result, error) {
	machines, err := r.client.ListMachines(ctx, r.app)
	if err != nil {
		return Result{}, fmt.Errorf("fly: deploy secrets version %d to app %q: %w", r.version, r.app, err)
	}
	var all, todo []flyapi.Machine
	for _, m := range machines {
		if !eligible(m) {
			continue
		}
		all = append(all, m)
		if !rolled(m, r.version) {
			todo = append(todo, m)
		}
	}
	result := Result{Version: r.version}
	final := map[string]Machine{}
	for _, m := range all {
		final[m.ID] = Machine{ID: m.ID, State: m.State, SecretsVersion: secretsVersion(m)}
	}
	report := func() Result {
		for _, m := range all {
			result.Machines = append(result.Machines, final[m.ID])
		}
		return result
	}
	if len(todo) == 0 {
		d.say(r, "app %s: all %d machines run secrets version %d already", r.app, len(all), r.version)
		return report(), nil
	}
	d.say(r, "app %s: deploying secrets version %d to %d of %d machines (%s)",
		r.app, r.version, len(todo), len(all), r.strategy)

	var mu sync.Mutex
	var failed []*MachineError
	run := func(i int, m flyapi.Machine) bool {
		label := fmt.Sprintf("%s %d/%d: machine %s", r.strategy, i+1, len(todo), m.ID)
		done, err := d.deployMachine(ctx, r, m, label)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed = append(failed, err)
			return false
		}
		final[m.ID] = done
		return true
	}
	if r.strategy == Rolling {
		for i, m := range todo {
			if !run(i, m) {
				break
			}
		}
	} else {
		var wg sync.WaitGroup
		slots := make(chan struct{}, maxConcurrent)
		for i, m := range todo {
			wg.Go(func() {
				slots <- struct{}{}
				defer func() { <-slots }()
				run(i, m)
			})
		}
		wg.Wait()
	}
	result = report()
	if len(failed) > 0 {
		onVersion := 0
		for _, m := range result.Machines {
			if m.SecretsVersion >= r.version {
				onVersion++
			}
		}
		return result, &RolloutError{App: r.app, Version: r.version, Failed: failed, Done: onVersion, Total: len(all)}
	}
	d.say(r, "app %s: all %d machines run secrets version %d", r.app, len(all), r.version)
	return result, nil
}

// deployMachine is one machine's turn, bounded by the rollout's machine timeout.
func (d *Deployer) deployMachine(
	ctx context.Context, r *rollout, m flyapi.Machine, label string,
) (Machine, *MachineError) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	done, merr := d.leaseAndUpdate(ctx, r, m, label)
	if merr != nil && ctx.Err() == context.DeadlineExceeded && errors.Is(merr.Err, context.DeadlineExceeded) {
		merr.Err = fmt.Errorf("%w (a machine's turn is limited to %v)", merr.Err, r.timeout)
	}
	return done, merr
}

// leaseAndUpdate takes the machine's lease, updates it and waits for it, and releases the
// lease whatever happened.
func (d *Deployer) leaseAndUpdate(
	ctx context.Context, r *rollout, m flyapi.Machine, label string,
) (Machine, *MachineError) {
	d.say(r, "%s: taking its lease", label)
	lease, err := r.client.AcquireLease(ctx, r.app, m.ID, d.opts.LeaseTTL)
	if err != nil {
		return Machine{}, &MachineError{MachineID: m.ID, Step: "taking its lease", Err: err}
	}
	l := &heldLease{client: r.client, app: r.app, id: m.ID, nonce: lease.Nonce, ttl: d.opts.LeaseTTL,
		refreshed: time.Now()}
	done, merr := d.updateLeased(ctx, r, m, lease, l, label)
	if err := l.release(); err != nil {
		note := fmt.Errorf("releasing its lease: %w (it expires by itself within %v)", err, d.opts.LeaseTTL)
		if merr == nil {
			return done, &MachineError{MachineID: m.ID, Step: "releasing its lease", Err: note}
		}
		merr.Err = fmt.Errorf("%w; %w", merr.Err, note)
	}
	return done, merr
}

// updateLeased updates the leased machine and waits for it.
func (d *Deployer) updateLeased(
	ctx context.Context, r *rollout, m flyapi.Machine, lease flyapi.Lease, l *heldLease, label string,
) (Machine, *MachineError) {
	fail := func(step string, err error) (Machine, *MachineError) {
		return Machine{}, &MachineError{MachineID: m.ID, Step: step, Err: err}
	}
	c := r.client
	// The machine may have changed between the listing and the lease: work from its version now.
	if lease.Version != m.InstanceID {
		current, err := c.GetMachine(ctx, r.app, m.ID)
		if err != nil {
			return fail("reading it after taking its lease", err)
		}
		m = current
		if !eligible(m) || secretsVersion(m) >= r.version {
			d.say(r, "%s: nothing to do, it changed meanwhile (state %s)", label, m.State)
			return Machine{ID: m.ID, State: m.State, SecretsVersion: secretsVersion(m)}, nil
		}
	}
	if len(m.Config) == 0 {
		//nolint:staticcheck // "Fly.io" is a proper noun
		return fail("reading its config",
			fmt.Errorf("Fly.io does not have the machine's full config (host status %q)", m.HostStatus))
	}
	config, err := m.Config.WithMetadata(MetadataSecretsVersion, strconv.FormatInt(r.version, 10))
	if err != nil {
		return fail("reading its config", err)
	}
	skipLaunch := !launched(m.State)
	if skipLaunch {
		d.say(r, "%s: updating it with secrets version %d (it is %s and stays so)", label, r.version, m.State)
	} else {
		d.say(r, "%s: restarting it with secrets version %d", label, r.version)
	}
	updateCtx, cancel := context.WithTimeout(ctx, updateTimeout)
	updated, err := c.UpdateMachine(updateCtx, r.app, m.ID, lease.Nonce, flyapi.LaunchMachineInput{
		Config: config, Region: m.Region, SkipLaunch: skipLaunch, MinSecretsVersion: r.version, CurrentVersion: m.InstanceID,
	})
	cancel()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("%w (an update is retried for %v)", err, updateTimeout)
		}
		return fail("updating it", err)
	}
	if skipLaunch {
		return Machine{ID: m.ID, State: updated.State, SecretsVersion: r.version}, nil
	}

	d.say(r, "%s: waiting for it to start (version %s)", label, updated.InstanceID)
	for {
		chunk := min(l.ttl/3, 20*time.Second)
		err := c.WaitMachine(ctx, r.app, m.ID, updated.InstanceID, flyapi.MachineStateStarted, chunk)
		if err == nil {
			break
		}
		if !flyapi.IsWaitTimeout(err) || ctx.Err() != nil {
			if ctx.Err() == context.DeadlineExceeded {
				err = &flyapi.WaitTimeoutError{App: r.app, MachineID: m.ID, InstanceID: updated.InstanceID,
					State: flyapi.MachineStateStarted, Timeout: r.timeout}
			}
			return fail("waiting for it to start", err)
		}
		d.say(r, "%s: still waiting for it to start (version %s)", label, updated.InstanceID)
		if err := l.refresh(ctx); err != nil {
			return fail("refreshing its lease", err)
		}
	}
	state, err := d.waitHealthy(ctx, r, m.ID, updated.Config.CheckCount(), l, label)
	if err != nil {
		return fail("waiting for its health checks", err)
	}
	return Machine{ID: m.ID, State: state, SecretsVersion: r.version}, nil
}

// waitHealthy waits until the machine's health checks pass, when its config defines any (as
// flyctl: at least one check reported, and all passing). It tells the count as it changes, and
// at least every ten seconds.
func (d *Deployer) waitHealthy(
	ctx context.Context, r *rollout, id string, configured int, l *heldLease, label string,
) (string, error) {
	state := flyapi.MachineStateStarted
	if configured == 0 {
		return state, nil
	}
	lastSaid, lastTold := "", time.Time{}
	lastStatus := ""
	for {
		m, err := r.client.GetMachine(ctx, r.app, id)
		if err != nil {
			if ctx.Err() == context.DeadlineExceeded {
				return state, unhealthy(lastStatus, r.timeout)
			}
			return state, err
		}
		state = m.State
		passing, total := m.ChecksPassing()
		if total > 0 && passing == total {
			d.say(r, "%s: health checks passing (%d/%d)", label, passing, total)
			return state, nil
		}
		lastStatus = checkSummary(m, passing, total)
		if lastStatus != lastSaid || time.Since(lastTold) > 10*time.Second {
			d.say(r, "%s: waiting for its health checks: %s", label, lastStatus)
			lastSaid, lastTold = lastStatus, time.Now()
		}
		if err := l.refreshIfDue(ctx); err != nil {
			return state, err
		}
		select {
		case <-time.After(d.opts.HealthPoll):
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return state, unhealthy(lastStatus, r.timeout)
			}
			return state, ctx.Err()
		}
	}
}

func unhealthy(status string, timeout time.Duration) error {
	return fmt.Errorf("not passing after %v: %s", timeout, status)
}

// checkSummary says how many checks pass and what the others report.
func checkSummary(m flyapi.Machine, passing, total int) string {
	if total == 0 {
		return "no check has reported yet"
	}
	parts := []string{fmt.Sprintf("%d/%d passing", passing, total)}
	for _, c := range m.Checks {
		if c.Status != "passing" {
			parts = append(parts, fmt.Sprintf("%s %s (%s)", c.Name, c.Status, oneLine(c.Output)))
		}
	}
	return strings.Join(parts, ", ")
}

// oneLine shortens a check's output to a line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// heldLease is a lease being held, refreshed while the machine is waited on.
type heldLease struct {
	client    *flyapi.Client
	app, id   string
	nonce     string
	ttl       time.Duration
	refreshed time.Time
}

func (l *heldLease) refreshIfDue(ctx context.Context) error {
	if time.Since(l.refreshed) < l.ttl/3 {
		return nil
	}
	return l.refresh(ctx)
}

func (l *heldLease) refresh(ctx context.Context) error {
	if _, err := l.client.RefreshLease(ctx, l.app, l.id, l.nonce, l.ttl); err != nil {
		return err
	}
	l.refreshed = time.Now()
	return nil
}

// release releases the lease on a fresh context, whatever became of the rollout's.
func (l *heldLease) release() error {
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	err := l.client.ReleaseLease(ctx, l.app, l.id, l.nonce)
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("releasing the lease took longer than %v: %w", releaseTimeout, err)
	}
	return err
}
