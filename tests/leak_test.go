package tests

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

// engineMarshalling matches the lines the Pulumi engine itself writes at -v=9 about marshalling
// RPC payloads ("Marshaling property for RPC[...]"): the engine's, not the provider's, and left
// out of the leak check by name.
var engineMarshalling = regexp.MustCompile(`(?i)(un)?marshal(l)?ing property for RPC`)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newTextLogger logs everything, debug lines included, to w.
func newTextLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newLeakHarness starts a harness whose emulator takes canary tokens (the provider reads them
// from the environment) and logs everything, with the watch that holds the canaries.
func newLeakHarness(t *testing.T) (*harness, *leakWatch, *syncBuffer) {
	t.Helper()
	w := &leakWatch{t: t}
	var emulatorLog syncBuffer
	h := newHarnessWith(t, emulator.Options{
		FlyApps: []string{flyApp}, FlyToken: w.canary("fly-token"), CloudflareToken: w.canary("cloudflare-token"),
		Logger: newTextLogger(&emulatorLog),
	})
	return h, w, &emulatorLog
}

// leakWatch collects canaries (every value and token the test passes) and the text that must
// never hold one.
type leakWatch struct {
	t        *testing.T
	canaries []string
	excluded int // engine marshalling lines holding a canary, left out by name
}

// canary returns a new random value to watch for.
func (w *leakWatch) canary(what string) string {
	c := uniqueValue("canary-" + what + "-")
	w.watch(c)
	return c
}

// watch adds a value, and the forms a client may send it in (base64), to the watch list.
func (w *leakWatch) watch(c string) {
	w.canaries = append(w.canaries, c, base64.StdEncoding.EncodeToString([]byte(c)))
}

// check fails for every line of text (what names it) that holds a canary.
func (w *leakWatch) check(what, text string) {
	w.t.Helper()
	for i, line := range strings.Split(text, "\n") {
		for j, c := range w.canaries {
			if !strings.Contains(line, c) {
				continue
			}
			if engineMarshalling.MatchString(line) {
				w.excluded++
				continue
			}
			w.t.Errorf("%s, line %d, holds canary #%d in plaintext: %s", what, i+1, j+1,
				strings.ReplaceAll(line, c, "<canary>"))
		}
	}
}

// checkFiles checks every file under dirs.
func (w *leakWatch) checkFiles(dirs ...string) {
	w.t.Helper()
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err == nil {
				w.check(path, string(data))
			}
			return err
		})
		if err != nil {
			w.t.Fatal(err)
		}
	}
}

// TestNoSecretLeaks sets random canaries through every resource and input that takes a value
// or a token, runs preview, up, refresh, update, import, failing calls that carry the values and
// destroy, all at -v=9 with the provider's logs flowing, and fails if a canary shows in plaintext
// in any CLI output, the state and its backups, the stack config or the emulator's log.
func TestNoSecretLeaks(t *testing.T) {
	t.Parallel()
	h, w, emulatorLog := newLeakHarness(t)
	flyToken, cloudflareToken := h.envVars["FLY_API_TOKEN"], h.envVars["CLOUDFLARE_API_TOKEN"]

	program := func(extra string) string {
		return fmt.Sprintf(`
  db:
    type: edgesecrets:fly:FlySecret
    properties:
      app: demo
      name: DATABASE_URL
      value:
        fn::secret: %s
      apiToken:
        fn::secret: %s
  cert:
    type: edgesecrets:fly:FlySecret
    properties:
      app: demo
      name: TLS_CERT
      encoding: base64
      value: %s
  store:
    type: edgesecrets:cloudflare:SecretsStore
    properties:
      apiToken: %s
      secrets:
        STRIPE_KEY: %s
        WEBHOOK_SECRET: %s
  key:
    type: edgesecrets:cloudflare:Secret
    properties:
      storeId: ${store.storeId}
      name: API_KEY
      comment: the API key
      value:
        fn::secret: %s
      apiToken:
        fn::secret: %s
`, w.canary("fly"), flyToken, w.canary("fly-base64"), cloudflareToken, w.canary("inline"), w.canary("inline"),
			w.canary("cloudflare"), cloudflareToken) + extra
	}
	verbose := []string{"-v=9", "--logtostderr", "--logflow", "--debug"}
	run := func(step string, args ...string) {
		t.Helper()
		out := h.runBoth(h.pulumiArgs(append(args, verbose...)...))
		w.check(step, out)
	}

	dir := yamlProgram(t, h, program(""))
	run("preview", "preview")
	run("up", "up", "--yes", "--skip-preview")
	run("refresh", "refresh", "--yes", "--skip-preview")
	rewrite(t, dir, program("")) // new canaries everywhere: an update of every value
	run("preview of the update", "preview")
	run("update", "up", "--yes", "--skip-preview")

	imported := w.canary("imported")
	h.apiJSON("POST", "/v1/apps/"+flyApp+"/secrets/IMPORTED", map[string]string{"value": imported}, nil)
	run("import", "import", "edgesecrets:fly:FlySecret", "imported", flyApp+"/IMPORTED", "--yes", "--protect=false")

	// Calls that fail while carrying values: an app that does not exist, a store that does not.
	rewrite(t, dir, program(fmt.Sprintf(`
  nowhere:
    type: edgesecrets:fly:FlySecret
    properties:
      app: no-such-app
      name: LOST
      value:
        fn::secret: %s
  strayKey:
    type: edgesecrets:cloudflare:Secret
    properties:
      storeId: %s
      name: STRAY
      value:
        fn::secret: %s
`, w.canary("failing-fly"), strings.Repeat("ab", 16), w.canary("failing-cloudflare"))))
	out := h.runBothFails(h.pulumiArgs(append([]string{"up", "--yes", "--skip-preview"}, verbose...)...))
	w.check("failing up", out)
	if !strings.Contains(out, "app not found") || !strings.Contains(out, "store_not_found") {
		t.Errorf("the failing up does not show both failures:\n%s", strings.Join(strings.Split(out, "\n")[:20], "\n"))
	}

	rewrite(t, dir, program(""))
	run("destroy", "destroy", "--yes", "--skip-preview")

	// The state, its history and backups, and the stack's config; not Pulumi.yaml, the program
	// itself, which holds the canaries as its author wrote them.
	w.checkFiles(h.backendDir)
	config, err := os.ReadFile(filepath.Join(dir, "Pulumi.safety.yaml"))
	if err == nil {
		w.check("the stack config", string(config))
	}
	w.check("the emulator's log", emulatorLog.String())
	t.Logf(
		"checked %d canary forms; %d engine RPC-marshalling lines holding one were left out",
		len(w.canaries),
		w.excluded,
	)
}
