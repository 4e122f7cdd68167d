package rules

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	p "github.com/pulumi/pulumi-go-provider"
	"github.com/pulumi/pulumi-go-provider/infer"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
)

// Limit is one size rule. Every path that takes the thing it limits (a resource's input, an
// inline secret, an import) checks it from the module's one table, and the README's limits table
// and the error messages say the same.
type Limit struct {
	Max  int
	Unit string // "characters", "bytes", "entries"
	What string // what is limited, for messages: "Fly.io app names"
	// Source says where the figure comes from; "UNCONFIRMED" marks the safe readings of rules
	// the services do not document.
	Source string
}

// Exceeds reports the failure reason when n is over the limit, "" otherwise.
func (l Limit) Exceeds(prop string, n int) string {
	if n <= l.Max {
		return ""
	}
	return fmt.Sprintf("%s is %d %s long; %s have at most %d %s", prop, n, l.Unit, l.What, l.Max, l.Unit)
}

// Check validates a resource's inputs in three steps, each only when the last passed: the raw
// inputs' types against the input struct I, in the user's words (infer's own messages name Go
// types, and some malformed inputs crash its decoder); infer's DefaultCheck (defaults); then
// validate, on the raw inputs, where unknown values are still visible. Failures that concern a
// secret input leave the property out, since the engine prints a property's value beside its
// failure, and say which input they are about in the reason.
func Check[I any](ctx context.Context, inputs property.Map, validate func(*Checker)) (infer.CheckResponse[I], error) {
	if failures := typeFailures[I](inputs); len(failures) > 0 {
		// DefaultCheck still runs, on the inputs that are well formed: without it infer decodes
		// the raw inputs itself to encode the answer, and crashes on some (a null in a list).
		sane := inputs
		for _, f := range failures {
			top, _, _ := strings.Cut(f.Property, "[")
			sane = sane.Delete(top)
		}
		args, _, err := infer.DefaultCheck[I](ctx, sane)
		return infer.CheckResponse[I]{Inputs: args, Failures: secretSafe[I](inputs, failures)}, err
	}
	args, failures, err := infer.DefaultCheck[I](ctx, inputs)
	if err != nil || len(failures) > 0 {
		return infer.CheckResponse[I]{Inputs: args, Failures: secretSafe[I](inputs, failures)}, err
	}
	c := Checker{Inputs: inputs}
	validate(&c)
	return infer.CheckResponse[I]{Inputs: args, Failures: secretSafe[I](inputs, c.Failures)}, nil
}

// typeFailures checks each known input against the kind its field in I takes, and that required
// inputs are given.
func typeFailures[I any](inputs property.Map) []p.CheckFailure {
	var failures []p.CheckFailure
	fail := func(prop, format string, args ...any) {
		failures = append(failures, p.CheckFailure{Property: prop, Reason: fmt.Sprintf(format, args...)})
	}
	t := reflect.TypeFor[I]()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("pulumi"), ",")
		name := tag[0]
		if name == "" {
			continue
		}
		v, given := inputs.GetOk(name)
		if !given || v.IsNull() {
			if !slices.Contains(tag[1:], "optional") {
				fail(name, "%s is required", name)
			}
			continue
		}
		typ := f.Type
		if typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		if reason := kindMismatch(name, typ, v); reason != "" {
			fail(name, "%s", reason)
		}
	}
	return failures
}

// kindMismatch says how v is not of Go type typ ("" when it is, or is unknown).
func kindMismatch(path string, typ reflect.Type, v property.Value) string {
	if v.IsComputed() {
		return ""
	}
	switch typ.Kind() {
	case reflect.String:
		if !v.IsString() {
			return fmt.Sprintf("%s must be a string, got %s", path, kindOf(v))
		}
	case reflect.Bool:
		if !v.IsBool() {
			return fmt.Sprintf("%s must be true or false, got %s", path, kindOf(v))
		}
	case reflect.Slice:
		if !v.IsArray() {
			return fmt.Sprintf("%s must be a list, got %s", path, kindOf(v))
		}
		for i, item := range v.AsArray().All {
			if reason := kindMismatch(fmt.Sprintf("%s[%d]", path, i), typ.Elem(), item); reason != "" {
				return reason
			}
		}
	case reflect.Map:
		if !v.IsMap() {
			return fmt.Sprintf("%s must be a map, got %s", path, kindOf(v))
		}
		for key, item := range v.AsMap().AllStable {
			if reason := kindMismatch(fmt.Sprintf("%s[%q]", path, key), typ.Elem(), item); reason != "" {
				return reason
			}
		}
	}
	return ""
}

// kindOf names a value's kind as a program's author would.
func kindOf(v property.Value) string {
	switch {
	case v.IsNull():
		return "null"
	case v.IsString():
		return "a string"
	case v.IsNumber():
		return "a number"
	case v.IsBool():
		return "a boolean"
	case v.IsArray():
		return "a list"
	case v.IsMap():
		return "a map"
	case v.IsAsset(), v.IsArchive():
		return "an asset or archive"
	case v.IsResourceReference():
		return "a resource"
	}
	return "a value of another kind"
}

