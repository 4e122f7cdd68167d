package ownership

import (
	"regexp"
	"strings"
)

// What a resource that maps keys to names (keyTemplate) and prunes (prune, pruneScope) decides
// from its inputs alone, the same for every service: FlyAppSecrets and WorkerSecrets keep one
// copy of the rule here.

// KeyPlaceholder is what a key template's {{key}} stands for.
const KeyPlaceholder = "{{key}}"

// ScopePattern is what an explicit prune scope may hold: secret-name characters and * wildcards.
var ScopePattern = regexp.MustCompile(`^[A-Za-z0-9_*]+$`)

// ValidTemplate says whether template holds KeyPlaceholder exactly once.
func ValidTemplate(template string) bool {
	return strings.Count(template, KeyPlaceholder) == 1
}

// NameFor is a key's name under a template ("" for none: the key itself).
func NameFor(template, key string) string {
	if template == "" {
		return key
	}
	return strings.Replace(template, KeyPlaceholder, key, 1)
}

// KeyFor is the key a name stands for under a template; ok is false when it does not match.
func KeyFor(template, name string) (key string, ok bool) {
	if template == "" {
		return name, true
	}
	prefix, suffix, _ := strings.Cut(template, KeyPlaceholder)
	if len(name) <= len(prefix)+len(suffix) || !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, suffix) {
		return "", false
	}
	return name[len(prefix) : len(name)-len(suffix)], true
}

// PatternScope is the scope of an explicit pattern: `*` stands for any run of characters. whole
// is what `*` alone takes in, for messages ("the whole app").
func PatternScope(pattern, whole string) Scope {
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
		describe = "* (" + whole + ")"
	}
	return Scope{Describe: describe, Match: re.MatchString}
}

// TemplateScope is the scope a key template makes: its fixed parts around any key; false when it
// has none (a template of {{key}} alone, or none, takes in every name, which only an explicit
// pattern may say).
func TemplateScope(template string) (Scope, bool) {
	prefix, suffix, _ := strings.Cut(template, KeyPlaceholder)
	if prefix == "" && suffix == "" {
		return Scope{}, false
	}
	return Scope{Describe: prefix + "*" + suffix, Match: func(name string) bool {
		_, ok := KeyFor(template, name)
		return ok
	}}, true
}

// PruneScopeOf is the scope of a resource's prune inputs: the explicit pattern when given, else
// the template's; false when prune is off (or has no scope, which the resource's Check refuses).
func PruneScopeOf(prune bool, pattern, template, whole string) (Scope, bool) {
	if !prune {
		return Scope{}, false
	}
	if pattern != "" {
		return PatternScope(pattern, whole), true
	}
	return TemplateScope(template)
}
