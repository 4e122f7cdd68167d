package fly

import (
	"context"
	_ "embed"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/config"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/flyapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// FlyAppSecrets manages many secrets of one Fly.io app as one resource: every change, removals
// included, is one bulk write.
type FlyAppSecrets struct{ timing *config.Timing }

// FlyAppSecretsArgs are FlyAppSecrets' inputs.
type FlyAppSecretsArgs struct {
	App         string            `pulumi:"app" provider:"replaceOnChanges"`
	Secrets     map[string]string `pulumi:"secrets" provider:"secret"`
	Encoding    *ValueEncoding    `pulumi:"encoding,optional"`
	KeyTemplate *string           `pulumi:"keyTemplate,optional"`
	Prune       *bool             `pulumi:"prune,optional"`
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
	// UnmanagedNames are secrets of the app that match the key template but that no resource
	// manages, as the last refresh found them: with prune, the next up unsets them.
	UnmanagedNames []string `pulumi:"unmanagedNames,optional"`
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
	Drift: func(state property.Map) string {
		s := appSecretsRecordOf(state)
		if len(s.drifted()) > 0 || (s.prune && len(s.unmanaged) > 0) {
			return "secrets"
		}
		return rolloutOwed(state)
	},
})

// keyPlaceholder is what a key template's {{key}} stands for.
const keyPlaceholder = "{{key}}"

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
	an.Describe(&a.Prune, "Unset the app's secrets that match `keyTemplate` (all of the app's secrets without one) "+
		"and that no resource of the program declares (default `false`).")
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
	a.Describe(&s.UnmanagedNames, "Secrets of the app that match the key template and that no resource manages, as the "+
		"last refresh found them; with `prune`, the next `pulumi up` unsets them.")
}

// WireDependencies keeps the values and token secret in every output and says which inputs
// each output derives from.
func (FlyAppSecrets) WireDependencies(f infer.FieldSelector, args *FlyAppSecretsArgs, state *FlyAppSecretsState) {
	f.OutputField(&state.Secrets).AlwaysSecret()
	f.OutputField(&state.APIToken).AlwaysSecret()
	app, secrets := f.InputField(&args.App).Computed(), f.InputField(&args.Secrets).Computed()
	encoding, template := f.InputField(&args.Encoding).Computed(), f.InputField(&args.KeyTemplate).Computed()
	prune := f.InputField(&args.Prune).Computed()
	f.OutputField(&state.App).DependsOn(app)
	f.OutputField(&state.Secrets).DependsOn(secrets)
	f.OutputField(&state.Encoding).DependsOn(encoding)
	f.OutputField(&state.KeyTemplate).DependsOn(template)
	f.OutputField(&state.Prune).DependsOn(prune)
	f.OutputField(&state.Adopt).DependsOn(f.InputField(&args.Adopt).Computed())
	f.OutputField(&state.APIToken).DependsOn(f.InputField(&args.APIToken).Computed())
	f.OutputField(&state.Names).DependsOn(secrets, template)
	f.OutputField(&state.UnmanagedNames).DependsOn(app, secrets, template, prune)
	for _, written := range []any{&state.Digests, &state.WrittenDigests, &state.WrittenAt, &state.Version} {
		f.OutputField(written).DependsOn(app, secrets, encoding, template, prune)
	}
	wireDeploy(f, &args.Deploy, &state.Deploy, &state.Deployment, app, secrets, encoding, template, prune)
}

