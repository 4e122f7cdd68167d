// Package bulkimport is edgesecrets-import: it lists the Fly.io app secrets, the Cloudflare
// Secrets Store secrets and the Worker scripts' secrets that already exist and writes a `pulumi import --file`
// document for them, so that a team with dozens of them adopts them with one `pulumi import`
// instead of one command per secret.
//
// It lives under provider/ (the command in cmd/edgesecrets-import is a thin main) because
// Go lets only provider/... import the API clients in provider/internal, which pace, retry
// and read consistently as the provider does. It has no Pulumi imports.
package bulkimport

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
)

const usageText = `Usage: edgesecrets-import [--fly-app APP]... [--fly-app-secrets] [--cloudflare-store ID|default]
                          [--cloudflare-worker [NAMESPACE/]SCRIPT]...

Lists the Fly.io app secrets, the Cloudflare Secrets Store secrets and the Worker
scripts' own secrets that exist already and writes, to stdout, a document for
` + "`pulumi import --file`" + ` that adopts them all in one import: types, names and IDs.
No value is read or printed (the APIs never return values): after the import
Pulumi does not know them, and the next ` + "`pulumi up`" + ` writes the program's
values once.

Flags:
  --fly-app APP           a Fly.io app whose secrets to adopt; repeatable. Each
                          secret becomes an edgesecrets:fly:FlySecret with ID
                          <app>/<NAME>
  --fly-app-secrets       instead, one edgesecrets:fly:FlyAppSecrets per app
                          (ID <app>) holding all its secrets
  --cloudflare-store ID   the Secrets Store to adopt, with its secrets: a store
                          ID (32 hex characters), or "default" for the account's
                          store (default_secrets_store unless renamed). The store
                          becomes an edgesecrets:cloudflare:SecretsStore (ID
                          <accountId>/<storeId>), each secret an
                          edgesecrets:cloudflare:Secret (ID
                          <accountId>/<storeId>/<secretId>)
  --cloudflare-worker SCRIPT
                          a Worker script of the account whose secrets
                          (secret_text, as ` + "`wrangler secret put`" + ` writes them) to
                          adopt; repeatable; NAMESPACE/SCRIPT for a Workers for
                          Platforms script. Each secret becomes an
                          edgesecrets:cloudflare:WorkerSecret with ID
                          <script>/<NAME>, or
                          <accountId>/<namespace>/<script>/<NAME>

Environment (the variables the provider reads):
  FLY_API_TOKEN           Fly.io token, needed with --fly-app (FLY_ACCESS_TOKEN
                          is read when it is unset)
  FLY_FLAPS_BASE_URL      Fly Machines API (default ` + defaultFlyURL + `)
  CLOUDFLARE_API_TOKEN    Cloudflare token ("Secrets Store Read", or "Workers
                          Scripts Read" for Workers, is enough), needed with
                          --cloudflare-store and --cloudflare-worker
  CLOUDFLARE_ACCOUNT_ID   the account holding the store and the scripts, needed
                          with --cloudflare-store and --cloudflare-worker
  CLOUDFLARE_BASE_URL     Cloudflare API (default ` + defaultCloudflareURL + `)

Resources are named after what they adopt (my-app-DATABASE_URL in the state;
myAppDatabaseUrl in the code ` + "`pulumi import`" + ` generates), unique within the
document, and listed sorted, so the document of an unchanged account is the same.

Fly.io's reads lag its writes for a moment: a secret set in the last seconds may
be missing from the list. Run the command again to pick it up.

Example:
  edgesecrets-import --fly-app my-app --cloudflare-store default > import.json
  pulumi import --file import.json --out imported.yaml --yes
`

// UsageError is a mistake on the command line: the caller points at --help.
type UsageError struct{ error }

// Usage is the --help text.
func Usage() string { return usageText }

// flags are the parsed command line.
type flags struct {
	flyApps         []string
	flyAppSecrets   bool
	cloudflareStore string // "", "default" or a store ID
	workers         []workerScript
}

// defaultStoreFlag asks for the account's store.
const defaultStoreFlag = "default"

