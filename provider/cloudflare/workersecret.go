package cloudflare

import (
	"context"
	_ "embed"
	"errors"
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/cfapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// WorkerSecret manages one secret of a Worker script (a secret_text binding).
type WorkerSecret struct{}

// WorkerSecretArgs are WorkerSecret's inputs.
type WorkerSecretArgs struct {
	ScriptName        string  `pulumi:"scriptName" provider:"replaceOnChanges"`
	Name              string  `pulumi:"name" provider:"replaceOnChanges"`
	Value             string  `pulumi:"value" provider:"secret"`
	AccountID         *string `pulumi:"accountId,optional" provider:"replaceOnChanges" diff:"resolved"`
	DispatchNamespace *string `pulumi:"dispatchNamespace,optional" provider:"replaceOnChanges"`
	APIToken          *string `pulumi:"apiToken,optional" provider:"secret" diff:"credential"`
	Adopt             *bool   `pulumi:"adopt,optional"`
}

// WorkerSecretState is what WorkerSecret records: never the value (Cloudflare never returns it,
// and the state does not keep it), but the digest of the value written and when.
type WorkerSecretState struct {
	ScriptName        string  `pulumi:"scriptName"`
	Name              string  `pulumi:"name"`
	AccountID         string  `pulumi:"accountId"`
	DispatchNamespace string  `pulumi:"dispatchNamespace"`
	APIToken          *string `pulumi:"apiToken,optional" provider:"secret"`
	Adopt             bool    `pulumi:"adopt"`
	Type              string  `pulumi:"type"`
	// Digest is the SHA-256 of the value this resource last wrote: the next update writes when
	// the program's value has another digest. Empty after an import: the next up writes once.
	Digest    string `pulumi:"digest"`
	WrittenAt string `pulumi:"writtenAt"`
}

var (
	_ infer.CustomResource[WorkerSecretArgs, WorkerSecretState] = WorkerSecret{}
	_ infer.CustomCheck[WorkerSecretArgs]                       = WorkerSecret{}
	_ infer.CustomUpdate[WorkerSecretArgs, WorkerSecretState]   = WorkerSecret{}
	_ infer.CustomRead[WorkerSecretArgs, WorkerSecretState]     = WorkerSecret{}
	_ infer.CustomDelete[WorkerSecretState]                     = WorkerSecret{}
	_ infer.Annotated                                           = (*WorkerSecret)(nil)
	_ infer.Annotated                                           = (*WorkerSecretArgs)(nil)
	_ infer.Annotated                                           = (*WorkerSecretState)(nil)
)

var workerSecretRules = rules.Of[WorkerSecretArgs](rules.Rules{})

// workerSecretDoc is the WorkerSecret's schema description, with its examples in every SDK language.
//
//go:embed workersecret.md
var workerSecretDoc string

func (r *WorkerSecret) Annotate(a infer.Annotator) {
	a.SetToken("cloudflare", "WorkerSecret")
	a.Describe(r, rules.Doc(workerSecretDoc))
}

func (a *WorkerSecretArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.ScriptName, "Name of the Worker script. It must exist: a missing script fails the create. "+
		"Changing it replaces the secret.")
	an.Describe(&a.Name, "Secret name, read by the Worker as `env.NAME`: letters, digits, `_` and `$`, not starting "+
		"with a digit. Changing it replaces the secret.")
	an.Describe(&a.Value, "Secret value, at most 5,120 bytes. Always a Pulumi secret; never returned by Cloudflare "+
		"and never recorded in the state (only its digest is).")
	an.Describe(&a.AccountID, "Cloudflare account ID, overriding the provider's `cloudflareAccountId`. "+
		"Changing it replaces the secret.")
	an.Describe(&a.DispatchNamespace, "Workers for Platforms dispatch namespace the script lives in. "+
		"Changing it replaces the secret.")
	an.Describe(&a.APIToken, "Cloudflare API token for this secret only (\"Workers Scripts Write\"), overriding the "+
		"provider's `cloudflareApiToken`. Changing it is not a diff.")
	an.Describe(&a.Adopt, "If the script already has a secret of this name, take it over and write the program's "+
		"value, instead of failing (default `false`).")
	an.SetDefault(&a.Adopt, false)
}

func (s *WorkerSecretState) Annotate(a infer.Annotator) {
	a.Describe(&s.ScriptName, "Name of the Worker script.")
	a.Describe(&s.Name, "Secret name.")
	a.Describe(&s.AccountID, "Cloudflare account ID.")
	a.Describe(&s.DispatchNamespace, "Dispatch namespace of the script (empty for the account's own Workers).")
	a.Describe(&s.APIToken, "The resource's own API token, if given (secret).")
	a.Describe(&s.Adopt, "Whether an existing secret of this name was allowed to be taken over.")
	a.Describe(&s.Type, "The binding type Cloudflare reports: `secret_text`.")
	a.Describe(&s.Digest, "SHA-256 (hex) of the value this resource last wrote. Empty after an import.")
	a.Describe(&s.WrittenAt, "When this resource last wrote the secret (RFC 3339, Cloudflare's clock). Empty after an "+
		"import.")
}