// Check validates at preview, before any API call: the app, the template, and every key's
// Fly name and value (never echoing a value).
func (FlyAppSecrets) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[FlyAppSecretsArgs], error) {
	return rules.Check[FlyAppSecretsArgs](ctx, req.NewInputs, func(c *rules.Checker) {
		checkApp(c)
		checkEncoding(c)
		template, templateKnown := c.Str("keyTemplate")
		if templateKnown && strings.Count(template, keyPlaceholder) != 1 {
			c.Fail("keyTemplate", "keyTemplate is %s: it must hold %s exactly once, e.g. PROD_%s",
				rules.Quoted(c.Inputs.Get("keyTemplate"), template), keyPlaceholder, keyPlaceholder)
			return
		}
		_, templateGiven := c.Inputs.GetOk("keyTemplate")
		if templateGiven && !templateKnown && !c.Inputs.Get("keyTemplate").IsNull() {
			return // an unknown template: the names are checked once it is known
		}
		names := func(key string) string {
			name := nameFor(template, key)
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
		if app, ok := c.Str("app"); ok {
			if m, ok := c.Inputs.GetOk("secrets"); ok && m.IsMap() && !m.IsComputed() && (!templateGiven || templateKnown) {
				for key := range m.AsMap().AllStable {
					declared.declare(app, appSecretsOwner(app, template), nameFor(template, key))
				}
			}
		}
	})
}

// Create writes every secret in one call, after one look at the app: keys that exist are
// taken over only with adopt, and with prune the app's other matching secrets are unset in the
// same call.
func (r FlyAppSecrets) Create(ctx context.Context, req infer.CreateRequest[FlyAppSecretsArgs]) (infer.CreateResponse[FlyAppSecretsState], error) {
	in := req.Inputs
	client, err := r.timing.FlyClient(ctx, in.APIToken)
	if err != nil {
		return infer.CreateResponse[FlyAppSecretsState]{}, err
	}
	if req.DryRun {
		return infer.CreateResponse[FlyAppSecretsState]{ID: in.App, Output: in.preview()}, nil
	}
	rec := newAppSecretsRecord(in)
	w := rec.plan(in, nil)
	listed, err := client.ListSecrets(ctx, in.App, 0)
	if err != nil {
		return infer.CreateResponse[FlyAppSecretsState]{}, err
	}
	if err := w.ownership(ctx, in, req.Name, listed, rec); err != nil {
		return infer.CreateResponse[FlyAppSecretsState]{}, err
	}
	if err := w.write(ctx, client, rec); err != nil {
		return infer.CreateResponse[FlyAppSecretsState]{}, err
	}
	state := rec.state(in)
	err = state.Deployment.rollOutWrite(ctx, client, state.App, state.Deploy, state.Version)
	return infer.CreateResponse[FlyAppSecretsState]{ID: in.App, Output: state}, err
}

// Update writes, in one call, what changed: new and changed values, values changed outside
// Pulumi, keys removed from the program (from the old state) and, with prune, unmanaged keys.
// It looks at the app first (one list) only when keys are added or removed or prune is on.
func (r FlyAppSecrets) Update(ctx context.Context, req infer.UpdateRequest[FlyAppSecretsArgs, FlyAppSecretsState]) (infer.UpdateResponse[FlyAppSecretsState], error) {
	in, old := req.Inputs, req.State
	client, err := r.timing.FlyClient(ctx, in.APIToken)
	if err != nil {
		return infer.UpdateResponse[FlyAppSecretsState]{}, err
	}
	if req.DryRun {
		next := in.preview()
		if slices.Equal(next.Names, old.Names) {
			next.Digests, next.WrittenDigests, next.WrittenAt, next.Version = old.Digests, old.WrittenDigests, old.WrittenAt, old.Version
		}
		next.Deployment = old.Deployment
		return infer.UpdateResponse[FlyAppSecretsState]{Output: next}, nil
	}
	rec := recordOf(old)
	w := rec.plan(in, &old.FlyAppSecretsArgs)
	if len(w.added) > 0 || len(w.removed) > 0 || orFalse(in.Prune) {
		listed, err := client.ListSecrets(ctx, in.App, old.Version)
		if err != nil {
			return infer.UpdateResponse[FlyAppSecretsState]{}, err
		}
		if err := w.ownership(ctx, in, "<name>", listed, rec); err != nil {
			return infer.UpdateResponse[FlyAppSecretsState]{}, err
		}
	}
	if err := w.write(ctx, client, rec); err != nil {
		return infer.UpdateResponse[FlyAppSecretsState]{}, err
	}
	next := rec.state(in)
	next.Deployment = old.Deployment
	err = next.Deployment.rollOutWrite(ctx, client, next.App, next.Deploy, next.Version)
	return infer.UpdateResponse[FlyAppSecretsState]{Output: next}, err
}

// Read serves refresh and import with one list of the app's secrets.
func (r FlyAppSecrets) Read(ctx context.Context, req infer.ReadRequest[FlyAppSecretsArgs, FlyAppSecretsState]) (infer.ReadResponse[FlyAppSecretsArgs, FlyAppSecretsState], error) {
	app, template, err := parseAppSecretsID(req.ID)
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
	client, err := r.timing.FlyClient(ctx, state.APIToken)
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
			if key, ok := keyFor(tmpl, s.Name); ok {
				state.Secrets[key] = "" // unknown: the next up writes the program's value
				state.Names = append(state.Names, s.Name)
			}
		}
		if len(state.Names) == 0 {
			return infer.ReadResponse[FlyAppSecretsArgs, FlyAppSecretsState]{}, rules.NotFoundForImport(
				"Fly.io secrets matching "+orDefaultTemplate(tmpl)+" on app", req.ID, fmt.Errorf("the app has %d secrets, none matching", len(listed)))
		}
	}
	rec := recordOf(state)
	rec.refresh(listed, tmpl, declared.others(app, appSecretsOwner(app, tmpl)))
	for _, why := range rec.driftReport(app, orFalse(state.Prune)) {
		p.GetLogger(ctx).Warning(why)
	}
	next := rec.state(state.FlyAppSecretsArgs)
	next.Deployment = state.Deployment
	return infer.ReadResponse[FlyAppSecretsArgs, FlyAppSecretsState]{ID: req.ID, Inputs: next.FlyAppSecretsArgs, State: next}, nil
}

