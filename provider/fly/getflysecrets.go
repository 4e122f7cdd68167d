package fly

import (
	"context"
	_ "embed"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// GetFlySecrets lists an app's secrets, as `fly secrets list` does: names, digests and times,
// never a value.
type GetFlySecrets struct{}

// GetFlySecretsArgs are getFlySecrets' inputs.
type GetFlySecretsArgs struct {
	App      string  `pulumi:"app"`
	APIToken *string `pulumi:"apiToken,optional" provider:"secret"`
}

// GetFlySecretsResult is what getFlySecrets returns.
type GetFlySecretsResult struct {
	App     string          `pulumi:"app"`
	Names   []string        `pulumi:"names"`
	Secrets []FlySecretInfo `pulumi:"secrets"`
	Version int64           `pulumi:"version"`
}

// FlySecretInfo is one secret of an app, as listed.
type FlySecretInfo struct {
	Name      string `pulumi:"name"`
	Digest    string `pulumi:"digest"`
	CreatedAt string `pulumi:"createdAt"`
	UpdatedAt string `pulumi:"updatedAt"`
}

var (
	_ infer.Fn[GetFlySecretsArgs, GetFlySecretsResult] = GetFlySecrets{}
	_ infer.Annotated                                  = (*GetFlySecrets)(nil)
	_ infer.Annotated                                  = (*GetFlySecretsArgs)(nil)
	_ infer.Annotated                                  = (*GetFlySecretsResult)(nil)
	_ infer.Annotated                                  = (*FlySecretInfo)(nil)
)

// getFlySecretsDoc is getFlySecrets' schema description, with its examples in every SDK language.
//
//go:embed getflysecrets.md
var getFlySecretsDoc string

func (f *GetFlySecrets) Annotate(a infer.Annotator) {
	a.SetToken("fly", "getFlySecrets")
	a.Describe(f, rules.Doc(getFlySecretsDoc))
}

func (a *GetFlySecretsArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.App, "Name of the Fly.io app.")
	an.Describe(&a.APIToken, "Fly.io API token for this call only, overriding the provider's `flyApiToken`.")
}

func (r *GetFlySecretsResult) Annotate(a infer.Annotator) {
	a.Describe(&r.App, "Name of the Fly.io app.")
	a.Describe(&r.Names, "The secrets' names, sorted.")
	a.Describe(&r.Secrets, "The secrets, sorted by name.")
	a.Describe(&r.Version, "The newest secrets version of the app that this provider process has written or read "+
		"back (0 when none): Fly.io's list does not report the app's version, so this is a lower bound. Machines at "+
		"`min_secrets_version` >= this value see every secret listed.")
}

func (s *FlySecretInfo) Annotate(a infer.Annotator) {
	a.SetToken("fly", "FlySecretInfo")
	a.Describe(s, "A secret of a Fly.io app, as listed: no value.")
	a.Describe(&s.Name, "Secret name.")
	a.Describe(&s.Digest, "Digest of the stored value; it changes when the value does.")
	a.Describe(&s.CreatedAt, "When the secret was first set (RFC 3339).")
	a.Describe(&s.UpdatedAt, "When the secret was last set (RFC 3339).")
}

// Invoke lists the app's secrets once.
func (f GetFlySecrets) Invoke(
	ctx context.Context, req infer.FunctionRequest[GetFlySecretsArgs],
) (infer.FunctionResponse[GetFlySecretsResult], error) {
	in := req.Input
	if err := checkAppName(in.App); err != nil {
		return infer.FunctionResponse[GetFlySecretsResult]{}, err
	}
	client, err := flyClient(ctx, in.APIToken)
	if err != nil {
		return infer.FunctionResponse[GetFlySecretsResult]{}, err
	}
	listed, err := client.ListSecrets(ctx, in.App, 0)
	if err != nil {
		return infer.FunctionResponse[GetFlySecretsResult]{}, err
	}
	out := GetFlySecretsResult{App: in.App, Names: []string{}, Secrets: []FlySecretInfo{},
		Version: client.KnownVersion(in.App)}
	for _, s := range listed {
		out.Names = append(out.Names, s.Name)
		out.Secrets = append(out.Secrets, FlySecretInfo{Name: s.Name, Digest: s.Digest,
			CreatedAt: rules.Timestamp(s.CreatedAt), UpdatedAt: rules.Timestamp(s.UpdatedAt)})
	}
	slices.Sort(out.Names)
	slices.SortFunc(out.Secrets, func(a, b FlySecretInfo) int { return strings.Compare(a.Name, b.Name) })
	return infer.FunctionResponse[GetFlySecretsResult]{Output: out}, nil
}
