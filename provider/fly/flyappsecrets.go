package fly

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/config"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/flyapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/instant"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/ownership"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// FlyAppSecrets manages many secrets of one Fly.io app as one resource: every change, removals
// included, is one bulk write.
type FlyAppSecrets struct{}

// FlyAppSecretsArgs are FlyAppSecrets' inputs.
type FlyAppSecretsArgs struct {
	App         string            `pulumi:"app" provider:"replaceOnChanges"`
	Secrets     map[string]string `pulumi:"secrets" provider:"secret"`
	Encoding    *ValueEncoding    `pulumi:"encoding,optional"`
	KeyTemplate *string           `pulumi:"keyTemplate,optional"`
	Prune       *bool             `pulumi:"prune,optional"`
	PruneScope  *string           `pulumi:"pruneScope,optional"`
	Adopt       *bool             `pulumi:"adopt,optional"`
	Deploy      *DeployMode       `pulumi:"deploy,optional"`
	APIToken    *string           `pulumi:"apiToken,optional" provider:"secret" diff:"credential"`
}

// FlyAppSecretsState is what FlyAppSecrets records, per Fly name: the digest Fly last reported,
// and the digest and time of this resource's last write, which tell a change made outside
// Pulumi (a diff that writes the value back) and a secret someone else wrote since (which a
// removal or a delete leaves in place).
type FlyAppSecretsState struct {
	FlyAppSecretsArgs
	Names          []string          `pulumi:"names"`
	Digests        map[string]string `pulumi:"digests"`
	WrittenDigests map[string]string `pulumi:"writtenDigests"`
	WrittenAt      map[string]string `pulumi:"writtenAt"`
	Version        int64             `pulumi:"version"`
	// UnmanagedNames are the secrets of the app inside the prune scope that no resource of the
	// program declares and that were there before this resource took the scope over, as the
	// last refresh or up found them: the next up unsets them (its preview lists each).
	UnmanagedNames []string `pulumi:"unmanagedNames,optional"`
	// PruneSince is when this resource took its prune scope over, less a margin: only secrets
	// written before it are pruned; one written into the scope since is someone else's.
	PruneSince string `pulumi:"pruneSince,optional"`
	Deployment
}

var (
	_ infer.CustomResource[FlyAppSecretsArgs, FlyAppSecretsState]       = FlyAppSecrets{}
	_ infer.CustomCheck[FlyAppSecretsArgs]                              = FlyAppSecrets{}
	_ infer.CustomUpdate[FlyAppSecretsArgs, FlyAppSecretsState]         = FlyAppSecrets{}
	_ infer.CustomRead[FlyAppSecretsArgs, FlyAppSecretsState]           = FlyAppSecrets{}
	_ infer.CustomDelete[FlyAppSecretsState]                            = FlyAppSecrets{}
	_ infer.ExplicitDependencies[FlyAppSecretsArgs, FlyAppSecretsState] = FlyAppSecrets{}
	_ infer.Annotated                                                   = (*FlyAppSecrets)(nil)
	_ infer.Annotated                                                   = (*FlyAppSecretsArgs)(nil)
	_ infer.Annotated                                                   = (*FlyAppSecretsState)(nil)
)

var flyAppSecretsRules = rules.Of[FlyAppSecretsArgs](rules.Rules{
	Removals:      rules.PruneRemovals(pruneStrays, pruneWillUnset),
	PreviewCreate: rules.PreviewPruneOnCreate(pruneStrays, pruneWillUnset),
	Drift: func(state property.Map) string {
		s := appSecretsRecordOf(state)
		if len(s.drifted()) > 0 || (s.prune && len(s.unmanaged) > 0) {
			return "secrets"
		}
		return rolloutOwed(state)
	},
	DriftChanges: map[string][]string{
		"secrets": {"digests", "version", "writtenDigests", "writtenAt", "deployedVersion", "machines"},
		"deploy":  {"deployedVersion", "machines"},
	},
})

// flyAppSecretsDoc is the FlyAppSecrets' schema description, with its examples in every SDK language.
//
//go:embed flyappsecrets.md
var flyAppSecretsDoc string

func (r *FlyAppSecrets) Annotate(a infer.Annotator) {
	a.SetToken("fly", "FlyAppSecrets")
	a.Describe(r, rules.Doc(flyAppSecretsDoc))
}

