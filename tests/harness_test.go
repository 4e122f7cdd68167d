// Package tests runs the examples end to end: real Pulumi programs in YAML, TypeScript, Python
// and Go, driven by the pinned Pulumi CLI, against an in-process edgesecrets emulator.
//
// Every test gets its own emulator, Pulumi home (with the provider installed from bin/ as a
// plugin), file backend and work directory, all under t.TempDir(), and reaches no network.
//
// Prerequisites (`make test-e2e` builds or installs all of them): bin/pulumi-resource-edgesecrets
// (`make build`), pulumi and pulumi-language-yaml on PATH or in $HOME/.cache/edgesecrets/bin
// (`make tools`), and for TypeScript and Python the packages `make e2e-deps` installs. A test
// whose prerequisite is missing is skipped, or fails when EDGESECRETS_E2E_REQUIRE=1 (as in CI).
package tests

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/cloudflare"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/emulatortest"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/fly"
)

// flyApp is the Fly.io app the examples write to; the emulator creates it at start.
const flyApp = "demo"

// The emulator routes whose request counts the tests assert on.
const (
	routeCloudflareCreateStore = "POST /client/v4/accounts/{account_id}/secrets_store/stores"
	routeCloudflareCreate      = "POST /client/v4/accounts/{account_id}/secrets_store/stores/{store_id}/secrets"
	// One secret's writes.
	routeCloudflarePatch  = "PATCH /client/v4/accounts/{account_id}/secrets_store/stores/{store_id}/secrets/{secret_id}"
	routeCloudflareDelete = "DELETE /client/v4/accounts/{account_id}/secrets_store/stores/{store_id}/secrets/{secret_id}"
	// A rollout's writes: one of each per machine restarted.
	routeFlyLease        = "POST /v1/apps/{app}/machines/{id}/lease"
	routeFlyMachine      = "POST /v1/apps/{app}/machines/{id}"
	routeFlyLeaseRelease = "DELETE /v1/apps/{app}/machines/{id}/lease"
)

// requireEnv makes a missing prerequisite a failure rather than a skip.
const requireEnv = "EDGESECRETS_E2E_REQUIRE"

// repoRoot is the repository's root: go test runs in tests/.
var repoRoot = func() string {
	dir, err := filepath.Abs("..")
	if err != nil {
		panic(err)
	}
	return dir
}()

func TestMain(m *testing.M) {
	// Let `cd tests && go test ./...` find the tools `make tools` built without PATH set up.
	// Appended, so a PATH that already has them wins.
	if dir := toolsBin(); dir != "" {
		if err := os.Setenv("PATH", os.Getenv("PATH")+string(os.PathListSeparator)+dir); err != nil {
			panic(err)
		}
	}
	os.Exit(m.Run())
}

// toolsBin is where `make tools` puts pulumi and pulumi-language-yaml.
func toolsBin() string {
	if dir := os.Getenv("TOOLS_BIN"); dir != "" {
		return dir
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".cache", "edgesecrets", "bin")
}

// prerequisite skips the test when ok is false, or fails it under EDGESECRETS_E2E_REQUIRE=1.
func prerequisite(t *testing.T, ok bool, what, hint string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("missing prerequisite: %s (%s); %s=1 makes this a failure", what, hint, requireEnv)
	}
	t.Skipf("skipping: missing prerequisite: %s (%s); set %s=1 to fail instead", what, hint, requireEnv)
}

// requireCommand returns the path of name on PATH, or skips or fails like prerequisite.
func requireCommand(t *testing.T, name, hint string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	prerequisite(t, err == nil, name+" on PATH", hint)
	return path
}

// requireFile skips or fails like prerequisite unless path exists.
func requireFile(t *testing.T, path, hint string) {
	t.Helper()
	_, err := os.Stat(path)
	prerequisite(t, err == nil, path, hint)
}

// harness is one test's world: an emulator and an isolated Pulumi setup pointed at it.
type harness struct {
	t           *testing.T
	emulator    *emulator.Server
	emulatorURL string
	// emulatorState is the emulator's state file: everything the two APIs hold, values
	// included, rewritten before each change is answered.
	emulatorState string
	// env is the environment of every Pulumi process: the emulator's variables and the
	// isolated Pulumi home, file backend and passphrase, and nothing from the caller's
	// Pulumi or cloud settings.
	env []string
	// envVars holds the variables that env sets on top of the caller's environment.
	envVars map[string]string
	// backendDir holds the file backend's state, history and backups.
	backendDir string
	// fixtures are the stores the account held at the start (its default store): a destroy
	// keeps them.
	fixtures []cloudflare.StoreState
	// lastProgram is the directory of the last program yamlProgram wrote.
	lastProgram string
}

