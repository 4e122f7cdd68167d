package fly

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/config"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/flyapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// FlySecret manages one secret of a Fly.io app.
type FlySecret struct{}

// FlySecretArgs are FlySecret's inputs. app and name identify the secret; the token is only
// how we reach it.
type FlySecretArgs struct {
	App      string         `pulumi:"app" provider:"replaceOnChanges"`
	Name     string         `pulumi:"name" provider:"replaceOnChanges"`
	Value    string         `pulumi:"value" provider:"secret"`
	Encoding *ValueEncoding `pulumi:"encoding,optional"`
	APIToken *string        `pulumi:"apiToken,optional" provider:"secret" diff:"credential"`
	Adopt    *bool          `pulumi:"adopt,optional"`
	Deploy   *DeployMode    `pulumi:"deploy,optional"`
}

// FlySecretState is what FlySecret records: the secret as Fly last reported it (digest,
// updatedAt), and what this resource last wrote (writtenDigest, writtenAt), which the diff
// compares to tell a change made outside Pulumi, and Delete to leave a secret someone else
// has written since.
type FlySecretState struct {
	FlySecretArgs
	Digest        string `pulumi:"digest"`
	CreatedAt     string `pulumi:"createdAt"`
	UpdatedAt     string `pulumi:"updatedAt"`
	Version       int64  `pulumi:"version"`
	WrittenDigest string `pulumi:"writtenDigest"`
	WrittenAt     string `pulumi:"writtenAt"`
	Deployment
}

// ValueEncoding says how a FlySecret's value is written.
type ValueEncoding string

const (
	EncodingPlain  ValueEncoding = "plain"
	EncodingBase64 ValueEncoding = "base64"
)

var (
	_ infer.CustomResource[FlySecretArgs, FlySecretState]       = FlySecret{}
	_ infer.CustomCheck[FlySecretArgs]                          = FlySecret{}
	_ infer.CustomUpdate[FlySecretArgs, FlySecretState]         = FlySecret{}
	_ infer.CustomRead[FlySecretArgs, FlySecretState]           = FlySecret{}
	_ infer.CustomDelete[FlySecretState]                        = FlySecret{}
	_ infer.ExplicitDependencies[FlySecretArgs, FlySecretState] = FlySecret{}
	_ infer.Enum[ValueEncoding]                                 = EncodingPlain
	_ infer.Annotated                                           = (*FlySecret)(nil)
	_ infer.Annotated                                           = (*FlySecretArgs)(nil)
	_ infer.Annotated                                           = (*FlySecretState)(nil)
)

var flySecretRules = rules.Of[FlySecretArgs](rules.Rules{
	Drift: func(state property.Map) string {
		app, name := rules.StringProp(state, "app"), rules.StringProp(state, "name")
		if flyDrift(app, name, rules.StringProp(state, "digest"), rules.StringProp(state, "writtenDigest")) != "" {
			return "value"
		}
		return rolloutOwed(state)
	},
	DriftChanges: map[string][]string{
		"value":  {"digest", "updatedAt", "version", "writtenDigest", "writtenAt", "deployedVersion", "machines"},
		"deploy": {"deployedVersion", "machines"},
	},
})

// flyDrift says that the secret's value was changed outside Pulumi, when its digest is not the
// one this resource wrote ("" when it is, or nothing was written yet).
func flyDrift(app, name, digest, written string) string {
	if written == "" || written == digest {
		return ""
	}
	return fmt.Sprintf("the value of Fly.io secret %s/%s was changed outside Pulumi (digest %s, this resource wrote "+
		"%s): the next up writes the program's value back", app, name, digest, written)
}

// flySecretDoc is the FlySecret's schema description, with its examples in every SDK language.
//
//go:embed flysecret.md
var flySecretDoc string

func (r *FlySecret) Annotate(a infer.Annotator) {
	a.SetToken("fly", "FlySecret")
	a.Describe(r, rules.Doc(flySecretDoc))
}

func (a *FlySecretArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.App, "Name of the Fly.io app that holds the secret. Changing it replaces the secret.")
	an.Describe(&a.Name, "Secret name, exposed to the app's machines as an environment variable: letters, "+
		"digits and underscores, not starting with a digit (`^[A-Za-z_][A-Za-z0-9_]*$`). Changing it "+
		"replaces the secret.")
	an.Describe(&a.Value, "Secret value. Always stored as a Pulumi secret; never returned by Fly.io.")
	an.Describe(&a.Encoding, "How the value is written: `plain` (default) as is, or `base64` to have the "+
		"provider base64-encode it, as fly.toml `[[files]]` entries with `secret_name` require.")
	an.SetDefault(&a.Encoding, EncodingPlain)
	an.Describe(&a.APIToken, "Fly.io API token for this secret only, overriding the provider's `flyApiToken`. "+
		"Changing it is not a diff.")
	an.Describe(&a.Adopt, "If a secret of this name already exists on the app, take it over and write the program's "+
		"value, instead of failing (default `false`).")
	an.Describe(&a.Deploy, deployDescription)
}