func (a *FlyAppSecretsArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.App, "Name of the Fly.io app. Changing it replaces the resource.")
	an.Describe(&a.Secrets, "The secrets, by key: each is written as the Fly secret named by `keyTemplate` (the key "+
		"itself without one). The whole map is a Pulumi secret.")
	an.Describe(&a.Encoding, "How the values are written: `plain` (default) as they are, or `base64` to have the "+
		"provider base64-encode them, for fly.toml `[[files]]` mounts.")
	an.SetDefault(&a.Encoding, EncodingPlain)
	an.Describe(&a.KeyTemplate, "The Fly name of each key, with `{{key}}` standing for the key, e.g. `PROD_{{key}}`. "+
		"Without one, a key is its own name. Changing it renames the secrets, in one write.")
	an.Describe(&a.Prune, "Unset the app's secrets inside the prune scope that this resource does not manage "+
		"(default `false`). The scope is `pruneScope`, or without one the names `keyTemplate` makes (its fixed parts, "+
		"e.g. `PROD_*` for `PROD_{{key}}`); a whole app is pruned only with `pruneScope: \"*\"`. Only secrets that were "+
		"there before this resource took the scope over are unset, each listed in the preview; one written into the "+
		"scope later is kept, with a warning (another resource, stack or person writes it), and a secret another "+
		"resource of the program declares inside the scope fails the preview.")
	an.Describe(&a.PruneScope, "The names `prune` may unset: a pattern where `*` stands for any run of characters, "+
		"e.g. `PROD_*`, or `*` for every secret of the app (this resource then owns the whole app).")
	an.Describe(&a.Adopt, "Take over keys that already exist on the app, writing the program's values, instead of "+
		"failing (default `false`).")
	an.Describe(&a.Deploy, deployDescription)
	an.Describe(&a.APIToken, "Fly.io API token for this resource only, overriding the provider's `flyApiToken`. "+
		"Changing it is not a diff.")
}

func (s *FlyAppSecretsState) Annotate(a infer.Annotator) {
	a.Describe(&s.Names, "The Fly names of the secrets this resource manages, sorted.")
	a.Describe(&s.Digests, "Digest of each managed secret's stored value, by Fly name, as Fly.io last reported it.")
	a.Describe(&s.WrittenDigests, "The digest of the value this resource last wrote, by Fly name: a `digests` entry "+
		"that differs means the value was changed outside Pulumi. Empty after an import.")
	a.Describe(&s.WrittenAt, "When this resource last wrote each secret (RFC 3339), by Fly name. Empty after an import.")
	a.Describe(&s.Version, "The app's secrets version after this resource's last write. Machines at "+
		"`min_secrets_version` >= this value see every value written. 0 after an import.")
	a.Describe(&s.UnmanagedNames, "Secrets of the app inside the prune scope that no resource of the program manages and "+
		"that were there before this resource took the scope over, as the last refresh or up found them: the next "+
		"`pulumi up` unsets them.")
	a.Describe(&s.PruneSince, "When this resource took its prune scope over (RFC 3339), less a margin of ten minutes: "+
		"only secrets written before it are pruned.")
}

// WireDependencies keeps the values and token secret in every output and says which inputs
// each output derives from.
func (FlyAppSecrets) WireDependencies(f infer.FieldSelector, args *FlyAppSecretsArgs, state *FlyAppSecretsState) {
	f.OutputField(&state.Secrets).AlwaysSecret()
	f.OutputField(&state.APIToken).AlwaysSecret()
	app, secrets := f.InputField(&args.App).Computed(), f.InputField(&args.Secrets).Computed()
	encoding, template := f.InputField(&args.Encoding).Computed(), f.InputField(&args.KeyTemplate).Computed()
	prune := f.InputField(&args.Prune).Computed()
	scope := f.InputField(&args.PruneScope).Computed()
	f.OutputField(&state.PruneScope).DependsOn(scope)
	f.OutputField(&state.PruneSince).DependsOn(prune, scope, template)
	f.OutputField(&state.App).DependsOn(app)
	f.OutputField(&state.Secrets).DependsOn(secrets)
	f.OutputField(&state.Encoding).DependsOn(encoding)
	f.OutputField(&state.KeyTemplate).DependsOn(template)
	f.OutputField(&state.Prune).DependsOn(prune)
	f.OutputField(&state.Adopt).DependsOn(f.InputField(&args.Adopt).Computed())
	f.OutputField(&state.APIToken).DependsOn(f.InputField(&args.APIToken).Computed())
	f.OutputField(&state.Names).DependsOn(secrets, template)
	f.OutputField(&state.UnmanagedNames).DependsOn(app, secrets, template, prune, scope)
	for _, written := range []any{&state.Digests, &state.WrittenDigests, &state.WrittenAt, &state.Version} {
		f.OutputField(written).DependsOn(app, secrets, encoding, template, prune, scope)
	}
	wireDeploy(f, &args.Deploy, &state.Deploy, &state.Deployment, app, secrets, encoding, template, prune, scope)
}

