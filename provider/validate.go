package provider

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
)

var (
	// Fly secret names become environment variables.
	flySecretNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// Fly app names: lowercase letters, digits and dashes.
	flyAppPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	// Cloudflare secret names, as wrangler validates them.
	cloudflareSecretNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	// Cloudflare store and account IDs.
	cloudflareIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)
	accountIDPattern    = cloudflareIDPattern
)

const (
	maxFlyAppNameLength          = 63
	maxCloudflareValueBytes      = 65536
	maxCloudflareSecretNameBytes = 255
)

// cloudflareScopes are the services a Secrets Store secret can be bound to.
var cloudflareScopes = []string{"access", "ai_gateway", "containers", "dex", "websearch", "workers"}

// check decodes inputs with infer's DefaultCheck (types, required fields, defaults), then,
// if they decode, runs validate on the raw inputs, where unknown values are still visible.
func check[I any](ctx context.Context, inputs property.Map, validate func(*checker)) (infer.CheckResponse[I], error) {
	args, failures, err := infer.DefaultCheck[I](ctx, inputs)
	if err != nil || len(failures) > 0 {
		return infer.CheckResponse[I]{Inputs: args, Failures: failures}, err
	}
	c := checker{inputs: inputs}
	validate(&c)
	return infer.CheckResponse[I]{Inputs: args, Failures: c.failures}, nil
}

// checker collects Check failures for one resource's inputs. It only judges values that
// are known: at preview an input computed from another resource is unknown, and it is
// validated when it is known, before any API call.
type checker struct {
	inputs   property.Map
	failures []p.CheckFailure
}

func (c *checker) fail(prop, format string, args ...any) {
	c.failures = append(c.failures, p.CheckFailure{Property: prop, Reason: fmt.Sprintf(format, args...)})
}

// str returns a known string input; ok is false when it is absent, null or unknown.
func (c *checker) str(prop string) (value string, ok bool) {
	v, present := c.inputs.GetOk(prop)
	if !present || v.IsNull() || v.IsComputed() || !v.IsString() {
		return "", false
	}
	return v.AsString(), true
}

// oldValueWas reports whether the old inputs held exactly this string for prop.
func oldValueWas(olds property.Map, prop, want string) bool {
	v, ok := olds.GetOk(prop)
	return ok && v.IsString() && v.AsString() == want
}

// pattern fails prop when its known value does not match re; what describes the rule.
func (c *checker) pattern(prop string, re *regexp.Regexp, what string) {
	if v, ok := c.str(prop); ok && !re.MatchString(v) {
		c.fail(prop, "%s is %q: %s", prop, v, what)
	}
}

// nonEmptyValue fails a secret value that is known to be empty, without echoing it.
// An empty value is accepted when it is the old input unchanged: it is the placeholder
// that Read records for a value it cannot see (after an import), and the engine checks
// imported inputs as they were read.
func (c *checker) nonEmptyValue(olds property.Map, prop string) {
	if v, ok := c.str(prop); ok && v == "" && !oldValueWas(olds, prop, "") {
		c.fail(prop, "%s must not be empty: an empty secret is almost always a missing environment variable "+
			"or config value in the program", prop)
	}
}

// valueSize fails a known secret value longer than limit bytes, without echoing it.
func (c *checker) valueSize(prop string, limit int) {
	if v, ok := c.str(prop); ok && len(v) > limit {
		c.fail(prop, "%s is %d bytes long; Cloudflare accepts at most %d bytes (64 KiB)", prop, len(v), limit)
	}
}

// scopes validates a list of Cloudflare scopes.
func (c *checker) scopes(prop string) {
	v, ok := c.inputs.GetOk(prop)
	if !ok || v.IsNull() || v.IsComputed() || !v.IsArray() {
		return
	}
	if v.AsArray().Len() == 0 {
		c.fail(prop, "%s must list at least one scope (allowed: %s)", prop, strings.Join(cloudflareScopes, ", "))
		return
	}
	for i, item := range v.AsArray().All {
		if !item.IsString() {
			continue
		}
		if s := item.AsString(); !slices.Contains(cloudflareScopes, s) {
			c.fail(fmt.Sprintf("%s[%d]", prop, i), "%q is not a Secrets Store scope; allowed: %s",
				s, strings.Join(cloudflareScopes, ", "))
		}
	}
}
