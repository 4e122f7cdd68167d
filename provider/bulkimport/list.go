package bulkimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/cfapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/flyapi"
	"github.com/edgesecrets/pulumi-edgesecrets/provider/version"
)

const (
	defaultFlyURL        = flyapi.DefaultBaseURL
	defaultCloudflareURL = cfapi.DefaultBaseURL
	// defaultStoreName is the store Cloudflare creates when Secrets Store is first used.
	defaultStoreName = "default_secrets_store"
	// workerSecretText is the binding type `wrangler secret put` writes, the one WorkerSecret holds.
	workerSecretText = "secret_text"
)

// workerSecretNamePattern is the provider's rule for a Worker secret's name
// (provider/cloudflare/workerscript.go): an import of any other name would fail.
var workerSecretNamePattern = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)

// environment is what the command reads from the provider's environment variables.
type environment struct {
	flyToken, flyURL                                  string
	cloudflareToken, cloudflareAccount, cloudflareURL string
}

// readEnvironment reads the variables the flags need, as the provider does (FLY_API_TOKEN,
// then FLY_ACCESS_TOKEN; the default API URLs), and names every one that is missing or
// malformed.
func readEnvironment(f flags, getenv func(string) string) (environment, error) {
	env := environment{
		flyToken:          firstSet(getenv, "FLY_API_TOKEN", "FLY_ACCESS_TOKEN"),
		flyURL:            firstSet(getenv, "FLY_FLAPS_BASE_URL"),
		cloudflareToken:   firstSet(getenv, "CLOUDFLARE_API_TOKEN"),
		cloudflareAccount: firstSet(getenv, "CLOUDFLARE_ACCOUNT_ID"),
		cloudflareURL:     firstSet(getenv, "CLOUDFLARE_BASE_URL"),
	}
	var errs []error
	if len(f.flyApps) > 0 {
		if env.flyToken == "" {
			errs = append(errs, fmt.Errorf("no Fly.io API token: set FLY_API_TOKEN (or FLY_ACCESS_TOKEN) "+
				"to list the secrets of --fly-app %s", strings.Join(f.flyApps, ", ")))
		}
		errs = append(errs, checkURL("FLY_FLAPS_BASE_URL", &env.flyURL, defaultFlyURL))
	}
	if what := cloudflareFlags(f); what != "" {
		if env.cloudflareToken == "" {
			errs = append(errs, fmt.Errorf("no Cloudflare API token: set CLOUDFLARE_API_TOKEN to list %s", what))
		}
		switch {
		case env.cloudflareAccount == "":
			errs = append(errs, fmt.Errorf("no Cloudflare account: set CLOUDFLARE_ACCOUNT_ID to the account that holds "+
				"%s", what))
		case !cloudflareIDPattern.MatchString(env.cloudflareAccount):
			errs = append(errs, fmt.Errorf("CLOUDFLARE_ACCOUNT_ID is %q: a Cloudflare account ID is 32 lowercase "+
				"hexadecimal characters", env.cloudflareAccount))
		}
		errs = append(errs, checkURL("CLOUDFLARE_BASE_URL", &env.cloudflareURL, defaultCloudflareURL))
	}
	return env, errors.Join(errs...)
}

// cloudflareFlags names the flags that need the Cloudflare credentials, for an error message, or
// is "" when none is given.
func cloudflareFlags(f flags) string {
	var parts []string
	if f.cloudflareStore != "" {
		parts = append(parts, "--cloudflare-store "+f.cloudflareStore)
	}
	for _, script := range f.workers {
		parts = append(parts, "--cloudflare-worker "+script.String())
	}
	return strings.Join(parts, ", ")
}

// firstSet is the first of the variables that is set and not empty.
func firstSet(getenv func(string) string, names ...string) string {
	for _, name := range names {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return v
		}
	}
	return ""
}

// checkURL fills *raw with def when it is empty, and fails unless it is an http(s) URL.
func checkURL(variable string, raw *string, def string) error {
	if *raw == "" {
		*raw = def
	}
	u, err := url.Parse(*raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s is %q: not an http(s) URL", variable, *raw)
	}
	return nil
}

// lister reads names and IDs through the project's API clients, which pace, retry and
// read consistently as the provider does. It never sees a value: the APIs return none.
type lister struct {
	env    environment
	stderr io.Writer
}

func userAgent() string { return "edgesecrets-import/" + version.Version }

// tellWait shows a client's wait (a rate limit, a retry) on stderr, so that no wait is silent.
// Here and below, a note on stderr that cannot be written has nothing to fail: it is ignored.
func (l lister) tellWait(_ context.Context, wait time.Duration, why string) {
	if wait <= 0 {
		_, _ = fmt.Fprintf(l.stderr, "edgesecrets-import: %s\n", why)
		return
	}
	_, _ = fmt.Fprintf(l.stderr, "edgesecrets-import: waiting %s: %s\n", wait.Round(100*time.Millisecond), why)
}

// flySecrets lists the names of app's secrets. With forFlySecrets, names the FlySecret
// resource cannot hold (not an environment variable name) are left out with a warning:
// their import would fail and take the whole `pulumi import` with it.
func (l lister) flySecrets(ctx context.Context, app string, forFlySecrets bool) ([]string, error) {
	client := flyapi.New(l.env.flyURL, l.env.flyToken,
		flyapi.WithUserAgent(userAgent()),
		flyapi.WithWaitNotifier(l.tellWait))
	secrets, err := client.ListSecrets(ctx, app, 0)
	if err != nil {
		return nil, fmt.Errorf("--fly-app %s: %w", app, err)
	}
	return importableNames(app, secrets, forFlySecrets, l.stderr), nil
}

