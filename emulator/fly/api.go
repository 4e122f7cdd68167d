package fly

import (
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/internal/wire"
)

// Config configures an API.
type Config struct {
	// Token is the full-access API token (see the package doc for matching).
	Token string
	// DeployTokens maps a token to the one app it may touch (403 elsewhere).
	DeployTokens map[string]string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnChange, if set, runs after every successful mutation and before the
	// response is written, so a persisted copy is never behind an answer.
	OnChange func()
}

// Mux is where the API registers its routes; *http.ServeMux satisfies it.
type Mux interface {
	Handle(pattern string, handler http.Handler)
}

// API is the emulated Fly Machines API. It is safe for concurrent use.
type API struct {
	cfg  Config
	auth authenticator

	mu   sync.Mutex // guards apps and everything under it
	apps map[string]*app
}

type app struct {
	name      string
	org       string
	createdAt time.Time
	version   uint64
	secrets   map[string]*secret
}

type secret struct {
	value     string
	digest    string
	createdAt time.Time
	updatedAt time.Time
}

// New returns an API with no apps.
func New(cfg Config) (*API, error) {
	if cfg.Token == "" {
		return nil, fmt.Errorf("fly: an API token is required")
	}
	auth, err := newAuthenticator(cfg.Token, cfg.DeployTokens)
	if err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &API{cfg: cfg, auth: auth, apps: map[string]*app{}}, nil
}

// Register adds the API's routes to mux.
func (a *API) Register(mux Mux) {
	mux.Handle("POST /v1/apps", a.guard(orgScope, a.createApp))
	mux.Handle("GET /v1/apps", a.guard(orgScope, a.listApps))
	mux.Handle("GET /v1/apps/{app}", a.guard(appScope, a.getApp))
	mux.Handle("DELETE /v1/apps/{app}", a.guard(orgScope, a.deleteApp))
	mux.Handle("GET /v1/apps/{app}/machines", a.guard(appScope, a.listMachines))
	mux.Handle("GET /v1/apps/{app}/secrets", a.guard(appScope, a.listSecrets))
	mux.Handle("POST /v1/apps/{app}/secrets", a.guard(appScope, a.updateSecrets))
	mux.Handle("GET /v1/apps/{app}/secrets/{name}", a.guard(appScope, a.getSecret))
	mux.Handle("POST /v1/apps/{app}/secrets/{name}", a.guard(appScope, a.setSecret))
	mux.Handle("DELETE /v1/apps/{app}/secrets/{name}", a.guard(appScope, a.deleteSecret))
	// Anything else under /v1 is an unknown route, answered in Fly's shape.
	mux.Handle("/v1/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, "not found")
	}))
}

// EnsureApp creates the app if it does not exist; an existing app is kept
// with its secrets. org "" means "personal".
func (a *API) EnsureApp(name, org string) error {
	if !validAppName(name) {
		return fmt.Errorf("fly: %q is not a valid app name (lowercase letters, digits and dashes)", name)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.apps[name]; !ok {
		a.apps[name] = a.newApp(name, org)
	}
	return nil
}

// Reset removes every app.
func (a *API) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.apps = map[string]*app{}
}

func (a *API) newApp(name, org string) *app {
	if org == "" {
		org = "personal"
	}
	return &app{name: name, org: org, createdAt: a.now(), secrets: map[string]*secret{}}
}

// now is the clock at the precision the API reports.
func (a *API) now() time.Time {
	return wire.Now(a.cfg.Now)
}

func (a *API) changed() {
	if a.cfg.OnChange != nil {
		a.cfg.OnChange()
	}
}

func (ap *app) sortedNames() []string {
	names := make([]string, 0, len(ap.secrets))
	for name := range ap.secrets {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