var (
	// flyAppPattern is the provider's rule for app names (an ID it cannot parse would fail
	// the import).
	flyAppPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	// cloudflareIDPattern is the form of Cloudflare account, store and secret IDs.
	cloudflareIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)
	// workerScriptPattern and dispatchNamespacePattern are the provider's rules for a Worker's
	// name and a dispatch namespace in an ID (provider/cloudflare/workerscript.go).
	workerScriptPattern      = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$`)
	dispatchNamespacePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

// parseWorker reads --cloudflare-worker: SCRIPT, or NAMESPACE/SCRIPT.
func parseWorker(s string) (workerScript, error) {
	namespace, name, dispatch := strings.Cut(s, "/")
	if !dispatch {
		namespace, name = "", s
	}
	if dispatch && !dispatchNamespacePattern.MatchString(namespace) {
		return workerScript{}, fmt.Errorf("%q is not a dispatch namespace (letters, digits, - and _) in %q",
			namespace, s)
	}
	if !workerScriptPattern.MatchString(name) {
		return workerScript{}, fmt.Errorf("%q is not a Worker script name (lowercase letters, digits, - and _; "+
			"NAMESPACE/SCRIPT for Workers for Platforms)", s)
	}
	return workerScript{namespace: namespace, name: name}, nil
}

func parseFlags(args []string, stdout io.Writer) (flags, error) {
	var f flags
	fs := flag.NewFlagSet("edgesecrets-import", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned; --help prints usageText
	fs.Func("fly-app", "", func(app string) error {
		if !flyAppPattern.MatchString(app) {
			return fmt.Errorf("%q is not a Fly.io app name (lowercase letters, digits and dashes)", app)
		}
		for _, seen := range f.flyApps {
			if seen == app {
				return nil // given twice: adopted once
			}
		}
		f.flyApps = append(f.flyApps, app)
		return nil
	})
	fs.BoolVar(&f.flyAppSecrets, "fly-app-secrets", false, "")
	fs.Func("cloudflare-store", "", func(store string) error {
		if store != defaultStoreFlag && !cloudflareIDPattern.MatchString(store) {
			return fmt.Errorf("%q is neither %q nor a store ID (32 lowercase hexadecimal characters)", store, defaultStoreFlag)
		}
		f.cloudflareStore = store
		return nil
	})
	fs.Func("cloudflare-worker", "", func(s string) error {
		script, err := parseWorker(s)
		if err != nil {
			return err
		}
		if !slices.Contains(f.workers, script) {
			f.workers = append(f.workers, script) // given twice: adopted once
		}
		return nil
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			_, werr := io.WriteString(stdout, usageText)
			return flags{}, errors.Join(err, werr)
		}
		return flags{}, UsageError{dashed(err)}
	}
	switch {
	case fs.NArg() > 0:
		return flags{}, UsageError{fmt.Errorf("unexpected argument %q: apps and stores are given "+
			"with --fly-app, --cloudflare-store and --cloudflare-worker", fs.Arg(0))}
	case f.flyAppSecrets && len(f.flyApps) == 0:
		return flags{}, UsageError{errors.New("--fly-app-secrets needs at least one --fly-app")}
	case len(f.flyApps) == 0 && f.cloudflareStore == "" && len(f.workers) == 0:
		return flags{}, UsageError{errors.New("nothing to list: give --fly-app APP, --cloudflare-store ID|default, " +
			"--cloudflare-worker SCRIPT, or several")}
	}
	return f, nil
}

// dashed makes the flag package's messages name flags as the usage does: --fly-app, not -fly-app.
func dashed(err error) error {
	msg := err.Error()
	for _, where := range []string{"flag -", "defined: -", "argument: -"} {
		msg = strings.Replace(msg, where, where+"-", 1)
	}
	return errors.New(msg)
}

// Run is the command: it parses args, lists what the flags name with the credentials getenv
// gives, and writes the document to stdout; notes and waits go to stderr. Nothing is written
// to stdout unless the whole listing succeeded. --help prints Usage to stdout and returns nil.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	f, err := parseFlags(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	env, err := readEnvironment(f, getenv)
	if err != nil {
		return err
	}
	l := lister{env: env, stderr: stderr}
	var inv inventory
	for _, app := range f.flyApps {
		secrets, err := l.flySecrets(ctx, app, !f.flyAppSecrets)
		if err != nil {
			return err
		}
		inv.flyApps = append(inv.flyApps, flyAppSecrets{app: app, secrets: secrets})
	}
	if f.cloudflareStore != "" {
		store, err := l.cloudflareStore(ctx, f.cloudflareStore)
		if err != nil {
			return err
		}
		inv.store = &store
	}
	inv.accountID = env.cloudflareAccount
	for _, script := range f.workers {
		secrets, err := l.workerSecrets(ctx, script)
		if err != nil {
			return err
		}
		inv.workers = append(inv.workers, workerSecrets{script: script, secrets: secrets})
	}
	doc := buildDocument(inv, f.flyAppSecrets)
	if len(doc.Resources) == 0 {
		return errors.New("nothing to import: the apps, the store and the Worker scripts given hold no secrets")
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if _, err := stdout.Write(append(out, '\n')); err != nil {
		return err
	}
	// The document is out: a summary that cannot be written to stderr fails nothing.
	_, _ = fmt.Fprintf(stderr, "edgesecrets-import: %s; adopt them with `pulumi import --file <this file>`\n",
		summary(doc))
	return nil
}

// summary counts the document's resources by type, e.g. "10 FlySecrets, 1 SecretsStore".
func summary(doc importDocument) string {
	counts := map[string]int{}
	for _, r := range doc.Resources {
		counts[r.Type]++
	}
	var parts []string
	for _, typ := range []string{typeFlySecret, typeFlyAppSecrets, typeSecretsStore, typeSecret, typeWorkerSecret} {
		if n := counts[typ]; n > 0 {
			name := typ[strings.LastIndex(typ, ":")+1:]
			if n > 1 && !strings.HasSuffix(name, "s") {
				name += "s"
			}
			parts = append(parts, fmt.Sprintf("%d %s", n, name))
		}
	}
	return strings.Join(parts, ", ")
}
