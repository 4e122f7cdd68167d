package fly

import (
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/ownership"
)

// The template and prune-scope rules are ownership's (one copy for every resource that has
// them); what is Fly's is which inputs hold them.

// pruneScopeOf is the inputs' prune scope; false when prune is off (or has no scope, which
// Check refuses).
func pruneScopeOf(a FlyAppSecretsArgs) (ownership.Scope, bool) {
	return ownership.PruneScopeOf(orFalse(a.Prune), orEmpty(a.PruneScope), orEmpty(a.KeyTemplate), "the whole app")
}

// samePruneScope says whether two sets of inputs prune the same names: a resource that takes a
// new scope over takes it over anew (its strays are those older than that).
func samePruneScope(a, b FlyAppSecretsArgs) bool {
	sa, okA := pruneScopeOf(a)
	sb, okB := pruneScopeOf(b)
	return okA == okB && sa.Describe == sb.Describe
}
