// Package provider builds the edgesecrets Pulumi provider from its schema modules: provider/fly
// and provider/cloudflare hold the resources, provider/internal/config the configuration and the
// API clients made from it, and provider/internal/rules what every resource shares (diff rules,
// checks). This package only assembles them and installs the rules around infer.
package provider

import (
	"maps"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/cloudflare"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/fly"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/config"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// Name is the Pulumi package name.
const Name = config.Package

// PluginDownloadURL is where the engine downloads the provider plugin from when a program's SDK
// asks for it: the project's GitHub releases.
const PluginDownloadURL = "github://api.github.com/edgesecrets/pulumi-edgesecrets"

// New returns the provider, ready to serve or to test with pulumi-go-provider's
// integration package.
func New() p.Provider { return newProvider(config.DefaultTiming()) }

// newProvider builds the provider with the given timing (tests shorten the waits).
func newProvider(t *config.Timing) p.Provider {
	modules := []rules.Module{fly.Module(), cloudflare.Module()}
	cfg := config.New(t)
	var resources []infer.InferredResource
	var functions []infer.InferredFunction
	byType := map[string]rules.Rules{}
	for _, m := range modules {
		resources = append(resources, m.Resources...)
		functions = append(functions, m.Functions...)
		maps.Copy(byType, m.Rules)
	}
	built, err := infer.NewProviderBuilder().
		WithDisplayName("edgesecrets").
		WithDescription("Manage the secrets edge apps run on: Fly.io app secrets and Cloudflare Secrets Store "+
			"stores and secrets, with values that stay secret and `pulumi import` of existing secrets.").
		WithKeywords("secrets", "fly.io", "cloudflare", "secrets-store", "edge", "category/utility", "kind/native").
		WithHomepage("https://github.com/edgesecrets/pulumi-edgesecrets").
		WithRepository("https://github.com/edgesecrets/pulumi-edgesecrets").
		WithPluginDownloadURL(PluginDownloadURL).
		WithPublisher("edgesecrets").
		WithLicense("Apache-2.0").
		WithLanguageMap(languageMap()).
		WithConfig(infer.Config(cfg)).
		WithResources(resources...).
		WithFunctions(functions...).
		WithModuleMap(map[tokens.ModuleName]tokens.ModuleName{"provider": "index"}).
		Build()
	if err != nil {
		// Build only fails on a malformed resource definition: a programming error.
		panic(err)
	}
	return withInputRules(built, byType, cfg)
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