// Check validates at preview, before any API call: the app, the template, and every key's
// Fly name and value (never echoing a value).
func (FlyAppSecrets) Check(
	ctx context.Context, req infer.CheckRequest,
) (infer.CheckResponse[FlyAppSecretsArgs], error) {
	return rules.Check[FlyAppSecretsArgs](ctx, req.NewInputs, func(c *rules.Checker) {
		checkApp(c)
		checkEncoding(c)
		template, templateOK := c.KeyTemplate()
		if !templateOK {
			return // an unknown or bad template: the names are checked once it is known and good
		}
		names := func(key string) string {
			name := ownership.NameFor(template, key)
			what := fmt.Sprintf("the Fly name of secrets[%q]", key)
			if name != key {
				what += fmt.Sprintf(" (%q)", name)
			}
			if !secretNamePattern.MatchString(name) {
				return what + " is not a valid secret name: secret names become environment variables: use letters, " +
					"digits and underscores, not starting with a digit"
			}
			return limitSecretName.Exceeds(what, len(name))
		}
		c.SecretMap("secrets", req.OldInputs, names, limitValue)
		c.Credential("apiToken", config.KeyFlyToken)
		scopeKnown, scope := c.PruneScope(template, "app")
		app, appKnown := c.Str("app")
		if appKnown {
			deploy, _ := c.Str("deploy")
			announceWrite(ctx, app, deploy)
		}
		m, mapGiven := c.Inputs.GetOk("secrets")
		if !appKnown || !mapGiven || !m.IsMap() || m.IsComputed() || !scopeKnown || len(c.Failures) > 0 {
			return // names and scope checked once they are known
		}
		var flyNames []string
		for key := range m.AsMap().AllStable {
			flyNames = append(flyNames, ownership.NameFor(template, key))
		}
		declare(ctx, c, "secrets", app, flyNames, scope)
	})
}

// Create writes every secret in one bulk call with the other writes of the moment: keys that
// exist are taken over only with adopt (and confirmed, see confirmTakeover); with prune the
// scope's strays are unset in the same call.
func (r FlyAppSecrets) Create(
	ctx context.Context, req infer.CreateRequest[FlyAppSecretsArgs],
) (infer.CreateResponse[FlyAppSecretsState], error) {
	in := req.Inputs
	client, err := flyClient(ctx, in.APIToken)
	if err != nil {
		return infer.CreateResponse[FlyAppSecretsState]{}, err
	}
	if req.DryRun {
		return infer.CreateResponse[FlyAppSecretsState]{ID: in.App, Output: in.preview()}, nil
	}
	state, err := newAppSecretsRecord(in).apply(ctx, client, in, nil, req.Name)
	return infer.CreateResponse[FlyAppSecretsState]{ID: in.App, Output: state}, err
}

// Update writes, in one bulk call, what changed: new and changed values, values changed outside
// Pulumi, keys removed from the program (from the old state) and, with prune, the scope's
// strays. The conditions of the unsets are decided when the call is sent.
func (r FlyAppSecrets) Update(
	ctx context.Context, req infer.UpdateRequest[FlyAppSecretsArgs, FlyAppSecretsState],
) (infer.UpdateResponse[FlyAppSecretsState], error) {
	in, old := req.Inputs, req.State
	client, err := flyClient(ctx, in.APIToken)
	if err != nil {
		return infer.UpdateResponse[FlyAppSecretsState]{}, err
	}
	if req.DryRun {
		next := in.preview()
		if slices.Equal(next.Names, old.Names) {
			next.Digests, next.WrittenDigests = old.Digests, old.WrittenDigests
			next.WrittenAt, next.Version = old.WrittenAt, old.Version
		}
		next.UnmanagedNames, next.PruneSince = old.UnmanagedNames, old.PruneSince
		next.Deployment = old.Deployment
		return infer.UpdateResponse[FlyAppSecretsState]{Output: next}, nil
	}
	rec := recordOf(old)
	next, err := rec.apply(ctx, client, in, &old, "<name>")
	return infer.UpdateResponse[FlyAppSecretsState]{Output: next}, err
}

