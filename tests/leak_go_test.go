package tests

import (
	"bytes"
	"context"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/debug"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optdestroy"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optrefresh"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optup"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/edgesecrets/pulumi-edgesecrets/sdk/go/edgesecrets/cloudflare"
	"github.com/edgesecrets/pulumi-edgesecrets/sdk/go/edgesecrets/fly"
)

// TestNoSecretLeaksGo is TestNoSecretLeaks for a Go program on the generated SDK, which passes
// every value and token as a plain string: the provider must make them secret all the same.
func TestNoSecretLeaksGo(t *testing.T) {
	t.Parallel()
	h, w, emulatorLog := newLeakHarness(t)
	flyToken, cloudflareToken := h.envVars["FLY_API_TOKEN"], h.envVars["CLOUDFLARE_API_TOKEN"]
	values := map[string]string{}
	fresh := func() {
		for _, k := range []string{"fly", "inline", "cloudflare"} {
			values[k] = w.canary(k)
		}
	}
	fresh()
	program := func(ctx *pulumi.Context) error {
		if _, err := fly.NewFlySecret(ctx, "db", &fly.FlySecretArgs{
			App: pulumi.String(flyApp), Name: pulumi.String("DATABASE_URL"),
			Value: pulumi.String(values["fly"]), ApiToken: pulumi.String(flyToken),
		}); err != nil {
			return err
		}
		store, err := cloudflare.NewSecretsStore(ctx, "store", &cloudflare.SecretsStoreArgs{
			ApiToken: pulumi.String(cloudflareToken),
			Secrets:  pulumi.StringMap{"STRIPE_KEY": pulumi.String(values["inline"])},
		})
		if err != nil {
			return err
		}
		_, err = cloudflare.NewSecret(ctx, "key", &cloudflare.SecretArgs{
			StoreId: store.StoreId, Name: pulumi.String("API_KEY"),
			Value: pulumi.String(values["cloudflare"]), ApiToken: pulumi.String(cloudflareToken),
		})
		return err
	}
	workDir := t.TempDir()
	stack, err := auto.UpsertStackInlineSource(context.Background(), "leak", "edgesecrets-leak-go", program,
		auto.WorkDir(workDir), auto.EnvVars(h.envVars))
	if err != nil {
		t.Fatalf("creating the stack: %v", err)
	}
	level := uint(9)
	logging := debug.LoggingOptions{LogLevel: &level, LogToStdErr: true, FlowToPlugins: true, Debug: true}
	var out bytes.Buffer
	step := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v\n%s", what, err, tail(out.String(), 40))
		}
		w.check(what, out.String())
		out.Reset()
	}
	ctx := context.Background()
	_, err = stack.Preview(
		ctx,
		optpreview.ProgressStreams(&out),
		optpreview.ErrorProgressStreams(&out),
		optpreview.DebugLogging(logging),
	)
	step("preview", err)
	_, err = stack.Up(ctx, optup.ProgressStreams(&out), optup.ErrorProgressStreams(&out), optup.DebugLogging(logging))
	step("up", err)
	_, err = stack.Refresh(
		ctx,
		optrefresh.ProgressStreams(&out),
		optrefresh.ErrorProgressStreams(&out),
		optrefresh.DebugLogging(logging),
	)
	step("refresh", err)
	fresh()
	_, err = stack.Up(ctx, optup.ProgressStreams(&out), optup.ErrorProgressStreams(&out), optup.DebugLogging(logging))
	step("update", err)
	_, err = stack.Destroy(
		ctx,
		optdestroy.ProgressStreams(&out),
		optdestroy.ErrorProgressStreams(&out),
		optdestroy.DebugLogging(logging),
	)
	step("destroy", err)

	w.checkFiles(h.backendDir, workDir)
	w.check("the emulator's log", emulatorLog.String())
	t.Logf(
		"checked %d canary forms; %d engine RPC-marshalling lines holding one were left out",
		len(w.canaries),
		w.excluded,
	)
}