func (s *FlySecretState) Annotate(a infer.Annotator) {
	a.Describe(&s.Digest, "Digest of the stored value, as reported by Fly.io (`fly secrets list`). It changes "+
		"when the value changes, inside or outside Pulumi.")
	a.Describe(&s.CreatedAt, "When the secret was first set (RFC 3339).")
	a.Describe(&s.UpdatedAt, "When the secret was last set (RFC 3339).")
	a.Describe(&s.Version, "The app's secrets version after this secret's last write by Pulumi. Deploy with "+
		"machines at `min_secrets_version` >= this value to be sure they see it. 0 after an import.")
	a.Describe(&s.WrittenDigest, "The digest of the value this resource last wrote: a `digest` that differs means the "+
		"value was changed outside Pulumi. Empty after an import.")
	a.Describe(&s.WrittenAt, "When this resource last wrote the secret (RFC 3339). Empty after an import.")
}

// Values lists the encodings.
func (ValueEncoding) Values() []infer.EnumValue[ValueEncoding] {
	return []infer.EnumValue[ValueEncoding]{
		{Name: "Plain", Value: EncodingPlain, Description: "Write the value as is."},
		{Name: "Base64", Value: EncodingBase64, Description: "Write the value base64-encoded (for `[[files]]` mounts)."},
	}
}

func (e *ValueEncoding) Annotate(a infer.Annotator) {
	a.SetToken("fly", "ValueEncoding")
	a.Describe(e, "How a FlySecret's value is written.")
}

// WireDependencies keeps the value and token secret in every output, whatever the input's
// marking, and says which inputs each output derives from, so that a preview marks unknown
// only what a change can affect (infer's default makes every output unknown on any change).
func (FlySecret) WireDependencies(f infer.FieldSelector, args *FlySecretArgs, state *FlySecretState) {
	f.OutputField(&state.Value).AlwaysSecret()
	f.OutputField(&state.APIToken).AlwaysSecret()
	app, name := f.InputField(&args.App).Computed(), f.InputField(&args.Name).Computed()
	value, encoding := f.InputField(&args.Value).Computed(), f.InputField(&args.Encoding).Computed()
	f.OutputField(&state.App).DependsOn(app)
	f.OutputField(&state.Name).DependsOn(name)
	f.OutputField(&state.Value).DependsOn(value)
	f.OutputField(&state.Encoding).DependsOn(encoding)
	f.OutputField(&state.APIToken).DependsOn(f.InputField(&args.APIToken).Computed())
	f.OutputField(&state.Adopt).DependsOn(f.InputField(&args.Adopt).Computed())
	f.OutputField(&state.CreatedAt).DependsOn(app, name)
	writtenFields := []any{&state.Digest, &state.UpdatedAt, &state.Version, &state.WrittenDigest, &state.WrittenAt}
	for _, written := range writtenFields {
		f.OutputField(written).DependsOn(app, name, value, encoding)
	}
	wireDeploy(f, &args.Deploy, &state.Deploy, &state.Deployment, app, name, value, encoding)
}

// Check validates at preview, before any API call.
func (FlySecret) Check(ctx context.Context, req infer.CheckRequest) (infer.CheckResponse[FlySecretArgs], error) {
	return rules.Check[FlySecretArgs](ctx, req.NewInputs, func(c *rules.Checker) {
		checkApp(c)
		c.Pattern("name", secretNamePattern, "secret names become environment variables: use letters, digits "+
			"and underscores, not starting with a digit (e.g. DATABASE_URL)")
		c.Length("name", limitSecretName)
		c.NonEmptyValue(req.OldInputs, "value")
		c.Length("value", limitValue)
		checkEncoding(c)
		c.Credential("apiToken", config.KeyFlyToken)
		app, appKnown := c.Str("app")
		if name, nameKnown := c.Str("name"); appKnown && nameKnown && len(c.Failures) == 0 {
			declare(ctx, c, "name", app, []string{name}, nil)
		}
		if appKnown {
			deploy, _ := c.Str("deploy")
			announceWrite(ctx, app, deploy)
		}
	})
}

