// Package fly is the schema module `edgesecrets:fly`: the Fly.io resources, each in a file of its
// own with everything it does. It translates between Pulumi and provider/internal/flyapi, and
// makes its clients through provider/internal/config.
package fly

import (
	"regexp"

	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/config"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// Type tokens of the module's resources.
const (
	FlySecretToken         = config.Package + ":fly:FlySecret"
	FlyAppSecretsToken     = config.Package + ":fly:FlyAppSecrets"
	SecretsDeploymentToken = config.Package + ":fly:SecretsDeployment"
)

// Module is what the provider's builder serves of this module.
func Module() rules.Module {
	return rules.Module{
		Resources: []infer.InferredResource{
			infer.Resource(FlySecret{}),
			infer.Resource(FlyAppSecrets{}),
			infer.Resource(SecretsDeployment{}),
		},
		Functions: []infer.InferredFunction{
			infer.Function(GetFlySecrets{}),
		},
		Rules: map[string]rules.Rules{
			FlySecretToken:         flySecretRules,
			FlyAppSecretsToken:     flyAppSecretsRules,
			SecretsDeploymentToken: secretsDeploymentRules,
		},
	}
}

var (
	// Fly secret names become environment variables.
	secretNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// Fly app names: lowercase letters, digits and dashes.
	appPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
)

// The module's size rules; Limits lists them in the order the README's table shows them.
var (
	limitAppName = rules.Limit{Max: 63, Unit: "characters", What: "Fly.io app names",
		Source: "a DNS label (apps are <app>.fly.dev); UNCONFIRMED"}
	limitSecretName = rules.Limit{Max: 255, Unit: "bytes", What: "Fly.io secret names",
		Source: "UNCONFIRMED: Fly does not document one; 255 is the Cloudflare limit"}
	limitValue = rules.Limit{Max: 65536, Unit: "bytes", What: "Fly.io secret values",
		Source: "UNCONFIRMED: Fly does not document one; 64 KiB as on Cloudflare"}

	Limits = []rules.Limit{limitAppName, limitSecretName, limitValue}
)
