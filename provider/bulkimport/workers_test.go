package bulkimport

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/emulatortest"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/workers"
)

// Routes of the emulator's Workers API the tests count.
const (
	routeWorkerSecretList   = "GET /client/v4/accounts/{account_id}/workers/scripts/{script_name}/secrets"
	routeDispatchSecretList = "GET /client/v4/accounts/{account_id}/workers/dispatch/namespaces/" +
		"{dispatch_namespace}/scripts/{script_name}/secrets"
)

// workerWorld is an emulator holding the given Worker scripts ("NAME" or "NAMESPACE/NAME") with
// the given bindings (name -> type) in their deployed version.
func workerWorld(t *testing.T, scripts map[string]map[string]string) *world {
	t.Helper()
	w := &world{t: t}
	refs := make([]string, 0, len(scripts))
	for ref := range scripts {
		refs = append(refs, ref)
	}
	srv, ts := emulatortest.Start(t, emulator.Options{CloudflareWorkers: refs})
	st := srv.Workers().Snapshot()
	for i := range st.Scripts {
		s := &st.Scripts[i]
		ref := s.Name
		if s.Namespace != "" {
			ref = s.Namespace + "/" + s.Name
		}
		v := &s.Versions[len(s.Versions)-1]
		for name, typ := range scripts[ref] {
			value := "value-of-" + name + "-" + time.Now().Format("150405.000000000")
			w.values = append(w.values, value)
			v.Bindings = append(v.Bindings, workers.BindingState{Name: name, Type: typ, Text: value})
		}
	}
	if err := srv.Workers().Restore(st); err != nil {
		t.Fatal(err)
	}
	w.srv, w.env = srv, srv.Env(ts.URL)
	return w
}

// --cloudflare-worker adopts each secret_text of the scripts as a WorkerSecret, with the
// provider's IDs (SCRIPT/NAME; ACCOUNT/NAMESPACE/SCRIPT/NAME for Workers for Platforms), sorted
// whatever the order of the flags, in one list call per script; a secret_key, which WorkerSecret
// cannot write, is left out with a warning naming it.
func TestDocumentAdoptsWorkerSecrets(t *testing.T) {
	t.Parallel()
	w := workerWorld(t, map[string]map[string]string{
		"edge-api":             {"DATABASE_URL": "secret_text", "API_KEY": "secret_text", "SIGNING_KEY": "secret_key"},
		"customers/tenant-one": {"TENANT_KEY": "secret_text"},
		"idle":                 {},
	})
	out, stderr, err := w.run(nil, "--cloudflare-worker", "idle", "--cloudflare-worker", "customers/tenant-one",
		"--cloudflare-worker", "edge-api", "--cloudflare-worker", "edge-api")
	if err != nil {
		t.Fatalf("edgesecrets-import: %v\n%s", err, stderr)
	}
	var doc importDocument
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("the document is not JSON: %v\n%s", err, out)
	}
	want := []importResource{
		{typeWorkerSecret, "customersTenantOneTenantKey", "customers-tenant-one-TENANT_KEY",
			account + "/customers/tenant-one/TENANT_KEY"},
		{typeWorkerSecret, "edgeApiApiKey", "edge-api-API_KEY", "edge-api/API_KEY"},
		{typeWorkerSecret, "edgeApiDatabaseUrl", "edge-api-DATABASE_URL", "edge-api/DATABASE_URL"},
	}
	if !reflect.DeepEqual(doc.Resources, want) {
		t.Errorf("document:\n%s\nwant:\n%s", jsonOf(t, doc.Resources), jsonOf(t, want))
	}
	for _, say := range []string{`left out secret "SIGNING_KEY" of Worker "edge-api": it is a secret_key`,
		`Worker "idle" has no secrets to adopt`, "3 WorkerSecrets"} {
		if !strings.Contains(stderr, say) {
			t.Errorf("stderr does not say %q:\n%s", say, stderr)
		}
	}
	routes := w.srv.Stats().Routes
	if !reflect.DeepEqual(routes, map[string]int{routeWorkerSecretList: 2, routeDispatchSecretList: 1}) {
		t.Errorf("API calls: %v, want one list per script", routes)
	}
}

// A Worker script that does not exist fails naming the flag, and writes no document; missing
// Cloudflare credentials name --cloudflare-worker and make no call.
func TestWorkerErrors(t *testing.T) {
	t.Parallel()
	w := workerWorld(t, map[string]map[string]string{"edge-api": {"API_KEY": "secret_text"}})
	out, _, err := w.run(nil, "--cloudflare-worker", "edge-api", "--cloudflare-worker", "no-such-worker")
	if err == nil || !strings.Contains(err.Error(), "--cloudflare-worker no-such-worker") || out != "" {
		t.Errorf("a missing script: error %v and stdout %q, want an error naming it and no document", err, out)
	}
	w.srv.ResetStats()
	_, _, err = w.run(map[string]string{"CLOUDFLARE_API_TOKEN": "", "CLOUDFLARE_ACCOUNT_ID": ""},
		"--cloudflare-worker", "edge-api")
	for _, want := range []string{"CLOUDFLARE_API_TOKEN to list --cloudflare-worker edge-api", "CLOUDFLARE_ACCOUNT_ID"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("no credentials: error %v, want it to say %q", err, want)
		}
	}
	if got := w.srv.Stats().Total; got != 0 {
		t.Errorf("%d API calls were made with missing credentials, want none", got)
	}
}
