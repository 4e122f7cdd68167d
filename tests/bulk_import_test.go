package tests

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// importDocResource is one entry of the document edgesecrets-import writes.
type importDocResource struct {
	Type        string `json:"type"`
	Name        string `json:"name"`
	LogicalName string `json:"logicalName"`
	ID          string `json:"id"`
}

// TestBulkImport adopts what a team already has, made straight through the APIs: 10 Fly.io
// secrets (one bulk write, as `fly secrets import` makes them) and 5 Cloudflare secrets in
// the account's store. edgesecrets-import writes the document, ONE `pulumi import --file`
// adopts all 16 resources with no write, and the program Pulumi generates previews clean.
//
// Pulumi cannot know the imported values (neither API returns them), so the generated code
// says `value: ""` for each secret, which previews clean because it is what was imported.
// Given real values, the program updates each secret once, in place, and is clean after.
func TestBulkImport(t *testing.T) {
	t.Parallel()
	importer := requireImporter(t)
	h := newHarness(t)
	dir := yamlProgram(t, h, "  {}\n")

	// What existed before Pulumi.
	flyNames, flyOld := seedFlySecrets(h, 10)
	account := h.envVars["CLOUDFLARE_ACCOUNT_ID"]
	storesPath := "/client/v4/accounts/" + account + "/secrets_store/stores"
	var stores struct {
		Result []struct{ ID, Name string } `json:"result"`
	}
	h.apiJSON("GET", storesPath, nil, &stores)
	if len(stores.Result) != 1 {
		t.Fatalf("the account holds %d stores, want its default store", len(stores.Result))
	}
	storeID := stores.Result[0].ID
	cfNames := []string{"API_KEY", "STRIPE_KEY", "session-secret", "webhook_token", "SMTP_PASSWORD"}
	cfOld := map[string]string{}
	var newSecrets []map[string]any
	for _, name := range cfNames {
		cfOld[name] = uniqueValue("cf-legacy-")
		newSecrets = append(newSecrets, map[string]any{"name": name, "value": cfOld[name], "scopes": []string{"workers"}})
	}
	var created struct {
		Result []struct{ ID, Name string } `json:"result"`
	}
	h.apiJSON("POST", storesPath+"/"+storeID+"/secrets", newSecrets, &created)
	cfIDs, cfNameOf := map[string]string{}, map[string]string{}
	for _, s := range created.Result {
		cfIDs[s.Name], cfNameOf[s.ID] = s.ID, s.Name
	}
	if len(cfIDs) != len(cfNames) {
		t.Fatalf("creating the Cloudflare secrets: the API answered %d, want %d", len(cfIDs), len(cfNames))
	}
	before := h.contents()
	waitFlyListShows(t, h, len(flyNames))

	// The document: one resource per secret, plus the store.
	doc, importFile := writeImportDocument(h, dir, importer, "--fly-app", flyApp, "--cloudflare-store", "default")
	wantIDs := map[string][]string{"edgesecrets:cloudflare:SecretsStore": {account + "/" + storeID}}
	for _, name := range flyNames {
		wantIDs["edgesecrets:fly:FlySecret"] = append(wantIDs["edgesecrets:fly:FlySecret"], flyApp+"/"+name)
	}
	for _, name := range cfNames {
		wantIDs["edgesecrets:cloudflare:Secret"] = append(
			wantIDs["edgesecrets:cloudflare:Secret"],
			account+"/"+storeID+"/"+cfIDs[name],
		)
	}
	code := importAll(h, dir, doc, importFile, wantIDs)
	if n := strings.Count(string(code), `value: ""`); n != len(flyNames)+len(cfNames) {
		t.Errorf("the generated program has %d empty values, want one per secret (%d): Pulumi cannot know them",
			n, len(flyNames)+len(cfNames))
	}

	// As generated, the program previews clean: its empty values are what was imported.
	rewrite(t, dir, generatedResources(t, string(code)))
	p := &cliProgram{t: t, h: h, dir: dir}
	total := len(doc) + 1 // and the stack
	previewed := timed(t, "preview (generated program)", p.preview)
	assertChanges(t, "preview of the generated program", previewed.Changes, map[string]int{"same": total})

	// Given the real values (from config), one up writes each secret once, in place: the
	// very secrets that existed, not new ones.
	program, keys := valuesFromConfig(t, string(code))
	rewrite(t, dir, generatedResources(t, program))
	values := map[string]string{}
	for _, key := range keys {
		values[key] = uniqueValue("adopted-")
	}
	p.setSecretConfig(values)
	secrets := len(flyNames) + len(cfNames)
	previewed = timed(t, "preview (with values)", p.preview)
	assertChanges(t, "preview with values", previewed.Changes, map[string]int{"update": secrets, "same": total - secrets})
	h.emulator.ResetStats()
	updated := timed(t, "up (write values)", p.up)
	assertChanges(t, "up with values", updated.Changes, map[string]int{"update": secrets, "same": total - secrets})
	// The Fly writes the engine runs at once share bulk calls: one per secret at the most.
	flyWrites := h.emulator.Stats().Routes[routeFlyBulk]
	if flyWrites < 1 || flyWrites > len(flyNames) {
		t.Errorf("up with values: %d Fly bulk writes for %d secrets", flyWrites, len(flyNames))
	}
	h.assertWrites("up with values", map[string]int{routeFlyBulk: flyWrites, routeCloudflarePatch: len(cfNames)})
	after := h.contents()
	for _, r := range doc {
		want := values[r.Name+"Value"]
		switch r.Type {
		case "edgesecrets:fly:FlySecret":
			name := strings.TrimPrefix(r.ID, flyApp+"/")
			old, _ := before.flySecret(flyApp, name)
			now, _ := after.flySecret(flyApp, name)
			if now.Value != want || !now.CreatedAt.Equal(old.CreatedAt) {
				t.Errorf(
					"Fly.io secret %s: not the program's value, or created anew (created %v, was %v)",
					name,
					now.CreatedAt,
					old.CreatedAt,
				)
			}
		case "edgesecrets:cloudflare:Secret":
			name := cfNameOf[r.ID[strings.LastIndex(r.ID, "/")+1:]]
			gotStore, now, _ := after.cloudflareSecret(name)
			if now.Value != want || gotStore+"/"+now.ID != storeID+"/"+cfIDs[name] {
				t.Errorf("Cloudflare secret %s: not the program's value, or not the imported %s/%s", name, storeID, cfIDs[name])
			}
		}
	}
	again := timed(t, "preview (no changes)", p.preview)
	assertChanges(t, "preview after the up", again.Changes, map[string]int{"same": total})

	var all []string
	for _, m := range []map[string]string{flyOld, cfOld, values} {
		for _, v := range m {
			all = append(all, v)
		}
	}
	assertNoPlaintext(t, all, p.stateDirs()...)

	destroyed := timed(t, "destroy", p.destroy)
	assertChanges(t, "destroy", destroyed.Changes, map[string]int{"delete": total})
	h.assertEmulatorEmpty("after destroy")
}

