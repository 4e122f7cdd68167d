package rules

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
)

// Rules says how a resource's inputs are compared. Diffs are computed on the raw
// property maps rather than on infer's decoded structs because decoding turns unknown
// values into zero values: at preview an unknown storeId would look like "use the default
// store" and an unknown app like an empty one.
//
// The per-input rules come from the resource's input struct (Of), so that a rule is
// written once, beside the input it is about:
//
//	Name *string `pulumi:"name,optional" provider:"replaceOnChanges"`
//	APIToken *string `pulumi:"apiToken,optional" provider:"secret" diff:"credential"`
type Rules struct {
	// Inputs are every input's name: what is compared when the engine sends no old inputs and
	// the state, which holds outputs too, stands in for them.
	Inputs []string
	// ReplaceOnChanges are inputs whose change replaces the resource
	// (provider:"replaceOnChanges", which also marks the schema).
	ReplaceOnChanges []string
	// Resolved are optional inputs the provider fills in when absent (the default store,
	// the provider's account). Leaving one out is not a change; giving one is compared
	// with the value recorded in state (diff:"resolved").
	Resolved []string
	// Unordered are lists compared as sets (diff:"set").
	Unordered []string
	// Credentials never make a diff: a token can rotate without touching the resource.
	// Every operation uses the newest value, and none once it is removed (see
	// FreshCredentials) (diff:"credential").
	Credentials []string
	// StateDefaults give, for an optional input whose default depends on the resource's
	// state, the value an absent input stands for: the two sides of a diff are compared by
	// what they mean, not by how they were written.
	StateDefaults map[string]func(state property.Map) property.Value
	// DeleteBeforeReplace deletes the old resource before creating its replacement, for
	// resources that cannot exist twice (an account holds one Secrets Store).
	DeleteBeforeReplace bool
	// CanReplace, if set, says at preview why the recorded resource cannot be replaced.
	CanReplace func(state property.Map) error
	// Drift, if set, reads in the state whether the remote thing was changed outside Pulumi
	// since the resource last wrote it: the input it names then differs from what is there (a
	// diff that writes it back). Read warns of it when it finds it.
	Drift func(state property.Map) (prop string)
	// DriftChanges names, for each property Drift may name, the outputs that writing the drift
	// back changes (a new version, digest, time): an update's preview shows them as computed,
	// so that what depends on them (a SecretsDeployment pinned to the version) previews its
	// change too. The engine cannot know: the inputs have not changed.
	DriftChanges map[string][]string
	// Removals, if set, names what the next Update will remove that the inputs do not show (a
	// prune's strays), as the API holds them now: each is a Delete of its property path in the
	// detailed diff, so that the preview lists it.
	Removals func(ctx context.Context, req p.DiffRequest) (paths []string, err error)
	// PreviewCreate, if set, runs at a create's preview with the checked inputs and the preview's
	// outputs, and returns the outputs to show: the engine asks no Diff of a create, so what a
	// create removes that its inputs do not show (a prune's strays) is said here, in the outputs
	// and a warning naming each.
	PreviewCreate func(ctx context.Context, inputs, outputs property.Map) (property.Map, error)
}

// Of reads the diff rules of the input struct I from its field tags; extra adds the rules
// that are code, not tags (stateDefaults, deleteBeforeReplace, canReplace).
func Of[I any](extra Rules) Rules {
	r := extra
	t := reflect.TypeFor[I]()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("pulumi"), ",")
		if name == "" {
			continue
		}
		r.Inputs = append(r.Inputs, name)
		if slices.Contains(strings.Split(f.Tag.Get("provider"), ","), "replaceOnChanges") {
			r.ReplaceOnChanges = append(r.ReplaceOnChanges, name)
		}
		for _, rule := range strings.Split(f.Tag.Get("diff"), ",") {
			switch rule {
			case "":
			case "credential":
				r.Credentials = append(r.Credentials, name)
			case "resolved":
				r.Resolved = append(r.Resolved, name)
			case "set":
				r.Unordered = append(r.Unordered, name)
			default:
				panic(fmt.Sprintf("%s.%s: unknown diff rule %q", t.Name(), f.Name, rule)) // a programming error
			}
		}
	}
	return r
}