// apply makes the one bulk write that takes the record to the inputs in (old: the state of the
// last write, nil for a create), confirms what it took over, records the answer, and runs the
// rollout it owes.
func (r *appSecretsRecord) apply(
	ctx context.Context, client *flyapi.Client, in FlyAppSecretsArgs, old *FlyAppSecretsState, resourceName string,
) (FlyAppSecretsState, error) {
	op := begin(ctx, client, in.App, in.Deploy)
	defer op.End()
	owner := rules.URN(ctx)
	var oldArgs *FlyAppSecretsArgs
	if old != nil {
		oldArgs = &old.FlyAppSecretsArgs
		r.pruneSince = old.PruneSince
	}
	w, values := r.plan(in, oldArgs)
	w.Owner = owner
	if scope, on := pruneScopeOf(in); on {
		if r.pruneSince == "" || oldArgs == nil || !samePruneScope(*oldArgs, in) {
			r.pruneSince = config.PruneSinceNow(ctx)
		}
		w.Prune = &flyapi.Prune{Match: scope.Match, Managed: slices.Sorted(maps.Keys(values)), Before: r.since()}
	} else {
		r.pruneSince = ""
	}
	var res flyapi.WriteResult
	var err error
	if len(w.Changes) > 0 || w.Prune != nil {
		res, err = op.Write(ctx, w)
	}
	var exists *flyapi.ExistsError
	if errors.As(err, &exists) {
		names := make([]string, len(exists.Secrets))
		for i, s := range exists.Secrets {
			names[i] = s.Name
		}
		//nolint:staticcheck // "Fly.io" is a proper noun
		return FlyAppSecretsState{}, fmt.Errorf("Fly.io app %q already has secrets %s, and this resource does not "+
			"manage them. If you renamed this resource, add the old name to its `aliases`. Otherwise bring just these "+
			"under management with `pulumi import %s %s '%s'` (the app's other secrets stay outside it), or set "+
			"`adopt: true` to overwrite them", in.App, strings.Join(names, ", "), FlyAppSecretsToken, resourceName,
			importID(in.App, orEmpty(in.KeyTemplate), keysOf(orEmpty(in.KeyTemplate), names)))
	}
	if err != nil {
		return FlyAppSecretsState{}, err
	}
	op.Reached(flyapi.StageWrite)
	if res, err = confirmTakeover(ctx, op, in.App, owner, res, values); err != nil {
		return FlyAppSecretsState{}, err
	}
	r.record(ctx, in.App, w, res)
	next := r.state(in)
	if old != nil {
		next.Deployment = old.Deployment
	}
	err = next.rollOutWrite(ctx, op, next.App, next.Deploy, next.Version)
	return next, err
}

func (r *appSecretsRecord) since() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, r.pruneSince)
	return t
}

// record takes in what the write did: the secrets it wrote, those it unset or left (a removal
// another owner now holds is no longer this resource's), and what prune kept.
func (r *appSecretsRecord) record(ctx context.Context, app string, w flyapi.Write, res flyapi.WriteResult) {
	log := p.GetLogger(ctx)
	for _, name := range res.Unset {
		log.Infof("unset Fly.io secret %s/%s", app, name)
		r.forget(name)
	}
	for _, ch := range w.Changes {
		if ch.Kind != flyapi.Unset {
			r.names[ch.Name] = true
			if s, ok := res.Secrets[ch.Name]; ok {
				r.digests[ch.Name], r.writtenDigests[ch.Name] = s.Digest, s.Digest
				r.at[ch.Name] = rules.Timestamp(s.UpdatedAt)
			}
			continue
		}
		if why, left := res.Left[ch.Name]; left {
			leftInPlace(ctx, app, ch.Name, why)
			r.forget(ch.Name)
		}
	}
	for _, name := range sortedKeysOf(res.Left) {
		if !r.names[name] && !slices.ContainsFunc(w.Changes, func(c flyapi.Change) bool { return c.Name == name }) {
			log.Warningf("prune kept Fly.io secret %s/%s: %s", app, name, res.Left[name])
		}
	}
	if res.Version > 0 {
		r.version = res.Version
	}
	r.unmanaged = nil
}

