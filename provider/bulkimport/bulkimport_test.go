package bulkimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/cloudflare"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/emulatortest"
	"github.com/edgesecrets/pulumi-edgesecrets/emulator/fly"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/cfapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/flyapi"
)

// Routes of the emulator the tests count.
const (
	routeFlyList      = "GET /v1/apps/{app}/secrets"
	routeStoresList   = "GET /client/v4/accounts/{account_id}/secrets_store/stores"
	routeCFSecretList = "GET /client/v4/accounts/{account_id}/secrets_store/stores/{store_id}/secrets"
)

const (
	account = emulator.DefaultCloudflareAccount
	storeID = "5ecc0ffee5ecc0ffee5ecc0ffee5ecc0"
)

// world is an emulator as unkind as the real services (rate limits, lagging Fly reads)
// holding secrets that have existed for a while, and the environment that points at it.
type world struct {
	t      *testing.T
	srv    *emulator.Server
	env    map[string]string
	values []string // every secret value the emulator holds: none may be printed
}

// seeded starts an emulator holding flyApps (app -> secret names) and, unless storeName is
// "", one store of that name with the given Cloudflare secrets (name -> ID).
func seeded(t *testing.T, flyApps map[string][]string, storeName string, cfSecrets map[string]string) *world {
	t.Helper()
	w := &world{t: t}
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	value := func(name string) string {
		v := "value-of-" + name + "-" + time.Now().Format("150405.000000000")
		w.values = append(w.values, v)
		return v
	}
	var flyState fly.State
	for app, names := range flyApps {
		a := fly.AppState{Name: app, CreatedAt: created, Version: 1, Secrets: []fly.SecretState{}}
		for _, n := range names {
			a.Secrets = append(a.Secrets, fly.SecretState{Name: n, Value: value(n), CreatedAt: created, UpdatedAt: created})
		}
		flyState.Apps = append(flyState.Apps, a)
	}
	cfAccount := cloudflare.AccountState{ID: account, Stores: []cloudflare.StoreState{}}
	if storeName != "" {
		st := cloudflare.StoreState{ID: storeID, Name: storeName, Created: created, Modified: created,
			Secrets: []cloudflare.SecretState{}}
		for name, id := range cfSecrets {
			st.Secrets = append(st.Secrets, cloudflare.SecretState{ID: id, Name: name, Value: value(name),
				Scopes: []string{"workers"}, Created: created, Modified: created, ActiveAt: created})
		}
		cfAccount.Stores = append(cfAccount.Stores, st)
	}
	state, err := json.Marshal(map[string]any{
		"format":     1,
		"fly":        flyState,
		"cloudflare": cloudflare.State{Accounts: []cloudflare.AccountState{cfAccount}},
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "state.json")
	if err := os.WriteFile(path, state, 0o600); err != nil {
		t.Fatal(err)
	}
	srv, ts := emulatortest.Start(t, emulator.Options{StatePath: path})
	w.srv, w.env = srv, srv.Env(ts.URL)
	return w
}

// run runs the command with the world's environment (changed by overrides; "" unsets).
func (w *world) run(overrides map[string]string, args ...string) (stdout, stderr string, err error) {
	w.t.Helper()
	getenv := func(name string) string {
		if v, ok := overrides[name]; ok {
			return v
		}
		return w.env[name]
	}
	var out, errOut bytes.Buffer
	err = Run(w.t.Context(), args, getenv, &out, &errOut)
	for i, v := range w.values {
		if strings.Contains(out.String(), v) || strings.Contains(errOut.String(), v) {
			w.t.Errorf("edgesecrets-import %v printed secret value #%d", args, i+1)
		}
	}
	return out.String(), errOut.String(), err
}

// document runs the command, which must succeed, and decodes what it wrote.
func (w *world) document(args ...string) []importResource {
	w.t.Helper()
	out, stderr, err := w.run(nil, args...)
	if err != nil {
		w.t.Fatalf("edgesecrets-import %v: %v\n%s", args, err, stderr)
	}
	var doc importDocument
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		w.t.Fatalf("the document is not JSON: %v\n%s", err, out)
	}
	return doc.Resources
}

