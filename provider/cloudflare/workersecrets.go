package cloudflare

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/cfapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/config"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/ownership"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// WorkerSecrets manages many secrets of one Worker script as one resource: every change,
// removals included, is one secrets-bulk call, one new version of the script.
type WorkerSecrets struct{}

// WorkerSecretsArgs are WorkerSecrets' inputs.
type WorkerSecretsArgs struct {
	ScriptName        string            `pulumi:"scriptName" provider:"replaceOnChanges"`
	Secrets           map[string]string `pulumi:"secrets" provider:"secret"`
	AccountID         *string           `pulumi:"accountId,optional" provider:"replaceOnChanges" diff:"resolved"`
	DispatchNamespace *string           `pulumi:"dispatchNamespace,optional" provider:"replaceOnChanges"`
	APIToken          *string           `pulumi:"apiToken,optional" provider:"secret" diff:"credential"`
	Adopt             *bool             `pulumi:"adopt,optional"`
	KeyTemplate       *string           `pulumi:"keyTemplate,optional"`
	Prune             *bool             `pulumi:"prune,optional"`
	PruneScope        *string           `pulumi:"pruneScope,optional"`
}

// WorkerSecretsState is what WorkerSecrets records: never a value, but per name the digest of
// the value this resource last wrote.
type WorkerSecretsState struct {
	ScriptName        string  `pulumi:"scriptName"`
	AccountID         string  `pulumi:"accountId"`
	DispatchNamespace string  `pulumi:"dispatchNamespace"`
	APIToken          *string `pulumi:"apiToken,optional" provider:"secret"`
	Adopt             bool    `pulumi:"adopt"`
	// Names are the managed names the script had when last seen: one of Digests missing from it
	// was removed outside Pulumi (the next up writes it again).
	Names []string `pulumi:"names"`
	// Digests are the SHA-256 of the value this resource last wrote, by name ("" after an import:
	// unknown, written once by the next up).
	Digests   map[string]string `pulumi:"digests"`
	WrittenAt string            `pulumi:"writtenAt"`
	// KeyTemplate, Prune and PruneScope are the inputs of the last write: a change of scope takes
	// the new scope over anew.
	KeyTemplate *string `pulumi:"keyTemplate,optional"`
	Prune       *bool   `pulumi:"prune,optional"`
	PruneScope  *string `pulumi:"pruneScope,optional"`
	// UnmanagedNames are the script's secrets inside the prune scope that no resource of the
	// program declares and that the script had before this resource took the scope over, as the
	// last refresh found them: the next up removes them (its preview lists each).
	UnmanagedNames []string `pulumi:"unmanagedNames,optional"`
	// PruneSince is when this resource took its prune scope over, less the margin: only secrets
	// the script had in its newest version made before it are pruned.
	PruneSince string `pulumi:"pruneSince,optional"`
	// RemovedNames are the names this resource removed from the script since it took its prune
	// scope over: the Workers API keeps no time per secret, so this is how one written again
	// since (by someone else) is told from a stray.
	RemovedNames []string `pulumi:"removedNames,optional"`
}

var (
	_ infer.CustomResource[WorkerSecretsArgs, WorkerSecretsState] = WorkerSecrets{}
	_ infer.CustomCheck[WorkerSecretsArgs]                        = WorkerSecrets{}
	_ infer.CustomUpdate[WorkerSecretsArgs, WorkerSecretsState]   = WorkerSecrets{}
	_ infer.CustomRead[WorkerSecretsArgs, WorkerSecretsState]     = WorkerSecrets{}
	_ infer.CustomDelete[WorkerSecretsState]                      = WorkerSecrets{}
	_ infer.Annotated                                             = (*WorkerSecrets)(nil)
	_ infer.Annotated                                             = (*WorkerSecretsArgs)(nil)
	_ infer.Annotated                                             = (*WorkerSecretsState)(nil)
)

