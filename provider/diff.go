package provider

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
)

// diffRules says how a resource's inputs are compared. Diffs are computed on the raw
// property maps rather than on infer's decoded structs because decoding turns unknown
// values into zero values: at preview an unknown storeId would look like "use the default
// store" and an unknown app like an empty one.
//
// The per-input rules come from the resource's input struct (rulesOf), so that a rule is
// written once, beside the input it is about:
//
//	Name *string `pulumi:"name,optional" provider:"replaceOnChanges"`
//	APIToken *string `pulumi:"apiToken,optional" provider:"secret" diff:"credential"`
type diffRules struct {
	// inputs are every input's name: what is compared when the engine sends no old inputs and
	// the state, which holds outputs too, stands in for them.
	inputs []string
	// replaceOnChanges are inputs whose change replaces the resource
	// (provider:"replaceOnChanges", which also marks the schema).
	replaceOnChanges []string
	// resolved are optional inputs the provider fills in when absent (the default store,
	// the provider's account). Leaving one out is not a change; giving one is compared
	// with the value recorded in state (diff:"resolved").
	resolved []string
	// unordered are lists compared as sets (diff:"set").
	unordered []string
	// credentials never make a diff: a token can rotate without touching the resource.
	// Every operation uses the newest value, and none once it is removed (see
	// freshCredentials) (diff:"credential").
	credentials []string
	// stateDefaults give, for an optional input whose default depends on the resource's
	// state, the value an absent input stands for: the two sides of a diff are compared by
	// what they mean, not by how they were written.
	stateDefaults map[string]func(state property.Map) property.Value
	// deleteBeforeReplace deletes the old resource before creating its replacement, for
	// resources that cannot exist twice (an account holds one Secrets Store).
	deleteBeforeReplace bool
	// canReplace, if set, says at preview why the recorded resource cannot be replaced.
	canReplace func(state property.Map) error
	// drift, if set, reads in the state whether the remote thing was changed outside Pulumi
	// since the resource last wrote it: the input it names then differs from what is there (a
	// diff that writes it back). Read warns of it when it finds it.
	drift func(state property.Map) (prop string)
}

// rulesOf reads the diff rules of the input struct I from its field tags; extra adds the rules
// that are code, not tags (stateDefaults, deleteBeforeReplace, canReplace).
func rulesOf[I any](extra diffRules) diffRules {
	r := extra
	t := reflect.TypeFor[I]()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("pulumi"), ",")
		if name == "" {
			continue
		}
		r.inputs = append(r.inputs, name)
		if slices.Contains(strings.Split(f.Tag.Get("provider"), ","), "replaceOnChanges") {
			r.replaceOnChanges = append(r.replaceOnChanges, name)
		}
		for _, rule := range strings.Split(f.Tag.Get("diff"), ",") {
			switch rule {
			case "":
			case "credential":
				r.credentials = append(r.credentials, name)
			case "resolved":
				r.resolved = append(r.resolved, name)
			case "set":
				r.unordered = append(r.unordered, name)
			default:
				panic(fmt.Sprintf("%s.%s: unknown diff rule %q", t.Name(), f.Name, rule)) // a programming error
			}
		}
	}
	return r
}

