package fly

import (
	"regexp"
	"strings"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/ownership"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// pruneScope is the set of names a FlyAppSecrets with prune owns whole: what it may unset.
type pruneScope struct {
	describe string
	match    func(name string) bool
}

func (p pruneScope) ownership() *ownership.Scope {
	return &ownership.Scope{Describe: p.describe, Match: p.match}
}

// scopePattern is what pruneScope may hold: secret-name characters and * wildcards.
var scopePattern = regexp.MustCompile(`^[A-Za-z0-9_*]+$`)

// patternScope is the scope of a pruneScope pattern: `*` stands for any run of characters.
func patternScope(pattern string) pruneScope {
	parts := strings.Split(pattern, "*")
	var b strings.Builder
	b.WriteString("^")
	for i, part := range parts {
		if i > 0 {
			b.WriteString(".*")
		}
		b.WriteString(regexp.QuoteMeta(part))
	}
	b.WriteString("$")
	re := regexp.MustCompile(b.String())
	describe := pattern
	if pattern == "*" {
		describe = "* (the whole app)"
	}
	return pruneScope{describe: describe, match: re.MatchString}
}

// templateScope is the scope a key template makes: its fixed parts around any key; false when it
// has none (a template of {{key}} alone is the whole app, which only pruneScope may say).
func templateScope(template string) (pruneScope, bool) {
	prefix, suffix, _ := strings.Cut(template, keyPlaceholder)
	if prefix == "" && suffix == "" {
		return pruneScope{}, false
	}
	return pruneScope{describe: prefix + "*" + suffix, match: func(name string) bool {
		_, ok := keyFor(template, name)
		return ok
	}}, true
}

// pruneScopeOf is the inputs' prune scope; false when prune is off (or has no scope, which
// Check refuses).
func pruneScopeOf(a FlyAppSecretsArgs) (pruneScope, bool) {
	if !orFalse(a.Prune) {
		return pruneScope{}, false
	}
	if a.PruneScope != nil && *a.PruneScope != "" {
		return patternScope(*a.PruneScope), true
	}
	return templateScope(orEmpty(a.KeyTemplate))
}

// samePruneScope says whether two sets of inputs prune the same names: a resource that takes a
// new scope over takes it over anew (its strays are those older than that).
func samePruneScope(a, b FlyAppSecretsArgs) bool {
	sa, okA := pruneScopeOf(a)
	sb, okB := pruneScopeOf(b)
	return okA == okB && sa.describe == sb.describe
}

// checkPruneScope checks prune's scope at preview: prune needs an explicit one. known is false
// while the inputs it depends on are unknown; scope is nil when prune is off.
func checkPruneScope(c *rules.Checker, template string) (known bool, scope *pruneScope) {
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
		if !scopePattern.MatchString(pattern) {
			c.Fail("pruneScope", "pruneScope is %q: use letters, digits, underscores and * (any run of characters), "+
				"e.g. PROD_* , or * for every secret of the app", pattern)
			return true, nil
		}
		s := patternScope(pattern)
		return true, &s
	}
	if s, ok := templateScope(template); ok {
		return true, &s
	}
	c.Fail("prune", "prune needs a scope, the secrets it may unset: give a keyTemplate with a fixed part (e.g. "+
		"PROD_{{key}} prunes PROD_*), or pruneScope (a pattern such as PROD_*, or \"*\" for every secret of the app, "+
		"which this resource then owns whole)")
	return true, nil
}