// secretSafe rewrites the failures that concern a secret input (an input I marks secret, or one
// the program passed as a secret): their property is left out, so that the engine does not print
// the value beside them, and the reason names the input instead.
func secretSafe[I any](inputs property.Map, failures []p.CheckFailure) []p.CheckFailure {
	secret := SecretInputNames[I]()
	for i, f := range failures {
		top, _, _ := strings.Cut(f.Property, "[")
		v, given := inputs.GetOk(top)
		concernsSecret := slices.Contains(secret, top) || (given && (v.Secret() || v.HasSecrets()))
		if f.Property == "" || !concernsSecret {
			continue
		}
		reason := f.Reason
		if !strings.HasPrefix(reason, top) {
			reason = f.Property + ": " + reason
		}
		failures[i] = p.CheckFailure{Reason: reason}
	}
	return failures
}

// SecretInputNames are the inputs of I marked provider:"secret".
func SecretInputNames[I any]() []string {
	var names []string
	t := reflect.TypeFor[I]()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("pulumi"), ",")
		if name != "" && slices.Contains(strings.Split(f.Tag.Get("provider"), ","), "secret") {
			names = append(names, name)
		}
	}
	return names
}

// Checker collects Check failures for one resource's inputs. It only judges values that
// are known: at preview an input computed from another resource is unknown, and it is
// validated when it is known, before any API call.
type Checker struct {
	Inputs   property.Map
	Failures []p.CheckFailure
}

func (c *Checker) Fail(prop, format string, args ...any) {
	c.Failures = append(c.Failures, p.CheckFailure{Property: prop, Reason: fmt.Sprintf(format, args...)})
}

// str returns a known string input; ok is false when it is absent, null or unknown.
func (c *Checker) Str(prop string) (value string, ok bool) {
	v, present := c.Inputs.GetOk(prop)
	if !present || v.IsNull() || v.IsComputed() || !v.IsString() {
		return "", false
	}
	return v.AsString(), true
}

// quoted is how a failure may show a value: quoted, unless the program passed it as a secret.
func Quoted(v property.Value, s string) string {
	if v.Secret() {
		return "(a secret value)"
	}
	return fmt.Sprintf("%q", s)
}

// oldValueWas reports whether the old inputs held exactly this string for prop.
func oldValueWas(olds property.Map, prop, want string) bool {
	v, ok := olds.GetOk(prop)
	return ok && v.IsString() && v.AsString() == want
}

// pattern fails prop when its known value does not match re; what describes the rule.
func (c *Checker) Pattern(prop string, re *regexp.Regexp, what string) {
	if v, ok := c.Str(prop); ok && !re.MatchString(v) {
		c.Fail(prop, "%s is %s: %s", prop, Quoted(c.Inputs.Get(prop), v), what)
	}
}

// length fails prop when its known value is longer than the Limit.
func (c *Checker) Length(prop string, l Limit) {
	if v, ok := c.Str(prop); ok {
		n := len(v)
		if l.Unit == "characters" {
			n = len([]rune(v))
		}
		if reason := l.Exceeds(prop, n); reason != "" {
			c.Fail(prop, "%s", reason)
		}
	}
}

// nonEmptyValue fails a secret value that is known to be empty or only whitespace, without
// echoing it. An empty value is accepted when it is the old input unchanged: it is the
// placeholder that Read records for a value it cannot see (after an import), and the engine
// checks imported inputs as they were read.
func (c *Checker) NonEmptyValue(olds property.Map, prop string) {
	v, ok := c.Str(prop)
	if !ok || strings.TrimSpace(v) != "" || (v == "" && oldValueWas(olds, prop, "")) {
		return
	}
	what := "empty"
	if v != "" {
		what = "only whitespace"
	}
	c.Fail(prop, "%s must not be %s: an empty secret is almost always a missing environment variable "+
		"or config value in the program", prop, what)
}

// SecretMap checks a map of secret values (a store's inline secrets, an app's secrets) without
// ever echoing a value: each key by invalidName (the reason it is not a valid name, "" when it
// is), each value non-empty (see NonEmptyValue; olds are the old inputs) and within valueLimit.
// Failures are on prop, naming the key.
func (c *Checker) SecretMap(prop string, olds property.Map, invalidName func(key string) string, valueLimit Limit) {
	v, ok := c.Inputs.GetOk(prop)
	if !ok || v.IsNull() || v.IsComputed() || !v.IsMap() {
		return
	}
	entries := v.AsMap()
	var oldEntries property.Map
	if old, ok := olds.GetOk(prop); ok && old.IsMap() {
		oldEntries = old.AsMap()
	}
	entry := Checker{Inputs: entries}
	for key := range entries.AllStable {
		if reason := invalidName(key); reason != "" {
			c.Fail(prop, "%s", reason)
		}
		entry.NonEmptyValue(oldEntries, key)
		entry.Length(key, valueLimit)
	}
	for _, f := range entry.Failures {
		c.Fail(prop, "%s[%q]: %s", prop, f.Property, f.Reason)
	}
}

// Credential fails a token input that is present but empty: without it the provider's token is
// used, which an empty value written on purpose (a secret that did not load) must not mean.
func (c *Checker) Credential(prop, providerKey string) {
	v, present := c.Inputs.GetOk(prop)
	if !present || v.IsNull() || v.IsComputed() || !v.IsString() || strings.TrimSpace(v.AsString()) != "" {
		return
	}
	c.Fail(prop, "%s is present but empty: give the token, or leave %s out to use the provider's %s "+
		"(an empty token is usually a secret or environment variable that did not load)", prop, prop, providerKey)
}
