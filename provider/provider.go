// Package provider is the edgesecrets Pulumi provider: it translates between Pulumi and
// the Fly.io and Cloudflare API clients in provider/internal. One file per resource.
package provider

import (
	"fmt"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
)

// Name is the Pulumi package name.
const Name = "edgesecrets"

// Resource type tokens.
const (
	flySecretToken    = Name + ":fly:FlySecret"
	secretsStoreToken = Name + ":cloudflare:SecretsStore"
	secretToken       = Name + ":cloudflare:Secret"
)

// New returns the provider, ready to serve or to test with pulumi-go-provider's
// integration package.
func New() p.Provider { return newProvider(defaultTiming()) }

// newProvider builds the provider with the given timing (tests shorten the waits).
func newProvider(t *timing) p.Provider {
	built, err := infer.NewProviderBuilder().
		WithDisplayName("edgesecrets").
		WithDescription("Manage the secrets edge apps run on: Fly.io app secrets and Cloudflare Secrets Store "+
			"stores and secrets, with values that stay secret and `pulumi import` of existing secrets.").
		WithKeywords("secrets", "fly.io", "cloudflare", "secrets-store", "edge", "category/utility", "kind/native").
		WithHomepage("https://github.com/edgesecrets/pulumi-edgesecrets").
		WithRepository("https://github.com/edgesecrets/pulumi-edgesecrets").
		WithPublisher("edgesecrets").
		WithLicense("Apache-2.0").
		WithLanguageMap(languageMap()).
		WithConfig(infer.Config(&Config{})).
		WithResources(
			infer.Resource(FlySecret{t}),
			infer.Resource(SecretsStore{t}),
			infer.Resource(Secret{t}),
		).
		WithModuleMap(map[tokens.ModuleName]tokens.ModuleName{"provider": "index"}).
		Build()
	if err != nil {
		// Build only fails on a malformed resource definition: a programming error.
		panic(err)
	}
	return withInputRules(built, map[string]diffRules{
		flySecretToken:    flySecretRules,
		secretsStoreToken: secretsStoreRules,
		secretToken:       secretRules,
	})
}

// languageMap names the SDK packages (see the design's "Names").
func languageMap() map[string]any {
	return map[string]any{
		"nodejs": map[string]any{
			"packageName":          "@edgesecrets/pulumi",
			"respectSchemaVersion": true,
		},
		"python": map[string]any{
			"packageName":          "pulumi_edgesecrets",
			"respectSchemaVersion": true,
			"pyproject":            map[string]any{"enabled": true},
		},
		"go": map[string]any{
			"importBasePath":                 "github.com/edgesecrets/pulumi-edgesecrets/sdk/go/edgesecrets",
			"generateResourceContainerTypes": true,
			"respectSchemaVersion":           true,
		},
		"csharp": map[string]any{
			"respectSchemaVersion": true,
		},
	}
}

// notFoundForImport is Read's answer when the ID to import names nothing: an error, so that
// `pulumi import` fails and leaves nothing in state (an empty answer would record a phantom).
func notFoundForImport(what, id string, err error) error {
	return fmt.Errorf("%s %q not found, so there is nothing to import: check the ID (%w)", what, id, err)
}

// orDefault dereferences p, or returns def when p is nil.
func orDefault[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// timestamp formats API times as RFC 3339 in UTC, keeping the API's sub-second precision (refresh
// compares modification times); the zero time (absent) is "".
func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