// newHarness starts an emulator as users run it (as unkind as the real services: rate limits,
// lagging reads, pending secrets, an account that holds its default store) and installs the
// provider into a fresh Pulumi home.
func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, emulator.Options{FlyApps: []string{flyApp}})
}

// newHarnessWith is newHarness with emulator options of the test's own: its apps, faults, and a
// state file (opts.StatePath) to start from, which is copied, never changed.
func newHarnessWith(t *testing.T, opts emulator.Options) *harness {
	t.Helper()
	return newHarnessOf(t, opts, filepath.Join(repoRoot, "bin", "pulumi-resource-edgesecrets"))
}

// newHarnessOf is newHarnessWith with the provider binary to install as edgesecrets (the
// benchmark's stub).
func newHarnessOf(t *testing.T, opts emulator.Options, provider string) *harness {
	t.Helper()
	requireFile(t, provider, "run `make build`")
	h := newEmptyHarness(t, opts)
	h.installProvider(provider)
	return h
}

// newEmptyHarness is newHarnessWith up to an empty Pulumi home: no plugin is installed yet.
func newEmptyHarness(t *testing.T, opts emulator.Options) *harness {
	t.Helper()
	requireCommand(t, "pulumi", "run `make tools`")

	statePath := filepath.Join(t.TempDir(), "emulator-state.json")
	if opts.StatePath != "" {
		data, err := os.ReadFile(opts.StatePath)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(statePath, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	opts.StatePath = statePath
	srv, ts := emulatortest.Start(t, opts)

	h := &harness{
		t:             t,
		emulator:      srv,
		emulatorURL:   ts.URL,
		emulatorState: statePath,
	}
	h.isolate(srv.Env(ts.URL))
	h.fixtures = h.contents().stores()
	return h
}

// isolate gives every later Pulumi process a fresh Pulumi home and file backend and the
// variables of apiEnv (the APIs' endpoints and credentials), and nothing of the caller's
// Pulumi or cloud settings.
func (h *harness) isolate(apiEnv map[string]string) {
	h.backendDir = h.t.TempDir()
	h.envVars = apiEnv
	for k, v := range map[string]string{
		"PULUMI_HOME":                   h.t.TempDir(),
		"PULUMI_BACKEND_URL":            "file://" + h.backendDir,
		"PULUMI_CONFIG_PASSPHRASE":      "edgesecrets-e2e",
		"PULUMI_SKIP_UPDATE_CHECK":      "true",
		"PULUMI_IGNORE_AMBIENT_PLUGINS": "true", // bin/ may be on PATH: use the installed plugin
		// Never download a plugin: a missing one is a failure here, not a network call.
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
		"PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK":    "true",
		"NO_COLOR": "1",
	} {
		h.envVars[k] = v
	}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "PULUMI_") || slices.Contains(emulator.EnvNames, name) ||
			name == "FLY_ACCESS_TOKEN" {
			continue // the caller's own Pulumi and cloud settings stay out
		}
		h.env = append(h.env, kv)
	}
	for k, v := range h.envVars {
		h.env = append(h.env, k+"="+v)
	}
}

// installProvider installs a provider binary as the edgesecrets plugin of its own version.
func (h *harness) installProvider(provider string) {
	h.t.Helper()
	version := strings.TrimSpace(h.run(repoRoot, "", provider, "--version"))
	version = strings.TrimPrefix(version, "v")
	h.pulumi(repoRoot, "", "plugin", "install", "resource", "edgesecrets", version, "--file", provider)
}

// setEnv sets a variable of every later Pulumi process.
func (h *harness) setEnv(name, value string) {
	h.envVars[name] = value
	h.env = append(h.env, name+"="+value) // the last one wins
}