// Delete unsets every managed secret in one call, after one look at the app, leaving in place
// (with a warning) those written since this resource last wrote them.
func (r FlyAppSecrets) Delete(ctx context.Context, req infer.DeleteRequest[FlyAppSecretsState]) (infer.DeleteResponse, error) {
	s := req.State
	client, err := r.timing.FlyClient(ctx, s.APIToken)
	if err != nil {
		return infer.DeleteResponse{}, err
	}
	if len(s.Names) == 0 {
		return infer.DeleteResponse{}, nil
	}
	listed, err := client.ListSecrets(ctx, s.App, s.Version)
	switch {
	case flyapi.IsNotFound(err):
		return infer.DeleteResponse{}, nil
	case err != nil:
		return infer.DeleteResponse{}, err
	}
	rec := recordOf(s)
	w := &appSecretsWrite{app: s.App, values: map[string]*string{}}
	for _, name := range s.Names {
		w.removed = append(w.removed, name)
		w.values[name] = nil
	}
	w.leaveOthersWrites(ctx, listed, rec)
	return infer.DeleteResponse{}, w.write(ctx, client, rec)
}

// appSecretsRecord is what FlyAppSecrets knows of its secrets, by Fly name, while an operation
// changes it.
type appSecretsRecord struct {
	names                       map[string]bool
	digests, writtenDigests, at map[string]string
	version                     int64
	unmanaged                   []string
	prune                       bool
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
		at: clone(s.WrittenAt), version: s.Version, unmanaged: s.UnmanagedNames, prune: orFalse(s.Prune)}
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
// dropped from digests, a drift), and the secrets matching the template that no resource manages.
func (r *appSecretsRecord) refresh(listed []flyapi.Secret, template string, declaredElsewhere map[string]bool) {
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
	r.unmanaged = nil
	for _, s := range listed {
		if _, matches := keyFor(template, s.Name); matches && !r.names[s.Name] && !declaredElsewhere[s.Name] {
			r.unmanaged = append(r.unmanaged, s.Name)
		}
	}
	slices.Sort(r.unmanaged)
}

