package tests

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
)

// TestBulkImportWorkerSecrets adopts a Worker script's secrets as `wrangler secret put` left them
// an hour ago: edgesecrets-import --cloudflare-worker writes one WorkerSecret per secret (ID
// SCRIPT/NAME), ONE `pulumi import --file` adopts them with no write, the generated program
// previews clean, and given the values one up writes each secret in place; destroy removes them.
func TestBulkImportWorkerSecrets(t *testing.T) {
	t.Parallel()
	importer := requireImporter(t)
	h := newHarnessWith(t, emulator.Options{FlyApps: []string{flyApp}, CloudflareWorkers: []string{workerScript}})
	dir := yamlProgram(t, h, "  {}\n")
	old := map[string]string{}
	for i := range 5 {
		old[fmt.Sprintf("LEGACY_SECRET_%02d", i)] = uniqueValue("worker-legacy-")
	}
	h.seedWorker(workerScript, time.Hour, old)

	doc, importFile := writeImportDocument(h, dir, importer, "--cloudflare-worker", workerScript)
	var ids []string
	for name := range old {
		ids = append(ids, workerScript+"/"+name)
	}
	code := importAll(h, dir, doc, importFile, map[string][]string{"edgesecrets:cloudflare:WorkerSecret": ids})
	rewrite(t, dir, generatedResources(t, string(code)))
	p := &cliProgram{t: t, h: h, dir: dir}
	total := len(doc) + 1 // and the stack
	previewed := timed(t, "preview (generated program)", p.preview)
	assertChanges(t, "preview of the generated program", previewed.Changes, map[string]int{"same": total})

	program, keys := valuesFromConfig(t, string(code))
	rewrite(t, dir, generatedResources(t, program))
	values := map[string]string{}
	for _, key := range keys {
		values[key] = uniqueValue("adopted-")
	}
	p.setSecretConfig(values)
	updated := timed(t, "up (write values)", p.up)
	assertChanges(t, "up with values", updated.Changes, map[string]int{"update": len(old), "same": 1})
	got := h.workerSecrets(workerScript)
	for _, r := range doc {
		name := strings.TrimPrefix(r.ID, workerScript+"/")
		if got[name] != values[r.Name+"Value"] {
			t.Errorf("Worker secret %s does not hold the program's value", name)
		}
	}
	again := timed(t, "preview (no changes)", p.preview)
	assertChanges(t, "preview after the up", again.Changes, map[string]int{"same": total})
	assertNoPlaintext(t, append(secretValues(old), secretValues(values)...), p.stateDirs()...)

	destroyed := timed(t, "destroy", p.destroy)
	assertChanges(t, "destroy", destroyed.Changes, map[string]int{"delete": total})
	if left := h.workerSecrets(workerScript); len(left) != 0 {
		t.Errorf("destroy left %v", names(left))
	}
}