// WireDependencies keeps the token secret and says which inputs each output derives from.
func (WorkerSecret) WireDependencies(f infer.FieldSelector, args *WorkerSecretArgs, state *WorkerSecretState) {
	f.OutputField(&state.APIToken).AlwaysSecret()
	script, name := f.InputField(&args.ScriptName).Computed(), f.InputField(&args.Name).Computed()
	value := f.InputField(&args.Value).Computed()
	f.OutputField(&state.ScriptName).DependsOn(script)
	f.OutputField(&state.Name).DependsOn(name)
	f.OutputField(&state.DispatchNamespace).DependsOn(f.InputField(&args.DispatchNamespace).Computed())
	f.OutputField(&state.APIToken).DependsOn(f.InputField(&args.APIToken).Computed())
	f.OutputField(&state.Adopt).DependsOn(f.InputField(&args.Adopt).Computed())
	for _, written := range []any{&state.Type, &state.Digest, &state.WrittenAt} {
		f.OutputField(written).DependsOn(script, name, value)
	}
}

// Check validates at preview, before any API call, and declares the name for its script.
func (WorkerSecret) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[WorkerSecretArgs], error) {
	return rules.Check[WorkerSecretArgs](ctx, req.NewInputs, func(c *rules.Checker) {
		checkWorkerScript(c)
		c.Pattern("name", workerSecretNamePattern, workerSecretNameRule)
		c.NonEmptyValue(req.OldInputs, "value")
		c.Length("value", limitWorkerValue)
		script, scriptKnown := c.Str("scriptName")
		if name, ok := c.Str("name"); ok && scriptKnown && len(c.Failures) == 0 {
			declareWorkerSecrets(ctx, c, "name", script, []string{name}, nil)
		}
	})
}

// Create writes the secret with the script's other writes of the moment (one bulk call), failing
// with nothing written when the name exists and adopt is off, or the script does not exist.
func (r WorkerSecret) Create(
	ctx context.Context, req infer.CreateRequest[WorkerSecretArgs],
) (infer.CreateResponse[WorkerSecretState], error) {
	in := req.Inputs
	client, err := cloudflareClient(ctx, in.APIToken, in.AccountID)
	if err != nil {
		return infer.CreateResponse[WorkerSecretState]{}, err
	}
	state := in.state(client.AccountID())
	script := workerScriptOf(in.ScriptName, in.DispatchNamespace)
	id := workerID(ctx, state.AccountID, script, in.Name)
	if req.DryRun {
		return infer.CreateResponse[WorkerSecretState]{ID: id, Output: state}, nil
	}
	w := cfapi.WorkerWrite{Set: map[string]string{in.Name: in.Value}, Owner: rules.URN(ctx)}
	if !state.Adopt {
		w.Create = []string{in.Name}
	}
	err = r.write(ctx, client, script, w, &state, in.Value)
	var exists *cfapi.WorkerExistsError
	if errors.As(err, &exists) {
		return infer.CreateResponse[WorkerSecretState]{}, fmt.Errorf("%s already has a secret %q, and this resource "+
			"did not write it; nothing was written. If you renamed this resource, add the old name to its `aliases`. "+
			"Otherwise bring it under management with `pulumi import %s %s %s`, or set `adopt: true` to overwrite it",
			describeWorker(script), in.Name, WorkerSecretToken, req.Name, id)
	}
	return infer.CreateResponse[WorkerSecretState]{ID: id, Output: state}, err
}

// write sends w and records it in state.
func (r WorkerSecret) write(
	ctx context.Context, client *cfapi.Client, script cfapi.WorkerScript, w cfapi.WorkerWrite, state *WorkerSecretState,
	value string,
) error {
	op := client.BeginWorker(script)
	defer op.End()
	res, err := client.WriteWorkerSecrets(ctx, script, w, op)
	if err != nil {
		return workerWriteError(script, state.AccountID, err)
	}
	state.Type, state.Digest, state.WrittenAt = "secret_text", workerDigest(value), rules.Timestamp(res.At)
	return nil
}

// Update writes the value when its digest is not the one last written (a new value, or an
// import's unknown one); a token or adopt change needs no call.
func (r WorkerSecret) Update(
	ctx context.Context, req infer.UpdateRequest[WorkerSecretArgs, WorkerSecretState],
) (infer.UpdateResponse[WorkerSecretState], error) {
	in, old := req.Inputs, req.State
	next := in.state(old.AccountID)
	next.Type, next.Digest, next.WrittenAt = old.Type, old.Digest, old.WrittenAt
	if req.DryRun || workerDigest(in.Value) == old.Digest {
		return infer.UpdateResponse[WorkerSecretState]{Output: next}, nil
	}
	client, err := cloudflareClient(ctx, in.APIToken, &old.AccountID)
	if err != nil {
		return infer.UpdateResponse[WorkerSecretState]{}, err
	}
	script := workerScriptOf(old.ScriptName, &old.DispatchNamespace)
	w := cfapi.WorkerWrite{Set: map[string]string{old.Name: in.Value}, Owner: rules.URN(ctx)}
	err = r.write(ctx, client, script, w, &next, in.Value)
	return infer.UpdateResponse[WorkerSecretState]{Output: next}, err
}

