package tests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/workers"
)

// dispatchScript is a Workers for Platforms script of the leak test, in dispatchNamespace.
const (
	dispatchNamespace = "customers"
	dispatchScript    = "tenant-one"
)

// TestNoSecretLeaksWorkers is TestNoSecretLeaks for the Worker secret resources: random canaries
// as the values of a WorkerSecret (with its own apiToken), a WorkerSecrets under a keyTemplate,
// and a WorkerSecret of a Workers for Platforms script, through preview, up, refresh, an update
// of every value, an import of a secret another client put, a failing up on a missing script that
// carries values, `pulumi stack export` and destroy, all at -v=9 with the provider's logs flowing
// (--logtostderr --logflow). No canary may show in any CLI output, the exported state, the state
// files and their backups, or the emulator's log.
func TestNoSecretLeaksWorkers(t *testing.T) {
	t.Parallel()
	w := &leakWatch{t: t}
	var emulatorLog syncBuffer
	h := newHarnessWith(t, emulator.Options{
		FlyApps: []string{flyApp}, FlyToken: w.canary("fly-token"), CloudflareToken: w.canary("cloudflare-token"),
		CloudflareWorkers: []string{workerScript, dispatchNamespace + "/" + dispatchScript},
		Logger:            newTextLogger(&emulatorLog),
	})
	cloudflareToken := h.envVars["CLOUDFLARE_API_TOKEN"]

	program := func(extra string) string {
		return fmt.Sprintf(`
  apiKey:
    type: edgesecrets:cloudflare:WorkerSecret
    properties:
      scriptName: %[1]s
      name: API_KEY
      value:
        fn::secret: %[2]s
      apiToken:
        fn::secret: %[3]s
  bulk:
    type: edgesecrets:cloudflare:WorkerSecrets
    properties:
      scriptName: %[1]s
      keyTemplate: PROD_{{key}}
      secrets:
        fn::secret:
          DATABASE_URL: %[4]s
          STRIPE_KEY: %[5]s
  tenant:
    type: edgesecrets:cloudflare:WorkerSecret
    properties:
      scriptName: %[6]s
      dispatchNamespace: %[7]s
      name: TENANT_KEY
      value:
        fn::secret: %[8]s
`, workerScript, w.canary("worker-secret"), cloudflareToken, w.canary("bulk-db"), w.canary("bulk-stripe"),
			dispatchScript, dispatchNamespace, w.canary("dispatch")) + extra
	}
	verbose := []string{"-v=9", "--logtostderr", "--logflow", "--debug"}
	run := func(step string, args ...string) string {
		t.Helper()
		out := h.runBoth(h.pulumiArgs(append(args, verbose...)...))
		w.check(step, out)
		return out
	}

	dir := yamlProgram(t, h, program(""))
	run("preview", "preview")
	run("up", "up", "--yes", "--skip-preview")
	if got := len(h.workerSecrets(workerScript)); got != 3 {
		t.Fatalf("the up wrote %d secrets to %s, want 3", got, workerScript)
	}
	tenant, err := h.emulator.Workers().Secrets(workers.ScriptRef{Namespace: dispatchNamespace, Name: dispatchScript})
	if err != nil || len(tenant) != 1 {
		t.Fatalf("the up wrote %d secrets to the dispatch namespace's script (%v), want 1", len(tenant), err)
	}
	run("refresh", "refresh", "--yes", "--skip-preview")
	rewrite(t, dir, program("")) // new canaries everywhere: an update of every value
	run("preview of the update", "preview", "--diff")
	run("update", "up", "--yes", "--skip-preview")

	imported := w.canary("imported")
	h.apiCall("PUT", h.workersAPI()+workerScript+"/secrets", "application/json",
		strings.NewReader(fmt.Sprintf(`{"name":"IMPORTED","text":%q,"type":"secret_text"}`, imported)))
	run("import", "import", "edgesecrets:cloudflare:WorkerSecret", "imported", workerScript+"/IMPORTED", "--yes",
		"--protect=false")
	w.check("stack export", h.runBoth(h.pulumiArgs("stack", "export")))

	rewrite(t, dir, program(fmt.Sprintf(`
  nowhere:
    type: edgesecrets:cloudflare:WorkerSecret
    properties:
      scriptName: no-such-worker
      name: LOST
      value:
        fn::secret: %s
  nowhereBulk:
    type: edgesecrets:cloudflare:WorkerSecrets
    properties:
      scriptName: no-such-worker
      secrets:
        fn::secret:
          LOST_TOO: %s
`, w.canary("failing-single"), w.canary("failing-bulk"))))
	out := h.runBothFails(h.pulumiArgs(append([]string{"up", "--yes", "--skip-preview"}, verbose...)...))
	w.check("failing up", out)
	if !strings.Contains(out, `Worker "no-such-worker" does not exist`) {
		t.Errorf("the failing up does not show the missing script:\n%s", tail(out, 40))
	}

	rewrite(t, dir, program(""))
	run("destroy", "destroy", "--yes", "--skip-preview")
	if got := h.workerSecrets(workerScript); len(got) != 1 { // IMPORTED: imported, then dropped from the program
		t.Errorf("after destroy %s holds %v, want only IMPORTED", workerScript, names(got))
	}

	w.checkFiles(h.backendDir)
	w.check("the emulator's log", emulatorLog.String())
	t.Logf("checked %d canary forms; %d engine RPC-marshalling lines holding one were left out", len(w.canaries),
		w.excluded)
}
