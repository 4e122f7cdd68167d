package provider

import (
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
	"gopkg.in/yaml.v3"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/rules"
)

// Every resource's and function's description carries examples in TypeScript, Python, Go and
// YAML (kept in a markdown file beside its code, e.g. provider/fly/flysecret.md): each SDK
// generator puts its language's examples in the doc comments it writes, and the Registry shows
// them all. These are the cheap checks that catch an example that cannot be right; the real
// SDKs' compilers and `pulumi preview` are not run here.

// documented is a resource or function of the schema, with what its examples are checked against.
type documented struct {
	token       string
	function    bool
	description string
}

func documentedTokens(spec schema.PackageSpec) []documented {
	var all []documented
	for token, r := range spec.Resources {
		all = append(all, documented{token: token, description: r.Description})
	}
	for token, f := range spec.Functions {
		all = append(all, documented{token: token, function: true, description: f.Description})
	}
	slices.SortFunc(all, func(a, b documented) int { return strings.Compare(a.token, b.token) })
	return all
}

func TestSchemaHasExamplesInEveryLanguage(t *testing.T) {
	for _, d := range documentedTokens(loadSchema(t)) {
		examples := rules.Examples(d.description)
		if len(examples) == 0 {
			t.Errorf("%s has no example in %s: give its description an `{{%% examples %%}}` section, kept in a "+
				"markdown file embedded beside its code as provider/fly/flysecret.md is",
				d.token, strings.Join(rules.ExampleLanguages, ", "))
			continue
		}
		for _, ex := range examples {
			var missing []string
			for _, lang := range rules.ExampleLanguages {
				if strings.TrimSpace(ex.Code[lang]) == "" {
					missing = append(missing, lang)
				}
			}
			if len(missing) > 0 {
				t.Errorf("%s: example %q has no %s code (a ```%s fence inside its `{{%% example %%}}`)",
					d.token, ex.Title, strings.Join(missing, ", "), missing[0])
			}
		}
	}
}

func TestSchemaExamplesUseTheSchema(t *testing.T) {
	spec := loadSchema(t)
	for _, d := range documentedTokens(spec) {
		for _, ex := range rules.Examples(d.description) {
			where := d.token + ": example " + strconv.Quote(ex.Title)
			for lang, use := range inLanguages(spec, d) {
				if code := ex.Code[lang]; code != "" && !strings.Contains(code, use) {
					t.Errorf("%s: its %s code does not use %s (%s)", where, lang, d.token, use)
				}
			}
			if code := ex.Code["go"]; code != "" {
				checkGoExample(t, where, d.token, code)
			}
			if code := ex.Code["yaml"]; code != "" {
				program := checkYAMLExample(t, where, spec, d, code)
				if program.setsSecret {
					checkSecretValues(t, where, ex)
				}
			}
		}
	}
}

// inLanguages says how a program in each SDK language names the resource or function, as its
// code must. YAML programs are checked on their parsed form.
func inLanguages(spec schema.PackageSpec, d documented) map[string]string {
	parts := strings.Split(d.token, ":") // package:module:Name
	module, name := parts[1], parts[2]
	if !d.function {
		return map[string]string{
			"typescript": "new edgesecrets." + module + "." + name + "(",
			"python":     "edgesecrets." + module + "." + name + "(",
			"go":         module + ".New" + name + "(",
		}
	}
	// Functions also have an ...Output form. The Go generator renames getX to LookupX when the
	// module has a resource X, whose GetX reads a resource's state.
	goName := upperFirst(name)
	if rest, ok := strings.CutPrefix(goName, "Get"); ok && hasResource(spec, parts[0]+":"+module+":"+rest) {
		goName = "Lookup" + rest
	}
	return map[string]string{
		"typescript": "edgesecrets." + module + "." + name,
		"python":     "edgesecrets." + module + "." + python.PyName(name),
		"go":         module + "." + goName,
	}
}

// checkGoExample: the Go example parses, is gofmt-formatted, and imports the SDK's package of
// the token's module.
func checkGoExample(t *testing.T, where, tok, code string) {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), "example.go", code, parser.ImportsOnly)
	if err != nil {
		t.Errorf("%s: its Go code does not parse: %v", where, err)
		return
	}
	if formatted, err := format.Source([]byte(code)); err != nil || string(formatted) != code {
		t.Errorf("%s: its Go code is not gofmt-formatted", where)
	}
	want := strconv.Quote("github.com/edgesecrets/pulumi-edgesecrets/sdk/go/edgesecrets/" + strings.Split(tok, ":")[1])
	if !slices.ContainsFunc(file.Imports, func(s *ast.ImportSpec) bool { return s.Path.Value == want }) {
		t.Errorf("%s: its Go code does not import %s", where, want)
	}
}

// yamlExample is what the checks learnt from a YAML example.
type yamlExample struct {
	setsSecret bool // it gives a value to a secret input
}