var workerSecretsRules = rules.Of[WorkerSecretsArgs](rules.Rules{
	Drift: func(state property.Map) string {
		if len(missingWorkerSecrets(rules.StringMap(state, "digests"), stringList(state, "names"))) > 0 {
			return "secrets"
		}
		if prune, ok := rules.NonNull(state, "prune"); ok && prune.IsBool() && prune.AsBool() &&
			len(stringList(state, "unmanagedNames")) > 0 {
			return "secrets"
		}
		return ""
	},
	Removals:      rules.PruneRemovals(workerPruneStrays, workerPruneWillRemove),
	PreviewCreate: rules.PreviewPruneOnCreate(workerPruneStrays, workerPruneWillRemove),
})

// missingWorkerSecrets are the names this resource manages that the script no longer has.
func missingWorkerSecrets(digests map[string]string, present []string) []string {
	var out []string
	for name := range digests {
		if !slices.Contains(present, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func stringList(m property.Map, key string) []string {
	v, ok := rules.NonNull(m, key)
	if !ok || !v.IsArray() {
		return nil
	}
	var out []string
	for _, item := range v.AsArray().All {
		if item.IsString() {
			out = append(out, item.AsString())
		}
	}
	return out
}

// workerSecretsDoc is the WorkerSecrets' schema description, with its examples in every SDK language.
//
//go:embed workersecrets.md
var workerSecretsDoc string

func (r *WorkerSecrets) Annotate(a infer.Annotator) {
	a.SetToken("cloudflare", "WorkerSecrets")
	a.Describe(r, rules.Doc(workerSecretsDoc))
}

func (a *WorkerSecretsArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.ScriptName, "Name of the Worker script. It must exist: a missing script fails the create. "+
		"Changing it replaces the resource.")
	an.Describe(&a.Secrets, "The secrets, by key: each is written as the secret named by `keyTemplate` (the key "+
		"itself without one), read by the Worker as `env.NAME`. The whole map is a Pulumi secret; values are never "+
		"recorded in the state (only their digests are).")
	an.Describe(&a.AccountID, "Cloudflare account ID, overriding the provider's `cloudflareAccountId`. "+
		"Changing it replaces the resource.")
	an.Describe(&a.DispatchNamespace, "Workers for Platforms dispatch namespace the script lives in. "+
		"Changing it replaces the resource.")
	an.Describe(&a.APIToken, "Cloudflare API token for this resource only, overriding the provider's "+
		"`cloudflareApiToken`. Changing it is not a diff.")
	an.Describe(&a.Adopt, "Take over names the script already has, writing the program's values, instead of "+
		"failing (default `false`).")
	an.SetDefault(&a.Adopt, false)
	an.Describe(&a.KeyTemplate, "The secret name of each key, with `{{key}}` standing for the key, e.g. "+
		"`PROD_{{key}}`. Without one, a key is its own name. Changing it renames the secrets, in one write.")
	an.Describe(&a.Prune, "Remove the script's secrets inside the prune scope that this resource does not manage "+
		"(default `false`). The scope is `pruneScope`, or without one the names `keyTemplate` makes (its fixed parts, "+
		"e.g. `PROD_*` for `PROD_{{key}}`); a whole script is pruned only with `pruneScope: \"*\"`. Only secrets the "+
		"script had before this resource took the scope over are removed, each listed in the preview; one written "+
		"into the scope later is kept, with a warning, and a secret another resource of the program declares inside "+
		"the scope fails the preview. A Workers for Platforms script has no version history to tell that, so prune "+
		"removes nothing there (each candidate is named in a warning).")
	an.Describe(&a.PruneScope, "The names `prune` may remove: a pattern where `*` stands for any run of characters, "+
		"e.g. `PROD_*`, or `*` for every secret of the script (this resource then owns the whole script).")
}

func (s *WorkerSecretsState) Annotate(a infer.Annotator) {
	a.Describe(&s.ScriptName, "Name of the Worker script.")
	a.Describe(&s.AccountID, "Cloudflare account ID.")
	a.Describe(&s.DispatchNamespace, "Dispatch namespace of the script (empty for the account's own Workers).")
	a.Describe(&s.APIToken, "The resource's own API token, if given (secret).")
	a.Describe(&s.Adopt, "Whether existing names were allowed to be taken over.")
	a.Describe(&s.Names, "The managed names the script had when last seen, sorted.")
	a.Describe(&s.Digests, "SHA-256 (hex) of the value this resource last wrote, by name. Empty strings after an "+
		"import.")
	a.Describe(&s.WrittenAt, "When this resource last wrote (RFC 3339, Cloudflare's clock).")
	a.Describe(&s.KeyTemplate, "The key template of the last write.")
	a.Describe(&s.Prune, "Whether the last write pruned.")
	a.Describe(&s.PruneScope, "The explicit prune scope of the last write, if any.")
	a.Describe(&s.UnmanagedNames, "Secrets of the script inside the prune scope that no resource of the program "+
		"manages and that the script had before this resource took the scope over, as the last refresh found them: "+
		"the next `pulumi up` removes them.")
	a.Describe(&s.PruneSince, "When this resource took its prune scope over (RFC 3339), less a margin of ten "+
		"minutes: only secrets the script had before it are pruned.")
	a.Describe(&s.RemovedNames, "Names this resource removed from the script since it took its prune scope over: "+
		"one that appears again was written since by someone else, and prune keeps it.")
}

// WireDependencies keeps the token secret and says which inputs each output derives from.
func (WorkerSecrets) WireDependencies(f infer.FieldSelector, args *WorkerSecretsArgs, state *WorkerSecretsState) {
	f.OutputField(&state.APIToken).AlwaysSecret()
	script, secrets := f.InputField(&args.ScriptName).Computed(), f.InputField(&args.Secrets).Computed()
	f.OutputField(&state.ScriptName).DependsOn(script)
	f.OutputField(&state.DispatchNamespace).DependsOn(f.InputField(&args.DispatchNamespace).Computed())
	f.OutputField(&state.APIToken).DependsOn(f.InputField(&args.APIToken).Computed())
	f.OutputField(&state.Adopt).DependsOn(f.InputField(&args.Adopt).Computed())
	template, prune := f.InputField(&args.KeyTemplate).Computed(), f.InputField(&args.Prune).Computed()
	scope := f.InputField(&args.PruneScope).Computed()
	f.OutputField(&state.KeyTemplate).DependsOn(template)
	f.OutputField(&state.Prune).DependsOn(prune)
	f.OutputField(&state.PruneScope).DependsOn(scope)
	f.OutputField(&state.PruneSince).DependsOn(prune, scope, template)
	f.OutputField(&state.UnmanagedNames).DependsOn(script, secrets, template, prune, scope)
	f.OutputField(&state.RemovedNames).DependsOn(script, secrets, template, prune, scope)
	for _, written := range []any{&state.Names, &state.Digests, &state.WrittenAt} {
		f.OutputField(written).DependsOn(script, secrets, template, prune, scope)
	}
}

// Check validates at preview, before any API call, never echoing a value, and declares the names.
func (WorkerSecrets) Check(
	ctx context.Context, req infer.CheckRequest,
) (infer.CheckResponse[WorkerSecretsArgs], error) {
	return rules.Check[WorkerSecretsArgs](ctx, req.NewInputs, func(c *rules.Checker) {
		checkWorkerScript(c)
		template, templateOK := c.KeyTemplate()
		if !templateOK {
			return // an unknown or bad template: the names are checked once it is known and good
		}
		c.SecretMap("secrets", req.OldInputs, func(key string) string {
			name := ownership.NameFor(template, key)
			if !workerSecretNamePattern.MatchString(name) {
				what := fmt.Sprintf("secrets[%q]", key)
				if name != key {
					what += fmt.Sprintf(" (named %q by keyTemplate)", name)
				}
				return fmt.Sprintf("%s is not a valid name: %s", what, workerSecretNameRule)
			}
			return ""
		}, limitWorkerValue)
		scopeKnown, scope := c.PruneScope(template, "script")
		m, given := c.Inputs.GetOk("secrets")
		if !given || !m.IsMap() || m.IsComputed() {
			return
		}
		if reason := limitWorkerSecrets.Exceeds("secrets", m.AsMap().Len()); reason != "" {
			c.Fail("secrets", "%s", reason)
		}
		script, ok := c.Str("scriptName")
		if !ok || !scopeKnown || len(c.Failures) > 0 {
			return
		}
		var names []string
		for key := range m.AsMap().AllStable {
			names = append(names, ownership.NameFor(template, key))
		}
		declareWorkerSecrets(ctx, c, "secrets", script, names, scope)
	})
}

// Create writes the whole map in one bulk call with the script's other writes of the moment:
// names that exist are taken over only with adopt; otherwise nothing is written.
func (r WorkerSecrets) Create(
	ctx context.Context, req infer.CreateRequest[WorkerSecretsArgs],
) (infer.CreateResponse[WorkerSecretsState], error) {
	in := req.Inputs
	client, err := cloudflareClient(ctx, in.APIToken, in.AccountID)
	if err != nil {
		return infer.CreateResponse[WorkerSecretsState]{}, err
	}
	state := in.state(client.AccountID())
	script := workerScriptOf(in.ScriptName, in.DispatchNamespace)
	id := workerID(ctx, state.AccountID, script, "")
	if req.DryRun {
		state.Names = slices.Sorted(maps.Keys(in.byName()))
		return infer.CreateResponse[WorkerSecretsState]{ID: id, Output: state}, nil
	}
	err = r.apply(ctx, client, script, in, &state)
	var exists *cfapi.WorkerExistsError
	if errors.As(err, &exists) {
		return infer.CreateResponse[WorkerSecretsState]{}, fmt.Errorf("%s already has secrets %s, and this resource "+
			"did not write them; nothing was written. If you renamed this resource, add the old name to its `aliases`. "+
			"Otherwise set `adopt: true` to overwrite them (a move from a WorkerSecret in the same up needs it too), or "+
			"import the script's secrets with `pulumi import %s %s %s`", describeWorker(script),
			quoted(exists.Names), WorkerSecretsToken, req.Name, id)
	}
	return infer.CreateResponse[WorkerSecretsState]{ID: id, Output: state}, err
}

func quoted(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(out, ", ")
}

// Update writes, in one bulk call, what changed: new values, values whose digest is not the one
// last written (changed, unknown after an import, or removed outside Pulumi), removals of
// names dropped from the map (from the state) and, with prune, the scope's strays.
func (r WorkerSecrets) Update(
	ctx context.Context, req infer.UpdateRequest[WorkerSecretsArgs, WorkerSecretsState],
) (infer.UpdateResponse[WorkerSecretsState], error) {
	in, old := req.Inputs, req.State
	next := old
	next.APIToken, next.Adopt = in.APIToken, rules.OrDefault(in.Adopt, false)
	if req.DryRun {
		next.Names = slices.Sorted(maps.Keys(in.byName()))
		next.KeyTemplate, next.Prune, next.PruneScope = in.KeyTemplate, in.Prune, in.PruneScope
		if _, on := in.pruneScope(); !on {
			next.UnmanagedNames, next.PruneSince, next.RemovedNames = nil, "", nil
		}
		return infer.UpdateResponse[WorkerSecretsState]{Output: next}, nil
	}
	client, err := cloudflareClient(ctx, in.APIToken, &old.AccountID)
	if err != nil {
		return infer.UpdateResponse[WorkerSecretsState]{}, err
	}
	script := workerScriptOf(old.ScriptName, &old.DispatchNamespace)
	err = r.apply(ctx, client, script, in, &next)
	return infer.UpdateResponse[WorkerSecretsState]{Output: next}, err
}

// apply makes the one write that takes state to the inputs in, and records it: state holds the
// last write's inputs (the inputs themselves for a create).
func (r WorkerSecrets) apply(
	ctx context.Context, client *cfapi.Client, script cfapi.WorkerScript, in WorkerSecretsArgs, state *WorkerSecretsState,
) error {
	w := cfapi.WorkerWrite{Set: map[string]string{}, Owner: rules.URN(ctx)}
	missing := missingWorkerSecrets(state.Digests, state.Names)
	want := in.byName()
	if scope, on := in.pruneScope(); on {
		if state.PruneSince == "" || !sameWorkerPruneScope(state.args(), in) {
			state.PruneSince, state.RemovedNames = config.PruneSinceNow(ctx), nil
		}
		w.Prune = &cfapi.WorkerPrune{Match: scope.Match, Describe: scope.Describe, Before: parseTime(state.PruneSince),
			Managed: slices.Sorted(maps.Keys(want)), RemovedSince: state.RemovedNames}
	} else {
		state.PruneSince, state.UnmanagedNames, state.RemovedNames = "", nil, nil
	}
	state.KeyTemplate, state.Prune, state.PruneScope = in.KeyTemplate, in.Prune, in.PruneScope
	for name, value := range want {
		written, managed := state.Digests[name]
		switch {
		case !managed:
			w.Set[name] = value
			if !rules.OrDefault(in.Adopt, false) {
				w.Create = append(w.Create, name)
			}
		case written != workerDigest(value) || slices.Contains(missing, name):
			w.Set[name] = value
		}
	}
	for name, written := range state.Digests {
		if _, kept := want[name]; kept {
			continue
		}
		if written != "" { // one imported and never written is let go: it stays on the script
			w.Remove = append(w.Remove, name)
		}
		delete(state.Digests, name)
	}
	slices.Sort(w.Create)
	slices.Sort(w.Remove)
	op := client.BeginWorker(script)
	defer op.End()
	if len(w.Set) == 0 && len(w.Remove) == 0 && w.Prune == nil {
		op.Reached(cfapi.StageWorkerWrite)
		state.Names = slices.Sorted(maps.Keys(want))
		return nil
	}
	res, err := client.WriteWorkerSecrets(ctx, script, w, op)
	if err != nil {
		return workerWriteError(script, state.AccountID, err)
	}
	warnKept(ctx, script, res.Kept)
	for _, name := range res.Removed {
		if !slices.Contains(w.Remove, name) {
			p.GetLogger(ctx).Infof("prune removed secret %q of %s", name, describeWorker(script))
		}
	}
	state.UnmanagedNames = nil
	if w.Prune != nil {
		state.RemovedNames = removedSince(state.RemovedNames, res.Removed, want)
	}
	if state.Digests == nil {
		state.Digests = map[string]string{}
	}
	for name, value := range w.Set {
		state.Digests[name] = workerDigest(value)
	}
	state.Names = slices.Sorted(maps.Keys(want))
	if len(w.Set) > 0 || len(res.Removed) > 0 { // a prune that found nothing to remove wrote nothing
		state.WrittenAt = rules.Timestamp(res.At)
	}
	return nil
}

// Read serves refresh and import from the script's shared listing. A managed name the script no
// longer has drops out of names: the diff then writes it again.
func (r WorkerSecrets) Read(
	ctx context.Context, req infer.ReadRequest[WorkerSecretsArgs, WorkerSecretsState],
) (infer.ReadResponse[WorkerSecretsArgs, WorkerSecretsState], error) {
	id, err := parseWorkerID("WorkerSecrets", req.ID, false)
	if err != nil {
		return infer.ReadResponse[WorkerSecretsArgs, WorkerSecretsState]{}, err
	}
	state := req.State
	imported := state.ScriptName == ""
	account := &id.account
	if id.account == "" {
		account = nil
	}
	client, err := cloudflareClient(ctx, state.APIToken, account)
	if err != nil {
		return infer.ReadResponse[WorkerSecretsArgs, WorkerSecretsState]{}, err
	}
	listed, err := client.LookUpWorkerSecrets(ctx, id.script)
	switch {
	case err != nil && imported:
		return infer.ReadResponse[WorkerSecretsArgs, WorkerSecretsState]{}, rules.NotFoundForImport(
			"Worker script", req.ID, err)
	case cfapi.IsWorkerNotFound(err):
		return infer.ReadResponse[WorkerSecretsArgs, WorkerSecretsState]{}, nil // the script is gone, its secrets too
	case err != nil:
		return infer.ReadResponse[WorkerSecretsArgs, WorkerSecretsState]{}, err
	}
	inputs := req.Inputs
	if imported {
		state.ScriptName, state.AccountID, state.DispatchNamespace = id.script.Name, client.AccountID(), id.script.Namespace
		state.Digests = map[string]string{}
		inputs = WorkerSecretsArgs{ScriptName: state.ScriptName, AccountID: &state.AccountID, Adopt: &state.Adopt,
			Secrets: map[string]string{}}
		if id.script.Namespace != "" {
			inputs.DispatchNamespace = &state.DispatchNamespace
		}
		for _, s := range listed {
			if s.Type == "secret_text" {
				state.Digests[s.Name] = ""  // unknown: the next up writes the program's value
				inputs.Secrets[s.Name] = "" // the placeholder Check accepts for an unknown value
			}
		}
	}
	state.Names = nil
	for _, s := range listed {
		if _, managed := state.Digests[s.Name]; managed {
			state.Names = append(state.Names, s.Name)
		}
	}
	slices.Sort(state.Names)
	if state.Names == nil {
		state.Names = []string{}
	}
	if gone := missingWorkerSecrets(state.Digests, state.Names); len(gone) > 0 {
		p.GetLogger(ctx).Warningf("secrets %s of %s were removed outside Pulumi (a script upload that did not keep its "+
			"secrets, or `wrangler secret delete`): the next up writes them again", quoted(gone),
			describeWorker(id.script))
	}
	if err := refreshWorkerStrays(ctx, client, id.script, &state); err != nil {
		return infer.ReadResponse[WorkerSecretsArgs, WorkerSecretsState]{}, err
	}
	return infer.ReadResponse[WorkerSecretsArgs, WorkerSecretsState]{ID: req.ID, Inputs: inputs, State: state}, nil
}

// Delete removes every name this resource wrote, in one bulk call, leaving those another resource
// of the program declares now (a move) and letting go of those it never wrote (imported).
func (r WorkerSecrets) Delete(
	ctx context.Context, req infer.DeleteRequest[WorkerSecretsState],
) (infer.DeleteResponse, error) {
	s := req.State
	script := workerScriptOf(s.ScriptName, &s.DispatchNamespace)
	var remove []string
	for _, name := range slices.Sorted(maps.Keys(s.Digests)) {
		if s.Digests[name] != "" {
			remove = append(remove, name)
		} else {
			p.GetLogger(ctx).Infof("let go of secret %q of %s: this resource never wrote it (it was imported), so it "+
				"stays", name, describeWorker(script))
		}
	}
	if len(remove) == 0 {
		return infer.DeleteResponse{}, nil
	}
	client, err := cloudflareClient(ctx, s.APIToken, &s.AccountID)
	if err != nil {
		return infer.DeleteResponse{}, err
	}
	op := client.BeginWorker(script)
	defer op.End()
	res, err := client.WriteWorkerSecrets(ctx, script, cfapi.WorkerWrite{Remove: remove, Owner: rules.URN(ctx)}, op)
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
func (a WorkerSecretsArgs) state(accountID string) WorkerSecretsState {
	return WorkerSecretsState{
		ScriptName:        a.ScriptName,
		AccountID:         accountID,
		DispatchNamespace: rules.OrDefault(a.DispatchNamespace, ""),
		APIToken:          a.APIToken,
		Adopt:             rules.OrDefault(a.Adopt, false),
		Digests:           map[string]string{},
		Names:             []string{},
		KeyTemplate:       a.KeyTemplate,
		Prune:             a.Prune,
		PruneScope:        a.PruneScope,
	}
}
