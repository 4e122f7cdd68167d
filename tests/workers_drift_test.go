package tests

import (
	"bytes"
	"io"
	"maps"
	"mime/multipart"
	"slices"
	"strings"
	"testing"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/workers"
)

// workersAPI is the emulator's path of the account's Workers scripts.
func (h *harness) workersAPI() string {
	return "/client/v4/accounts/" + h.emulator.Options().CloudflareAccount + "/workers/scripts/"
}

// uploadScript does what `wrangler deploy` does: PUT the script as a multipart form whose metadata
// lists the bindings of wrangler.toml (none here) and keep_bindings (empty unless --keep-vars or
// keep_vars), through the emulator's HTTP API.
func (h *harness) uploadScript(script string, keepBindings []string) {
	h.t.Helper()
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	meta := `{"main_module":"worker.js","compatibility_date":"2024-09-23","bindings":[],"keep_bindings":[` +
		quotedList(keepBindings) + `]}`
	parts := map[string]string{"metadata": meta, "worker.js": "export default { fetch() { return new Response('ok') } }"}
	for _, name := range []string{"metadata", "worker.js"} {
		w, err := form.CreateFormFile(name, name)
		if err != nil {
			h.t.Fatal(err)
		}
		if _, err := io.WriteString(w, parts[name]); err != nil {
			h.t.Fatal(err)
		}
	}
	if err := form.Close(); err != nil {
		h.t.Fatal(err)
	}
	h.apiCall("PUT", h.workersAPI()+script, form.FormDataContentType(), &body)
}

func quotedList(items []string) string {
	quoted := make([]string, len(items))
	for i, s := range items {
		quoted[i] = `"` + s + `"`
	}
	return strings.Join(quoted, ",")
}

// Foreign writes that drop a script's secrets, through the emulator's HTTP API as the other tools
// make them: `wrangler deploy` without keep_bindings (a script upload) and a settings patch that
// lists the script's bindings without its secrets (a tool that owns the bindings, as Terraform's
// script resource does). Each shows on refresh as secrets removed outside Pulumi, and one up puts
// them back with the program's values; an upload that keeps secret_text bindings changes nothing.
func TestWorkerSecretsSurviveForeignDeploys(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, emulator.Options{FlyApps: []string{flyApp}, CloudflareWorkers: []string{workerScript}})
	apiKey, dbURL := uniqueValue("worker-key-"), uniqueValue("postgres-")
	dir := yamlProgram(t, h, workerProgram(workerScript, apiKey, dbURL))
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	want := map[string]string{"API_KEY": apiKey, "DATABASE_URL": dbURL, "REGION": "eu"}

	h.uploadScript(workerScript, []string{"secret_text", "secret_key"})
	if got := h.workerSecrets(workerScript); !maps.Equal(got, want) {
		t.Fatalf("an upload keeping the secret bindings left %v", names(got))
	}
	h.pulumi(dir, "", "refresh", "--yes", "--skip-preview", "--expect-no-changes")

	drops := []struct {
		name string
		drop func()
	}{
		{"wrangler deploy without keep_bindings", func() { h.uploadScript(workerScript, nil) }},
		{"a settings patch without the secrets", func() {
			h.apiCall("PATCH", h.workersAPI()+workerScript+"/settings", "application/json",
				strings.NewReader(`{"bindings":[]}`))
		}},
	}
	for _, d := range drops {
		d.drop()
		if got := h.workerSecrets(workerScript); len(got) != 0 {
			t.Fatalf("%s: the emulator kept %v", d.name, names(got))
		}
		out := h.pulumi(dir, "", "refresh", "--yes", "--skip-preview")
		if !strings.Contains(out, "removed outside Pulumi") {
			t.Errorf("%s: the refresh does not say the secrets were removed:\n%s", d.name, out)
		}
		h.pulumi(dir, "", "up", "--yes", "--skip-preview")
		if got := h.workerSecrets(workerScript); !maps.Equal(got, want) {
			t.Fatalf("%s: one up did not restore the secrets: %v", d.name, names(got))
		}
		h.pulumi(dir, "", "refresh", "--yes", "--skip-preview", "--expect-no-changes")
	}
	assertNoPlaintext(t, []string{apiKey, dbURL}, h.backendDir)
}