// checkYAMLExample: the YAML example parses as a Pulumi YAML program whose edgesecrets
// resources and function calls are in the schema with the properties it gives them, it uses
// the documented token, and every secret input it sets is secret there.
func checkYAMLExample(t *testing.T, where string, spec schema.PackageSpec, d documented, code string) yamlExample {
	t.Helper()
	var program struct {
		Config map[string]struct {
			Secret bool `yaml:"secret"`
		} `yaml:"config"`
		Resources map[string]struct {
			Type       string         `yaml:"type"`
			Properties map[string]any `yaml:"properties"`
		} `yaml:"resources"`
	}
	var tree any
	if err := yaml.Unmarshal([]byte(code), &program); err != nil {
		t.Errorf("%s: its YAML code is not a Pulumi YAML program: %v", where, err)
		return yamlExample{}
	}
	_ = yaml.Unmarshal([]byte(code), &tree)
	secretConfig := map[string]bool{}
	for key, c := range program.Config {
		secretConfig[key] = c.Secret
	}

	var out yamlExample
	used := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(program.Resources)) {
		r := program.Resources[name]
		if !strings.HasPrefix(r.Type, Name+":") {
			continue
		}
		used[r.Type] = true
		res, ok := spec.Resources[r.Type]
		if !ok {
			t.Errorf("%s: its YAML resource %s has type %s, which the schema does not have", where, name, r.Type)
			continue
		}
		for prop, value := range r.Properties {
			in, ok := res.InputProperties[prop]
			if !ok {
				t.Errorf("%s: its YAML resource %s sets %s, which is not an input of %s", where, name, prop, r.Type)
				continue
			}
			out.setsSecret = out.setsSecret || in.Secret
			if in.Secret && !yamlSecret(value, secretConfig) {
				t.Errorf("%s: its YAML resource %s sets the secret input %s to a value that is not secret: use a "+
					"config key with `secret: true`, or fn::secret", where, name, prop)
			}
		}
	}
	for _, call := range invokes(tree) {
		used[call.function] = true
		fn, ok := spec.Functions[call.function]
		if !ok {
			t.Errorf("%s: its YAML code invokes %s, which the schema does not have", where, call.function)
			continue
		}
		var inputs map[string]schema.PropertySpec
		if fn.Inputs != nil {
			inputs = fn.Inputs.Properties
		}
		for arg := range call.arguments {
			if _, ok := inputs[arg]; !ok {
				t.Errorf("%s: its YAML code invokes %s with %s, which is not one of its inputs", where, call.function, arg)
			}
		}
	}
	if !used[d.token] {
		what := "declares no resource of type " + d.token
		if d.function {
			what = "has no `fn::invoke` of " + d.token
		}
		t.Errorf("%s: its YAML code %s", where, what)
	}
	return out
}

var configRef = regexp.MustCompile(`^\$\{([A-Za-z0-9_]+)\}$`)

// yamlSecret says whether a YAML property value is secret: a reference to a config key declared
// `secret: true`, an fn::secret, or a map of such values.
func yamlSecret(value any, secretConfig map[string]bool) bool {
	switch v := value.(type) {
	case string:
		m := configRef.FindStringSubmatch(v)
		return m != nil && secretConfig[m[1]]
	case map[string]any:
		if _, ok := v["fn::secret"]; ok {
			return true
		}
		for _, entry := range v {
			if !yamlSecret(entry, secretConfig) {
				return false
			}
		}
		return len(v) > 0
	}
	return false
}

type invoke struct {
	function  string
	arguments map[string]any
}

// invokes finds the `fn::invoke` calls anywhere in a YAML program.
func invokes(node any) []invoke {
	var calls []invoke
	switch n := node.(type) {
	case map[string]any:
		if call, ok := n["fn::invoke"].(map[string]any); ok {
			function, _ := call["function"].(string)
			arguments, _ := call["arguments"].(map[string]any)
			calls = append(calls, invoke{function: function, arguments: arguments})
		}
		for _, key := range slices.Sorted(maps.Keys(n)) {
			calls = append(calls, invokes(n[key])...)
		}
	case []any:
		for _, item := range n {
			calls = append(calls, invokes(item)...)
		}
	}
	return calls
}

// secretSources are the ways a program in each SDK language makes a value secret: stack
// configuration set with `--secret`, or an explicit wrap.
var secretSources = map[string][]string{
	"typescript": {"requireSecret(", "getSecret(\"", "pulumi.secret("},
	"python":     {"require_secret(", "get_secret(\"", "Output.secret("},
	"go":         {"RequireSecret(", "TrySecret(", "GetSecret(\"", "ToSecret("},
}

// checkSecretValues: an example whose YAML sets a secret input keeps the value secret in the
// other languages too, rather than writing it into the program in plaintext.
func checkSecretValues(t *testing.T, where string, ex rules.Example) {
	t.Helper()
	for _, lang := range slices.Sorted(maps.Keys(secretSources)) {
		if code := ex.Code[lang]; code != "" && !containsAny(code, secretSources[lang]) {
			t.Errorf("%s: its %s code sets a secret input from no secret source (%s)", where, lang,
				strings.Join(secretSources[lang], " or "))
		}
	}
}

func hasResource(spec schema.PackageSpec, token string) bool {
	_, ok := spec.Resources[token]
	return ok
}

func containsAny(s string, subs []string) bool {
	return slices.ContainsFunc(subs, func(sub string) bool { return strings.Contains(s, sub) })
}

func upperFirst(s string) string {
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}