func sortedKeysOf[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// Read serves refresh and import with one list of the app's secrets.
func (r FlyAppSecrets) Read(
	ctx context.Context, req infer.ReadRequest[FlyAppSecretsArgs, FlyAppSecretsState],
) (infer.ReadResponse[FlyAppSecretsArgs, FlyAppSecretsState], error) {
	app, template, keys, err := parseAppSecretsID(req.ID)
	if err != nil {
		return infer.ReadResponse[FlyAppSecretsArgs, FlyAppSecretsState]{}, err
	}
	state := req.State
	imported := state.Names == nil && state.Digests == nil
	if imported {
		state.App = app
		if template != "" {
			state.KeyTemplate = &template
		}
	}
	client, err := flyClient(ctx, state.APIToken)
	if err != nil {
		return infer.ReadResponse[FlyAppSecretsArgs, FlyAppSecretsState]{}, err
	}
	listed, err := client.ListSecrets(ctx, app, state.Version)
	switch {
	case flyapi.IsNotFound(err) && imported:
		return infer.ReadResponse[FlyAppSecretsArgs, FlyAppSecretsState]{}, rules.NotFoundForImport("Fly.io app", req.ID, err)
	case flyapi.IsNotFound(err):
		return infer.ReadResponse[FlyAppSecretsArgs, FlyAppSecretsState]{}, nil // the app is gone, and its secrets with it
	case err != nil:
		return infer.ReadResponse[FlyAppSecretsArgs, FlyAppSecretsState]{}, err
	}
	if state.Encoding == nil {
		plainEncoding := EncodingPlain
		state.Encoding = &plainEncoding
	}
	tmpl := orEmpty(state.KeyTemplate)
	if imported {
		state.Secrets = map[string]string{}
		for _, s := range listed {
			if key, ok := ownership.KeyFor(tmpl, s.Name); ok && (keys == nil || slices.Contains(keys, key)) {
				state.Secrets[key] = "" // unknown: the next up writes the program's value
				state.Names = append(state.Names, s.Name)
			}
		}
		if len(state.Names) == 0 {
			return infer.ReadResponse[FlyAppSecretsArgs, FlyAppSecretsState]{}, rules.NotFoundForImport(
				"Fly.io secrets matching "+orDefaultTemplate(tmpl)+" on app", req.ID,
				fmt.Errorf("the app has %d secrets, none matching", len(listed)))
		}
	}
	rec := recordOf(state)
	var kept map[string]string
	if scope, on := pruneScopeOf(state.FlyAppSecretsArgs); on {
		if rec.pruneSince == "" {
			rec.pruneSince = config.PruneSinceNow(ctx)
		}
		kept = rec.strays(ctx, app, listed, scope)
	}
	rec.refresh(listed)
	for _, why := range rec.driftReport(app, orFalse(state.Prune)) {
		p.GetLogger(ctx).Warning(why)
	}
	for _, name := range sortedKeysOf(kept) {
		p.GetLogger(ctx).Warningf("prune keeps Fly.io secret %s/%s: %s", app, name, kept[name])
	}
	next := rec.state(state.FlyAppSecretsArgs)
	next.Deployment = state.Deployment
	return infer.ReadResponse[FlyAppSecretsArgs, FlyAppSecretsState]{
		ID: req.ID, Inputs: next.FlyAppSecretsArgs, State: next,
	}, nil
}

// strays records, from a listing, the scope's secrets the next up unsets (unmanaged), and returns
// those it keeps and why: declared by another resource of the program, or written since the
// resource took the scope over. It is the rule the desk applies when it prunes (flyapi.Prune).
func (r *appSecretsRecord) strays(
	ctx context.Context, app string, listed []flyapi.Secret, scope ownership.Scope,
) (kept map[string]string) {
	kept = map[string]string{}
	r.unmanaged = nil
	inst, _ := config.Of(ctx)
	for _, s := range listed {
		if r.names[s.Name] || !scope.Match(s.Name) {
			continue
		}
		by := ""
		if inst != nil {
			by = inst.Owners.DeclaredBy(inst.FlyPlace(app), s.Name, rules.URN(ctx))
		}
		switch {
		case by != "":
			kept[s.Name] = "declared by " + by
		case instant.NotBefore(s.UpdatedAt, r.since()):
			kept[s.Name] = fmt.Sprintf("written at %s, after this resource took over its prune scope %s: another "+
				"resource, stack or person writes it", rules.Timestamp(s.UpdatedAt), scope.Describe)
		default:
			r.unmanaged = append(r.unmanaged, s.Name)
		}
	}
	slices.Sort(r.unmanaged)
	return kept
}

// Delete unsets every managed secret in one bulk call, leaving in place (with a warning) those
// written since this resource last wrote them and those another resource of the program writes
// or declares; those it never wrote (imported, and never written since) are let go, not unset.
func (r FlyAppSecrets) Delete(
	ctx context.Context, req infer.DeleteRequest[FlyAppSecretsState],
) (infer.DeleteResponse, error) {
	s := req.State
	client, err := flyClient(ctx, s.APIToken)
	if err != nil {
		return infer.DeleteResponse{}, err
	}
	rec := recordOf(s)
	w := flyapi.Write{Owner: rules.URN(ctx)}
	for _, name := range s.Names {
		if ch, ok := rec.removal(name); ok {
			w.Changes = append(w.Changes, ch)
		} else {
			p.GetLogger(ctx).Infof("let go of Fly.io secret %s/%s: this resource never wrote it (it was imported), so it "+
				"stays on the app", s.App, name)
		}
	}
	if len(w.Changes) == 0 {
		return infer.DeleteResponse{}, nil
	}
	op := client.Begin(s.App, rules.URN(ctx))
	defer op.End()
	res, err := op.Write(ctx, w)
	switch {
	case flyapi.IsAppNotFound(err):
		return infer.DeleteResponse{}, nil
	case err != nil:
		return infer.DeleteResponse{}, err
	}
	rec.record(ctx, s.App, w, res)
	return infer.DeleteResponse{}, nil
}

// appSecretsRecord is what FlyAppSecrets knows of its secrets, by Fly name, while an operation
// changes it.
type appSecretsRecord struct {
	names                       map[string]bool
	digests, writtenDigests, at map[string]string
	version                     int64
	unmanaged                   []string
	prune                       bool
	pruneSince                  string
}

func newAppSecretsRecord(in FlyAppSecretsArgs) *appSecretsRecord {
	return recordOf(FlyAppSecretsState{FlyAppSecretsArgs: in})
}

func recordOf(s FlyAppSecretsState) *appSecretsRecord {
	clone := func(m map[string]string) map[string]string {
		if m = maps.Clone(m); m == nil {
			m = map[string]string{}
		}
		return m
	}
	r := &appSecretsRecord{names: map[string]bool{}, digests: clone(s.Digests), writtenDigests: clone(s.WrittenDigests),
		at: clone(s.WrittenAt), version: s.Version, unmanaged: s.UnmanagedNames, prune: orFalse(s.Prune),
		pruneSince: s.PruneSince}
	for _, n := range s.Names {
		r.names[n] = true
	}
	return r
}

// appSecretsRecordOf reads the record from raw state, for the diff.
func appSecretsRecordOf(state property.Map) *appSecretsRecord {
	r := &appSecretsRecord{names: map[string]bool{}, digests: rules.StringMap(state, "digests"),
		writtenDigests: rules.StringMap(state, "writtenDigests")}
	if v, ok := rules.NonNull(state, "names"); ok && v.IsArray() {
		for _, n := range v.AsArray().All {
			if n.IsString() {
				r.names[n.AsString()] = true
			}
		}
	}
	if v, ok := rules.NonNull(state, "unmanagedNames"); ok && v.IsArray() {
		for _, n := range v.AsArray().All {
			if n.IsString() {
				r.unmanaged = append(r.unmanaged, n.AsString())
			}
		}
	}
	if v, ok := rules.NonNull(state, "prune"); ok && v.IsBool() {
		r.prune = v.AsBool()
	}
	return r
}

// drifted are the managed secrets whose value is not what this resource wrote: changed or
// removed outside Pulumi. After an import nothing was written, and nothing has drifted.
func (r *appSecretsRecord) drifted() []string {
	var out []string
	for name := range r.names {
		if written, ok := r.writtenDigests[name]; ok && r.digests[name] != written {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// refresh takes in what a list of the app found: the managed secrets' digests (a secret gone is
// dropped from digests, a drift).
func (r *appSecretsRecord) refresh(listed []flyapi.Secret) {
	found := map[string]flyapi.Secret{}
	for _, s := range listed {
		found[s.Name] = s
	}
	for name := range r.names {
		if s, ok := found[name]; ok {
			r.digests[name] = s.Digest
		} else {
			delete(r.digests, name)
		}
	}
}

// driftReport says, per key, what changed outside Pulumi.
func (r *appSecretsRecord) driftReport(app string, prune bool) []string {
	var out []string
	for _, name := range r.drifted() {
		if _, present := r.digests[name]; present {
			out = append(out, fmt.Sprintf("the value of Fly.io secret %s/%s was changed outside Pulumi: the next up writes "+
				"the program's value back", app, name))
		} else {
			out = append(out,
				fmt.Sprintf("Fly.io secret %s/%s was removed outside Pulumi: the next up sets it again", app, name))
		}
	}
	if len(r.unmanaged) > 0 && prune {
		out = append(out, fmt.Sprintf("Fly.io app %s has secrets in this resource's prune scope that were there before it "+
			"took the scope over and that no resource manages (%s): the next up unsets them", app,
			strings.Join(r.unmanaged, ", ")))
	}
	return out
}

// state is the resource's state for inputs in after the operation.
func (r *appSecretsRecord) state(in FlyAppSecretsArgs) FlyAppSecretsState {
	names := slices.Sorted(maps.Keys(r.names))
	if names == nil {
		names = []string{}
	}
	return FlyAppSecretsState{FlyAppSecretsArgs: in, Names: names, Digests: r.digests, WrittenDigests: r.writtenDigests,
		WrittenAt: r.at, Version: r.version, UnmanagedNames: r.unmanaged, PruneSince: r.pruneSince}
}

// plan is the write that takes the record to the inputs in, and the values it writes by Fly name:
// old are the inputs of the last write (nil for a create). A managed secret is written when its
// value or encoding changed, when it drifted, or when its value is unknown (after an import); a
// new one is created (taken over, with adopt); a removed one is unset if it still holds this
// resource's last write, and let go if this resource never wrote it (an import).
func (r *appSecretsRecord) plan(in FlyAppSecretsArgs, old *FlyAppSecretsArgs) (flyapi.Write, map[string]string) {
	var w flyapi.Write
	want := in.encodedByName()
	var before map[string]string
	if old != nil {
		before = old.encodedByName()
	}
	drifted := r.drifted()
	newKind := flyapi.Create
	if orFalse(in.Adopt) {
		newKind = flyapi.Take
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		value := want[name]
		switch {
		case !r.names[name]:
			w.Changes = append(w.Changes, flyapi.Change{Name: name, Kind: newKind, Value: value})
		case before[name] == value && r.writtenDigests[name] != "" && !slices.Contains(drifted, name):
		default:
			w.Changes = append(w.Changes, flyapi.Change{Name: name, Kind: flyapi.Set, Value: value})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(r.names)) {
		if _, kept := want[name]; kept {
			continue
		}
		if ch, ok := r.removal(name); ok {
			w.Changes = append(w.Changes, ch)
		} else {
			r.forget(name) // imported and never written: it stays on the app, unmanaged
		}
	}
	return w, want
}

// removal is the unset of a managed secret, judged by this resource's last write of it; false
// when it never wrote it.
func (r *appSecretsRecord) removal(name string) (flyapi.Change, bool) {
	if r.writtenDigests[name] == "" || r.at[name] == "" {
		return flyapi.Change{}, false
	}
	written := writtenRecord(r.writtenDigests[name], r.at[name], r.version)
	return flyapi.Change{Name: name, Kind: flyapi.Unset, Written: written}, true
}

func (r *appSecretsRecord) forget(name string) {
	delete(r.names, name)
	for _, m := range []map[string]string{r.digests, r.writtenDigests, r.at} {
		delete(m, name)
	}
}

// preview is the state a preview shows: the names, when known, and nothing written yet.
func (a FlyAppSecretsArgs) preview() FlyAppSecretsState {
	names := slices.Sorted(maps.Keys(a.encodedByName()))
	return FlyAppSecretsState{FlyAppSecretsArgs: a, Names: names}
}

// encodedByName is what is sent to Fly.io, by Fly name.
func (a FlyAppSecretsArgs) encodedByName() map[string]string {
	out := make(map[string]string, len(a.Secrets))
	for key, value := range a.Secrets {
		out[ownership.NameFor(orEmpty(a.KeyTemplate), key)] = encode(a.Encoding, value)
	}
	return out
}

func orDefaultTemplate(template string) string {
	if template == "" {
		return "any name"
	}
	return fmt.Sprintf("%q", template)
}

// importID is the import ID of an app's secrets under a template, only keys when given.
func importID(app, template string, keys []string) string {
	q := url.Values{}
	if template != "" {
		q.Set("keyTemplate", template)
	}
	if len(keys) > 0 {
		q.Set("keys", strings.Join(keys, ","))
	}
	if len(q) == 0 {
		return app
	}
	// The template's braces read better unescaped; names and templates hold no & or =.
	query := strings.NewReplacer("%7B", "{", "%7D", "}", "%2C", ",").Replace(q.Encode())
	return app + "?" + query
}

// keysOf are the keys Fly names stand for under a template.
func keysOf(template string, names []string) []string {
	var keys []string
	for _, n := range names {
		if k, ok := ownership.KeyFor(template, n); ok {
			keys = append(keys, k)
		}
	}
	return keys
}

// parseAppSecretsID reads `<app>`, `<app>?keyTemplate=<template>`, and either with
// `keys=<key>,<key>` (import only those), checking all before any API call.
func parseAppSecretsID(id string) (app, template string, keys []string, err error) {
	app, query, hasQuery := strings.Cut(id, "?")
	malformed := fmt.Errorf("FlyAppSecrets ID %q is malformed: expected <app>, <app>?keyTemplate=<template> or "+
		"<app>?keys=<key>,<key> (both may be given, joined with &), "+
		"e.g. my-app?keyTemplate=PROD_{{key}}&keys=DATABASE_URL", id)
	if !appPattern.MatchString(app) {
		return "", "", nil, malformed
	}
	if hasQuery {
		values, err := url.ParseQuery(query)
		if err != nil {
			return "", "", nil, malformed
		}
		for k, v := range values {
			if (k != "keyTemplate" && k != "keys") || len(v) != 1 {
				return "", "", nil, malformed
			}
		}
		if values.Has("keyTemplate") {
			template = values.Get("keyTemplate")
			if !ownership.ValidTemplate(template) {
				return "", "", nil, fmt.Errorf("FlyAppSecrets ID %q: the keyTemplate must hold %s exactly once", id,
					ownership.KeyPlaceholder)
			}
		}
		if values.Has("keys") {
			keys = strings.Split(values.Get("keys"), ",")
			if slices.Contains(keys, "") {
				return "", "", nil, malformed
			}
		}
	}
	return app, template, keys, nil
}

func orEmpty(s *string) string { return rules.OrDefault(s, "") }
func orFalse(b *bool) bool     { return rules.OrDefault(b, false) }

// pruneWillUnset is what a preview says of a secret the prune unsets.
func pruneWillUnset(app, name string, scope ownership.Scope) string {
	return fmt.Sprintf("prune will unset Fly.io secret %s/%s: it is in the prune scope %s, no resource of the "+
		"program declares it, and it was there before this resource took the scope over", app, name, scope.Describe)
}

// pruneStrays are the strays the next up's prune unsets, as the app holds them now, and the app
// and scope: the rule the desk applies (see strays), from one listing of the app. state is the
// resource's state (empty for a create). Nothing while prune is off or the inputs that decide
// it are unknown.
func pruneStrays(ctx context.Context, inputs, state property.Map) (string, ownership.Scope, []string, error) {
	in, known := pruneInputs(inputs)
	scope, on := pruneScopeOf(in)
	if !known || !on {
		return "", scope, nil, nil
	}
	var old FlyAppSecretsState
	old.FlyAppSecretsArgs, _ = pruneInputs(state)
	old.PruneSince = rules.StringProp(state, "pruneSince")
	client, err := flyClient(ctx, in.APIToken)
	if err != nil {
		return "", scope, nil, err
	}
	version, _ := rules.NonNull(state, "version")
	var since int64
	if version.IsNumber() {
		since = int64(version.AsNumber())
	}
	listed, err := client.ListSecrets(ctx, in.App, since)
	if err != nil {
		return "", scope, nil, err
	}
	rec := newAppSecretsRecord(in)
	for name := range in.encodedByName() {
		rec.names[name] = true
	}
	rec.pruneSince = old.PruneSince
	if rec.pruneSince == "" || !samePruneScope(old.FlyAppSecretsArgs, in) {
		rec.pruneSince = config.PruneSinceNow(ctx)
	}
	rec.strays(ctx, in.App, listed, scope)
	return in.App, scope, rec.unmanaged, nil
}

// pruneInputs reads what decides a prune from raw inputs (or state); known is false while one of
// them is unknown.
func pruneInputs(m property.Map) (a FlyAppSecretsArgs, known bool) {
	str := func(key string) (*string, bool) {
		v, ok := rules.NonNull(m, key)
		if !ok {
			return nil, true
		}
		if !v.IsString() {
			return nil, !v.IsComputed()
		}
		s := v.AsString()
		return &s, true
	}
	app, okApp := str("app")
	a.KeyTemplate, known = str("keyTemplate")
	var okScope, okToken bool
	a.PruneScope, okScope = str("pruneScope")
	a.APIToken, okToken = str("apiToken")
	if app != nil {
		a.App = *app
	}
	if v, ok := rules.NonNull(m, "prune"); ok && v.IsBool() {
		prune := v.AsBool()
		a.Prune = &prune
	}
	secrets, ok := rules.NonNull(m, "secrets")
	if ok && (secrets.IsComputed() || !secrets.IsMap()) {
		return a, false
	}
	a.Secrets = map[string]string{}
	if ok {
		for key := range secrets.AsMap().AllStable {
			a.Secrets[key] = ""
		}
	}
	return a, known && okApp && app != nil && okScope && okToken
}
