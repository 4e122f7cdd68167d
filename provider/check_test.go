package provider

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/cloudflare"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/fly"
)

// Inputs of the wrong kind are failures in the program's words, never a crash or Go type names.
func TestCheckTypeErrorsInTheUsersWords(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	storeID := strings.Repeat("0a", 16)
	cases := []struct {
		typ    string
		inputs property.Map
		want   string
	}{
		{fly.FlySecretToken, props(map[string]any{"app": testFlyApp, "name": 42.0, "value": secret("v")}),
			"name must be a string, got a number"},
		{fly.FlySecretToken, props(map[string]any{"app": testFlyApp, "name": "A", "value": 3.5}),
			"value must be a string, got a number"},
		{fly.FlySecretToken, props(map[string]any{"app": []any{"x"}, "name": "A", "value": "v"}),
			"app must be a string, got a list"},
		{fly.FlySecretToken, props(map[string]any{"app": testFlyApp, "value": "v"}), "name is required"},
		{cloudflare.SecretToken, secretInputs(storeID, "v", "scopes", []any{"workers", property.New(property.Null)}),
			"scopes[1] must be a string, got null"},
		{cloudflare.SecretToken, secretInputs(storeID, "v", "scopes", "workers"), "scopes must be a list, got a string"},
		{cloudflare.SecretToken, secretInputs(storeID, "v", "delete", "yes"), "delete must be true or false, got a string"},
		{cloudflare.SecretsStoreToken, props(map[string]any{"secrets": map[string]any{"A": 1.0}}),
			`secrets["A"] must be a string, got a number`},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			_, failures := h.resource(tc.typ, "x").check(tc.inputs)
			require.Len(t, failures, 1)
			assert.Contains(t, failures[0].Reason, tc.want)
			assert.NotContains(t, failures[0].Reason, "provider.", "no Go type names")
		})
	}
}

// The engine prints a failing property's value beside the failure: a failure about a secret
// input names no property, and no reason quotes a value the program passed as a secret.
func TestCheckFailuresNeverCarryASecret(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	storeID := strings.Repeat("0a", 16)
	const canary = "canary-7f3a9c"
	cases := []struct {
		name   string
		typ    string
		inputs property.Map
	}{
		{"inline map with one empty entry", cloudflare.SecretsStoreToken,
			props(map[string]any{"secrets": inline("GOOD", canary+"-good", "EMPTY", "")})},
		{"a too-long secret value", cloudflare.SecretToken, secretInputs(storeID, canary+strings.Repeat("v", 65536))},
		{"a secret-marked name that breaks the rule", cloudflare.SecretToken,
			secretInputs(storeID, "v", "name", secret(canary+" with spaces"))},
		{"a secret-marked scope", cloudflare.SecretToken, secretInputs(storeID, "v", "scopes", []any{secret(canary)})},
		{"a secret-marked scope list", cloudflare.SecretToken,
			secretInputs(storeID, "v", "scopes", secret(canary).WithSecret(true))},
		{"a secret Fly name", fly.FlySecretToken,
			props(map[string]any{"app": testFlyApp, "name": secret(canary + "-x"), "value": secret("v")})},
		{"a whitespace value", fly.FlySecretToken, flyInputs("A", "   ")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, failures := h.resource(tc.typ, "x").check(tc.inputs)
			require.NotEmpty(t, failures)
			for _, f := range failures {
				assert.NotContains(t, f.Reason, canary)
				if v, ok := tc.inputs.GetOk(strings.SplitN(f.Property, "[", 2)[0]); ok && (v.Secret() || v.HasSecrets()) {
					t.Errorf("failure names secret property %q: the engine would print its value", f.Property)
				}
			}
		})
	}
}

// Names and values are held to one limits table on every path.
func TestCheckLimits(t *testing.T) {
	h := newHarness(t, emulator.Options{})
	long := strings.Repeat("N", 10_000)
	storeID := strings.Repeat("0a", 16)
	for _, tc := range []struct {
		typ    string
		inputs property.Map
		want   string
	}{
		{fly.FlySecretToken, flyInputs(long, "v"), "Fly.io secret names have at most 255 bytes"},
		{fly.FlySecretToken, flyInputs("A", strings.Repeat("v", 65537)), "Fly.io secret values have at most 65536 bytes"},
		{cloudflare.SecretToken, secretInputs(storeID, "v", "name", strings.Repeat("n", 256)), "at most 255 bytes"},
		{cloudflare.SecretsStoreToken, props(map[string]any{"secrets": inline(strings.Repeat("n", 300), "v")}),
			"at most 255 bytes"},
		{cloudflare.SecretsStoreToken, props(map[string]any{"name": strings.Repeat("n", 300)}), "at most 255 bytes"},
	} {
		_, failures := h.resource(tc.typ, "x").check(tc.inputs)
		require.NotEmpty(t, failures, tc.want)
		assert.Contains(t, failures[0].Reason, tc.want)
	}
	atLimits := flyInputs(strings.Repeat("N", 255), strings.Repeat("v", 65536))
	_, failures := h.resource(fly.FlySecretToken, "x").check(atLimits)
	assert.Empty(t, failures, "at the limits")
}