// driftReport says, per key, what changed outside Pulumi.
func (r *appSecretsRecord) driftReport(app string, prune bool) []string {
	var out []string
	for _, name := range r.drifted() {
		if _, present := r.digests[name]; present {
			out = append(out, fmt.Sprintf("the value of Fly.io secret %s/%s was changed outside Pulumi: the next up writes "+
				"the program's value back", app, name))
		} else {
			out = append(out, fmt.Sprintf("Fly.io secret %s/%s was removed outside Pulumi: the next up sets it again", app, name))
		}
	}
	if len(r.unmanaged) > 0 && prune {
		out = append(out, fmt.Sprintf("Fly.io app %s has secrets that no resource manages (%s) and prune is on: the next up "+
			"unsets them", app, strings.Join(r.unmanaged, ", ")))
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
		WrittenAt: r.at, Version: r.version, UnmanagedNames: r.unmanaged}
}

// appSecretsWrite is one bulk write of an app's secrets: values to set (non-nil) and unset (nil).
type appSecretsWrite struct {
	app string
	// values is what the write sends, by Fly name.
	values map[string]*string
	// added are names the resource does not manage yet; removed, names it stops managing.
	added, removed []string
}

// plan is the write that takes the record to the inputs in: old are the inputs of the last write
// (nil for a create). A managed secret is written when its value or encoding changed, when it
// drifted, or when its value is unknown (after an import).
func (r *appSecretsRecord) plan(in FlyAppSecretsArgs, old *FlyAppSecretsArgs) *appSecretsWrite {
	w := &appSecretsWrite{app: in.App, values: map[string]*string{}}
	want := in.encodedByName()
	var before map[string]string
	if old != nil {
		before = old.encodedByName()
	}
	drifted := r.drifted()
	for name, value := range want {
		switch {
		case !r.names[name]:
			w.added = append(w.added, name)
		case before[name] == value && r.writtenDigests[name] != "" && !slices.Contains(drifted, name):
			continue
		}
		w.values[name] = &value
	}
	for name := range r.names {
		if _, kept := want[name]; !kept {
			w.removed = append(w.removed, name)
			w.values[name] = nil
		}
	}
	slices.Sort(w.added)
	slices.Sort(w.removed)
	return w
}

// ownership applies the ownership rule to a write, given the app's secrets as listed: a name to
// add that exists is taken over only with adopt; a name to remove that someone else wrote
// since this resource did is left; with prune, unmanaged matching names are unset.
func (w *appSecretsWrite) ownership(ctx context.Context, in FlyAppSecretsArgs, resourceName string, listed []flyapi.Secret, rec *appSecretsRecord) error {
	found := map[string]bool{}
	for _, s := range listed {
		found[s.Name] = true
	}
	var taken []string
	for _, name := range w.added {
		if found[name] {
			taken = append(taken, name)
		}
	}
	if len(taken) > 0 && !orFalse(in.Adopt) {
		return fmt.Errorf("Fly.io app %q already has secrets %s, and this resource does not manage them. If you "+
			"renamed this resource, add the old name to its `aliases`. Otherwise bring the app's secrets under "+
			"management with `pulumi import %s %s '%s'`, or set `adopt: true` to overwrite them",
			in.App, strings.Join(taken, ", "), FlyAppSecretsToken, resourceName, appSecretsID(in.App, orEmpty(in.KeyTemplate)))
	}
	w.leaveOthersWrites(ctx, listed, rec)
	if orFalse(in.Prune) {
		others := declared.others(in.App, appSecretsOwner(in.App, orEmpty(in.KeyTemplate)))
		for _, s := range listed {
			_, matches := keyFor(orEmpty(in.KeyTemplate), s.Name)
			if _, planned := w.values[s.Name]; matches && !planned && !rec.names[s.Name] && !others[s.Name] {
				w.values[s.Name] = nil
			}
		}
	}
	return nil
}

