package cloudflare

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/cfapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/config"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/ownership"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// What WorkerSecret and WorkerSecrets share: a Worker script's own secrets
// (docs/contract-cloudflare-workers-secrets.md).

var (
	// workerScriptPattern is Cloudflare's rule for a Worker's name.
	workerScriptPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$`)
	// workerSecretNamePattern is the stricter reading of a Worker secret's name (no source pins
	// the rule): a JavaScript identifier, as `env.NAME` reads it.
	workerSecretNamePattern = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)
	// dispatchNamespacePattern is what a dispatch namespace name may hold in an ID.
	dispatchNamespacePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

	limitWorkerValue = rules.Limit{Max: 5120, Unit: "bytes", What: "Worker secret values",
		Source: "Workers limits: 5 KB per environment variable (5,000 or 5,120 bytes: UNCONFIRMED)"}
	limitWorkerSecrets = rules.Limit{Max: 64, Unit: "entries", What: "a Worker's secrets and variables",
		Source: "Workers limits: 64 on the Free plan (128 on Paid)"}
)

const (
	workerSecretNameRule = "Worker secret names are read as `env.NAME`: use letters, digits, `_` and `$`, not " +
		"starting with a digit"
	workerScriptRule = "a Worker's name is lowercase letters, digits, `-` and `_`, at most 63 characters"
)

// checkWorkerScript validates the script's inputs at preview.
func checkWorkerScript(c *rules.Checker) {
	c.Pattern("scriptName", workerScriptPattern, workerScriptRule)
	c.Pattern("dispatchNamespace", dispatchNamespacePattern, "a dispatch namespace name is letters, digits, `-` and `_`")
	c.Pattern("accountId", config.CloudflareIDPattern, "a Cloudflare account ID is 32 hexadecimal characters")
	c.Credential("apiToken", config.KeyCloudflareToken)
}

// workerScriptOf is the script that inputs name.
func workerScriptOf(scriptName string, namespace *string) cfapi.WorkerScript {
	return cfapi.WorkerScript{Namespace: rules.OrDefault(namespace, ""), Name: scriptName}
}

// describeWorker names a script for messages: `Worker "api"`, with its namespace when it has one.
func describeWorker(script cfapi.WorkerScript) string {
	if script.Namespace == "" {
		return fmt.Sprintf("Worker %q", script.Name)
	}
	return fmt.Sprintf("Worker %q of dispatch namespace %q", script.Name, script.Namespace)
}

// workerDigest is the digest recorded of a value written: SHA-256, hex.
func workerDigest(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}

// workerWriteError says what a failed write of a script's secrets means and how to fix it. Every
// write fails before anything is written, so "nothing was written" holds for all of these.
func workerWriteError(script cfapi.WorkerScript, account string, err error) error {
	switch {
	case cfapi.IsWorkerNotFound(err):
		return fmt.Errorf("%s does not exist in Cloudflare account %s, so nothing was written: deploy the Worker "+
			"first (for example `wrangler deploy`, or the resource that uploads it, passed in `dependsOn`), or fix "+
			"`scriptName`%s: %w", describeWorker(script), account, namespaceHint(script), err)
	case cfapi.IsLatestNotDeployed(err):
		return fmt.Errorf("%s has a deployment in progress (its newest version is not the one deployed, as in a "+
			"gradual deployment), and Cloudflare refuses secret changes that would deploy a version nobody chose, as "+
			"`wrangler secret put` does; nothing was written. Finish or roll back the deployment (`wrangler versions "+
			"deploy`), then run `pulumi up` again: %w", describeWorker(script), err)
	case cfapi.IsNoVersions(err):
		return fmt.Errorf("%s has no uploaded version, so it has no secrets to change; nothing was written. Upload "+
			"the Worker first: %w", describeWorker(script), err)
	}
	return err
}

func namespaceHint(script cfapi.WorkerScript) string {
	if script.Namespace == "" {
		return " (a Workers for Platforms script also needs `dispatchNamespace`)"
	}
	return " and `dispatchNamespace`"
}

