package cloudflare

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/cfapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/config"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/ownership"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// WorkerSecrets' keyTemplate and prune: the rules are ownership's, as for FlyAppSecrets; the
// strays are decided by cfapi (WorkerStrays at preview and refresh, WriteWorkerSecrets when the
// write is sent), from the script's listing and its version history.

// byName is what is written to the script, by secret name.
func (a WorkerSecretsArgs) byName() map[string]string {
	template := rules.OrDefault(a.KeyTemplate, "")
	out := make(map[string]string, len(a.Secrets))
	for key, value := range a.Secrets {
		out[ownership.NameFor(template, key)] = value
	}
	return out
}

// pruneScope is the inputs' prune scope; false when prune is off.
func (a WorkerSecretsArgs) pruneScope() (ownership.Scope, bool) {
	return ownership.PruneScopeOf(rules.OrDefault(a.Prune, false), rules.OrDefault(a.PruneScope, ""),
		rules.OrDefault(a.KeyTemplate, ""), "the whole script")
}

// args are the prune inputs of the state's last write.
func (s WorkerSecretsState) args() WorkerSecretsArgs {
	return WorkerSecretsArgs{KeyTemplate: s.KeyTemplate, Prune: s.Prune, PruneScope: s.PruneScope}
}

// sameWorkerPruneScope says whether two sets of inputs prune the same names: a resource that
// takes a new scope over takes it over anew (its strays are those older than that).
func sameWorkerPruneScope(a, b WorkerSecretsArgs) bool {
	sa, okA := a.pruneScope()
	sb, okB := b.pruneScope()
	return okA == okB && sa.Describe == sb.Describe
}

// removedSince adds a write's removals to the names removed since the scope was taken over; a
// name the resource manages again leaves the list (a later removal of it adds it back).
func removedSince(before, removed []string, managed map[string]string) []string {
	var out []string
	for _, name := range append(slices.Clone(before), removed...) {
		if _, ours := managed[name]; !ours && !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// refreshWorkerStrays records, for a refresh, the scope's strays the next up removes, and warns
// of each, and of those prune keeps and why.
func refreshWorkerStrays(
	ctx context.Context, client *cfapi.Client, script cfapi.WorkerScript, state *WorkerSecretsState,
) error {
	state.UnmanagedNames = nil
	scope, on := state.args().pruneScope()
	if !on {
		state.PruneSince, state.RemovedNames = "", nil
		return nil
	}
	if state.PruneSince == "" {
		state.PruneSince, state.RemovedNames = config.PruneSinceNow(ctx), nil
	}
	prune := cfapi.WorkerPrune{Match: scope.Match, Describe: scope.Describe, Before: parseTime(state.PruneSince),
		RemovedSince: state.RemovedNames}
	strays, kept, err := client.WorkerStrays(ctx, script, prune, slices.Sorted(maps.Keys(state.Digests)),
		rules.URN(ctx))
	if err != nil {
		return err
	}
	log := p.GetLogger(ctx)
	for _, name := range strays {
		log.Warningf("secret %q of %s is in this resource's prune scope %s, no resource of the program declares it, "+
			"and the script had it before this resource took the scope over: the next up removes it", name,
			describeWorker(script), scope.Describe)
	}
	for _, name := range slices.Sorted(maps.Keys(kept)) {
		log.Warningf("prune keeps secret %q of %s: %s", name, describeWorker(script), kept[name])
	}
	state.UnmanagedNames = strays
	return nil
}

// workerPruneWillRemove is what a preview says of a secret the prune removes.
func workerPruneWillRemove(script cfapi.WorkerScript, name string, scope ownership.Scope) string {
	return fmt.Sprintf("prune will remove secret %q of %s: it is in the prune scope %s, no resource of the program "+
		"declares it, and the script had it before this resource took the scope over", name, describeWorker(script),
		scope.Describe)
}

// workerPruneStrays are the strays the next up's prune removes, as the script holds them now:
// the rule the write applies, from the script's listing and versions. state is the resource's
// state (empty for a create). Nothing while prune is off or the inputs that decide it are
// unknown.
func workerPruneStrays(
	ctx context.Context, inputs, state property.Map,
) (cfapi.WorkerScript, ownership.Scope, []string, error) {
	in, known := workerPruneInputs(inputs)
	scope, on := in.pruneScope()
	script := workerScriptOf(in.ScriptName, in.DispatchNamespace)
	if !known || !on {
		return script, scope, nil, nil
	}
	old, _ := workerPruneInputs(state)
	account := in.AccountID
	if resolved := rules.StringProp(state, "accountId"); resolved != "" {
		account = &resolved
	}
	client, err := cloudflareClient(ctx, in.APIToken, account)
	if err != nil {
		return script, scope, nil, err
	}
	since, removed := rules.StringProp(state, "pruneSince"), stringList(state, "removedNames")
	if since == "" || !sameWorkerPruneScope(old, in) {
		since, removed = config.PruneSinceNow(ctx), nil
	}
	prune := cfapi.WorkerPrune{Match: scope.Match, Describe: scope.Describe, Before: parseTime(since),
		RemovedSince: removed}
	strays, _, err := client.WorkerStrays(ctx, script, prune, slices.Sorted(maps.Keys(in.byName())), rules.URN(ctx))
	switch {
	case cfapi.IsWorkerNotFound(err) || cfapi.IsNoVersions(err):
		// Nothing to prune yet: the script may be uploaded by the same up (a resource in dependsOn);
		// if it is not, the write fails, naming it.
		return script, scope, nil, nil
	case err != nil:
		return script, scope, nil, workerWriteError(script, client.AccountID(), err)
	}
	return script, scope, strays, nil
}

// workerPruneInputs reads what decides a prune from raw inputs (or state); known is false while
// one of them is unknown.
func workerPruneInputs(m property.Map) (a WorkerSecretsArgs, known bool) {
	known = true
	str := func(key string) *string {
		v, ok := rules.NonNull(m, key)
		if !ok {
			return nil
		}
		if !v.IsString() {
			known = known && !v.IsComputed()
			return nil
		}
		s := v.AsString()
		return &s
	}
	if script := str("scriptName"); script != nil {
		a.ScriptName = *script
	} else {
		known = false
	}
	a.AccountID, a.DispatchNamespace, a.APIToken = str("accountId"), str("dispatchNamespace"), str("apiToken")
	a.KeyTemplate, a.PruneScope = str("keyTemplate"), str("pruneScope")
	if v, ok := rules.NonNull(m, "prune"); ok && v.IsBool() {
		prune := v.AsBool()
		a.Prune = &prune
	} else if ok && v.IsComputed() {
		known = false
	}
	secrets, ok := rules.NonNull(m, "secrets")
	if ok && (secrets.IsComputed() || !secrets.IsMap()) {
		return a, false
	}
	a.Secrets = map[string]string{}
	if ok {
		for key := range secrets.AsMap().AllStable {
			a.Secrets[key] = ""
		}
	}
	return a, known
}
