package provider

import (
	"strings"
	"testing"

	"github.com/blang/semver"
	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/integration"
	presource "github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/cloudflare"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/fly"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/version"
)

func TestConfigFallsBackToEnvironment(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	t.Setenv("FLY_API_TOKEN", "")
	t.Setenv("FLY_ACCESS_TOKEN", h.opts.FlyToken)
	t.Setenv("FLY_FLAPS_BASE_URL", h.url)
	t.Setenv("CLOUDFLARE_API_TOKEN", h.opts.CloudflareToken)
	t.Setenv("CLOUDFLARE_ACCOUNT_ID", h.opts.CloudflareAccount)
	t.Setenv("CLOUDFLARE_BASE_URL", h.url+"/client/v4")

	checked, err := h.newServer(props(map[string]any{})).CheckConfig(p.CheckRequest{
		Urn: "urn:pulumi:test::test::pulumi:providers:edgesecrets::default", Inputs: props(map[string]any{}),
	})
	require.NoError(t, err)
	for _, key := range []string{"flyApiToken", "cloudflareApiToken", "flyApiUrl"} {
		_, present := checked.Inputs.GetOk(key)
		assert.False(t, present, "%s from the environment must not reach the state", key)
	}

	h.server = h.newServer(props(map[string]any{}))
	h.resource(fly.FlySecretToken, "db").create(flyInputs("DATABASE_URL", "v"))
	h.accountStore()
	h.resource(cloudflare.SecretToken, "key").create(secretInputs("", "v"))
}

func TestFlyMissingTokenFailsAtPreview(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	t.Setenv("FLY_API_TOKEN", "")
	t.Setenv("FLY_ACCESS_TOKEN", "")
	bare := h.newServer(props(map[string]any{"flyApiUrl": h.url}))
	r := h.resource(fly.FlySecretToken, "db")
	st := h.calls(func() {
		check, err := bare.Check(p.CheckRequest{Urn: r.urn, Inputs: flyInputs("DATABASE_URL", "v")})
		require.NoError(t, err)
		_, err = bare.Create(p.CreateRequest{Urn: r.urn, Properties: check.Inputs, DryRun: true})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "edgesecrets:flyApiToken")
		assert.Contains(t, err.Error(), "FLY_API_TOKEN")
	})
	assert.Zero(t, st.Total)

	// The resource's own token is enough.
	// A plain (non-secret) value and token from the program still end up secret in inputs and state.
	plain := props(map[string]any{"app": testFlyApp, "name": "DATABASE_URL", "value": "plain-value",
		"apiToken": h.opts.FlyToken})
	checked, err := bare.Check(p.CheckRequest{Urn: r.urn, Inputs: plain})
	require.NoError(t, err)
	assertSecret(t, checked.Inputs, "apiToken", "checked inputs")
	assertSecret(t, checked.Inputs, "value", "checked inputs")
	created, err := bare.Create(p.CreateRequest{Urn: r.urn, Properties: checked.Inputs})
	require.NoError(t, err)
	assertSecret(t, created.Properties, "apiToken", "state")
	assertSecret(t, created.Properties, "value", "state")
}

func TestConfigChangesNeverReplace(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	old := props(map[string]any{"flyApiToken": secret("a"), "flyApiUrl": "https://api.machines.dev", "version": "0.1.0"})
	for name, next := range map[string]map[string]any{
		"token rotation": {"flyApiToken": secret("b"), "flyApiUrl": "https://api.machines.dev", "version": "0.1.0"},
		"new URL":        {"flyApiToken": secret("a"), "flyApiUrl": "http://127.0.0.1:8787", "version": "0.1.0"},
		"added key": {"flyApiToken": secret("a"), "flyApiUrl": "https://api.machines.dev",
			"cloudflareApiToken": secret("c"), "version": "0.1.0"},
	} {
		diff, err := h.server.DiffConfig(p.DiffRequest{Urn: "urn:pulumi:test::test::pulumi:providers:edgesecrets::p",
			OldInputs: old, State: old, Inputs: props(next)})
		require.NoError(t, err)
		assert.True(t, diff.HasChanges, name)
		for key, d := range diff.DetailedDiff {
			assert.NotContains(t, string(d.Kind), "replace", "%s: %s would replace the provider", name, key)
		}
	}
	upgraded := props(map[string]any{"flyApiToken": secret("a"), "flyApiUrl": "https://api.machines.dev",
		"version": "0.2.0"})
	diff, err := h.server.DiffConfig(p.DiffRequest{Urn: "urn:pulumi:test::test::pulumi:providers:edgesecrets::p",
		OldInputs: old, State: old, Inputs: upgraded})
	require.NoError(t, err)
	assert.False(t, diff.HasChanges, "a plugin upgrade is not a config change: %v", diff.DetailedDiff)
}

func TestConfigRejectsMalformedSettings(t *testing.T) {
	for key, value := range map[string]string{
		"flyApiUrl":           "api.machines.dev",
		"cloudflareApiUrl":    "ftp://example.com",
		"cloudflareAccountId": "my-account",
	} {
		server, err := integration.NewServer(t.Context(), Name, semver.MustParse(version.Version),
			integration.WithProvider(New()))
		require.NoError(t, err)
		err = server.Configure(p.ConfigureRequest{Args: props(map[string]any{key: value})})
		require.Error(t, err, key)
		assert.Contains(t, err.Error(), "edgesecrets:"+key)
	}
}

// A misspelt configuration key fails at preview with the key meant; the engine's own keys pass.
func TestUnknownConfigKeysFail(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	urn := presource.URN("urn:pulumi:test::test::pulumi:providers:edgesecrets::default")
	resp, err := h.server.CheckConfig(p.CheckRequest{Urn: urn, Inputs: props(map[string]any{
		"flyToken": "x", "flyApiUrl": h.url, "version": "0.1.0", "cloudflareAcountId": "y", "colour": "blue",
	})})
	require.NoError(t, err)
	var reasons []string
	for _, f := range resp.Failures {
		reasons = append(reasons, f.Reason)
	}
	require.Len(t, reasons, 3, "%v", reasons)
	assert.Contains(t, strings.Join(reasons, "\n"),
		"edgesecrets:flyToken is not a configuration key of this provider; did you mean edgesecrets:flyApiToken?")
	assert.Contains(t, strings.Join(reasons, "\n"), "did you mean edgesecrets:cloudflareAccountId?")
	assert.Contains(t, strings.Join(reasons, "\n"),
		"edgesecrets:colour is not a configuration key of this provider (keys: ")
	for _, r := range reasons {
		assert.NotContains(t, r, "\"x\"", "never the value")
	}
}
