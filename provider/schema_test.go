package provider

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/cloudflare"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/fly"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/version"
)

func loadSchema(t *testing.T) schema.PackageSpec {
	t.Helper()
	spec, err := p.GetSchema(t.Context(), Name, version.Version, New())
	require.NoError(t, err)
	// Round-trip through JSON, as the engine and the SDK generators read it.
	raw, err := json.Marshal(spec)
	require.NoError(t, err)
	var out schema.PackageSpec
	require.NoError(t, json.Unmarshal(raw, &out))
	return out
}

func TestSchemaNamesAreTheDesignsNames(t *testing.T) {
	spec := loadSchema(t)
	assert.Equal(t, "edgesecrets", spec.Name)
	assert.ElementsMatch(t, []string{fly.FlySecretToken, fly.FlyAppSecretsToken, fly.SecretsDeploymentToken,
		cloudflare.SecretsStoreToken, cloudflare.SecretToken, cloudflare.WorkerSecretToken, cloudflare.WorkerSecretsToken},
		slices.Collect(maps.Keys(spec.Resources)))
	assert.ElementsMatch(t,
		[]string{"flyApiToken", "flyApiUrl", "cloudflareApiToken", "cloudflareAccountId", "cloudflareApiUrl"},
		slices.Collect(maps.Keys(spec.Config.Variables)))
}

// Secret inputs must be secret in the schema so that every SDK marks them, in inputs and
// outputs alike; the lifecycle tests check the runtime marking.
func TestSchemaMarksSecretsSecret(t *testing.T) {
	spec := loadSchema(t)
	secretProps := map[string][]string{
		fly.FlySecretToken:           {"value", "apiToken"},
		cloudflare.SecretsStoreToken: {"secrets", "apiToken"},
		cloudflare.SecretToken:       {"value", "apiToken"},
	}
	for token, names := range secretProps {
		r := spec.Resources[token]
		for _, name := range names {
			assert.True(t, r.InputProperties[name].Secret, "%s input %s must be secret", token, name)
			assert.True(t, r.Properties[name].Secret, "%s output %s must be secret", token, name)
		}
	}
	for _, key := range []string{"flyApiToken", "cloudflareApiToken"} {
		assert.True(t, spec.Config.Variables[key].Secret, "config %s must be secret", key)
		assert.True(t, spec.Provider.InputProperties[key].Secret, "provider input %s must be secret", key)
	}
}

func TestSchemaDocumentsEveryProperty(t *testing.T) {
	spec := loadSchema(t)
	for token, r := range spec.Resources {
		assert.NotEmpty(t, r.Description, token)
		for name, prop := range r.InputProperties {
			assert.NotEmpty(t, prop.Description, "%s input %s", token, name)
		}
		for name, prop := range r.Properties {
			assert.NotEmpty(t, prop.Description, "%s output %s", token, name)
		}
	}
	for name, prop := range spec.Config.Variables {
		assert.NotEmpty(t, prop.Description, "config %s", name)
	}
	for token, typ := range spec.Types {
		for name, prop := range typ.Properties {
			assert.NotEmpty(t, prop.Description, "%s.%s", token, name)
		}
	}
}

func TestSchemaReplaceOnChanges(t *testing.T) {
	spec := loadSchema(t)
	for token, rules := range allRules() {
		var marked []string
		for name, prop := range spec.Resources[token].InputProperties {
			if prop.ReplaceOnChanges {
				marked = append(marked, name)
			}
		}
		assert.ElementsMatch(t, rules.ReplaceOnChanges, marked, "%s: the schema and the diff must agree", token)
	}
}

// The README's limits table says what the code checks.
func TestReadmeListsEveryLimit(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	require.NoError(t, err)
	for _, l := range slices.Concat(fly.Limits, cloudflare.Limits) {
		row := fmt.Sprintf("| %s | %d %s | %s |", l.What, l.Max, l.Unit, l.Source)
		assert.Contains(t, strings.ReplaceAll(string(readme), "`", ""), strings.ReplaceAll(row, "`", ""),
			"README.md's limits table must have this row")
	}
}