// run runs a command in dir with the harness's environment and returns its stdout; on failure
// the test stops with the command's output. Secret values only ever travel on stdin.
func (h *harness) run(dir, stdin, name string, args ...string) string {
	h.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = h.env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		h.t.Fatalf("%s %s: %v\n--- stdout:\n%s\n--- stderr:\n%s", filepath.Base(name), strings.Join(args, " "),
			err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// pulumiFails runs the Pulumi CLI non-interactively, expects it to fail, and returns all it
// printed, stdout and stderr together.
func (h *harness) pulumiFails(dir, stdin string, args ...string) string {
	h.t.Helper()
	cmd := exec.Command("pulumi", append(args, "--non-interactive")...)
	cmd.Dir = dir
	cmd.Env = h.env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err == nil {
		h.t.Fatalf("pulumi %s succeeded, want a failure:\n%s", strings.Join(args, " "), out)
	}
	return string(out)
}

// pulumiCmd is a Pulumi CLI command, ready for runBoth.
type pulumiCmd struct {
	dir  string
	args []string
}

// pulumiArgs describes a command to run in the last yamlProgram's directory... see runBoth.
func (h *harness) pulumiArgs(args ...string) pulumiCmd {
	return pulumiCmd{dir: h.lastProgram, args: append(args, "--non-interactive")}
}

// runBoth runs a Pulumi command that must succeed and returns stdout and stderr together.
func (h *harness) runBoth(c pulumiCmd) string {
	h.t.Helper()
	out, err := h.combined(c)
	if err != nil {
		h.t.Fatalf("pulumi %s: %v\n%s", strings.Join(c.args, " "), err, tail(out, 60))
	}
	return out
}

// runBothFails runs a Pulumi command that must fail and returns stdout and stderr together.
func (h *harness) runBothFails(c pulumiCmd) string {
	h.t.Helper()
	out, err := h.combined(c)
	if err == nil {
		h.t.Fatalf("pulumi %s succeeded, want a failure", strings.Join(c.args, " "))
	}
	return out
}

func (h *harness) combined(c pulumiCmd) (string, error) {
	cmd := exec.Command("pulumi", c.args...)
	cmd.Dir = c.dir
	cmd.Env = h.env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// tail is the last n lines of text.
func tail(text string, n int) string {
	lines := strings.Split(text, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// pulumi runs the Pulumi CLI non-interactively.
func (h *harness) pulumi(dir, stdin string, args ...string) string {
	h.t.Helper()
	return h.run(dir, stdin, "pulumi", append(args, "--non-interactive")...)
}

// assertInstalledPlugin fails if Pulumi ran a provider binary found on PATH (make puts bin/ there)
// instead of the plugin the harness installed: the run would not be the hermetic one intended.
func assertInstalledPlugin(t *testing.T, output string) {
	t.Helper()
	if strings.Contains(output, "pulumi-resource-edgesecrets from $PATH") {
		t.Errorf("Pulumi used the provider binary on PATH, not the installed plugin:\n%s", output)
	}
}

// opResult is what one Pulumi operation reports.
type opResult struct {
	// Changes counts resources per operation ("create", "same", "update", ...), the stack
	// resource included.
	Changes map[string]int
	// Outputs are the stack's outputs after an up; a secret output's value is "[secret]".
	Outputs map[string]any
}

// assertChanges fails unless got counts exactly the operations of want (zero counts ignored).
func assertChanges(t *testing.T, step string, got, want map[string]int) {
	t.Helper()
	clean := func(m map[string]int) map[string]int {
		out := map[string]int{}
		for k, v := range m {
			if v != 0 {
				out[k] = v
			}
		}
		return out
	}
	if g, w := clean(got), clean(want); !mapsEqual(g, w) {
		t.Fatalf("%s: resource changes are %v, want exactly %v", step, g, w)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// emulatorContents is the emulator's state file.
type emulatorContents struct {
	Fly        fly.State        `json:"fly"`
	Cloudflare cloudflare.State `json:"cloudflare"`
}

// contents reads what the emulator holds now.
func (h *harness) contents() emulatorContents {
	h.t.Helper()
	data, err := os.ReadFile(h.emulatorState)
	if err != nil {
		h.t.Fatalf("reading the emulator's state: %v", err)
	}
	var c emulatorContents
	if err := json.Unmarshal(data, &c); err != nil {
		h.t.Fatalf("decoding the emulator's state: %v", err)
	}
	return c
}

// flySecret returns the named secret of app as the emulator holds it.
func (c emulatorContents) flySecret(app, name string) (fly.SecretState, bool) {
	for _, a := range c.Fly.Apps {
		if a.Name != app {
			continue
		}
		for _, s := range a.Secrets {
			if s.Name == name {
				return s, true
			}
		}
	}
	return fly.SecretState{}, false
}

// stores lists every Cloudflare store of every account.
func (c emulatorContents) stores() []cloudflare.StoreState {
	var stores []cloudflare.StoreState
	for _, a := range c.Cloudflare.Accounts {
		stores = append(stores, a.Stores...)
	}
	return stores
}

// cloudflareSecret returns the secret called name and the ID of the store that holds it.
func (c emulatorContents) cloudflareSecret(name string) (storeID string, secret cloudflare.SecretState, ok bool) {
	for _, st := range c.stores() {
		for _, s := range st.Secrets {
			if s.Name == name {
				return st.ID, s, true
			}
		}
	}
	return "", cloudflare.SecretState{}, false
}

// assertEmulatorEmpty fails if any Fly.io secret or Cloudflare secret is left, or any store but
// the account's own from the start (its default store, a fixture that a destroy keeps).
func (h *harness) assertEmulatorEmpty(step string) {
	h.t.Helper()
	c := h.contents()
	for _, a := range c.Fly.Apps {
		for _, s := range a.Secrets {
			h.t.Errorf("%s: Fly.io secret %s/%s is left in the emulator", step, a.Name, s.Name)
		}
	}
	for _, st := range c.stores() {
		for _, s := range st.Secrets {
			h.t.Errorf("%s: Cloudflare secret %s is left in store %s", step, s.Name, st.Name)
		}
		if !slices.ContainsFunc(h.fixtures, func(f cloudflare.StoreState) bool { return f.ID == st.ID }) {
			h.t.Errorf("%s: Cloudflare store %s (%s) is left in the emulator", step, st.Name, st.ID)
		}
	}
	if got := len(c.stores()); got != len(h.fixtures) {
		h.t.Errorf("%s: %d stores left, want the %d the account started with", step, got, len(h.fixtures))
	}
}

// assertWrites fails unless the API calls that change something (every method but GET) since
// the last ResetStats are exactly want, by route.
func (h *harness) assertWrites(step string, want map[string]int) {
	h.t.Helper()
	got := map[string]int{}
	for route, n := range h.emulator.Stats().Routes {
		if !strings.HasPrefix(route, "GET ") {
			got[route] = n
		}
	}
	if !mapsEqual(got, want) {
		h.t.Fatalf("%s: the emulator served these writes: %v, want exactly %v", step, got, want)
	}
}

// apiJSON calls an emulator API with its token and decodes the JSON answer into out.
func (h *harness) apiJSON(method, path string, body any, out any) {
	h.t.Helper()
	var reqBody io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		reqBody = bytes.NewReader(data)
	}
	data := h.apiCall(method, path, "application/json", reqBody)
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			h.t.Fatalf("%s %s: decoding %s: %v", method, path, data, err)
		}
	}
}

// apiCall calls an emulator API with its token (Fly's, or Cloudflare's under /client/v4/) and
// returns the answer's body; an answer of 300 or more fails the test.
func (h *harness) apiCall(method, path, contentType string, body io.Reader) []byte {
	h.t.Helper()
	req, err := http.NewRequest(method, h.emulatorURL+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	token := h.envVars["FLY_API_TOKEN"]
	if strings.HasPrefix(path, "/client/v4/") {
		token = h.envVars["CLOUDFLARE_API_TOKEN"]
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", contentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		h.t.Fatalf("%s %s: %s: %s", method, path, resp.Status, data)
	}
	return data
}

// flyDigest is the digest the Fly.io API reports for a secret, read at the app's current
// secrets version (a plain read may lag the last write).
func (h *harness) flyDigest(app, name string) string {
	h.t.Helper()
	var version uint64
	for _, a := range h.contents().Fly.Apps {
		if a.Name == app {
			version = a.Version
		}
	}
	var secret struct {
		Digest string `json:"digest"`
	}
	h.apiJSON("GET", fmt.Sprintf("/v1/apps/%s/secrets/%s?version=%d", app, name, version), nil, &secret)
	return secret.Digest
}

// assertNoPlaintext fails if any file under dirs contains one of the secret values: Pulumi must
// keep them encrypted in state, history, backups and stack config.
func assertNoPlaintext(t *testing.T, values []string, dirs ...string) {
	t.Helper()
	checked := 0
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			checked++
			for i, v := range values {
				if bytes.Contains(data, []byte(v)) {
					// Name the value by position, never print it.
					t.Errorf("%s holds secret value #%d in plaintext", path, i+1)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("reading %s: %v", dir, err)
		}
	}
	if checked == 0 {
		t.Fatalf("no state files found under %v: nothing was checked for plaintext secrets", dirs)
	}
}

// uniqueValue returns a value no other test or default uses, so that finding it means a leak.
func uniqueValue(prefix string) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return prefix + hex.EncodeToString(b)
}

// timed runs step and logs how long it took.
func timed[T any](t *testing.T, step string, f func() T) T {
	t.Helper()
	start := time.Now()
	v := f()
	t.Logf("%-28s %6.2fs", step, time.Since(start).Seconds())
	return v
}

// copyDir copies the regular files of src (not its subdirectories) into a new directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// jsonLastLine decodes the last non-empty line of out, where drivers print their result.
func jsonLastLine(t *testing.T, what, out string, v any) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	if err := json.Unmarshal([]byte(last), v); err != nil {
		t.Fatalf("%s: the last line of its output is not its JSON result: %v\n%s", what, err, out)
	}
}