// The document adopts every secret of the apps and the store, with Pulumi's import-file
// field names, readable unique names and the provider's import IDs, in sorted order
// whatever the order of the flags; and one list call per app and store makes it.
func TestDocumentAdoptsAppsAndStore(t *testing.T) {
	t.Parallel()
	w := seeded(t, map[string][]string{
		"my-app": {"REDIS_URL", "DATABASE_URL", "API_KEY"},
		"worker": {"QUEUE_TOKEN"},
		"idle":   {},
	}, "default_secrets_store", map[string]string{
		"API_KEY":   "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		"other-key": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	})
	got := w.document("--fly-app", "worker", "--fly-app", "my-app", "--fly-app", "idle", "--cloudflare-store", "default")
	store := account + "/" + storeID
	want := []importResource{
		{typeFlySecret, "myAppApiKey", "my-app-API_KEY", "my-app/API_KEY"},
		{typeFlySecret, "myAppDatabaseUrl", "my-app-DATABASE_URL", "my-app/DATABASE_URL"},
		{typeFlySecret, "myAppRedisUrl", "my-app-REDIS_URL", "my-app/REDIS_URL"},
		{typeFlySecret, "workerQueueToken", "worker-QUEUE_TOKEN", "worker/QUEUE_TOKEN"},
		{typeSecretsStore, "defaultSecretsStore", "default_secrets_store", store},
		{typeSecret, "defaultSecretsStoreApiKey", "default_secrets_store-API_KEY",
			store + "/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},
		{typeSecret, "defaultSecretsStoreOtherKey", "default_secrets_store-other-key",
			store + "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("document:\n%s\nwant:\n%s", jsonOf(t, got), jsonOf(t, want))
	}
	routes := w.srv.Stats().Routes
	if !reflect.DeepEqual(routes, map[string]int{routeFlyList: 3, routeStoresList: 1, routeCFSecretList: 1}) {
		t.Errorf("API calls: %v, want one list per app, one of the stores and one of the store's secrets", routes)
	}
}

// The fields are the ones pulumi import --file reads (importSpec in pulumi's
// pkg/cmd/pulumi/operations/import.go), spelled as it spells them.
func TestDocumentUsesPulumiImportFileFields(t *testing.T) {
	t.Parallel()
	w := seeded(t, map[string][]string{"my-app": {"DATABASE_URL"}}, "", nil)
	out, _, err := w.run(nil, "--fly-app", "my-app")
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string][]map[string]string
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := map[string][]map[string]string{"resources": {{
		"type": typeFlySecret, "name": "myAppDatabaseUrl", "logicalName": "my-app-DATABASE_URL", "id": "my-app/DATABASE_URL",
	}}}
	if !reflect.DeepEqual(raw, want) {
		t.Errorf("document %s, want %v", out, want)
	}
}

// Two runs over an unchanged account write the same bytes: the document diffs well.
func TestDocumentIsStable(t *testing.T) {
	t.Parallel()
	secrets := map[string]string{}
	for i, name := range []string{"Z", "A", "M", "B", "Y"} {
		secrets[name] = strings.Repeat(string("01234"[i]), 32)
	}
	w := seeded(t, map[string][]string{"b-app": {"Z", "A"}, "a-app": {"M", "B"}}, "store", secrets)
	args := []string{"--fly-app", "b-app", "--fly-app", "a-app", "--cloudflare-store", storeID}
	first, _, err1 := w.run(nil, args...)
	second, _, err2 := w.run(nil, args...)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if first != second {
		t.Errorf("two runs differ:\n%s\n---\n%s", first, second)
	}
}

// With --fly-app-secrets each app with secrets is one FlyAppSecrets, imported by its name.
func TestFlyAppSecretsDocument(t *testing.T) {
	t.Parallel()
	w := seeded(t, map[string][]string{"my-app": {"A", "B"}, "api": {"C"}, "empty": {}}, "", nil)
	got := w.document("--fly-app-secrets", "--fly-app", "my-app", "--fly-app", "empty", "--fly-app", "api")
	want := []importResource{
		{typeFlyAppSecrets, "apiSecrets", "api-secrets", "api"},
		{typeFlyAppSecrets, "myAppSecrets", "my-app-secrets", "my-app"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("document:\n%s\nwant:\n%s", jsonOf(t, got), jsonOf(t, want))
	}
}

// "default" is the account's one store even when it was renamed; a store ID picks that
// store; an account with no store, or an ID it does not hold, fails naming the flag.
func TestCloudflareStoreChoice(t *testing.T) {
	t.Parallel()
	w := seeded(t, nil, "prod_secrets", map[string]string{"TOKEN": "cccccccccccccccccccccccccccccccc"})
	for _, flag := range []string{"default", storeID} {
		got := w.document("--cloudflare-store", flag)
		if len(got) != 2 || got[0].ID != account+"/"+storeID || got[0].LogicalName != "prod_secrets" ||
			got[1].LogicalName != "prod_secrets-TOKEN" {
			t.Errorf("--cloudflare-store %s: %s", flag, jsonOf(t, got))
		}
	}

	other := strings.Repeat("d", 32)
	_, _, err := w.run(nil, "--cloudflare-store", other)
	for _, want := range []string{"--cloudflare-store " + other, "CLOUDFLARE_ACCOUNT_ID", storeID + " (prod_secrets)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("a store ID the account does not hold: error %v, want it to say %q", err, want)
		}
	}

	empty := seeded(t, nil, "", nil)
	_, _, err = empty.run(nil, "--cloudflare-store", "default")
	if err == nil || !strings.Contains(err.Error(), "has no Secrets Store") {
		t.Errorf("an account with no store: error %v, want it to say it has none", err)
	}
}

// A store with no secrets is adopted alone; apps and a store with nothing at all fail
// rather than write a document that imports nothing.
func TestNothingToImport(t *testing.T) {
	t.Parallel()
	w := seeded(t, map[string][]string{"idle": {}}, "default_secrets_store", nil)
	if got := w.document("--cloudflare-store", "default"); len(got) != 1 || got[0].Type != typeSecretsStore {
		t.Errorf("an empty store: %s, want the store alone", jsonOf(t, got))
	}
	out, stderr, err := w.run(nil, "--fly-app", "idle")
	if err == nil || out != "" || !strings.Contains(stderr, `app "idle" has no secrets`) {
		t.Errorf("an app with no secrets: error %v, stdout %q, stderr %q", err, out, stderr)
	}
}

// A missing or malformed credential fails before any call, naming the variable and the flag
// that needs it; every problem is named at once.
func TestCredentialErrors(t *testing.T) {
	t.Parallel()
	w := seeded(t, map[string][]string{"my-app": {"A"}}, "default_secrets_store", nil)
	both := []string{"--fly-app", "my-app", "--cloudflare-store", "default"}
	for _, c := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"no fly token", map[string]string{"FLY_API_TOKEN": ""},
			[]string{"FLY_API_TOKEN", "FLY_ACCESS_TOKEN", "--fly-app my-app"}},
		{"no cloudflare token", map[string]string{"CLOUDFLARE_API_TOKEN": ""},
			[]string{"CLOUDFLARE_API_TOKEN", "--cloudflare-store default"}},
		{"no account", map[string]string{"CLOUDFLARE_ACCOUNT_ID": ""}, []string{"CLOUDFLARE_ACCOUNT_ID"}},
		{"bad account", map[string]string{"CLOUDFLARE_ACCOUNT_ID": "my-account"},
			[]string{`CLOUDFLARE_ACCOUNT_ID is "my-account"`, "32"}},
		{"bad fly url", map[string]string{"FLY_FLAPS_BASE_URL": "api.machines.dev"},
			[]string{"FLY_FLAPS_BASE_URL", "http(s)"}},
		{"bad cloudflare url", map[string]string{"CLOUDFLARE_BASE_URL": "ftp://x"},
			[]string{"CLOUDFLARE_BASE_URL", "http(s)"}},
		{"nothing set", map[string]string{"FLY_API_TOKEN": "", "CLOUDFLARE_API_TOKEN": "", "CLOUDFLARE_ACCOUNT_ID": ""},
			[]string{"FLY_API_TOKEN", "CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID"}},
	} {
		out, _, err := w.run(c.env, both...)
		for _, want := range c.want {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %v, want it to say %q", c.name, err, want)
			}
		}
		if out != "" {
			t.Errorf("%s: wrote %q to stdout", c.name, out)
		}
	}
	if got := w.srv.Stats().Total; got != 0 {
		t.Errorf("%d API calls were made with missing credentials, want none", got)
	}

	// FLY_ACCESS_TOKEN stands in for FLY_API_TOKEN, as in the provider.
	accessOnly := map[string]string{"FLY_API_TOKEN": "", "FLY_ACCESS_TOKEN": w.env["FLY_API_TOKEN"]}
	if _, _, err := w.run(accessOnly, "--fly-app", "my-app"); err != nil {
		t.Errorf("FLY_ACCESS_TOKEN: %v", err)
	}
}

