package fly

import (
	"context"
	"slices"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/coalesce"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/config"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/flyapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/flydeploy"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// DeployMode says whether a resource's writes are rolled out to the app's running machines.
type DeployMode string

const (
	DeployNone    DeployMode = "none"
	DeployRolling DeployMode = "rolling"
)

// DeployStrategy says how a SecretsDeployment restarts the app's machines.
type DeployStrategy string

const (
	StrategyRolling   DeployStrategy = "rolling"
	StrategyImmediate DeployStrategy = "immediate"
)

// Deployment is what a resource that deploys records of its last rollout.
type Deployment struct {
	DeployedVersion *int64            `pulumi:"deployedVersion,optional"`
	Machines        []DeployedMachine `pulumi:"machines,optional"`
}

// DeployedMachine is one machine of the app as the last rollout left it.
type DeployedMachine struct {
	ID             string `pulumi:"id"`
	State          string `pulumi:"state"`
	SecretsVersion int64  `pulumi:"secretsVersion"`
}

var (
	_ infer.Enum[DeployMode]     = DeployNone
	_ infer.Enum[DeployStrategy] = StrategyRolling
	_ infer.Annotated            = (*DeployMode)(nil)
	_ infer.Annotated            = (*DeployStrategy)(nil)
	_ infer.Annotated            = (*Deployment)(nil)
	_ infer.Annotated            = (*DeployedMachine)(nil)
)

func (DeployMode) Values() []infer.EnumValue[DeployMode] {
	return []infer.EnumValue[DeployMode]{
		{Name: "None", Value: DeployNone,
			Description: "Stage the write: machines see it when they next start or are updated."},
		{Name: "Rolling", Value: DeployRolling,
			Description: "Roll the app's machines, one at a time, to the secrets version written."},
	}
}

func (m *DeployMode) Annotate(a infer.Annotator) {
	a.SetToken("fly", "DeployMode")
	a.Describe(m, "Whether a write is rolled out to the app's running machines.")
}

func (DeployStrategy) Values() []infer.EnumValue[DeployStrategy] {
	return []infer.EnumValue[DeployStrategy]{
		{Name: "Rolling", Value: StrategyRolling,
			Description: "One machine at a time, each started and healthy before the next."},
		{Name: "Immediate", Value: StrategyImmediate, Description: "Every machine at once."},
	}
}

func (s *DeployStrategy) Annotate(a infer.Annotator) {
	a.SetToken("fly", "DeployStrategy")
	a.Describe(s, "How a deployment restarts the app's machines.")
}

func (d *Deployment) Annotate(a infer.Annotator) {
	a.Describe(&d.DeployedVersion, "The secrets version the last rollout brought every eligible machine of the app to. "+
		"Below `version` after a rollout that failed: the next `pulumi up` resumes it.")
	a.Describe(&d.Machines, "The app's machines as the last rollout left them.")
}

func (m *DeployedMachine) Annotate(a infer.Annotator) {
	a.SetToken("fly", "DeployedMachine")
	a.Describe(m, "A machine of the app, as a rollout left it.")
	a.Describe(&m.ID, "Machine ID.")
	a.Describe(&m.State, "Machine state (`started`, `stopped`, ...).")
	a.Describe(&m.SecretsVersion, "The secrets version the machine runs at least.")
}

// pending reports whether a rollout to version is still owed: deploying, and the last rollout
// did not reach it.
func (d Deployment) pending(mode DeployMode, version int64) bool {
	return mode == DeployRolling && version > 0 && (d.DeployedVersion == nil || *d.DeployedVersion < version)
}

// rollOut runs the rollout that is owed (see pending) with the instance's Deployer, which gathers
// the deploys of one app in one operation into one rollout (every operation op's app has on its
// way to a deploy), and tells its progress to the CLI's status column. A failed rollout leaves
// the Deployment as it was, the rollout still owed, and is reported as an init failure: the
// write is recorded, and the engine runs Update on the next up, which resumes it.
func (d *Deployment) rollOut(
	ctx context.Context, op *flyapi.Op, app string, mode DeployMode, version int64, strategy DeployStrategy,
) error {
	defer op.Reached(flydeploy.StageDeploy)
	if !d.pending(mode, version) {
		return nil
	}
	inst, err := config.Of(ctx)
	if err != nil {
		return err
	}
	res, err := inst.Deployer().Deploy(ctx, op.Client(), flydeploy.Request{
		App:      app,
		Version:  version,
		Strategy: flydeploy.Strategy(strategy),
		Progress: func(msg string) { p.GetLogger(ctx).InfoStatus(msg) },
		Op:       op,
	})
	if err != nil {
		return infer.ResourceInitFailedError{Reasons: []string{err.Error()}}
	}
	machines := make([]DeployedMachine, 0, len(res.Machines))
	for _, m := range res.Machines {
		machines = append(machines, DeployedMachine{ID: m.ID, State: m.State, SecretsVersion: m.SecretsVersion})
	}
	slices.SortFunc(machines, func(a, b DeployedMachine) int { return strings.Compare(a.ID, b.ID) })
	deployed := res.Version
	*d = Deployment{DeployedVersion: &deployed, Machines: machines}
	return nil
}

// rollOutWrite is the rollout a FlySecret or FlyAppSecrets owes after writing version: with
// `deploy: rolling`, the app's machines one at a time.
func (d *Deployment) rollOutWrite(
	ctx context.Context, op *flyapi.Op, app string, deploy *DeployMode, version int64,
) error {
	return d.rollOut(ctx, op, app, rules.OrDefault(deploy, DeployNone), version, StrategyRolling)
}

// begin enters an operation of ctx's resource on app, with the stages it may reach: its write,
// and its deploy when it deploys. End it when the operation returns.
func begin(ctx context.Context, client *flyapi.Client, app string, deploy *DeployMode) *flyapi.Op {
	if rules.OrDefault(deploy, DeployNone) == DeployRolling {
		return client.Begin(app, rules.URN(ctx), flydeploy.StageDeploy)
	}
	return client.Begin(app, rules.URN(ctx))
}

// announce says, at Check, that ctx's resource is about to run an operation on app that reaches
// stages: the app's bulk write (flyapi.StageWrite) and its rollout (flydeploy.StageDeploy) wait for
// it (see flyapi.Client.Announce), so that what one up writes and deploys together is one write
// and one rollout however far apart the engine's calls reach the provider. A resource whose
// diff then has no change is retracted (see the provider's Diff).
func announce(ctx context.Context, app string, stages ...coalesce.Stage) {
	if len(stages) == 0 || rules.URN(ctx) == "" {
		return
	}
	inst, err := config.Of(ctx)
	if err != nil {
		return
	}
	if client, err := inst.Fly(nil); err == nil {
		client.Announce(app, rules.URN(ctx), stages...)
	}
}

// announceWrite is announce for a resource that writes app's secrets, and deploys them when deploy
// is rolling.
func announceWrite(ctx context.Context, app string, deploy string) {
	if deploy == string(DeployRolling) {
		announce(ctx, app, flyapi.StageWrite, flydeploy.StageDeploy)
		return
	}
	announce(ctx, app, flyapi.StageWrite)
}

// wireDeploy declares the dependencies of the deploy input (input, echoed as output) and of the
// rollout's outputs d, which follow the deploy mode and what the write depends on (write).
func wireDeploy(f infer.FieldSelector, input, output **DeployMode, d *Deployment, write ...infer.InputField) {
	mode := f.InputField(input).Computed()
	f.OutputField(output).DependsOn(mode)
	for _, deployed := range []any{&d.DeployedVersion, &d.Machines} {
		f.OutputField(deployed).DependsOn(append(write, mode)...)
	}
}

// deployDescription documents the deploy input of the resources that write secrets.
const deployDescription = "`none` (default): the write is staged, as `fly secrets set --stage`, and machines see it " +
	"when they next start or are updated. `rolling`: after the write, every eligible machine of the app is updated, one " +
	"at a time, with `min_secrets_version` at the version written, and waited on until started and healthy, as " +
	"`fly secrets deploy` does; the deploys of one app in one `pulumi up` are one rollout, to the highest version. " +
	"A machine that fails stops the rollout with an error naming it; the next `pulumi up` resumes it. No release " +
	"record is made (that is Fly's platform API), so `fly secrets list` still shows the secrets as Staged."

// rolloutOwed names the deploy input when the raw state says a rollout is owed (its last one
// failed or never ran), so that the next up runs it even without an init error on record.
func rolloutOwed(state property.Map) string {
	mode := rules.StringProp(state, "deploy")
	version, ok := rules.NonNull(state, "version")
	if mode != string(DeployRolling) || !ok || !version.IsNumber() || version.AsNumber() < 1 {
		return ""
	}
	deployed, ok := rules.NonNull(state, "deployedVersion")
	if ok && deployed.IsNumber() && deployed.AsNumber() >= version.AsNumber() {
		return ""
	}
	return "deploy"
}
