package bulkimport

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// Resource types the document adopts: the provider's tokens.
const (
	typeFlySecret     = "edgesecrets:fly:FlySecret"
	typeFlyAppSecrets = "edgesecrets:fly:FlyAppSecrets"
	typeSecretsStore  = "edgesecrets:cloudflare:SecretsStore"
	typeSecret        = "edgesecrets:cloudflare:Secret"
	typeWorkerSecret  = "edgesecrets:cloudflare:WorkerSecret"
)

// importDocument is what `pulumi import --file` reads (pkg/cmd/pulumi/operations/import.go,
// importFile): only the fields this command fills.
type importDocument struct {
	Resources []importResource `json:"resources"`
}

// importResource is one entry of importDocument (importSpec there).
type importResource struct {
	Type string `json:"type"`
	// Name is what the code `pulumi import` generates calls the resource: a camelCase
	// identifier, valid in every language Pulumi generates.
	Name string `json:"name"`
	// LogicalName is the resource's Pulumi name, the last part of its URN: readable, and
	// made of the remote names (`my-app-DATABASE_URL`).
	LogicalName string `json:"logicalName"`
	ID          string `json:"id"`
}

// inventory is what exists at the platforms: the names and IDs the document adopts.
type inventory struct {
	flyApps []flyAppSecrets
	// store is nil unless a Cloudflare store was asked for.
	store *cloudflareStore
	// accountID is the Cloudflare account of the workers (CLOUDFLARE_ACCOUNT_ID).
	accountID string
	workers   []workerSecrets
}

// workerScript is a Worker script: namespace is "" for the account's own, or the Workers for
// Platforms dispatch namespace it lives in.
type workerScript struct{ namespace, name string }

func (s workerScript) String() string {
	if s.namespace == "" {
		return s.name
	}
	return s.namespace + "/" + s.name
}

// workerSecrets is one Worker script and the names of its secrets.
type workerSecrets struct {
	script  workerScript
	secrets []string
}

// flyAppSecrets is one Fly.io app and the names of its secrets.
type flyAppSecrets struct {
	app     string
	secrets []string
}

// cloudflareStore is a Secrets Store and its secrets.
type cloudflareStore struct {
	accountID, id, name string
	secrets             []cloudflareSecret
}

type cloudflareSecret struct{ id, name string }

// buildDocument lists one resource per Fly.io secret (or, with perApp, one FlyAppSecrets per
// app that has secrets), then the store and one Secret per secret of it. The order is sorted
// (apps, then names, then IDs), so that the document of an unchanged account is the same
// byte for byte and diffs well.
func buildDocument(inv inventory, perApp bool) importDocument {
	apps := append([]flyAppSecrets(nil), inv.flyApps...)
	sort.Slice(apps, func(i, j int) bool { return apps[i].app < apps[j].app })
	var names names
	var doc importDocument
	add := func(typ, prefix string, parts []string, id string) {
		code, logical := names.take(prefix, parts)
		doc.Resources = append(doc.Resources, importResource{Type: typ, Name: code, LogicalName: logical, ID: id})
	}
	for _, a := range apps {
		if perApp {
			if len(a.secrets) > 0 {
				add(typeFlyAppSecrets, "app", []string{a.app, "secrets"}, a.app)
			}
			continue
		}
		for _, secret := range sorted(a.secrets) {
			add(typeFlySecret, "app", []string{a.app, secret}, a.app+"/"+secret)
		}
	}
	if st := inv.store; st != nil {
		storeID := st.accountID + "/" + st.id
		add(typeSecretsStore, "store", []string{st.name}, storeID)
		secrets := append([]cloudflareSecret(nil), st.secrets...)
		sort.Slice(secrets, func(i, j int) bool {
			if secrets[i].name != secrets[j].name {
				return secrets[i].name < secrets[j].name
			}
			return secrets[i].id < secrets[j].id
		})
		for _, s := range secrets {
			add(typeSecret, "store", []string{st.name, s.name}, storeID+"/"+s.id)
		}
	}
	workers := append([]workerSecrets(nil), inv.workers...)
	sort.Slice(workers, func(i, j int) bool { return workers[i].script.String() < workers[j].script.String() })
	for _, w := range workers {
		// The provider's ID forms: SCRIPT/NAME for a script of the provider's account (the
		// CLOUDFLARE_ACCOUNT_ID both read); a dispatch namespace has no form without the account.
		prefix, parts := w.script.name+"/", []string{w.script.name}
		if w.script.namespace != "" {
			prefix = inv.accountID + "/" + w.script.namespace + "/" + w.script.name + "/"
			parts = []string{w.script.namespace, w.script.name}
		}
		for _, secret := range sorted(w.secrets) {
			add(typeWorkerSecret, "worker", append(slices.Clone(parts), secret), prefix+secret)
		}
	}
	return doc
}

func sorted(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}

// names hands out the two names of each resource, unique within the document.
type names struct {
	logical map[string]bool
	// code holds identifiers lower-cased: Python's snake_case turns myAppDB and myAppDb
	// into the same name.
	code map[string]bool
}

// take names a resource made of parts (an app and a secret name, say): the logical name
// joins them with "-" (`my-app-DATABASE_URL`), the code name camel-cases them
// (`myAppDatabaseUrl`), starting with prefix when it would start with a digit. A name taken
// already gets "-2", "-3"... (code: "2", "3"...).
func (n *names) take(prefix string, parts []string) (code, logical string) {
	if n.logical == nil {
		n.logical, n.code = map[string]bool{}, map[string]bool{}
	}
	clean := make([]string, 0, len(parts))
	for _, p := range parts {
		if p = logicalPart(p); p != "" {
			clean = append(clean, p)
		}
	}
	logical = unique(strings.Join(clean, "-"), "-", func(s string) bool { return n.logical[s] })
	n.logical[logical] = true

	code = identifier(prefix, clean)
	code = unique(code, "", func(s string) bool { return n.code[strings.ToLower(s)] })
	n.code[strings.ToLower(code)] = true
	return code, logical
}

// unique is base, or base+sep+N for the first N from 2 that taken refuses.
func unique(base, sep string, taken func(string) bool) string {
	name := base
	for i := 2; taken(name); i++ {
		name = base + sep + strconv.Itoa(i)
	}
	return name
}

// logicalPart keeps the characters remote names are made of (letters, digits, "_" and "-")
// and turns any other run into one "-".
func logicalPart(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		if r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}

// identifier camel-cases the words of parts (split at "-" and "_"): all-caps and
// all-lowercase words are capitalised (DATABASE_URL: DatabaseUrl), mixed-case ones keep
// their inner case (apiKey: ApiKey). The first letter is lowercase.
func identifier(prefix string, parts []string) string {
	var b strings.Builder
	for _, p := range parts {
		for _, word := range strings.FieldsFunc(p, func(r rune) bool { return r == '-' || r == '_' }) {
			if strings.ToUpper(word) == word || strings.ToLower(word) == word {
				word = strings.ToLower(word)
			}
			if b.Len() == 0 {
				b.WriteString(strings.ToLower(word[:1]) + word[1:])
			} else {
				b.WriteString(strings.ToUpper(word[:1]) + word[1:])
			}
		}
	}
	code := b.String()
	if code == "" || unicode.IsDigit(rune(code[0])) {
		code = prefix + strings.ToUpper(code[:min(1, len(code))]) + code[min(1, len(code)):]
	}
	return code
}
