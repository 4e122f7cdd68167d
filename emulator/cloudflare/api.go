package cloudflare

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/internal/wire"
)

// Config configures an API.
type Config struct {
	// Token is the API token accepted as "Authorization: Bearer <token>".
	Token string
	// OtherTokens are accepted as Token is: more tokens of the same user.
	OtherTokens []string
	// AccountID is the one account that exists (32 lowercase hex characters).
	AccountID string
	// ActivationDelay is how long a new secret stays "pending".
	ActivationDelay time.Duration
	// ListLag is how long a new secret is missing from lists (GET by id shows it at once):
	// Cloudflare's lists are eventually consistent.
	ListLag time.Duration
	// DeletedLinger is how long a deleted secret still shows in lists, with status "deleted"
	// (GET by id answers 404 at once; its name is free, it counts for nothing).
	DeletedLinger time.Duration
	// EmptyAccount starts the account with no store, as an account that never
	// used Secrets Store. By default the account holds "default_secrets_store"
	// from the start (and again after Reset), as every account that has used
	// Secrets Store does.
	EmptyAccount bool
	// AutoCreateStore, with EmptyAccount, creates "default_secrets_store" on
	// the first request, as the dashboard and wrangler do on first use.
	AutoCreateStore bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnChange, if set, runs after every successful mutation and before the
	// response is written.
	OnChange func()
}

// Mux is where the API registers its routes; *http.ServeMux satisfies it.
type Mux interface {
	Handle(pattern string, handler http.Handler)
}

// DefaultStoreName is the store Cloudflare creates when Secrets Store is first
// used.
const DefaultStoreName = "default_secrets_store"

var accountIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)

// API is the emulated Secrets Store API. It is safe for concurrent use.
type API struct {
	cfg Config

	mu       sync.Mutex // guards accounts and everything under it
	accounts map[string]*account
}

type account struct {
	id               string
	stores           map[string]*store // by id
	autoStoreCreated bool
}

type store struct {
	id       string
	name     string
	created  time.Time
	modified time.Time
	secrets  map[string]*secret // by id
	// deleted are secrets deleted within Config.DeletedLinger, oldest first, for lists.
	deleted []*secret
}

type secret struct {
	id       string
	name     string
	value    string
	comment  string
	scopes   []string // sorted
	created  time.Time
	modified time.Time
	activeAt time.Time
	// deletedAt is when it was deleted (zero while it exists).
	deletedAt time.Time
}

// New returns an API whose account holds its default store, or nothing with
// EmptyAccount.
func New(cfg Config) (*API, error) {
	if cfg.Token == "" {
		return nil, fmt.Errorf("cloudflare: an API token is required")
	}
	if !accountIDRE.MatchString(cfg.AccountID) {
		return nil, fmt.Errorf("cloudflare: account id %q is not 32 lowercase hex characters", cfg.AccountID)
	}
	if cfg.ActivationDelay < 0 {
		return nil, fmt.Errorf("cloudflare: negative activation delay")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &API{cfg: cfg}
	a.Reset()
	return a, nil
}

// Register adds the API's routes to mux.
func (a *API) Register(mux Mux) {
	const base = "/client/v4/accounts/{account_id}/secrets_store"
	route := func(method, path string, h http.HandlerFunc) {
		mux.Handle(method+" "+base+path, a.guard(h))
	}
	route("GET", "/stores", a.listStores)
	route("POST", "/stores", a.createStore)
	route("GET", "/stores/{store_id}", a.getStore)
	route("DELETE", "/stores/{store_id}", a.deleteStore)
	route("GET", "/stores/{store_id}/secrets", a.listSecrets)
	route("POST", "/stores/{store_id}/secrets", a.createSecrets)
	route("DELETE", "/stores/{store_id}/secrets", a.bulkDeleteSecrets)
	route("GET", "/stores/{store_id}/secrets/{secret_id}", a.getSecret)
	route("PATCH", "/stores/{store_id}/secrets/{secret_id}", a.editSecret)
	route("DELETE", "/stores/{store_id}/secrets/{secret_id}", a.deleteSecret)
	route("POST", "/stores/{store_id}/secrets/{secret_id}/duplicate", a.duplicateSecret)
	route("GET", "/quota", a.quota)
	mux.Handle(base+"/", a.guard(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errNotFound)
	}))
	mux.Handle("/client/v4/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errRouteNotFound)
	}))
}

// guard answers 403 for a bad token and 7003 for an unknown account, creates
// the default store on first use if configured, then hands over to next.
func (a *API) guard(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.authorized(r.Header.Get("Authorization")) {
			writeError(w, errAuthentication)
			return
		}
		if r.PathValue("account_id") != a.cfg.AccountID {
			writeError(w, errUnknownAccount(r.URL.Path))
			return
		}
		if a.cfg.AutoCreateStore && a.autoCreateStore() {
			a.changed()
		}
		next(w, r)
	})
}

func (a *API) authorized(header string) bool {
	return wire.BearerIn(header, append([]string{a.cfg.Token}, a.cfg.OtherTokens...)...)
}

// Accepts reports whether an Authorization header carries a token of the account's user.
func (a *API) Accepts(header string) bool { return a.authorized(header) }

// autoCreateStore creates the default store once per account; it reports
// whether it did.
func (a *API) autoCreateStore() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	acct := a.account()
	if acct.autoStoreCreated {
		return false
	}
	acct.autoStoreCreated = true
	if len(acct.stores) == 0 {
		acct.addStore(DefaultStoreName, a.now())
	}
	return true
}

// account returns the configured account, creating it empty. Callers hold mu.
func (a *API) account() *account {
	acct, ok := a.accounts[a.cfg.AccountID]
	if !ok {
		acct = &account{id: a.cfg.AccountID, stores: map[string]*store{}}
		a.accounts[a.cfg.AccountID] = acct
	}
	return acct
}

func (acct *account) addStore(name string, now time.Time) *store {
	st := &store{id: newID(), name: name, created: now, modified: now, secrets: map[string]*secret{}}
	acct.stores[st.id] = st
	return st
}

func (acct *account) secretCount() int {
	n := 0
	for _, st := range acct.stores {
		n += len(st.secrets)
	}
	return n
}

// Reset removes every account's stores and secrets; the account then holds
// its default store again, unless Config.EmptyAccount.
func (a *API) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.accounts = map[string]*account{}
	if !a.cfg.EmptyAccount {
		a.account().addStore(DefaultStoreName, a.now())
	}
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

// newID returns a random 32-character lowercase hex id.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
