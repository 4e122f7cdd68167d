package tests

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/workers"
)

const workerScript = "edge-api"

// workerProgram is a WorkerSecret and a WorkerSecrets on one script.
func workerProgram(script, apiKey, dbURL string) string {
	return `
  apiKey:
    type: edgesecrets:cloudflare:WorkerSecret
    properties:
      scriptName: ` + script + `
      name: API_KEY
      value:
        fn::secret: ` + apiKey + `
  appSecrets:
    type: edgesecrets:cloudflare:WorkerSecrets
    properties:
      scriptName: ` + script + `
      secrets:
        fn::secret:
          DATABASE_URL: ` + dbURL + `
          REGION: eu
`
}

func (h *harness) workerSecrets(script string) map[string]string {
	h.t.Helper()
	list, err := h.emulator.Workers().Secrets(workers.ScriptRef{Name: script})
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range list {
		out[s.Name] = s.Text
	}
	return out
}

// The Worker secret resources through the CLI: create, no-change preview, an in-place update, a
// script upload that drops the secrets (refresh shows it, one up restores them), destroy; the
// values never reach the state, and a missing script fails naming it.
func TestWorkerSecretsYAML(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, emulator.Options{FlyApps: []string{flyApp}, CloudflareWorkers: []string{workerScript}})
	canary, dbURL := uniqueValue("worker-canary-"), uniqueValue("postgres-")
	dir := yamlProgram(t, h, workerProgram(workerScript, canary, dbURL))
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	want := map[string]string{"API_KEY": canary, "DATABASE_URL": dbURL, "REGION": "eu"}
	if got := h.workerSecrets(workerScript); !maps.Equal(got, want) {
		t.Fatalf("after up the script holds %v", names(got))
	}
	h.pulumi(dir, "", "preview", "--expect-no-changes")

	rotated := uniqueValue("worker-rotated-")
	rewrite(t, dir, workerProgram(workerScript, rotated, dbURL))
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	if got := h.workerSecrets(workerScript)["API_KEY"]; got != rotated {
		t.Fatal("the update did not write the new value")
	}

	if err := h.emulator.Workers().DropSecrets(workers.ScriptRef{Name: workerScript}); err != nil {
		t.Fatal(err)
	}
	out := h.pulumi(dir, "", "refresh", "--yes", "--skip-preview")
	if !strings.Contains(out, "removed outside Pulumi") {
		t.Errorf("the refresh does not say the secrets were removed:\n%s", out)
	}
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	want["API_KEY"] = rotated
	if got := h.workerSecrets(workerScript); !maps.Equal(got, want) {
		t.Fatalf("one up after the upload did not restore the secrets: %v", names(got))
	}
	h.pulumi(dir, "", "preview", "--expect-no-changes")

	h.pulumi(dir, "", "destroy", "--yes", "--skip-preview")
	if got := h.workerSecrets(workerScript); len(got) != 0 {
		t.Fatalf("destroy left %v", names(got))
	}
	assertNoPlaintext(t, []string{canary, rotated, dbURL}, h.backendDir) // the program itself holds them

	missing := yamlProgram(t, h, workerProgram("no-such-worker", canary, dbURL))
	failed := h.pulumiFails(missing, "", "up", "--yes", "--skip-preview")
	if !strings.Contains(failed, `Worker "no-such-worker" does not exist`) {
		t.Errorf("the up on a missing script does not name it:\n%s", failed)
	}
	if strings.Contains(failed, canary) || strings.Contains(failed, dbURL) {
		t.Errorf("the failed up prints a value:\n%s", failed)
	}
}