// TestBulkImportFlyAppSecrets adopts an app's 10 secrets as one FlyAppSecrets: one document
// entry, one `pulumi import --file` with no write, a generated program that previews clean,
// and, given the values, ONE bulk write for all ten.
func TestBulkImportFlyAppSecrets(t *testing.T) {
	t.Parallel()
	importer := requireImporter(t)
	h := newHarness(t)
	dir := yamlProgram(t, h, "  {}\n")
	names, _ := seedFlySecrets(h, 10)
	waitFlyListShows(t, h, len(names))

	doc, importFile := writeImportDocument(h, dir, importer, "--fly-app", flyApp, "--fly-app-secrets")
	code := importAll(h, dir, doc, importFile, map[string][]string{"edgesecrets:fly:FlyAppSecrets": {flyApp}})
	for _, name := range names {
		if !strings.Contains(string(code), "\n        "+name+": \"\"\n") {
			t.Errorf("the generated program does not list %s among the secrets:\n%s", name, code)
		}
	}
	rewrite(t, dir, generatedResources(t, string(code)))
	p := &cliProgram{t: t, h: h, dir: dir}
	previewed := timed(t, "preview (generated program)", p.preview)
	assertChanges(t, "preview of the generated program", previewed.Changes, map[string]int{"same": 2})

	// Given the values, one up writes all ten in one request.
	values := map[string]string{}
	program := string(code)
	for _, name := range names {
		values[name] = uniqueValue("adopted-")
		program = strings.Replace(program, "        "+name+": \"\"\n", "        "+name+": ${"+name+"}\n", 1)
	}
	rewrite(t, dir, generatedResources(t, program))
	p.setSecretConfig(values)
	h.emulator.ResetStats()
	updated := timed(t, "up (write values)", p.up)
	assertChanges(t, "up with values", updated.Changes, map[string]int{"update": 1, "same": 1})
	h.assertWrites("up with values", map[string]int{"POST /v1/apps/{app}/secrets": 1})
	after := h.contents()
	for _, name := range names {
		if got, _ := after.flySecret(flyApp, name); got.Value != values[name] {
			t.Errorf("Fly.io secret %s does not hold the program's value", name)
		}
	}
	again := timed(t, "preview (no changes)", p.preview)
	assertChanges(t, "preview after the up", again.Changes, map[string]int{"same": 2})
}