// Create sets the secret if the app has none of that name (unless adopt): one bulk call with the
// other writes of the moment, after one listing per app. A secret adopt took over is confirmed
// once another process's unset of it would show, and written again if it went (see
// confirmTakeover).
func (r FlySecret) Create(
	ctx context.Context, req infer.CreateRequest[FlySecretArgs],
) (infer.CreateResponse[FlySecretState], error) {
	in := req.Inputs
	id := flySecretID(in.App, in.Name)
	client, err := flyClient(ctx, in.APIToken)
	if err != nil {
		return infer.CreateResponse[FlySecretState]{}, err
	}
	if req.DryRun {
		return infer.CreateResponse[FlySecretState]{ID: id, Output: FlySecretState{FlySecretArgs: in}}, nil
	}
	op := begin(ctx, client, in.App, in.Deploy)
	defer op.End()
	kind := flyapi.Create
	if rules.OrDefault(in.Adopt, false) {
		kind = flyapi.Take
	}
	owner := rules.URN(ctx)
	res, err := op.Write(ctx, flyapi.Write{Owner: owner,
		Changes: []flyapi.Change{{Name: in.Name, Kind: kind, Value: in.encodedValue()}}})
	var exists *flyapi.ExistsError
	if errors.As(err, &exists) {
		//nolint:staticcheck // "Fly.io" is a proper noun
		return infer.CreateResponse[FlySecretState]{}, fmt.Errorf("Fly.io app %q already has a secret %q (set %s), and "+
			"this resource did not create it. If you renamed this resource, add the old name to its `aliases`, so that "+
			"Pulumi moves it instead of creating a new one and deleting the old. Otherwise bring it under management "+
			"with `pulumi import %s %s %s`, or set `adopt: true` to overwrite it",
			in.App, in.Name, rules.Timestamp(exists.Secrets[0].UpdatedAt), FlySecretToken, req.Name, id)
	}
	if err != nil {
		return infer.CreateResponse[FlySecretState]{}, err
	}
	res, err = confirmTakeover(ctx, op, in.App, owner, res, map[string]string{in.Name: in.encodedValue()})
	if err != nil {
		return infer.CreateResponse[FlySecretState]{}, err
	}
	state := written(in, res)
	err = state.rollOutWrite(ctx, op, state.App, state.Deploy, state.Version)
	return infer.CreateResponse[FlySecretState]{ID: id, Output: state}, err
}

// Update writes the value when it or its encoding changed, or when a refresh found it
// changed outside Pulumi: one bulk call with the other writes of the moment, or none; then the
// rollout it owes, when it deploys.
func (r FlySecret) Update(
	ctx context.Context, req infer.UpdateRequest[FlySecretArgs, FlySecretState],
) (infer.UpdateResponse[FlySecretState], error) {
	in, old := req.Inputs, req.State
	client, err := flyClient(ctx, in.APIToken)
	if err != nil {
		return infer.UpdateResponse[FlySecretState]{}, err
	}
	drifted := old.WrittenDigest != "" && old.WrittenDigest != old.Digest
	unchanged := in.Value == old.Value && in.encoding() == old.encoding() && !drifted
	state := old
	state.FlySecretArgs = in
	if req.DryRun {
		return infer.UpdateResponse[FlySecretState]{Output: state}, nil
	}
	op := begin(ctx, client, in.App, in.Deploy)
	defer op.End()
	if !unchanged {
		res, err := op.Write(ctx, flyapi.Write{Owner: rules.URN(ctx),
			Changes: []flyapi.Change{{Name: in.Name, Kind: flyapi.Set, Value: in.encodedValue()}}})
		if err != nil {
			return infer.UpdateResponse[FlySecretState]{}, err
		}
		state = written(in, res)
		state.Deployment = old.Deployment
	}
	op.Reached(flyapi.StageWrite)
	err = state.rollOutWrite(ctx, op, state.App, state.Deploy, state.Version)
	return infer.UpdateResponse[FlySecretState]{Output: state}, err
}

