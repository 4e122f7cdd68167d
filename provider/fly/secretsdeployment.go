package fly

import (
	"context"
	_ "embed"
	"slices"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/config"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/flyapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/flydeploy"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// SecretsDeployment rolls an app's machines to the highest of the secrets versions it follows:
// one restart per up for programs that declare one FlySecret per secret.
type SecretsDeployment struct{}

// SecretsDeploymentArgs are SecretsDeployment's inputs.
type SecretsDeploymentArgs struct {
	App             string          `pulumi:"app" provider:"replaceOnChanges"`
	SecretsVersions []int64         `pulumi:"secretsVersions"`
	Strategy        *DeployStrategy `pulumi:"strategy,optional"`
	APIToken        *string         `pulumi:"apiToken,optional" provider:"secret" diff:"credential"`
}

// SecretsDeploymentState is what SecretsDeployment records: its last rollout.
type SecretsDeploymentState struct {
	SecretsDeploymentArgs
	Deployment
}

var (
	_ infer.CustomResource[SecretsDeploymentArgs, SecretsDeploymentState]       = SecretsDeployment{}
	_ infer.CustomCheck[SecretsDeploymentArgs]                                  = SecretsDeployment{}
	_ infer.CustomUpdate[SecretsDeploymentArgs, SecretsDeploymentState]         = SecretsDeployment{}
	_ infer.CustomRead[SecretsDeploymentArgs, SecretsDeploymentState]           = SecretsDeployment{}
	_ infer.CustomDelete[SecretsDeploymentState]                                = SecretsDeployment{}
	_ infer.ExplicitDependencies[SecretsDeploymentArgs, SecretsDeploymentState] = SecretsDeployment{}
	_ infer.Annotated                                                           = (*SecretsDeployment)(nil)
	_ infer.Annotated                                                           = (*SecretsDeploymentArgs)(nil)
)

var secretsDeploymentRules = rules.Of[SecretsDeploymentArgs](rules.Rules{})

// secretsDeploymentDoc is the SecretsDeployment's schema description, with its examples in every SDK language.
//
//go:embed secretsdeployment.md
var secretsDeploymentDoc string

func (r *SecretsDeployment) Annotate(a infer.Annotator) {
	a.SetToken("fly", "SecretsDeployment")
	a.Describe(r, rules.Doc(secretsDeploymentDoc))
}

func (a *SecretsDeploymentArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.App, "Name of the Fly.io app whose machines are rolled.")
	an.Describe(&a.SecretsVersions, "The secrets versions to deploy, typically the `version` outputs of the app's "+
		"FlySecrets: the rollout is to the highest, and runs when it is above the one last deployed.")
	an.Describe(&a.Strategy, "`rolling` (default): one machine at a time; `immediate`: every machine at once.")
	an.Describe(&a.APIToken, "Fly.io API token for this resource only, overriding the provider's `flyApiToken`. "+
		"Changing it is not a diff.")
}

// WireDependencies keeps the token secret and says the rollout follows every input but the token.
func (SecretsDeployment) WireDependencies(
	f infer.FieldSelector, args *SecretsDeploymentArgs, state *SecretsDeploymentState,
) {
	f.OutputField(&state.APIToken).AlwaysSecret()
	app, versions := f.InputField(&args.App).Computed(), f.InputField(&args.SecretsVersions).Computed()
	strategy := f.InputField(&args.Strategy).Computed()
	f.OutputField(&state.App).DependsOn(app)
	f.OutputField(&state.SecretsVersions).DependsOn(versions)
	f.OutputField(&state.Strategy).DependsOn(strategy)
	f.OutputField(&state.APIToken).DependsOn(f.InputField(&args.APIToken).Computed())
	for _, deployed := range []any{&state.DeployedVersion, &state.Machines} {
		f.OutputField(deployed).DependsOn(app, versions, strategy)
	}
}