// requireImporter is bin/edgesecrets-import, which `make build` builds.
func requireImporter(t *testing.T) string {
	t.Helper()
	importer := filepath.Join(repoRoot, "bin", "edgesecrets-import")
	requireFile(t, importer, "run `make build`")
	return importer
}

// seedFlySecrets makes n secrets of the app in one write, as `fly secrets import` does, and
// returns their names and values.
func seedFlySecrets(h *harness, n int) ([]string, map[string]string) {
	h.t.Helper()
	names := make([]string, 0, n)
	values := map[string]string{}
	for i := range n {
		name := fmt.Sprintf("LEGACY_SECRET_%02d", i)
		names = append(names, name)
		values[name] = uniqueValue("fly-legacy-")
	}
	h.apiJSON("POST", "/v1/apps/"+flyApp+"/secrets", map[string]any{"values": values}, nil)
	return names, values
}

// writeImportDocument runs edgesecrets-import with args in dir, writes its document to
// import.json there, and returns the document's resources and the file.
func writeImportDocument(h *harness, dir, importer string, args ...string) ([]importDocResource, string) {
	h.t.Helper()
	document := timed(h.t, "edgesecrets-import", func() string { return h.run(dir, "", importer, args...) })
	importFile := filepath.Join(dir, "import.json")
	if err := os.WriteFile(importFile, []byte(document), 0o644); err != nil {
		h.t.Fatal(err)
	}
	var doc struct {
		Resources []importDocResource `json:"resources"`
	}
	if err := json.Unmarshal([]byte(document), &doc); err != nil {
		h.t.Fatalf("edgesecrets-import wrote no JSON document: %v\n%s", err, document)
	}
	return doc.Resources, importFile
}

// importAll checks that the document adopts exactly wantIDs (by type), runs ONE
// `pulumi import --file` of it, which must write nothing and leave exactly those resources in
// the stack under the document's names, and returns the code Pulumi generated, which must
// declare each of them under the document's names.
func importAll(h *harness, dir string, doc []importDocResource, importFile string, wantIDs map[string][]string) []byte {
	h.t.Helper()
	t := h.t
	if got := idsByType(doc); !reflect.DeepEqual(got, sortedIDs(wantIDs)) {
		t.Fatalf("the document adopts\n  %v\nwant\n  %v", got, sortedIDs(wantIDs))
	}
	generated := filepath.Join(t.TempDir(), "generated.yaml")
	h.emulator.ResetStats()
	timed(t, "pulumi import --file", func() string {
		return h.pulumi(dir, "", "import", "--file", importFile,
			"--yes", "--skip-preview", "--protect=false", "--out", generated)
	})
	h.assertWrites("pulumi import --file", map[string]int{})
	inState := h.stackResources(dir)
	if got := idsByType(inState); !reflect.DeepEqual(got, sortedIDs(wantIDs)) {
		t.Fatalf("the stack holds\n  %v\nwant\n  %v", got, sortedIDs(wantIDs))
	}
	for _, r := range doc {
		if !slices.Contains(inState, importDocResource{Type: r.Type, LogicalName: r.LogicalName, ID: r.ID}) {
			t.Errorf("the stack has no %s named %s with ID %s", r.Type, r.LogicalName, r.ID)
		}
	}
	code, err := os.ReadFile(generated)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range doc {
		block := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(r.Name) + `:\n    type: ` + regexp.QuoteMeta(r.Type) +
			`\n    name: ` + regexp.QuoteMeta(r.LogicalName) + `\n`)
		if !block.Match(code) {
			t.Errorf("the generated program does not declare %s %s as %s:\n%s", r.Type, r.LogicalName, r.Name, code)
		}
	}
	return code
}