// Both ways with wrangler: what the provider writes `wrangler secret list` shows; what `wrangler
// secret put` writes `pulumi import` brings under management, and the next up writes once.
func TestWorkerSecretsWranglerRoundTrip(t *testing.T) {
	t.Parallel()
	w := newWrangler(t)
	h := newHarnessWith(t, emulator.Options{FlyApps: []string{flyApp}, CloudflareWorkers: []string{workerScript}})
	opts := h.emulator.Options()
	w.env = append(w.env, "CLOUDFLARE_API_BASE_URL="+h.emulatorURL+"/client/v4",
		"CLOUDFLARE_API_TOKEN="+opts.CloudflareToken, "CLOUDFLARE_ACCOUNT_ID="+opts.CloudflareAccount)
	canary, dbURL := uniqueValue("worker-canary-"), uniqueValue("postgres-")
	dir := yamlProgram(t, h, workerProgram(workerScript, canary, dbURL))
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	out := w.run("", "secret", "list", "--name", workerScript, "--format", "json")
	var listed []map[string]string
	if err := json.Unmarshal([]byte(out[strings.Index(out, "["):]), &listed); err != nil {
		t.Fatalf("secret list printed %q: %v", out, err)
	}
	var names []string
	for _, s := range listed {
		names = append(names, s["name"])
	}
	if strings.Join(names, ",") != "API_KEY,DATABASE_URL,REGION" {
		t.Errorf("wrangler secret list shows %v", names)
	}

	fromWrangler := uniqueValue("from-wrangler-")
	w.run(fromWrangler+"\n", "secret", "put", "SESSION_KEY", "--name", workerScript)
	program := `
  session:
    type: edgesecrets:cloudflare:WorkerSecret
    properties:
      scriptName: ` + workerScript + `
      name: SESSION_KEY
      value:
        fn::secret: ` + canary + `-session
`
	imported := yamlProgram(t, h, program)
	h.pulumi(imported, "", "import", "edgesecrets:cloudflare:WorkerSecret", "session", workerScript+"/SESSION_KEY",
		"--yes", "--protect=false")
	h.pulumi(imported, "", "up", "--yes", "--skip-preview")
	if got := h.workerSecrets(workerScript)["SESSION_KEY"]; got != canary+"-session" {
		t.Error("the up after the import did not write the program's value")
	}
	h.pulumi(imported, "", "preview", "--expect-no-changes")
	assertNoPlaintext(t, []string{canary, dbURL, fromWrangler}, h.backendDir)
}

// seedWorker gives an account script secrets as a `wrangler secret put` made age ago would have:
// a version of that time holding them beside the script's bindings, deployed. The versions and
// deployments before it are dated no later.
func (h *harness) seedWorker(script string, age time.Duration, secrets map[string]string) {
	h.t.Helper()
	st := h.emulator.Workers().Snapshot()
	at := time.Now().Add(-age).UTC()
	for i := range st.Scripts {
		s := &st.Scripts[i]
		if s.Namespace != "" || s.Name != script {
			continue
		}
		number := len(s.Versions) + 1
		v := workers.VersionState{ID: fmt.Sprintf("seeded-version-%d", number), Number: number, Created: at,
			Source: "api", Annotations: map[string]string{"workers/triggered_by": "secret"}}
		if number > 1 {
			for _, b := range s.Versions[number-2].Bindings {
				if _, replaced := secrets[b.Name]; !replaced {
					v.Bindings = append(v.Bindings, b)
				}
			}
		}
		for _, name := range slices.Sorted(maps.Keys(secrets)) {
			v.Bindings = append(v.Bindings, workers.BindingState{Name: name, Type: "secret_text", Text: secrets[name]})
		}
		for j := range s.Versions {
			if s.Versions[j].Created.After(at) {
				s.Versions[j].Created = at
			}
		}
		for j := range s.Deployments {
			if s.Deployments[j].Created.After(at) {
				s.Deployments[j].Created = at
			}
		}
		s.Versions = append(s.Versions, v)
		s.Deployments = append(s.Deployments, workers.DeploymentState{ID: fmt.Sprintf("seeded-deployment-%d", number),
			Created: at, Source: "api", Versions: []workers.TrafficState{{VersionID: v.ID, Percentage: 100}}})
	}
	if err := h.emulator.Workers().Restore(st); err != nil {
		h.t.Fatal(err)
	}
}

