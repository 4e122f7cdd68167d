package tests

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/emulatortest"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/workers"
)

// wranglerDir holds the pinned wrangler (and, on linux/x64, the Node.js it needs) that
// tests/e2e-deps.sh installs.
var wranglerDir = filepath.Join(repoRoot, "tests", "testdata", "wrangler")

// The Workers routes wrangler's secret commands call.
const (
	routeWorkersPutSecret = "PUT /client/v4/accounts/{account_id}/workers/scripts/{script_name}/secrets"
	routeWorkersBulk      = "PATCH /client/v4/accounts/{account_id}/workers/scripts/{script_name}/secrets-bulk"
	routeWorkersDelete    = "DELETE /client/v4/accounts/{account_id}/workers/scripts/{script_name}/secrets/" +
		"{secret_name}"
	routeWorkersList       = "GET /client/v4/accounts/{account_id}/workers/scripts/{script_name}/secrets"
	routeWorkersLatestEdit = "PATCH /client/v4/accounts/{account_id}/workers/workers/{script_name}/versions/latest"
)

// TestWranglerSecretsAgainstEmulator runs real wrangler 4 secret commands against the emulator's
// Workers scripts API: a second, independent reading of the contract (wrangler's own) that the
// emulator must satisfy. Every call wrangler makes outside loopback goes to a proxy that refuses
// it, and the test fails if there is any.
func TestWranglerSecretsAgainstEmulator(t *testing.T) {
	w := newWrangler(t)
	const script = "edge-api"
	ref := workers.ScriptRef{Name: script}
	var emulatorLog syncBuffer
	srv, ts := emulatortest.Start(t, emulator.Options{
		CloudflareWorkers: []string{script},
		Logger:            newTextLogger(&emulatorLog),
	})
	w.env = append(w.env,
		"CLOUDFLARE_API_BASE_URL="+ts.URL+"/client/v4",
		"CLOUDFLARE_API_TOKEN="+srv.Options().CloudflareToken,
		"CLOUDFLARE_ACCOUNT_ID="+srv.Options().CloudflareAccount,
	)
	secrets := func() map[string]string {
		t.Helper()
		list, err := srv.Workers().Secrets(ref)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, s := range list {
			out[s.Name] = s.Text
		}
		return out
	}
	const putValue, bulkA, bulkB = "put-value-7f3e", "bulk-value-a91c", "bulk-value-b22d"

	// put, then list shows it (a name and a type, never the value).
	w.run("put-value-7f3e\n", "secret", "put", "API_KEY", "--name", script)
	if got := secrets(); len(got) != 1 || got["API_KEY"] != putValue {
		t.Fatalf("after secret put the script holds %v", names(got))
	}
	out := w.run("", "secret", "list", "--name", script, "--format", "json")
	var listed []map[string]string
	if err := json.Unmarshal([]byte(out[strings.Index(out, "["):]), &listed); err != nil {
		t.Fatalf("secret list printed %q: %v", out, err)
	}
	if len(listed) != 1 || listed[0]["name"] != "API_KEY" || listed[0]["type"] != "secret_text" {
		t.Fatalf("secret list: %v", listed)
	}
	if strings.Contains(out, putValue) {
		t.Fatal("secret list printed a secret value")
	}
	if n := srv.Stats().Answered()[routeWorkersList]; n != 1 {
		t.Errorf("secret list made %d calls of %s, want 1", n, routeWorkersList)
	}

	// bulk writes a map in one call: one new version.
	before, _ := srv.Workers().Versions(ref)
	srv.ResetStats()
	file := filepath.Join(t.TempDir(), "secrets.json")
	if err := os.WriteFile(file, []byte(`{"DB_URL": "`+bulkA+`", "SESSION_KEY": "`+bulkB+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	w.run("", "secret", "bulk", file, "--name", script)
	if got := secrets(); len(got) != 3 || got["DB_URL"] != bulkA || got["SESSION_KEY"] != bulkB ||
		got["API_KEY"] != putValue {
		t.Fatalf("after secret bulk the script holds %v", names(got))
	}
	answered := srv.Stats().Answered()
	if answered[routeWorkersBulk] != 1 || len(answered) != 1 {
		t.Errorf("secret bulk made %v, want one %s", answered, routeWorkersBulk)
	}
	if after, _ := srv.Workers().Versions(ref); len(after) != len(before)+1 || after[len(after)-1].Percentage != 100 {
		t.Errorf("secret bulk: %d versions before, %d after, want one more, deployed", len(before), len(after))
	}

	// delete removes it.
	w.run("", "secret", "delete", "API_KEY", "--name", script)
	if got := secrets(); len(got) != 2 || got["API_KEY"] != "" {
		t.Fatalf("after secret delete the script holds %v", names(got))
	}

	// versions secret put makes a version that is not deployed; a plain secret put is then
	// refused (10215) and changes nothing, as during a gradual deployment.
	w.run("versioned-value\n", "versions", "secret", "put", "STAGED", "--name", script)
	vs, _ := srv.Workers().Versions(ref)
	if latest := vs[len(vs)-1]; latest.Percentage != 0 || latest.Secrets["STAGED"] != "versioned-value" {
		t.Fatalf("versions secret put: newest version %+v, want it undeployed with STAGED", latest)
	}
	failed := w.fail("again\n", "secret", "put", "OTHER", "--name", script)
	if !strings.Contains(failed, "latest version of your Worker isn't currently deployed") {
		t.Errorf("secret put while the newest version is not deployed printed %q", failed)
	}
	if _, ok := secrets()["OTHER"]; ok {
		t.Error("a refused secret put wrote its secret")
	}

	// A secret put for a Worker that does not exist: wrangler creates a draft Worker (an
	// upload) and puts the secret again.
	w.run("draft-value\n", "secret", "put", "FIRST", "--name", "new-worker")
	if got, err := srv.Workers().Secrets(workers.ScriptRef{Name: "new-worker"}); err != nil || len(got) != 1 ||
		got[0].Text != "draft-value" {
		t.Errorf("secret put to a new Worker: %v, %v", got, err)
	}

	stats := srv.Stats().Routes
	for _, route := range []string{routeWorkersPutSecret, routeWorkersDelete, routeWorkersLatestEdit} {
		if stats[route] == 0 {
			t.Errorf("no call of %s counted (stats %v)", route, stats)
		}
	}
	for _, v := range []string{putValue, bulkA, bulkB, "versioned-value", "draft-value"} {
		if strings.Contains(emulatorLog.String(), v) {
			t.Errorf("the emulator's log holds a secret value")
		}
	}
	w.checkOffline()
}

// wrangler runs the pinned wrangler in an isolated home, offline.
type wrangler struct {
	t   *testing.T
	dir string
	env []string

	mu      sync.Mutex
	escapes []string // what wrangler tried to reach outside loopback
}

func newWrangler(t *testing.T) *wrangler {
	t.Helper()
	hint := "run `bash tests/e2e-deps.sh wrangler` (or `make e2e-deps`)"
	requireFile(t, filepath.Join(wranglerDir, "node_modules", "wrangler", "package.json"), hint)
	npx := requireCommand(t, "npx", "install Node.js and npm")
	w := &wrangler{t: t, dir: t.TempDir()}
	// The proxy every request to a host other than loopback goes to: it refuses and records.
	proxy := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.escapes = append(w.escapes, r.Method+" "+r.Host)
		w.mu.Unlock()
		http.Error(rw, "edgesecrets e2e: no call may leave the machine", http.StatusForbidden)
	}))
	t.Cleanup(proxy.Close)
	home := t.TempDir()
	w.env = []string{
		// node_modules/.bin first: the Node.js wrangler needs, where e2e-deps installed one.
		"PATH=" + filepath.Join(wranglerDir, "node_modules", ".bin") + string(os.PathListSeparator) +
			filepath.Dir(npx) + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"TMPDIR=" + t.TempDir(),
		"npm_config_cache=" + filepath.Join(home, ".npm"),
		"npm_config_offline=true",
		"CI=true",
		"NO_COLOR=1",
		"WRANGLER_SEND_METRICS=false",
		"WRANGLER_SEND_ERROR_REPORTS=false",
		"WRANGLER_NO_SKILLS_UPDATE_PROMPTS=true",
		"WRANGLER_HIDE_BANNER=true", // the banner checks the npm registry for a newer wrangler
		"WRANGLER_LOG_PATH=" + filepath.Join(home, "wrangler-logs"),
		"DO_NOT_TRACK=1",
		"HTTPS_PROXY=" + proxy.URL,
		"HTTP_PROXY=" + proxy.URL,
		"NO_PROXY=127.0.0.1,localhost,::1",
	}
	_, out, err := w.command("", "--version")
	prerequisite(t, err == nil, "a working wrangler (Node.js 22.12 or later)", hint+"; `npx wrangler --version` said: "+
		strings.TrimSpace(out))
	return w
}