// waitFlyListShows waits until a Fly.io list that asks for no version shows n secrets, as
// edgesecrets-import's does: Fly's reads lag its writes (the emulator's too), and a team
// adopting its secrets runs the command after they have settled, not within the lag.
func waitFlyListShows(t *testing.T, h *harness, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var list struct {
			Secrets []struct{ Name string } `json:"secrets"`
		}
		h.apiJSON("GET", "/v1/apps/"+flyApp+"/secrets", nil, &list)
		if len(list.Secrets) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Fly.io lists %d secrets 10s after the write, want %d", len(list.Secrets), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stackResources are the resources of the stack in dir (types, names and IDs), the stack and
// providers left out.
func (h *harness) stackResources(dir string) []importDocResource {
	h.t.Helper()
	var state struct {
		Deployment struct {
			Resources []struct {
				URN  string `json:"urn"`
				Type string `json:"type"`
				ID   string `json:"id"`
			} `json:"resources"`
		} `json:"deployment"`
	}
	out := h.pulumi(dir, "", "stack", "export")
	if err := json.Unmarshal([]byte(out), &state); err != nil {
		h.t.Fatalf("pulumi stack export: %v", err)
	}
	var resources []importDocResource
	for _, r := range state.Deployment.Resources {
		if strings.HasPrefix(r.Type, "edgesecrets:") {
			resources = append(
				resources,
				importDocResource{Type: r.Type, LogicalName: r.URN[strings.LastIndex(r.URN, "::")+2:], ID: r.ID},
			)
		}
	}
	return resources
}

// idsByType lists the IDs of resources by type, sorted.
func idsByType(resources []importDocResource) map[string][]string {
	ids := map[string][]string{}
	for _, r := range resources {
		ids[r.Type] = append(ids[r.Type], r.ID)
	}
	return sortedIDs(ids)
}

func sortedIDs(ids map[string][]string) map[string][]string {
	for _, list := range ids {
		slices.Sort(list)
	}
	return ids
}

// valuesFromConfig replaces each `value: ""` of a generated YAML program with the config key
// named after its resource (resource name + "Value": a key named as a resource would read the
// resource), and returns the program and the keys.
func valuesFromConfig(t *testing.T, code string) (string, []string) {
	t.Helper()
	resourceKey := regexp.MustCompile(`^  ([A-Za-z0-9_]+):$`)
	var key string
	var keys []string
	lines := strings.Split(code, "\n")
	for i, line := range lines {
		if m := resourceKey.FindStringSubmatch(line); m != nil {
			key = m[1]
		}
		if strings.TrimSpace(line) == `value: ""` {
			lines[i] = strings.Replace(line, `""`, "${"+key+"Value}", 1)
			keys = append(keys, key+"Value")
		}
	}
	if len(keys) == 0 {
		t.Fatalf("the generated program has no empty value to fill:\n%s", code)
	}
	return strings.Join(lines, "\n"), keys
}

// generatedResources is the body of the resources section of code `pulumi import` generated
// (all it generates), for rewrite.
func generatedResources(t *testing.T, code string) string {
	t.Helper()
	body, ok := strings.CutPrefix(code, "resources:\n")
	if !ok {
		t.Fatalf("the generated program is not one resources section:\n%s", code)
	}
	return body
}