// Check validates at preview, before any API call.
func (SecretsDeployment) Check(
	ctx context.Context, req infer.CheckRequest,
) (infer.CheckResponse[SecretsDeploymentArgs], error) {
	return rules.Check[SecretsDeploymentArgs](ctx, req.NewInputs, func(c *rules.Checker) {
		checkApp(c)
		c.Credential("apiToken", config.KeyFlyToken)
		if app, ok := c.Str("app"); ok {
			announce(ctx, app, flydeploy.StageDeploy)
		}
		if s, ok := c.Str("strategy"); ok && s != string(StrategyRolling) && s != string(StrategyImmediate) {
			c.Fail("strategy", "strategy is %s: use \"rolling\" or \"immediate\"", rules.Quoted(c.Inputs.Get("strategy"), s))
		}
		if v, ok := c.Inputs.GetOk("secretsVersions"); ok && v.IsArray() {
			for _, item := range v.AsArray().All {
				if item.IsNumber() && item.AsNumber() < 0 {
					c.Fail("secretsVersions", "secretsVersions holds %v: secrets versions are 0 or more", item.AsNumber())
				}
			}
		}
	})
}

// Create rolls the machines to the highest version.
func (r SecretsDeployment) Create(
	ctx context.Context, req infer.CreateRequest[SecretsDeploymentArgs],
) (infer.CreateResponse[SecretsDeploymentState], error) {
	state := SecretsDeploymentState{SecretsDeploymentArgs: req.Inputs}
	if req.DryRun {
		return infer.CreateResponse[SecretsDeploymentState]{ID: req.Inputs.App, Output: state}, nil
	}
	err := r.rollOut(ctx, &state)
	return infer.CreateResponse[SecretsDeploymentState]{ID: req.Inputs.App, Output: state}, err
}

// Update rolls the machines when the highest version is above the one last deployed (or the
// last rollout failed); a version list that did not rise deploys nothing.
func (r SecretsDeployment) Update(
	ctx context.Context, req infer.UpdateRequest[SecretsDeploymentArgs, SecretsDeploymentState],
) (infer.UpdateResponse[SecretsDeploymentState], error) {
	state := req.State
	state.SecretsDeploymentArgs = req.Inputs
	if req.DryRun {
		return infer.UpdateResponse[SecretsDeploymentState]{Output: state}, nil
	}
	err := r.rollOut(ctx, &state)
	return infer.UpdateResponse[SecretsDeploymentState]{Output: state}, err
}

// rollOut deploys the highest version when it is above the one last deployed. Versions of 0
// (FlySecrets just imported, which have written nothing) give nothing to deploy.
func (r SecretsDeployment) rollOut(ctx context.Context, s *SecretsDeploymentState) error {
	version := int64(0)
	if len(s.SecretsVersions) > 0 {
		version = slices.Max(s.SecretsVersions)
	}
	if version < 1 {
		p.GetLogger(ctx).Warningf("nothing to deploy to Fly.io app %s: secretsVersions holds no version above 0 "+
			"(its FlySecrets have not written yet)", s.App)
		return nil
	}
	if !s.pending(DeployRolling, version) {
		return nil // checked before a client is made: an up with nothing owed needs no credential
	}
	client, err := flyClient(ctx, s.APIToken)
	if err != nil {
		return err
	}
	op := client.Begin(s.App, rules.URN(ctx), flydeploy.StageDeploy)
	defer op.End()
	op.Reached(flyapi.StageWrite) // it writes no secret
	return s.rollOut(ctx, op, s.App, DeployRolling, version, rules.OrDefault(s.Strategy, StrategyRolling))
}

// Read keeps the record: a deployment is an action taken, not a thing on Fly.io to read back.
func (SecretsDeployment) Read(
	ctx context.Context, req infer.ReadRequest[SecretsDeploymentArgs, SecretsDeploymentState],
) (infer.ReadResponse[SecretsDeploymentArgs, SecretsDeploymentState], error) {
	return infer.ReadResponse[SecretsDeploymentArgs, SecretsDeploymentState](req), nil
}

// Delete changes nothing on Fly.io: the machines keep the secrets they run.
func (SecretsDeployment) Delete(
	context.Context, infer.DeleteRequest[SecretsDeploymentState],
) (infer.DeleteResponse, error) {
	return infer.DeleteResponse{}, nil
}