// A token the API refuses, or an app that does not exist, fails naming the flag, prints no
// token and writes nothing, even when another app was listed fine.
func TestAPIErrors(t *testing.T) {
	t.Parallel()
	w := seeded(t, map[string][]string{"my-app": {"A"}}, "default_secrets_store", nil)
	const badFly, badCloudflare = "fly-wrong-token-0123", "cf-wrong-token-4567"
	for _, c := range []struct {
		env        map[string]string
		args, want []string
	}{
		{map[string]string{"FLY_API_TOKEN": badFly}, []string{"--fly-app", "my-app"}, []string{"--fly-app my-app", "401"}},
		{map[string]string{"CLOUDFLARE_API_TOKEN": badCloudflare}, []string{"--cloudflare-store", "default"},
			[]string{"--cloudflare-store default", "403"}},
		{nil, []string{"--fly-app", "my-app", "--fly-app", "ghost"}, []string{"--fly-app ghost", "not found"}},
	} {
		out, stderr, err := w.run(c.env, c.args...)
		for _, want := range c.want {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%v: error %v, want it to say %q", c.args, err, want)
			}
		}
		if err != nil && (strings.Contains(err.Error()+stderr, badFly) ||
			strings.Contains(err.Error()+stderr, badCloudflare)) {
			t.Errorf("%v: the refused token is printed: %v %s", c.args, err, stderr)
		}
		if out != "" {
			t.Errorf("%v: wrote %q to stdout after a failure", c.args, out)
		}
	}
}