// workerPruneProgram is a WorkerSecrets on the script under PROD_{{key}}, with prune.
func workerPruneProgram(script string) string {
	return `
  prod:
    type: edgesecrets:cloudflare:WorkerSecrets
    properties:
      scriptName: ` + script + `
      keyTemplate: PROD_{{key}}
      prune: true
      secrets:
        fn::secret:
          API_KEY: a
`
}

// keyTemplate and prune on a Worker through the CLI: a WorkerSecret declaring a name inside the
// scope fails the preview naming both; the create's preview warns of each secret the prune
// removes (the one the script had before, inside the scope) and of none it keeps (one outside the
// scope, one written just now); the up names each it removed; refresh and preview then settle.
func TestWorkerSecretsPruneYAML(t *testing.T) {
	t.Parallel()
	h := newHarnessWith(t, emulator.Options{FlyApps: []string{flyApp}, CloudflareWorkers: []string{workerScript}})
	h.seedWorker(workerScript, time.Hour, map[string]string{"PROD_STALE": "s", "STAGING_KEEP": "k"})
	h.seedWorker(workerScript, 0, map[string]string{"PROD_NEW": "n"})
	manual := `
  manual:
    type: edgesecrets:cloudflare:WorkerSecret
    properties:
      scriptName: ` + workerScript + `
      name: PROD_MANUAL
      value:
        fn::secret: m
`
	dir := yamlProgram(t, h, manual+workerPruneProgram(workerScript))
	out := h.pulumiFails(dir, "", "preview")
	for _, want := range []string{`"PROD_MANUAL" is inside the prune scope PROD_* of cloudflare:WorkerSecrets "prod"`,
		`cloudflare:WorkerSecret "manual"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the preview does not refuse the WorkerSecret inside the prune scope with %q:\n%s", want, out)
		}
	}

	rewrite(t, dir, workerPruneProgram(workerScript))
	out = h.pulumi(dir, "", "preview")
	stray := `prune will remove secret "PROD_STALE" of Worker "edge-api": it is in the prune scope PROD_*`
	if !strings.Contains(out, stray) {
		t.Errorf("the create's preview does not name PROD_STALE, which its prune removes:\n%s", out)
	}
	if strings.Contains(out, `prune will remove secret "PROD_NEW"`) || strings.Contains(out, "STAGING_KEEP") {
		t.Errorf("the preview names a secret the prune keeps:\n%s", out)
	}
	out = h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	if !strings.Contains(out, `prune removed secret "PROD_STALE" of Worker "edge-api"`) {
		t.Errorf("the up does not name PROD_STALE, which it removed:\n%s", out)
	}
	want := map[string]string{"PROD_API_KEY": "a", "PROD_NEW": "n", "STAGING_KEEP": "k"}
	if got := h.workerSecrets(workerScript); !maps.Equal(got, want) {
		t.Fatalf("the script holds %v, want %v", names(got), names(want))
	}
	h.pulumi(dir, "", "refresh", "--yes", "--skip-preview", "--expect-no-changes")
	h.pulumi(dir, "", "preview", "--expect-no-changes")

	// The whole script, said explicitly: the update's detailed diff shows the secret the script had
	// from before outside the old scope as a delete; the one written just now is still kept.
	rewrite(t, dir, strings.Replace(workerPruneProgram(workerScript), "      prune: true\n",
		"      prune: true\n      pruneScope: \"*\"\n", 1))
	out = h.pulumi(dir, "", "preview", "--diff")
	if !strings.Contains(out, "- STAGING_KEEP") || strings.Contains(out, "- PROD_NEW") {
		t.Errorf("the update's preview does not name exactly the stray the prune removes:\n%s", out)
	}
	h.pulumi(dir, "", "up", "--yes", "--skip-preview")
	want = map[string]string{"PROD_API_KEY": "a", "PROD_NEW": "n"}
	if got := h.workerSecrets(workerScript); !maps.Equal(got, want) {
		t.Fatalf("the script holds %v, want %v", names(got), names(want))
	}
	h.pulumi(dir, "", "refresh", "--yes", "--skip-preview", "--expect-no-changes")
}