// importableNames are the names of an app's secrets that the document adopts; see flySecrets.
func importableNames(app string, secrets []flyapi.Secret, forFlySecrets bool, stderr io.Writer) []string {
	names := make([]string, 0, len(secrets))
	for _, s := range secrets {
		if forFlySecrets {
			if err := flyapi.ValidateSecretName(s.Name); err != nil {
				_, _ = fmt.Fprintf(stderr, "edgesecrets-import: warning: left out secret %q of app %q: "+
					"edgesecrets:fly:FlySecret takes names of letters, digits and underscores\n", s.Name, app)
				continue
			}
		}
		names = append(names, s.Name)
	}
	if len(names) == 0 {
		_, _ = fmt.Fprintf(stderr, "edgesecrets-import: app %q has no secrets to adopt\n", app)
	}
	return names
}

// cloudflareStore finds the store the flag names ("default": the account's store) and
// lists its secrets.
func (l lister) cloudflareStore(ctx context.Context, which string) (cloudflareStore, error) {
	client := cfapi.New(l.env.cloudflareURL, l.env.cloudflareToken, l.env.cloudflareAccount, cfapi.Options{
		UserAgent: userAgent(),
		Notify:    l.tellWait,
	})
	stores, err := client.ListStores(ctx)
	if err != nil {
		return cloudflareStore{}, fmt.Errorf("--cloudflare-store %s: %w", which, err)
	}
	store, err := pickStore(stores, which, l.env.cloudflareAccount)
	if err != nil {
		return cloudflareStore{}, err
	}
	secrets, err := client.ListSecrets(ctx, store.ID, "")
	if err != nil {
		return cloudflareStore{}, fmt.Errorf("--cloudflare-store %s: %w", which, err)
	}
	out := cloudflareStore{accountID: l.env.cloudflareAccount, id: store.ID, name: store.Name,
		secrets: liveSecrets(secrets)}
	if len(out.secrets) == 0 {
		_, _ = fmt.Fprintf(l.stderr, "edgesecrets-import: store %q holds no secrets; adopting the store alone\n", store.Name)
	}
	return out, nil
}

// liveSecrets leaves out the secrets Cloudflare is deleting: their import would fail.
func liveSecrets(secrets []cfapi.Secret) []cloudflareSecret {
	var live []cloudflareSecret
	for _, s := range secrets {
		if s.Status != cfapi.StatusDeleted {
			live = append(live, cloudflareSecret{id: s.ID, name: s.Name})
		}
	}
	return live
}

// pickStore is the store of the given ID, or for "default" the account's store: the one
// named default_secrets_store, else the only one (an account holds one).
func pickStore(stores []cfapi.Store, which, account string) (cfapi.Store, error) {
	if which != defaultStoreFlag {
		for _, st := range stores {
			if st.ID == which {
				return st, nil
			}
		}
		return cfapi.Store{}, fmt.Errorf("--cloudflare-store %s: account %s (CLOUDFLARE_ACCOUNT_ID) "+
			"has no store of that ID%s", which, account, storeList(stores))
	}
	for _, st := range stores {
		if st.Name == defaultStoreName {
			return st, nil
		}
	}
	switch len(stores) {
	case 0:
		return cfapi.Store{}, fmt.Errorf("--cloudflare-store default: account %s (CLOUDFLARE_ACCOUNT_ID) "+
			"has no Secrets Store", account)
	case 1:
		return stores[0], nil
	}
	return cfapi.Store{}, fmt.Errorf("--cloudflare-store default: account %s holds several stores "+
		"and none is %s: give one's ID%s", account, defaultStoreName, storeList(stores))
}

// storeList names the stores an account holds, for an error message.
func storeList(stores []cfapi.Store) string {
	if len(stores) == 0 {
		return " (it holds none)"
	}
	parts := make([]string, 0, len(stores))
	for _, st := range stores {
		parts = append(parts, fmt.Sprintf("%s (%s)", st.ID, st.Name))
	}
	return "; it holds " + strings.Join(parts, ", ")
}

// workerSecrets lists the names of a Worker script's secret_text secrets. A secret_key (a
// WebCrypto key, which WorkerSecret cannot write) and a name WorkerSecret cannot hold are left
// out with a warning: their import would fail and take the whole `pulumi import` with it.
func (l lister) workerSecrets(ctx context.Context, script workerScript) ([]string, error) {
	client := cfapi.New(l.env.cloudflareURL, l.env.cloudflareToken, l.env.cloudflareAccount, cfapi.Options{
		UserAgent: userAgent(),
		Notify:    l.tellWait,
	})
	secrets, err := client.ListWorkerSecrets(ctx, cfapi.WorkerScript{Namespace: script.namespace, Name: script.name})
	if err != nil {
		return nil, fmt.Errorf("--cloudflare-worker %s: %w", script, err)
	}
	names := make([]string, 0, len(secrets))
	for _, s := range secrets {
		switch {
		case s.Type != workerSecretText:
			_, _ = fmt.Fprintf(l.stderr, "edgesecrets-import: warning: left out secret %q of Worker %q: it is a %s, "+
				"and edgesecrets:cloudflare:WorkerSecret writes secret_text\n", s.Name, script, s.Type)
		case !workerSecretNamePattern.MatchString(s.Name):
			_, _ = fmt.Fprintf(l.stderr, "edgesecrets-import: warning: left out secret %q of Worker %q: "+
				"edgesecrets:cloudflare:WorkerSecret takes names of letters, digits, _ and $\n", s.Name, script)
		default:
			names = append(names, s.Name)
		}
	}
	if len(names) == 0 {
		_, _ = fmt.Fprintf(l.stderr, "edgesecrets-import: Worker %q has no secrets to adopt\n", script.String())
	}
	return names, nil
}