// leaveOthersWrites drops from the write the removals of secrets written since this resource
// last wrote them (their updated_at is not the one it recorded), with a warning, and those
// already gone.
func (w *appSecretsWrite) leaveOthersWrites(ctx context.Context, listed []flyapi.Secret, rec *appSecretsRecord) {
	byName := map[string]flyapi.Secret{}
	for _, s := range listed {
		byName[s.Name] = s
	}
	for _, name := range w.removed {
		s, exists := byName[name]
		ours := rec.at[name]
		switch {
		case !exists:
			delete(w.values, name)
		case ours != "" && rules.Timestamp(s.UpdatedAt) != ours:
			p.GetLogger(ctx).Warningf("left Fly.io secret %s/%s in place: it was written at %s, after this resource last "+
				"wrote it (%s), so another stack, resource or person owns it now. To remove it anyway: "+
				"`fly secrets unset %s --app %s --stage`", w.app, name, rules.Timestamp(s.UpdatedAt), ours, name, w.app)
			delete(w.values, name)
		}
		rec.forget(name)
	}
}

// write makes the one bulk call (none when there is nothing to change) and records its answer.
func (w *appSecretsWrite) write(ctx context.Context, client *flyapi.Client, rec *appSecretsRecord) error {
	for _, name := range w.added {
		rec.names[name] = true
	}
	if len(w.values) == 0 {
		return nil
	}
	res, err := client.UpdateSecrets(ctx, w.app, w.values)
	if err != nil {
		return err
	}
	for _, s := range res.Secrets {
		if !rec.names[s.Name] {
			continue
		}
		rec.digests[s.Name], rec.writtenDigests[s.Name] = s.Digest, s.Digest
		rec.at[s.Name] = rules.Timestamp(s.UpdatedAt)
	}
	for name, value := range w.values {
		if value == nil {
			rec.forget(name)
		}
	}
	rec.version = res.Version
	rec.unmanaged = nil
	return nil
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
		out[nameFor(orEmpty(a.KeyTemplate), key)] = encode(a.Encoding, value)
	}
	return out
}

// nameFor is a key's Fly name under a template ("" for none).
func nameFor(template, key string) string {
	if template == "" {
		return key
	}
	return strings.Replace(template, keyPlaceholder, key, 1)
}

// keyFor is the key a Fly name stands for under a template; ok is false when it does not match.
func keyFor(template, name string) (key string, ok bool) {
	if template == "" {
		return name, true
	}
	prefix, suffix, _ := strings.Cut(template, keyPlaceholder)
	if len(name) <= len(prefix)+len(suffix) || !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, suffix) {
		return "", false
	}
	return name[len(prefix) : len(name)-len(suffix)], true
}

func orDefaultTemplate(template string) string {
	if template == "" {
		return "any name"
	}
	return fmt.Sprintf("%q", template)
}

// appSecretsOwner is how the program's declarations name a FlyAppSecrets: by what it manages.
func appSecretsOwner(app, template string) string {
	return "FlyAppSecrets " + appSecretsID(app, template)
}

// appSecretsID is the import ID of an app's secrets under a template.
func appSecretsID(app, template string) string {
	if template == "" {
		return app
	}
	return app + "?keyTemplate=" + template
}

// parseAppSecretsID reads `<app>` or `<app>?keyTemplate=<template>`, checking both before any
// API call.
func parseAppSecretsID(id string) (app, template string, err error) {
	app, query, hasQuery := strings.Cut(id, "?")
	malformed := fmt.Errorf("FlyAppSecrets ID %q is malformed: expected <app> or <app>?keyTemplate=<template>, e.g. "+
		"my-app or my-app?keyTemplate=PROD_{{key}}", id)
	if !appPattern.MatchString(app) {
		return "", "", malformed
	}
	if hasQuery {
		values, err := url.ParseQuery(query)
		if err != nil || len(values) != 1 || len(values["keyTemplate"]) != 1 {
			return "", "", malformed
		}
		template = values.Get("keyTemplate")
		if strings.Count(template, keyPlaceholder) != 1 {
			return "", "", fmt.Errorf("FlyAppSecrets ID %q: the keyTemplate must hold %s exactly once", id, keyPlaceholder)
		}
	}
	return app, template, nil
}

func orEmpty(s *string) string { return rules.OrDefault(s, "") }
func orFalse(b *bool) bool     { return rules.OrDefault(b, false) }