// declareWorkerSecrets records, in the instance's table, the names a resource's Check found for
// its script: a name two resources declare fails the Check, naming both; scope is a prune scope.
func declareWorkerSecrets(
	ctx context.Context, c *rules.Checker, prop, scriptName string, names []string, scope *ownership.Scope,
) {
	inst, err := config.Of(ctx)
	if err != nil {
		return
	}
	account, known := c.Str("accountId")
	if v, given := c.Inputs.GetOk("accountId"); given && !v.IsNull() && !known {
		return // an unknown account: checked once it is known
	}
	namespace, nsKnown := c.Str("dispatchNamespace")
	if v, given := c.Inputs.GetOk("dispatchNamespace"); given && !v.IsNull() && !nsKnown {
		return
	}
	script := cfapi.WorkerScript{Namespace: namespace, Name: scriptName}
	place := inst.WorkerPlace(account, script)
	if err := inst.Owners.Declare(place, ownership.OwnerOf(rules.URN(ctx)), names, scope); err != nil {
		c.Fail(prop, "%s: %v", describeWorker(script), err)
	}
}

// workerID is a resource's ID: `<scriptName>[/<name>]`, with the account in front when it is not
// the provider's, and `<accountId>/<namespace>/` in front for a Workers for Platforms script.
func workerID(ctx context.Context, account string, script cfapi.WorkerScript, name string) string {
	parts := []string{}
	if script.Namespace != "" || account != providerAccount(ctx) {
		parts = append(parts, account)
	}
	if script.Namespace != "" {
		parts = append(parts, script.Namespace)
	}
	parts = append(parts, script.Name)
	if name != "" {
		parts = append(parts, name)
	}
	return strings.Join(parts, "/")
}

// parsedWorkerID is what an ID names; account "" is the provider's.
type parsedWorkerID struct {
	account string
	script  cfapi.WorkerScript
	name    string
}

// parseWorkerID reads a WorkerSecret ID (withName) or a WorkerSecrets ID, checking every part
// before any API call: `[<accountId>/[<dispatchNamespace>/]]<scriptName>[/<name>]`.
func parseWorkerID(kind, id string, withName bool) (parsedWorkerID, error) {
	format := "<scriptName>, <accountId>/<scriptName> or <accountId>/<dispatchNamespace>/<scriptName>"
	if withName {
		format = "<scriptName>/<name>, <accountId>/<scriptName>/<name> or " +
			"<accountId>/<dispatchNamespace>/<scriptName>/<name>"
	}
	malformed := func(why string) error {
		return fmt.Errorf("%s ID %q is malformed: %s; expected %s", kind, id, why, format)
	}
	parts := strings.Split(id, "/")
	var out parsedWorkerID
	if withName {
		if len(parts) < 2 {
			return out, malformed("it has no secret name")
		}
		out.name = parts[len(parts)-1]
		parts = parts[:len(parts)-1]
		if !workerSecretNamePattern.MatchString(out.name) {
			return out, malformed(fmt.Sprintf("%q is not a Worker secret name", out.name))
		}
	}
	switch len(parts) {
	case 1:
	case 2, 3:
		out.account, parts = parts[0], parts[1:]
		if !config.CloudflareIDPattern.MatchString(out.account) {
			return out, malformed(fmt.Sprintf("%q is not an account ID (32 hexadecimal characters)", out.account))
		}
		if len(parts) == 2 {
			out.script.Namespace, parts = parts[0], parts[1:]
			if !dispatchNamespacePattern.MatchString(out.script.Namespace) {
				return out, malformed(fmt.Sprintf("%q is not a dispatch namespace name", out.script.Namespace))
			}
		}
	default:
		return out, malformed("too many parts")
	}
	out.script.Name = parts[0]
	if !workerScriptPattern.MatchString(out.script.Name) {
		return out, malformed(fmt.Sprintf("%q is not a Worker name (%s)", out.script.Name, workerScriptRule))
	}
	return out, nil
}

// warnKept tells of removals a write left in place.
func warnKept(ctx context.Context, script cfapi.WorkerScript, kept map[string]string) {
	for _, name := range slices.Sorted(maps.Keys(kept)) {
		p.GetLogger(ctx).Warningf("left secret %q of %s in place: %s. To remove it anyway: `wrangler secret delete %s "+
			"--name %s`", name, describeWorker(script), kept[name], name, script.Name)
	}
}