// Diff compares the new inputs with the old ones (or, for resolved inputs, the state).
func (r Rules) Diff(ctx context.Context, req p.DiffRequest) (p.DiffResponse, error) {
	olds := req.OldInputs
	fromState := olds.Len() == 0
	if fromState {
		// Engines before v3.74 do not send old inputs; the state holds every input too, and
		// a resource's outputs, which are not compared. It holds inputs as resolved (an
		// absent comment as ""), so an input absent from the program is no change there.
		olds = req.State
		if r.Inputs != nil {
			olds = property.Map{}
			for _, key := range r.Inputs {
				if v, ok := req.State.GetOk(key); ok {
					olds = olds.Set(key, v)
				}
			}
		}
	}
	skip := func(key string) bool {
		return strings.HasPrefix(key, "__") || slices.Contains(r.Credentials, key) ||
			slices.Contains(req.IgnoreChanges, key)
	}
	meaning := func(m property.Map, key string) (property.Value, bool) {
		if v, ok := NonNull(m, key); ok {
			return v, true
		}
		if def, ok := r.StateDefaults[key]; ok {
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
		if slices.Contains(r.Resolved, key) {
			if !hasNew {
				return
			}
			oldValue, hasOld = NonNull(req.State, key)
		}
		if hasOld && hasNew && !newValue.HasComputed() &&
			sameValue(oldValue, newValue, slices.Contains(r.Unordered, key)) {
			return
		}
		kind := p.Update
		switch {
		case !hasOld:
			kind = p.Add
		case !hasNew:
			kind = p.Delete
		}
		if slices.Contains(r.ReplaceOnChanges, key) {
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
	if r.Drift != nil {
		if prop := r.Drift(req.State); prop != "" && !skip(prop) {
			if _, found := detailed[prop]; !found {
				detailed[prop] = p.PropertyDiff{Kind: p.Update}
			}
		}
	}
	if r.Removals != nil && !replace {
		paths, err := r.Removals(ctx, req)
		if err != nil {
			return p.DiffResponse{}, err
		}
		for _, path := range paths {
			detailed[path] = p.PropertyDiff{Kind: p.Delete}
		}
	}
	if replace && r.CanReplace != nil {
		if err := r.CanReplace(req.State); err != nil {
			return p.DiffResponse{}, err
		}
	}
	return p.DiffResponse{
		HasChanges:          len(detailed) > 0,
		DetailedDiff:        detailed,
		DeleteBeforeReplace: replace && r.DeleteBeforeReplace,
	}, nil
}

// NonNull returns m[key] unless it is absent or null.
func NonNull(m property.Map, key string) (property.Value, bool) {
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

// FreshCredentials makes the state's credentials the current inputs': a token given is used,
// and a token removed from the program is no longer used (it may be revoked), so the
// provider's own applies. Without inputs (an engine that sends none) the state is kept.
func (r Rules) FreshCredentials(state, inputs property.Map) property.Map {
	if inputs.Len() == 0 {
		return state
	}
	for _, key := range r.Credentials {
		v, ok := NonNull(inputs, key)
		switch {
		case !ok:
			state = state.Delete(key)
		case !v.HasComputed():
			state = state.Set(key, v)
		}
	}
	return state
}

// ConfigDiff reports provider configuration changes as in-place updates. infer replaces
// the provider on any config change, which would replace every resource it manages:
// rotating a token or moving an API URL must never delete and re-create secrets.
func ConfigDiff(req p.DiffRequest) (p.DiffResponse, error) {
	// The engine adds the plugin version to provider inputs; it is not configuration.
	req.Inputs = req.Inputs.Delete("version")
	req.OldInputs = req.OldInputs.Delete("version")
	req.State = req.State.Delete("version")
	return Rules{}.Diff(context.Background(), req)
}

// StringMap returns m[key] as a map of its string entries (empty when absent or not a map).
func StringMap(m property.Map, key string) map[string]string {
	out := map[string]string{}
	if v, ok := NonNull(m, key); ok && v.IsMap() {
		for k, item := range v.AsMap().All {
			if item.IsString() {
				out[k] = item.AsString()
			}
		}
	}
	return out
}

// StringProp returns m[key] if it is a string, else "".
func StringProp(m property.Map, key string) string {
	if v, ok := NonNull(m, key); ok && v.IsString() {
		return v.AsString()
	}
	return ""
}

// PreviewUpdate marks computed, in an update's preview outputs, what writing the state's drift
// back changes (see DriftChanges).
func (r Rules) PreviewUpdate(state, outputs property.Map) property.Map {
	if r.Drift == nil || len(r.DriftChanges) == 0 {
		return outputs
	}
	changes := r.DriftChanges[r.Drift(state)]
	if len(changes) == 0 {
		return outputs
	}
	marked := outputs.AsMap()
	for _, key := range changes {
		if v, ok := marked[key]; ok {
			marked[key] = property.New(property.Computed).WithSecret(v.Secret())
		}
	}
	return property.NewMap(marked)
}