// Mistakes on the command line are usage errors that say what to give; --help prints the
// usage with an example and succeeds.
func TestUsage(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "give --fly-app APP, --cloudflare-store ID|default, --cloudflare-worker SCRIPT, or several"},
		{[]string{"--cloudflare-worker", "Edge_API"}, `"Edge_API" is not a Worker script name`},
		{[]string{"--cloudflare-worker", "a b/edge"}, `"a b" is not a dispatch namespace`},
		{[]string{"my-app"}, `unexpected argument "my-app"`},
		{[]string{"--fly-app-secrets"}, "--fly-app-secrets needs at least one --fly-app"},
		{[]string{"--fly-app", "My_App"}, `"My_App" is not a Fly.io app name`},
		{[]string{"--cloudflare-store", "my-store"}, `"my-store" is neither "default" nor a store ID`},
		{[]string{"--fly-token", "x"}, "flag provided but not defined: --fly-token"},
	} {
		var out bytes.Buffer
		err := Run(t.Context(), c.args, func(string) string { return "" }, &out, &out)
		var usage UsageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want a usage error saying %q", c.args, err, c.want)
		}
	}

	var out bytes.Buffer
	if err := Run(t.Context(), []string{"--help"}, func(string) string { return "" }, &out, &out); err != nil {
		t.Fatalf("--help: %v", err)
	}
	for _, want := range []string{"Usage: edgesecrets-import", "FLY_API_TOKEN", "CLOUDFLARE_ACCOUNT_ID",
		"Example:\n  edgesecrets-import --fly-app my-app --cloudflare-store default > import.json\n" +
			"  pulumi import --file import.json"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("--help does not say %q:\n%s", want, out.String())
		}
	}
}

