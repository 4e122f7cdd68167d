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
	// ReadLag makes reads eventually consistent, as Fly's are: a read that
	// asks for no version (or for one already visible) sees the newest
	// secrets version written at least ReadLag ago, or the one it asked
	// for if that is newer. Zero means every read sees every write.
	ReadLag time.Duration
	// MachineBootDelay is how long a machine takes to launch (create or
	// update): "created" or "replacing" for the first half, "starting" for
	// the second, then "started". Zero launches at once.
	MachineBootDelay time.Duration
	// MachineCheckDelay is how long after a machine has started its health
	// checks (config "checks" and the services' checks) start passing; they
	// are "critical" until then. Zero passes them as soon as it has started.
	MachineCheckDelay time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// ExactReadTimes makes reads give created_at and updated_at as writes
	// answer them (UTC, microseconds). Without it, reads give them to the
	// second and at another UTC offset (readTimeZone): a client must compare
	// them as instants, at the coarser precision, never as texts or exactly.
	ExactReadTimes bool
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
	// history holds the secrets as of each recent version, oldest first, for
	// lagging reads (Config.ReadLag): the first entry is the newest version
	// old enough to be visible to every read; later ones are still settling.
	history []appVersion
	// machines are the app's machines, by id, and order their ids by
	// creation, the order the list answers in.
	machines map[string]*machine
	order    []string
	// maxLeasesHeld is the most machine leases held at one time.
	maxLeasesHeld int
}

// appVersion is the app's secrets as one write left them. The map is never
// changed after it is recorded: writes replace *secret values, never edit them.
type appVersion struct {
	version   uint64
	writtenAt time.Time
	secrets   map[string]*secret
}

// secret is one value as one write set it; it is never modified in place, so
// the history can share it.
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
	mux.Handle("POST /v1/apps/{app}/machines", a.guard(appScope, a.createMachine))
	mux.Handle("GET /v1/apps/{app}/machines/{id}", a.guard(appScope, a.getMachine))
	mux.Handle("POST /v1/apps/{app}/machines/{id}", a.guard(appScope, a.updateMachine))
	mux.Handle("GET /v1/apps/{app}/machines/{id}/wait", a.guard(appScope, a.waitMachine))
	mux.Handle("GET /v1/apps/{app}/machines/{id}/lease", a.guard(appScope, a.getLease))
	mux.Handle("POST /v1/apps/{app}/machines/{id}/lease", a.guard(appScope, a.acquireLease))
	mux.Handle("DELETE /v1/apps/{app}/machines/{id}/lease", a.guard(appScope, a.releaseLease))
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
	ap := &app{name: name, org: org, createdAt: a.now(), secrets: map[string]*secret{}, machines: map[string]*machine{}}
	ap.history = []appVersion{{version: 0, secrets: ap.secrets}}
	return ap
}

// wrote records a write: the app's version moves on by one and the new
// secrets join the history. The caller holds mu and has put the new secrets
// in ap.secrets (a map of its own, see beginWrite).
func (a *API) wrote(ap *app) {
	ap.version++
	now := a.cfg.Now()
	ap.history = append(ap.history, appVersion{version: ap.version, writtenAt: now, secrets: ap.secrets})
	// Keep the newest entry every read can see, and those after it.
	cutoff := now.Add(-a.cfg.ReadLag)
	first := 0
	for i, v := range ap.history {
		if !v.writtenAt.After(cutoff) {
			first = i
		}
	}
	ap.history = ap.history[first:]
}

// beginWrite gives the app a fresh copy of its secrets map to change, so that
// the maps recorded in the history stay as they were.
func (ap *app) beginWrite() {
	next := make(map[string]*secret, len(ap.secrets)+1)
	for name, s := range ap.secrets {
		next[name] = s
	}
	ap.secrets = next
}

// visible returns the secrets a read sees now: the newest version written at
// least ReadLag ago, or version minVersion if that is newer. The caller holds
// mu and has checked that the app has reached minVersion.
func (a *API) visible(ap *app, minVersion uint64) map[string]*secret {
	return a.visibleVersion(ap, minVersion).secrets
}

// visibleVersion is the version behind visible: what a lagging read (or a
// machine booting) sees now.
func (a *API) visibleVersion(ap *app, minVersion uint64) appVersion {
	cutoff := a.cfg.Now().Add(-a.cfg.ReadLag)
	seen := ap.history[0]
	for _, v := range ap.history {
		if !v.writtenAt.After(cutoff) || v.version <= minVersion {
			seen = v
		}
	}
	return seen
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

func (ap *app) sortedNames() []string { return sortedNames(ap.secrets) }

func sortedNames(secrets map[string]*secret) []string {
	names := make([]string, 0, len(secrets))
	for name := range secrets {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
