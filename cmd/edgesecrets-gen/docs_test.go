package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"gopkg.in/yaml.v3"
)

// The Registry docs (docs/*.md) name only resources, functions, properties and config keys that the
// schema has, in every language's spelling, and their configuration table gives each config key
// the environment variables the provider reads for it.

// docsSchema is the part of schema.json the docs are checked against.
type docsSchema struct {
	Config struct {
		Variables map[string]struct {
			Description string `json:"description"`
		} `json:"variables"`
	} `json:"config"`
	Resources map[string]struct {
		InputProperties map[string]any `json:"inputProperties"`
		Properties      map[string]any `json:"properties"`
	} `json:"resources"`
	Functions map[string]any `json:"functions"`
}

func readDocsSchema(t *testing.T) docsSchema {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s docsSchema
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// docPages are the Registry docs, by file name.
func docPages(t *testing.T) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages := map[string]string{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		pages[filepath.Base(p)] = string(data)
	}
	for _, want := range []string{"_index.md", "installation-configuration.md"} {
		if _, ok := pages[want]; !ok {
			t.Fatalf("docs/%s is missing", want)
		}
	}
	return pages
}

// codeBlocks are the fenced blocks of one language in a page.
func codeBlocks(page, lang string) []string {
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```"+lang+"\n(.*?)```").FindAllStringSubmatch(page, -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

var (
	tokenPattern     = regexp.MustCompile(`\bedgesecrets:([a-z]+):([A-Za-z]+)\b`)
	configKeyPattern = regexp.MustCompile(`\bedgesecrets:([a-zA-Z]+)\b(?::)?`)
)

func TestDocsNameOnlyWhatTheSchemaHas(t *testing.T) {
	s := readDocsSchema(t)
	pages := docPages(t)
	// The resource behind a language's module and class names: "fly.FlySecret" -> the token.
	byClass := map[string]string{}
	for token := range s.Resources {
		parts := strings.Split(token, ":")
		byClass[parts[1]+"."+parts[2]] = token
	}
	checked := map[string]int{}

	for name, page := range pages {
		for _, m := range tokenPattern.FindAllStringSubmatch(page, -1) {
			_, resource := s.Resources[m[0]]
			_, function := s.Functions[m[0]]
			if !resource && !function {
				t.Errorf("%s names %s, which the schema does not have", name, m[0])
			}
			checked["tokens"]++
		}
		for _, m := range configKeyPattern.FindAllStringSubmatch(page, -1) {
			if strings.HasSuffix(m[0], ":") {
				continue // a resource token's module, checked above
			}
			if _, ok := s.Config.Variables[m[1]]; !ok {
				t.Errorf("%s names config key %s, which the schema does not have", name, m[0])
			}
			checked["config keys"]++
		}

		// A property is checked against the resource it is given to or read from.
		check := func(lang, token, prop string, input bool) {
			t.Helper()
			r, ok := s.Resources[token]
			if !ok {
				t.Errorf("%s (%s): %s is not a resource of the schema", name, lang, token)
				return
			}
			props, kind := r.Properties, "output"
			if input {
				props, kind = r.InputProperties, "input"
			}
			if _, ok := props[prop]; !ok {
				t.Errorf("%s (%s): %s has no %s %q", name, lang, token, kind, prop)
			}
			checked[lang]++
		}

		for _, block := range codeBlocks(page, "yaml") {
			checkYAMLProgram(t, name, block, check)
		}
		checkClassCalls(t, name, "typescript", codeBlocks(page, "typescript"), byClass, check,
			`new edgesecrets\.(\w+\.\w+)\(`, `^\s*(\w+):`, identity,
			`\b%s\.(\w+)\b`)
		checkClassCalls(t, name, "python", codeBlocks(page, "python"), byClass, check,
			`edgesecrets\.(\w+\.\w+)\(`, `^\s*(\w+)=`, snakeToCamel,
			`\b%s\.(\w+)\b`)
		checkClassCalls(t, name, "go", codeBlocks(page, "go"), byClass, check,
			`(\w+)\.New(\w+)\(`, `^\s*(\w+):`, lowerFirst,
			`\b%s\.(\w+)\b`)
	}
	for _, what := range []string{"tokens", "config keys", "yaml", "typescript", "python", "go"} {
		if checked[what] == 0 {
			t.Errorf("the docs were checked for no %s: a pattern no longer matches them", what)
		}
	}
	t.Logf("checked: %v", checked)
}

// checkYAMLProgram checks a Pulumi YAML program's edgesecrets resources: their properties, and
// the outputs that ${resource.property} references read.
func checkYAMLProgram(t *testing.T, page, block string, check func(lang, token, prop string, input bool)) {
	t.Helper()
	var program struct {
		Resources map[string]struct {
			Type       string         `yaml:"type"`
			Properties map[string]any `yaml:"properties"`
		} `yaml:"resources"`
	}
	if err := yaml.Unmarshal([]byte(block), &program); err != nil {
		t.Errorf("%s: a YAML block does not parse: %v", page, err)
		return
	}
	for _, r := range program.Resources {
		for prop := range r.Properties {
			check("yaml", r.Type, prop, true)
		}
	}
	for _, m := range regexp.MustCompile(`\$\{(\w+)\.(\w+)\}`).FindAllStringSubmatch(block, -1) {
		if r, ok := program.Resources[m[1]]; ok {
			check("yaml", r.Type, m[2], false)
		}
	}
}

// checkClassCalls checks the resources a language's blocks construct: each argument of the
// call (the lines between its parentheses that argPattern matches) as an input, and each
// property read from the variable it is assigned to as an output. Names go to the schema's
// spelling through toSchema.
func checkClassCalls(t *testing.T, page, lang string, blocks []string, byClass map[string]string,
	check func(lang, token, prop string, input bool),
	callPattern, argPattern string, toSchema func(string) string, readPattern string,
) {
	t.Helper()
	call := regexp.MustCompile(`(\w+)(?:, err)? :?= ` + callPattern)
	arg := regexp.MustCompile(argPattern)
	for _, block := range blocks {
		vars := map[string]string{} // variable -> resource token
		for _, m := range call.FindAllStringSubmatchIndex(block, -1) {
			variable := block[m[2]:m[3]]
			var names []string
			for g := 2; 2*g < len(m); g++ {
				names = append(names, block[m[2*g]:m[2*g+1]])
			}
			class := strings.Join(names, ".")
			token, ok := byClass[class]
			if !ok {
				t.Errorf("%s (%s): %s is not a resource of the SDK", page, lang, class)
				continue
			}
			vars[variable] = token
			for _, line := range strings.Split(callArguments(block, m[1]), "\n") {
				if a := arg.FindStringSubmatch(line); a != nil {
					check(lang, token, toSchema(a[1]), true)
				}
			}
		}
		for v, token := range vars {
			for _, m := range regexp.MustCompile(strings.Replace(readPattern, "%s", regexp.QuoteMeta(v), 1)).
				FindAllStringSubmatch(block, -1) {
				check(lang, token, toSchema(m[1]), false)
			}
		}
	}
}

// callArguments is the text from the call whose opening parenthesis is the last "(" before
// offset to its closing one (strings are not looked into: the docs' values have no brackets).
func callArguments(block string, offset int) string {
	open := strings.LastIndex(block[:offset], "(")
	depth := 0
	for i := open; i < len(block); i++ {
		switch block[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
			if depth == 0 {
				return block[open+1 : i]
			}
		}
	}
	return block[open+1:]
}

// The configuration table gives every config key of the schema, each with the environment
// variables its schema description says the provider falls back to.
func TestDocsConfigTableMatchesTheProvider(t *testing.T) {
	s := readDocsSchema(t)
	page := docPages(t)["installation-configuration.md"]
	row := regexp.MustCompile("(?m)^\\| `edgesecrets:(\\w+)`[^|]*\\|([^|]*)\\|")
	envVar := regexp.MustCompile("`([A-Z][A-Z0-9_]+)`")
	described := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(page, -1) {
		key := m[1]
		v, ok := s.Config.Variables[key]
		if !ok {
			t.Errorf("the table has a row for %s, which the schema does not have", key)
			continue
		}
		described[key] = true
		var docEnv, schemaEnv []string
		for _, e := range envVar.FindAllStringSubmatch(m[2], -1) {
			docEnv = append(docEnv, e[1])
		}
		for _, e := range envVar.FindAllStringSubmatch(v.Description, -1) {
			schemaEnv = append(schemaEnv, e[1])
		}
		if len(docEnv) == 0 || !slices.Equal(docEnv, schemaEnv) {
			t.Errorf("edgesecrets:%s: the table gives the variables %v, the provider reads %v", key, docEnv, schemaEnv)
		}
	}
	for key := range s.Config.Variables {
		if !described[key] {
			t.Errorf("the configuration table has no row for edgesecrets:%s", key)
		}
	}
}

func identity(s string) string { return s }

// snakeToCamel turns a Python name into the schema's: store_id -> storeId.
func snakeToCamel(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// lowerFirst turns a Go field into the schema's name: StoreId -> storeId.
func lowerFirst(s string) string {
	r := []rune(s)
	r[0] = unicode.ToLower(r[0])
	return string(r)
}
