// Package cloudflare is the schema module `edgesecrets:cloudflare`: the Cloudflare Secrets Store
// resources, each in a file of its own with everything it does, and what they share
// (cloudflare.go). It translates between Pulumi and provider/internal/cfapi, and makes its
// clients through provider/internal/config.
package cloudflare

import (
	"regexp"

	"github.com/pulumi/pulumi-go-provider/infer"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/config"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// Type tokens of the module's resources.
const (
	SecretsStoreToken  = config.Package + ":cloudflare:SecretsStore"
	SecretToken        = config.Package + ":cloudflare:Secret"
	WorkerSecretToken  = config.Package + ":cloudflare:WorkerSecret"
	WorkerSecretsToken = config.Package + ":cloudflare:WorkerSecrets"
)

// Module is what the provider's builder serves of this module.
func Module() rules.Module {
	return rules.Module{
		Resources: []infer.InferredResource{
			infer.Resource(SecretsStore{}),
			infer.Resource(Secret{}),
			infer.Resource(WorkerSecret{}),
			infer.Resource(WorkerSecrets{}),
		},
		Functions: []infer.InferredFunction{
			infer.Function(GetSecretsStore{}),
			infer.Function(GetSecret{}),
			infer.Function(GetWorkerSecrets{}),
		},
		Rules: map[string]rules.Rules{
			SecretsStoreToken:  secretsStoreRules,
			SecretToken:        secretRules,
			WorkerSecretToken:  workerSecretRules,
			WorkerSecretsToken: workerSecretsRules,
		},
	}
}

// Secret and store names, as wrangler validates them.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// The module's size rules; Limits lists them in the order the README's table shows them.
var (
	limitName = rules.Limit{Max: 255, Unit: "bytes", What: "Secrets Store secret and store names",
		Source: "UNCONFIRMED: wrangler checks the characters only"}
	limitValue = rules.Limit{Max: 65536, Unit: "bytes", What: "Secrets Store values",
		Source: "the API contract: 64 KiB (secret_value_too_long)"}
	limitInlineSecrets = rules.Limit{Max: 100, Unit: "entries", What: "a store's inline secrets",
		Source: "the account's secrets quota (GET /quota)"}

	Limits = []rules.Limit{limitName, limitValue, limitInlineSecrets, limitWorkerValue, limitWorkerSecrets}
)

// knownScopes are the services a Secrets Store secret can be bound to.
var knownScopes = []string{"access", "ai_gateway", "containers", "dex", "websearch", "workers"}