// command runs wrangler with args; it returns what it printed to stdout, and to both.
func (w *wrangler) command(stdin string, args ...string) (stdout, all string, err error) {
	cmd := exec.Command("npx", append([]string{"--no-install", "--prefix", wranglerDir, "wrangler"}, args...)...)
	cmd.Dir = w.dir
	cmd.Env = w.env
	cmd.Stdin = strings.NewReader(stdin)
	var out, both syncBuffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, &both), &both
	if err := cmd.Start(); err != nil {
		return "", "", err
	}
	timer := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
	err = cmd.Wait()
	timer.Stop()
	return out.String(), both.String(), err
}

// run runs wrangler and fails the test unless it succeeds; it returns what wrangler printed to
// stdout.
func (w *wrangler) run(stdin string, args ...string) string {
	w.t.Helper()
	out, all, err := w.command(stdin, args...)
	if err != nil {
		w.t.Fatalf("wrangler %s: %v\n%s", strings.Join(args, " "), err, all)
	}
	return out
}

// fail runs wrangler and fails the test if it succeeds; it returns what wrangler printed.
func (w *wrangler) fail(stdin string, args ...string) string {
	w.t.Helper()
	_, all, err := w.command(stdin, args...)
	if err == nil {
		w.t.Fatalf("wrangler %s succeeded, want a failure:\n%s", strings.Join(args, " "), all)
	}
	return all
}

// checkOffline fails the test if wrangler tried to reach anything but loopback.
func (w *wrangler) checkOffline() {
	w.t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.escapes) > 0 {
		w.t.Errorf("wrangler tried to leave the machine: %v", w.escapes)
	}
}

// names lists a map's keys, never its values.
func names(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