// A program on scripts that do not exist (an account script, and one in a dispatch namespace that
// holds other scripts) fails at create naming each script, and the emulator serves no write at
// all: no secret, no script, no version.
func TestWorkerSecretsMissingScriptWritesNothing(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, emulator.Options{FlyApps: []string{flyApp},
		CloudflareWorkers: []string{workerScript, "customers/tenant-one"}})
	apiKey, dbURL, tenantKey := uniqueValue("worker-key-"), uniqueValue("postgres-"), uniqueValue("tenant-")
	const missing = "no-such-worker"
	dir := yamlProgram(t, h, workerProgram(missing, apiKey, dbURL)+`
  tenant:
    type: edgesecrets:cloudflare:WorkerSecret
    properties:
      scriptName: no-such-tenant
      dispatchNamespace: customers
      name: TENANT_KEY
      value:
        fn::secret: `+tenantKey+"\n")
	h.emulator.ResetStats()
	out := h.pulumiFails(dir, "", "up", "--yes", "--skip-preview")
	// Each resource's own diagnostic names its script.
	for resource, script := range map[string]string{
		"WorkerSecret (apiKey)":      `Worker "` + missing + `" does not exist`,
		"WorkerSecrets (appSecrets)": `Worker "` + missing + `" does not exist`,
		"WorkerSecret (tenant)":      `Worker "no-such-tenant" of dispatch namespace "customers" does not exist`,
	} {
		if !strings.Contains(out, "edgesecrets:cloudflare:"+resource+":\n    error: "+script) {
			t.Errorf("the up's diagnostic of %s does not say %s:\n%s", resource, script, out)
		}
	}
	if strings.Contains(out, apiKey) || strings.Contains(out, dbURL) || strings.Contains(out, tenantKey) {
		t.Errorf("the failed up prints a value:\n%s", out)
	}
	h.assertWrites("the up on a missing script", map[string]int{})
	if _, err := h.emulator.Workers().Secrets(workers.ScriptRef{Name: missing}); err == nil {
		t.Error("the failed up created the script")
	}
	if got := h.workerSecrets(workerScript); len(got) != 0 {
		t.Errorf("the failed up wrote %v to another script", names(got))
	}
}

// workerMoveProgram is a WorkerSecrets "bulk" of bulk's keys and, when single is a value, a
// WorkerSecret "single" of MOVED; adopt goes on the resource that receives the key.
func workerMoveProgram(bulk map[string]string, single, adoptOn string) string {
	adopt := func(resource string) string {
		if resource == adoptOn {
			return "      adopt: true\n"
		}
		return ""
	}
	program := `
  bulk:
    type: edgesecrets:cloudflare:WorkerSecrets
    properties:
      scriptName: ` + workerScript + `
` + adopt("bulk") + `      secrets:
        fn::secret:
`
	for _, k := range slices.Sorted(maps.Keys(bulk)) {
		program += "          " + k + ": " + bulk[k] + "\n"
	}
	if single != "" {
		program += `
  single:
    type: edgesecrets:cloudflare:WorkerSecret
    properties:
      scriptName: ` + workerScript + `
      name: MOVED
` + adopt("single") + `      value:
        fn::secret: ` + single + "\n"
	}
	return program
}

// assertNeverAbsent fails unless every version of the script since the first that held name holds
// it: the emulator keeps each version a write made, so a move that removed the key and wrote it
// again (even in one up) shows as a version without it.
func (h *harness) assertNeverAbsent(step, name string) {
	h.t.Helper()
	for _, s := range h.emulator.Workers().Snapshot().Scripts {
		if s.Namespace != "" || s.Name != workerScript {
			continue
		}
		seen := false
		for _, v := range s.Versions {
			held := slices.ContainsFunc(v.Bindings, func(b workers.BindingState) bool { return b.Name == name })
			if seen && !held {
				h.t.Errorf("%s: version %d of %s has no %s: the key was absent in between", step, v.Number,
					workerScript, name)
			}
			seen = seen || held
		}
		if !seen {
			h.t.Errorf("%s: no version of %s ever held %s", step, workerScript, name)
		}
	}
}

// A key moved from a WorkerSecret into a WorkerSecrets, and back, each in one up with adopt on the
// new owner: after each up the script holds the key with the program's new value, no version of
// the script in between lacks it, and refresh and preview then settle.
func TestWorkerSecretKeyMovesLoseNothing(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, emulator.Options{FlyApps: []string{flyApp}, CloudflareWorkers: []string{workerScript}})
	first, second, third := uniqueValue("moved-1-"), uniqueValue("moved-2-"), uniqueValue("moved-3-")
	dir := yamlProgram(t, h, workerMoveProgram(map[string]string{"STAY": "s"}, first, ""))
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")

	steps := []struct {
		name    string
		program string
		value   string
	}{
		{"WorkerSecret to WorkerSecrets", workerMoveProgram(map[string]string{"STAY": "s", "MOVED": second}, "", "bulk"),
			second},
		{"WorkerSecrets to WorkerSecret", workerMoveProgram(map[string]string{"STAY": "s"}, third, "single"), third},
	}
	for _, step := range steps {
		rewrite(t, dir, step.program)
		h.pulumi(dir, "", "up", "--yes", "--skip-preview")
		got := h.workerSecrets(workerScript)
		if want := map[string]string{"STAY": "s", "MOVED": step.value}; !maps.Equal(got, want) {
			t.Fatalf("%s: after the up the script holds %v (MOVED holds the program's value: %v)", step.name,
				names(got), got["MOVED"] == step.value)
		}
		h.assertNeverAbsent(step.name, "MOVED")
		h.pulumi(dir, "", "refresh", "--yes", "--skip-preview", "--expect-no-changes")
		h.pulumi(dir, "", "preview", "--expect-no-changes")
	}
	assertNoPlaintext(t, []string{first, second, third}, h.backendDir)
}