// diff compares the new inputs with the old ones (or, for resolved inputs, the state).
func (r diffRules) diff(req p.DiffRequest) (p.DiffResponse, error) {
	olds := req.OldInputs
	fromState := olds.Len() == 0
	if fromState {
		// Engines before v3.74 do not send old inputs; the state holds every input too, and
		// a resource's outputs, which are not compared. It holds inputs as resolved (an
		// absent comment as ""), so an input absent from the program is no change there.
		olds = req.State
		if r.inputs != nil {
			olds = property.Map{}
			for _, key := range r.inputs {
				if v, ok := req.State.GetOk(key); ok {
					olds = olds.Set(key, v)
				}
			}
		}
	}
	skip := func(key string) bool {
		return strings.HasPrefix(key, "__") || slices.Contains(r.credentials, key) ||
			slices.Contains(req.IgnoreChanges, key)
	}
	meaning := func(m property.Map, key string) (property.Value, bool) {
		if v, ok := nonNull(m, key); ok {
			return v, true
		}
		if def, ok := r.stateDefaults[key]; ok {
			return def(req.State), true
		}
		return property.Value{}, false
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
		newValue, hasNew := meaning(req.Inputs, key)
		oldValue, hasOld := meaning(olds, key)
		if fromState && !hasNew {
			return
		}
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
	if r.drift != nil {
		if prop := r.drift(req.State); prop != "" && !skip(prop) {
			if _, found := detailed[prop]; !found {
				detailed[prop] = p.PropertyDiff{Kind: p.Update}
			}
		}
	}
	if replace && r.canReplace != nil {
		if err := r.canReplace(req.State); err != nil {
			return p.DiffResponse{}, err
		}
	}
	return p.DiffResponse{
		HasChanges:          len(detailed) > 0,
		DetailedDiff:        detailed,
		DeleteBeforeReplace: replace && r.deleteBeforeReplace,
	}, nil
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
// Create, Update and Delete also get the resource's customTimeouts as their context's
// deadline, which infer v1.5.0 drops, so that every wait inside honours them.
func withInputRules(inner p.Provider, rules map[string]diffRules) p.Provider {
	innerDiff, innerRead := inner.Diff, inner.Read
	innerCreate, innerUpdate, innerDelete := inner.Create, inner.Update, inner.Delete
	inner.Diff = func(ctx context.Context, req p.DiffRequest) (p.DiffResponse, error) {
		if r, ok := rules[string(req.Urn.Type())]; ok {
			return r.diff(req)
		}
		return innerDiff(ctx, req)
	}
	inner.Read = func(ctx context.Context, req p.ReadRequest) (p.ReadResponse, error) {
		req.Properties = rules[string(req.Urn.Type())].freshCredentials(req.Properties, req.Inputs)
		return innerRead(ctx, req)
	}
	inner.Create = func(ctx context.Context, req p.CreateRequest) (p.CreateResponse, error) {
		ctx, cancel := withTimeout(ctx, req.Timeout)
		defer cancel()
		return innerCreate(ctx, req)
	}
	inner.Update = func(ctx context.Context, req p.UpdateRequest) (p.UpdateResponse, error) {
		ctx, cancel := withTimeout(ctx, req.Timeout)
		defer cancel()
		return innerUpdate(ctx, req)
	}
	inner.Delete = func(ctx context.Context, req p.DeleteRequest) error {
		ctx, cancel := withTimeout(ctx, req.Timeout)
		defer cancel()
		req.Properties = rules[string(req.Urn.Type())].freshCredentials(req.Properties, req.OldInputs)
		return innerDelete(ctx, req)
	}
	inner.DiffConfig = func(_ context.Context, req p.DiffRequest) (p.DiffResponse, error) {
		return configDiff(req)
	}
	innerCheckConfig := inner.CheckConfig
	inner.CheckConfig = func(ctx context.Context, req p.CheckRequest) (p.CheckResponse, error) {
		resp, err := innerCheckConfig(ctx, req)
		resp.Failures = append(resp.Failures, unknownConfigKeys(req.Inputs)...)
		return resp, err
	}
	return inner
}

// withTimeout gives ctx the engine's timeout for the operation (seconds; 0 for none).
func withTimeout(ctx context.Context, seconds float64) (context.Context, context.CancelFunc) {
	if seconds <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, time.Duration(seconds*float64(time.Second)))
}

// freshCredentials makes the state's credentials the current inputs': a token given is used,
// and a token removed from the program is no longer used (it may be revoked), so the
// provider's own applies. Without inputs (an engine that sends none) the state is kept.
func (r diffRules) freshCredentials(state, inputs property.Map) property.Map {
	if inputs.Len() == 0 {
		return state
	}
	for _, key := range r.credentials {
		v, ok := nonNull(inputs, key)
		switch {
		case !ok:
			state = state.Delete(key)
		case !v.HasComputed():
			state = state.Set(key, v)
		}
	}
	return state
}

// configDiff reports provider configuration changes as in-place updates. infer replaces
// the provider on any config change, which would replace every resource it manages:
// rotating a token or moving an API URL must never delete and re-create secrets.
func configDiff(req p.DiffRequest) (p.DiffResponse, error) {
	// The engine adds the plugin version to provider inputs; it is not configuration.
	req.Inputs = req.Inputs.Delete("version")
	req.OldInputs = req.OldInputs.Delete("version")
	req.State = req.State.Delete("version")
	return diffRules{}.diff(req)
}

// stringProp returns m[key] if it is a string, else "".
func stringProp(m property.Map, key string) string {
	if v, ok := nonNull(m, key); ok && v.IsString() {
		return v.AsString()
	}
	return ""
}
