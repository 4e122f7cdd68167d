package rules

import (
	"context"
	"fmt"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/ownership"
)

// The preview checks of keyTemplate, prune and pruneScope, for every resource that has them
// (FlyAppSecrets, WorkerSecrets): one rule, one set of messages. place names what holds the
// secrets in messages: "app", "script".

// KeyTemplate checks keyTemplate: it must hold {{key}} exactly once. ok is false while it is
// unknown or when it fails: the names it makes are checked once it is known and good.
func (c *Checker) KeyTemplate() (template string, ok bool) {
	template, known := c.Str("keyTemplate")
	if known && !ownership.ValidTemplate(template) {
		c.Fail("keyTemplate", "keyTemplate is %s: it must hold %s exactly once, e.g. PROD_%s",
			Quoted(c.Inputs.Get("keyTemplate"), template), ownership.KeyPlaceholder, ownership.KeyPlaceholder)
		return template, false
	}
	if v, given := c.Inputs.GetOk("keyTemplate"); given && !known && !v.IsNull() {
		return "", false
	}
	return template, true
}

// PruneScope checks prune's scope: prune needs an explicit one, the template's fixed parts or
// pruneScope, and the whole place only when pruneScope says `*`. known is false while the inputs
// it depends on are unknown; scope is nil when prune is off.
func (c *Checker) PruneScope(template, place string) (known bool, scope *ownership.Scope) {
	prune, pruneGiven := c.Inputs.GetOk("prune")
	if pruneGiven && prune.IsComputed() {
		return false, nil
	}
	if !pruneGiven || !prune.IsBool() || !prune.AsBool() { // absent is off: the names are still declared
		if pattern, ok := c.Str("pruneScope"); ok && pattern != "" {
			c.Fail("pruneScope", "pruneScope is set but prune is not: set `prune: true` to unset the secrets it selects, "+
				"or remove pruneScope")
		}
		return true, nil
	}
	if v, given := c.Inputs.GetOk("pruneScope"); given && !v.IsNull() {
		pattern, ok := c.Str("pruneScope")
		if !ok {
			return false, nil
		}
		if !ownership.ScopePattern.MatchString(pattern) {
			c.Fail("pruneScope", "pruneScope is %q: use letters, digits, underscores and * (any run of characters), "+
				"e.g. PROD_* , or * for every secret of the %s", pattern, place)
			return true, nil
		}
		s := ownership.PatternScope(pattern, "the whole "+place)
		return true, &s
	}
	if s, ok := ownership.TemplateScope(template); ok {
		return true, &s
	}
	c.Fail("prune", "prune needs a scope, the secrets it may unset: give a keyTemplate with a fixed part (e.g. "+
		"PROD_{{key}} prunes PROD_*), or pruneScope (a pattern such as PROD_*, or \"*\" for every secret of the %s, "+
		"which this resource then owns whole)", place)
	return true, nil
}

// PruneStrays finds, from a resource's inputs and state, the secrets its prune removes: where
// they are (an app, a script), its scope, and their names.
type PruneStrays[Place any] func(ctx context.Context, inputs, state property.Map) (
	place Place, scope ownership.Scope, names []string, err error)

// PruneWillRemove is what the preview says of one secret a prune removes.
type PruneWillRemove[Place any] func(place Place, name string, scope ownership.Scope) string

// PruneRemovals is the Rules.Removals of a resource that prunes: each stray is a Delete of
// unmanagedNames[name] in the detailed diff, and a warning naming it.
func PruneRemovals[Place any](
	strays PruneStrays[Place], say PruneWillRemove[Place],
) func(context.Context, p.DiffRequest) ([]string, error) {
	return func(ctx context.Context, req p.DiffRequest) ([]string, error) {
		place, scope, names, err := strays(ctx, req.Inputs, req.State)
		if err != nil {
			return nil, err
		}
		paths := make([]string, len(names))
		for i, name := range names {
			paths[i] = fmt.Sprintf("unmanagedNames[%q]", name)
			p.GetLogger(ctx).Warning(say(place, name, scope))
		}
		return paths, nil
	}
}

// PreviewPruneOnCreate is the Rules.PreviewCreate of a resource that prunes: the engine asks no
// Diff of a create, so each stray is a warning, and the preview's outputs hold them in
// unmanagedNames.
func PreviewPruneOnCreate[Place any](
	strays PruneStrays[Place], say PruneWillRemove[Place],
) func(ctx context.Context, inputs, outputs property.Map) (property.Map, error) {
	return func(ctx context.Context, inputs, outputs property.Map) (property.Map, error) {
		place, scope, names, err := strays(ctx, inputs, property.Map{})
		if err != nil || len(names) == 0 {
			return outputs, err
		}
		values := make([]property.Value, len(names))
		for i, name := range names {
			values[i] = property.New(name)
			p.GetLogger(ctx).Warning(say(place, name, scope))
		}
		return outputs.Set("unmanagedNames", property.New(property.NewArray(values))), nil
	}
}
