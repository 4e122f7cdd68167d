package cloudflare

import (
	"context"
	_ "embed"
	"fmt"

	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// GetWorkerSecrets lists a Worker script's secrets: names and types, never a value.
type GetWorkerSecrets struct{}

// GetWorkerSecretsArgs are getWorkerSecrets' inputs.
type GetWorkerSecretsArgs struct {
	ScriptName        string  `pulumi:"scriptName"`
	AccountID         *string `pulumi:"accountId,optional"`
	DispatchNamespace *string `pulumi:"dispatchNamespace,optional"`
	APIToken          *string `pulumi:"apiToken,optional" provider:"secret"`
}

// GetWorkerSecretsResult is what the script holds.
type GetWorkerSecretsResult struct {
	ScriptName string                 `pulumi:"scriptName"`
	AccountID  string                 `pulumi:"accountId"`
	Names      []string               `pulumi:"names"`
	Secrets    []WorkerSecretListItem `pulumi:"secrets"`
}

// WorkerSecretListItem is one secret of a script as listed.
type WorkerSecretListItem struct {
	Name string `pulumi:"name"`
	Type string `pulumi:"type"`
}

var (
	_ infer.Fn[GetWorkerSecretsArgs, GetWorkerSecretsResult] = GetWorkerSecrets{}
	_ infer.Annotated                                        = (*GetWorkerSecrets)(nil)
	_ infer.Annotated                                        = (*GetWorkerSecretsArgs)(nil)
	_ infer.Annotated                                        = (*GetWorkerSecretsResult)(nil)
	_ infer.Annotated                                        = (*WorkerSecretListItem)(nil)
)

// getWorkerSecretsDoc is getWorkerSecrets' schema description, with its examples in every SDK language.
//
//go:embed getworkersecrets.md
var getWorkerSecretsDoc string

func (f *GetWorkerSecrets) Annotate(a infer.Annotator) {
	a.SetToken("cloudflare", "getWorkerSecrets")
	a.Describe(f, rules.Doc(getWorkerSecretsDoc))
}

func (a *GetWorkerSecretsArgs) Annotate(an infer.Annotator) {
	an.Describe(&a.ScriptName, "Name of the Worker script.")
	an.Describe(&a.AccountID, "Cloudflare account ID, overriding the provider's `cloudflareAccountId`.")
	an.Describe(&a.DispatchNamespace, "Workers for Platforms dispatch namespace the script lives in.")
	an.Describe(&a.APIToken, "Cloudflare API token for this call only, overriding the provider's `cloudflareApiToken`.")
}

func (r *GetWorkerSecretsResult) Annotate(a infer.Annotator) {
	a.Describe(&r.ScriptName, "Name of the Worker script.")
	a.Describe(&r.AccountID, "Cloudflare account ID.")
	a.Describe(&r.Names, "The names of the script's secrets, sorted.")
	a.Describe(&r.Secrets, "The script's secrets, sorted by name: name and type (`secret_text` or `secret_key`).")
}

func (i *WorkerSecretListItem) Annotate(a infer.Annotator) {
	a.SetToken("cloudflare", "WorkerSecretListItem")
	a.Describe(i, "One secret of a Worker script, as listed: never a value.")
	a.Describe(&i.Name, "Name of the secret.")
	a.Describe(&i.Type, "`secret_text`, or `secret_key` (a WebCrypto key).")
}

// Invoke lists the script's secrets with one call.
func (f GetWorkerSecrets) Invoke(
	ctx context.Context, req infer.FunctionRequest[GetWorkerSecretsArgs],
) (infer.FunctionResponse[GetWorkerSecretsResult], error) {
	in := req.Input
	if !workerScriptPattern.MatchString(in.ScriptName) {
		return infer.FunctionResponse[GetWorkerSecretsResult]{},
			fmt.Errorf("scriptName is %q: %s", in.ScriptName, workerScriptRule)
	}
	client, err := cloudflareClient(ctx, in.APIToken, in.AccountID)
	if err != nil {
		return infer.FunctionResponse[GetWorkerSecretsResult]{}, err
	}
	script := workerScriptOf(in.ScriptName, in.DispatchNamespace)
	listed, err := client.ListWorkerSecrets(ctx, script)
	if err != nil {
		return infer.FunctionResponse[GetWorkerSecretsResult]{}, workerWriteError(script, client.AccountID(), err)
	}
	out := GetWorkerSecretsResult{ScriptName: in.ScriptName, AccountID: client.AccountID(), Names: []string{},
		Secrets: []WorkerSecretListItem{}}
	for _, s := range listed {
		out.Names = append(out.Names, s.Name)
		out.Secrets = append(out.Secrets, WorkerSecretListItem(s))
	}
	return infer.FunctionResponse[GetWorkerSecretsResult]{Output: out}, nil
}