// Read serves refresh and import from the script's listing, shared by every resource of the
// script the operation reads. A secret gone (an upload that dropped it, a `wrangler secret
// delete`) leaves the state: the next up writes it again.
func (r WorkerSecret) Read(
	ctx context.Context, req infer.ReadRequest[WorkerSecretArgs, WorkerSecretState],
) (infer.ReadResponse[WorkerSecretArgs, WorkerSecretState], error) {
	id, err := parseWorkerID("WorkerSecret", req.ID, true)
	if err != nil {
		return infer.ReadResponse[WorkerSecretArgs, WorkerSecretState]{}, err
	}
	state := req.State
	imported := state.ScriptName == ""
	account := &id.account
	if id.account == "" {
		account = nil
	}
	client, err := cloudflareClient(ctx, state.APIToken, account)
	if err != nil {
		return infer.ReadResponse[WorkerSecretArgs, WorkerSecretState]{}, err
	}
	listed, err := client.LookUpWorkerSecrets(ctx, id.script)
	found := false
	for _, s := range listed {
		if s.Name == id.name {
			found, state.Type = true, s.Type
		}
	}
	switch {
	case err != nil && !cfapi.IsWorkerNotFound(err):
		return infer.ReadResponse[WorkerSecretArgs, WorkerSecretState]{}, err
	case !found && imported:
		if err == nil {
			err = fmt.Errorf("%s has no secret %q", describeWorker(id.script), id.name)
		}
		return infer.ReadResponse[WorkerSecretArgs, WorkerSecretState]{}, rules.NotFoundForImport(
			"Worker secret", req.ID, err)
	case !found:
		p.GetLogger(ctx).Warningf("secret %q of %s was removed outside Pulumi (a script upload that did not keep its "+
			"secrets, or `wrangler secret delete`): the next up writes it again", id.name, describeWorker(id.script))
		return infer.ReadResponse[WorkerSecretArgs, WorkerSecretState]{}, nil
	}
	state.ScriptName, state.Name = id.script.Name, id.name
	state.AccountID, state.DispatchNamespace = client.AccountID(), id.script.Namespace
	inputs := req.Inputs
	if imported {
		// The value is unknown (""): the next up writes the program's once.
		inputs = WorkerSecretArgs{ScriptName: state.ScriptName, Name: state.Name, AccountID: &state.AccountID,
			Adopt: &state.Adopt}
		if id.script.Namespace != "" {
			inputs.DispatchNamespace = &state.DispatchNamespace
		}
	}
	return infer.ReadResponse[WorkerSecretArgs, WorkerSecretState]{ID: req.ID, Inputs: inputs, State: state}, nil
}

// Delete removes the secret with the script's other writes of the moment, unless another
// resource of the program declares it now (a key moved to another resource); one never written
// by this resource (imported, not written since) is let go. A script or secret already gone is
// success.
func (r WorkerSecret) Delete(
	ctx context.Context, req infer.DeleteRequest[WorkerSecretState],
) (infer.DeleteResponse, error) {
	s := req.State
	script := workerScriptOf(s.ScriptName, &s.DispatchNamespace)
	if s.Digest == "" {
		p.GetLogger(ctx).Infof("let go of secret %q of %s: this resource never wrote it (it was imported), so it stays",
			s.Name, describeWorker(script))
		return infer.DeleteResponse{}, nil
	}
	client, err := cloudflareClient(ctx, s.APIToken, &s.AccountID)
	if err != nil {
		return infer.DeleteResponse{}, err
	}
	op := client.BeginWorker(script)
	defer op.End()
	res, err := client.WriteWorkerSecrets(ctx, script, cfapi.WorkerWrite{Remove: []string{s.Name}, Owner: rules.URN(ctx)},
		op)
	switch {
	case cfapi.IsWorkerNotFound(err):
		return infer.DeleteResponse{}, nil
	case err != nil:
		return infer.DeleteResponse{}, workerWriteError(script, s.AccountID, err)
	}
	warnKept(ctx, script, res.Kept)
	return infer.DeleteResponse{}, nil
}

// state is the state the inputs describe, before a write fills in the rest.
func (a WorkerSecretArgs) state(accountID string) WorkerSecretState {
	return WorkerSecretState{
		ScriptName:        a.ScriptName,
		Name:              a.Name,
		AccountID:         accountID,
		DispatchNamespace: rules.OrDefault(a.DispatchNamespace, ""),
		APIToken:          a.APIToken,
		Adopt:             rules.OrDefault(a.Adopt, false),
	}
}