// Read serves refresh and import with one API call. Import passes the ID alone.
//
// Fly's reads are eventually consistent: the read asks for the secrets version recorded at
// the last write (or a newer one this process wrote), so that a refresh right after an up
// neither sees an old digest nor misses the secret.
func (r FlySecret) Read(
	ctx context.Context, req infer.ReadRequest[FlySecretArgs, FlySecretState],
) (infer.ReadResponse[FlySecretArgs, FlySecretState], error) {
	app, name, err := parseFlySecretID(req.ID)
	if err != nil {
		return infer.ReadResponse[FlySecretArgs, FlySecretState]{}, err
	}
	state := req.State
	imported := state.Digest == ""
	client, err := flyClient(ctx, state.APIToken)
	if err != nil {
		return infer.ReadResponse[FlySecretArgs, FlySecretState]{}, err
	}
	remote, err := client.GetSecretWritten(ctx, app, name, state.Version, state.lastSeen())
	switch {
	case flyapi.IsNotFound(err) && imported:
		return infer.ReadResponse[FlySecretArgs, FlySecretState]{}, rules.NotFoundForImport("Fly.io secret", req.ID, err)
	case flyapi.IsNotFound(err):
		return infer.ReadResponse[FlySecretArgs, FlySecretState]{}, nil // deleted outside Pulumi
	}
	if err != nil {
		return infer.ReadResponse[FlySecretArgs, FlySecretState]{}, err
	}
	// A value written outside Pulumi shows as a digest other than writtenDigest, which the
	// diff turns into a write-back. After an import nothing was written: the value is unknown
	// (""), so the next up writes the program's.
	state.App, state.Name = app, name
	if state.Encoding == nil {
		plainEncoding := EncodingPlain
		state.Encoding = &plainEncoding
	}
	state.Digest = remote.Digest
	state.CreatedAt, state.UpdatedAt = rules.Timestamp(remote.CreatedAt), rules.Timestamp(remote.UpdatedAt)
	if why := flyDrift(app, name, state.Digest, state.WrittenDigest); why != "" {
		p.GetLogger(ctx).Warning(why)
	}
	return infer.ReadResponse[FlySecretArgs, FlySecretState]{
		ID:     flySecretID(app, name),
		Inputs: state.FlySecretArgs,
		State:  state,
	}, nil
}

// lastSeen is the newest update of the secret the state knows of (this resource's write, or a
// later one a refresh saw): a read that shows it is recent enough for this secret (the listing
// every FlySecret of the app shares then serves it).
func (s FlySecretState) lastSeen() time.Time {
	var newest time.Time
	for _, at := range []string{s.WrittenAt, s.UpdatedAt} {
		if t, err := time.Parse(time.RFC3339Nano, at); err == nil && t.After(newest) {
			newest = t
		}
	}
	return newest
}

// Delete unsets the secret, unless it was written since this resource last wrote it (by
// another stack, a resource that adopted it, or by hand), or another resource of the program
// writes or declares it: then it stays, with a warning. One already gone is success. The
// condition is decided when the bulk call is sent, from a listing that shows every earlier write
// of this instance.
func (r FlySecret) Delete(ctx context.Context, req infer.DeleteRequest[FlySecretState]) (infer.DeleteResponse, error) {
	s := req.State
	client, err := flyClient(ctx, s.APIToken)
	if err != nil {
		return infer.DeleteResponse{}, err
	}
	op := client.Begin(s.App, rules.URN(ctx))
	defer op.End()
	res, err := op.Write(ctx, flyapi.Write{Owner: rules.URN(ctx),
		Changes: []flyapi.Change{{Name: s.Name, Kind: flyapi.Unset, Written: s.lastWrite()}}})
	switch {
	case flyapi.IsAppNotFound(err):
		return infer.DeleteResponse{}, nil // the app is gone, and its secrets with it
	case err != nil:
		return infer.DeleteResponse{}, err
	}
	if why, left := res.Left[s.Name]; left {
		leftInPlace(ctx, s.App, s.Name, why)
	}
	return infer.DeleteResponse{}, nil
}

// lastWrite is what the state knows of this resource's last write of the secret: its own, or
// for a state of 0.1.0 or an import, the last time it saw it.
func (s FlySecretState) lastWrite() flyapi.Written {
	if s.WrittenAt != "" {
		return writtenRecord(s.WrittenDigest, s.WrittenAt, s.Version)
	}
	return writtenRecord(s.Digest, s.UpdatedAt, s.Version)
}

// written is the state after a write of the inputs' value.
func written(in FlySecretArgs, w flyapi.WriteResult) FlySecretState {
	res := w.Secrets[in.Name]
	return FlySecretState{
		FlySecretArgs: in,
		Digest:        res.Digest,
		CreatedAt:     rules.Timestamp(res.CreatedAt),
		UpdatedAt:     rules.Timestamp(res.UpdatedAt),
		Version:       w.Version,
		WrittenDigest: res.Digest,
		WrittenAt:     rules.Timestamp(res.UpdatedAt),
	}
}

func (a FlySecretArgs) encoding() ValueEncoding { return encodingOf(a.Encoding) }

// encodedValue is what is sent to Fly.io.
func (a FlySecretArgs) encodedValue() string { return encode(a.Encoding, a.Value) }

func flySecretID(app, name string) string { return app + "/" + name }

// parseFlySecretID reads `<app>/<name>`, checking both parts before any API call.
func parseFlySecretID(id string) (app, name string, err error) {
	app, name, found := strings.Cut(id, "/")
	if !found || !appPattern.MatchString(app) || !secretNamePattern.MatchString(name) {
		return "", "", fmt.Errorf("FlySecret ID %q is malformed: expected <app>/<name>, e.g. my-app/DATABASE_URL", id)
	}
	return app, name, nil
}
