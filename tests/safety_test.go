package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// yamlProgram writes a one-off YAML program (its resources block given) into a new directory
// with a stack, and returns the directory.
func yamlProgram(t *testing.T, h *harness, resources string) string {
	t.Helper()
	requireCommand(t, "pulumi-language-yaml", "run `make tools`")
	dir := t.TempDir()
	// A project of its own: the programs of one harness share its backend.
	program := "name: " + uniqueValue("program-") + "\nruntime: yaml\nresources:\n" + resources
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.yaml"), []byte(program), 0o644); err != nil {
		t.Fatal(err)
	}
	h.pulumi(dir, "", "stack", "init", "safety")
	h.lastProgram = dir
	return dir
}

// urnIn is the URN of a resource of the program in dir (stack "safety").
func urnIn(t *testing.T, dir, typ, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "Pulumi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	project, _, _ := strings.Cut(strings.TrimPrefix(string(data), "name: "), "\n")
	return "urn:pulumi:safety::" + project + "::" + typ + "::" + name
}

// Mistakes in a program fail `pulumi preview` with the provider's message, never with a secret
// value printed, a crash, or Go's words; and no API call is made.
func TestPreviewFailuresPrintNoSecretAndNeverCrash(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	canary := uniqueValue("canary-")
	cases := []struct {
		name, resources string
		want            []string
	}{
		{"an inline map with one empty entry", `
  store:
    type: edgesecrets:cloudflare:SecretsStore
    properties:
      secrets:
        GOOD: ` + canary + `-good
        OTHER: ` + canary + `-other
        EMPTY: ""
`, []string{`secrets["EMPTY"]: EMPTY must not be empty`}},
		{"a too-long value given as a secret", `
  key:
    type: edgesecrets:cloudflare:Secret
    properties:
      name: KEY
      value:
        fn::secret: ` + canary + strings.Repeat("v", 65536) + `
`, []string{"value is 65", "Secrets Store values have at most 65536 bytes"}},
		{"a null scope", `
  key:
    type: edgesecrets:cloudflare:Secret
    properties:
      name: KEY
      value: v
      scopes: [workers, null]
`, []string{"scopes[1] must be a string, got null"}},
		{"a number for a name", `
  db:
    type: edgesecrets:fly:FlySecret
    properties:
      app: demo
      name: 42
      value:
        fn::secret: ` + canary + `
`, []string{"name must be a string, got a number"}},
		{"a 10,000-character Fly name", `
  db:
    type: edgesecrets:fly:FlySecret
    properties:
      app: demo
      name: ` + strings.Repeat("N", 10000) + `
      value:
        fn::secret: ` + canary + `
`, []string{"Fly.io secret names have at most 255 bytes"}},
		{"a 300-character inline name", `
  store:
    type: edgesecrets:cloudflare:SecretsStore
    properties:
      secrets:
        ` + strings.Repeat("n", 300) + `: ` + canary + `
`, []string{"Secrets Store secret and store names have at most 255 bytes"}},
		{"a whitespace-only value", `
  db:
    type: edgesecrets:fly:FlySecret
    properties:
      app: demo
      name: DATABASE_URL
      value: "   "
`, []string{"value must not be only whitespace"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := yamlProgram(t, h, tc.resources)
			h.emulator.ResetStats()
			out := h.pulumiFails(dir, "", "preview")
			for _, want := range tc.want {
				if !strings.Contains(out, want) {
					t.Errorf("the output does not say %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, canary) {
				t.Errorf("the output prints a secret value:\n%s", out)
			}
			for _, bad := range []string{"exited prematurely", "panic", "provider.FlySecretArgs", "float64"} {
				if strings.Contains(out, bad) {
					t.Errorf("the output shows %q:\n%s", bad, out)
				}
			}
			if st := h.emulator.Stats(); st.Total != 0 {
				t.Errorf("a failing preview made API calls: %v", st.Routes)
			}
		})
	}
}

// A misspelt configuration key fails at preview, naming the key meant.
func TestMisspeltConfigKeyFails(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := yamlProgram(t, h, flySecretProgram("db", "DATABASE_URL", "postgres://x", ""))
	h.pulumi(dir, "", "config", "set", "edgesecrets:flyToken", "tok")
	out := h.pulumiFails(dir, "", "preview")
	const hint = "edgesecrets:flyToken is not a configuration key of this provider; did you mean edgesecrets:flyApiToken?"
	if !strings.Contains(out, hint) {
		t.Errorf("the output does not name the key meant:\n%s", out)
	}
}

// `pulumi import` of a well-formed ID that names nothing fails and leaves nothing in state.
func TestImportOfNothingFails(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir := yamlProgram(t, h, "  {}\n")
	for _, imp := range []struct{ typ, id, want string }{
		{"edgesecrets:fly:FlySecret", flyApp + "/DATABASE_URLL", `Fly.io secret "demo/DATABASE_URLL" not found`},
		{"edgesecrets:cloudflare:Secret",
			h.envVars["CLOUDFLARE_ACCOUNT_ID"] + "/" + strings.Repeat("ab", 16) + "/" + strings.Repeat("cd", 16), "not found"},
	} {
		out := h.pulumiFails(dir, "", "import", imp.typ, "ghost", imp.id, "--yes")
		if !strings.Contains(out, imp.want) {
			t.Errorf("import %s: the output does not say %q:\n%s", imp.id, imp.want, out)
		}
	}
	if state := h.pulumi(dir, "", "stack", "export"); strings.Contains(state, "ghost") {
		t.Errorf("a failed import left a resource in state:\n%s", state)
	}
}
