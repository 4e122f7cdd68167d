package provider

import (
	"context"
	"slices"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
)

// diffRules says how a resource's inputs are compared. Diffs are computed on the raw
// property maps rather than on infer's decoded structs because decoding turns unknown
// values into zero values: at preview an unknown storeId would look like "use the default
// store" and an unknown app like an empty one.
type diffRules struct {
	// replaceOnChanges are inputs whose change replaces the resource.
	replaceOnChanges []string
	// resolved are optional inputs the provider fills in when absent (the default store,
	// the provider's account). Leaving one out is not a change; giving one is compared
	// with the value recorded in state.
	resolved []string
	// unordered are lists compared as sets.
	unordered []string
	// credentials never make a diff: a token can rotate without touching the resource.
	// Every operation uses the newest value (see withFreshCredentials).
	credentials []string
	// deleteBeforeReplace deletes the old resource before creating its replacement, for
	// resources that cannot exist twice (an account holds one Secrets Store).
	deleteBeforeReplace bool
}

// diff compares the new inputs with the old ones (or, for resolved inputs, the state).
func (r diffRules) diff(req p.DiffRequest) p.DiffResponse {
	olds := req.OldInputs
	if olds.Len() == 0 {
		// Engines before v3.74 do not send old inputs; the state holds every input too.
		olds = req.State
	}
	skip := func(key string) bool {
		return strings.HasPrefix(key, "__") || slices.Contains(r.credentials, key) ||
			slices.Contains(req.IgnoreChanges, key)
	}

	detailed := map[string]p.PropertyDiff{}
	replace := false
	consider := func(key string) {
		if skip(key) {
			return
		}
		if _, done := detailed[key]; done {
			return
		}
		newValue, hasNew := nonNull(req.Inputs, key)
		oldValue, hasOld := nonNull(olds, key)
		if slices.Contains(r.resolved, key) {
			if !hasNew {
				return
			}
			oldValue, hasOld = nonNull(req.State, key)
		}
		if hasOld && hasNew && !newValue.HasComputed() &&
			sameValue(oldValue, newValue, slices.Contains(r.unordered, key)) {
			return
		}
		kind := p.Update
		switch {
		case !hasOld:
			kind = p.Add
		case !hasNew:
			kind = p.Delete
		}
		if slices.Contains(r.replaceOnChanges, key) {
			replace = true
			kind = map[p.DiffKind]p.DiffKind{
				p.Add: p.AddReplace, p.Delete: p.DeleteReplace, p.Update: p.UpdateReplace,
			}[kind]
		}
		detailed[key] = p.PropertyDiff{Kind: kind, InputDiff: true}
	}
	for key := range req.Inputs.All {
		consider(key)
	}
	for key := range olds.All {
		consider(key)
	}
	return p.DiffResponse{
		HasChanges:          len(detailed) > 0,
		DetailedDiff:        detailed,
		DeleteBeforeReplace: replace && r.deleteBeforeReplace,
	}
}

// nonNull returns m[key] unless it is absent or null.
func nonNull(m property.Map, key string) (property.Value, bool) {
	v, ok := m.GetOk(key)
	if !ok || v.IsNull() {
		return property.Value{}, false
	}
	return v, true
}

// sameValue compares values ignoring secretness and dependencies, which say how a value
// travelled, not what it is. unordered compares arrays as sets.
func sameValue(a, b property.Value, unordered bool) bool {
	a, b = plain(a), plain(b)
	if unordered && a.IsArray() && b.IsArray() {
		return setOf(a.AsArray()).Equals(setOf(b.AsArray()))
	}
	return a.Equals(b)
}

// setOf sorts and de-duplicates an array of strings (other elements keep their order).
func setOf(a property.Array) property.Value {
	values := a.AsSlice()
	slices.SortStableFunc(values, func(x, y property.Value) int {
		if x.IsString() && y.IsString() {
			return strings.Compare(x.AsString(), y.AsString())
		}
		return 0
	})
	values = slices.CompactFunc(values, func(x, y property.Value) bool { return x.Equals(y) })
	return property.New(values)
}

// plain strips secretness and dependencies, deeply.
func plain(v property.Value) property.Value {
	v = v.WithSecret(false).WithDependencies(nil)
	switch {
	case v.IsArray():
		items := v.AsArray().AsSlice()
		for i, item := range items {
			items[i] = plain(item)
		}
		return property.New(items)
	case v.IsMap():
		items := v.AsMap().AsMap()
		for k, item := range items {
			items[k] = plain(item)
		}
		return property.New(items)
	}
	return v
}

// withInputRules installs each resource type's diffRules: Diff follows the rules, and Read
// and Delete run with the newest credentials. A token change is no diff, so the state may
// still hold the token of the last write; the engine's current inputs hold the new one.
func withInputRules(inner p.Provider, rules map[string]diffRules) p.Provider {
	innerDiff, innerRead, innerDelete := inner.Diff, inner.Read, inner.Delete
	inner.Diff = func(ctx context.Context, req p.DiffRequest) (p.DiffResponse, error) {
		if r, ok := rules[string(req.Urn.Type())]; ok {
			return r.diff(req), nil
		}
		return innerDiff(ctx, req)
	}
	inner.Read = func(ctx context.Context, req p.ReadRequest) (p.ReadResponse, error) {
		req.Properties = rules[string(req.Urn.Type())].freshCredentials(req.Properties, req.Inputs)
		return innerRead(ctx, req)
	}
	inner.Delete = func(ctx context.Context, req p.DeleteRequest) error {
		req.Properties = rules[string(req.Urn.Type())].freshCredentials(req.Properties, req.OldInputs)
		return innerDelete(ctx, req)
	}
	inner.DiffConfig = func(_ context.Context, req p.DiffRequest) (p.DiffResponse, error) {
		return configDiff(req), nil
	}
	return inner
}

// freshCredentials copies the credential inputs into the state.
func (r diffRules) freshCredentials(state, inputs property.Map) property.Map {
	for _, key := range r.credentials {
		if v, ok := nonNull(inputs, key); ok && !v.HasComputed() {
			state = state.Set(key, v)
		}
	}
	return state
}

// configDiff reports provider configuration changes as in-place updates. infer replaces
// the provider on any config change, which would replace every resource it manages:
// rotating a token or moving an API URL must never delete and re-create secrets.
func configDiff(req p.DiffRequest) p.DiffResponse {
	// The engine adds the plugin version to provider inputs; it is not configuration.
	req.Inputs = req.Inputs.Delete("version")
	req.OldInputs = req.OldInputs.Delete("version")
	req.State = req.State.Delete("version")
	return diffRules{}.diff(req)
}