// Names are unique within the document: distinct secrets whose code names differ only in
// case get numbers (Python would snake_case them alike), logical names taken by another
// type get "-2", and names that would start with a digit or hold odd characters stay valid.
func TestNamesAreUniqueAndValid(t *testing.T) {
	t.Parallel()
	doc := buildDocument(inventory{
		flyApps: []flyAppSecrets{
			{app: "x", secrets: []string{"db", "DB", "Db", "API_KEY"}},
			{app: "1password", secrets: []string{"TOKEN"}},
		},
		store: &cloudflareStore{accountID: account, id: storeID, name: "x", secrets: []cloudflareSecret{
			{id: "2", name: "API_KEY"}, {id: "1", name: "API_KEY"}, {id: "3", name: "my key!"},
		}},
	}, false)
	type names struct{ code, logical, id string }
	var got []names
	for _, r := range doc.Resources {
		got = append(got, names{r.Name, r.LogicalName, r.ID})
	}
	store := account + "/" + storeID
	want := []names{
		{"app1passwordToken", "1password-TOKEN", "1password/TOKEN"},
		{"xApiKey", "x-API_KEY", "x/API_KEY"},
		{"xDb", "x-DB", "x/DB"},
		{"xDb2", "x-Db", "x/Db"},
		{"xDb3", "x-db", "x/db"},
		{"x", "x", store},
		{"xApiKey2", "x-API_KEY-2", store + "/1"},
		{"xApiKey3", "x-API_KEY-3", store + "/2"},
		{"xMyKey", "x-my-key", store + "/3"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("names:\n%v\nwant:\n%v", got, want)
	}
}

// Names FlySecret cannot hold are left out with a warning (their import would fail the whole
// `pulumi import`); FlyAppSecrets takes the app whole. Secrets Cloudflare is deleting are
// left out.
func TestUnimportableSecretsAreLeftOut(t *testing.T) {
	t.Parallel()
	secrets := []flyapi.Secret{{Name: "GOOD"}, {Name: "not-an-env-name"}}
	var stderr bytes.Buffer
	if got := importableNames("my-app", secrets, true, &stderr); !reflect.DeepEqual(got, []string{"GOOD"}) {
		t.Errorf("for FlySecrets: %v, want [GOOD]", got)
	}
	if !strings.Contains(stderr.String(), `left out secret "not-an-env-name" of app "my-app"`) {
		t.Errorf("no warning for the name left out: %q", stderr.String())
	}
	if got := importableNames("my-app", secrets, false, &stderr); len(got) != 2 {
		t.Errorf("for FlyAppSecrets: %v, want both", got)
	}

	live := liveSecrets([]cfapi.Secret{{ID: "1", Name: "A", Status: cfapi.StatusActive},
		{ID: "2", Name: "B", Status: cfapi.StatusDeleted}, {ID: "3", Name: "C", Status: cfapi.StatusPending}})
	if want := []cloudflareSecret{{"1", "A"}, {"3", "C"}}; !reflect.DeepEqual(live, want) {
		t.Errorf("live secrets: %v, want %v", live, want)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
