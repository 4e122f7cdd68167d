package workers

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
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
	// UploadKeepsSecrets makes a script upload keep the previous version's secrets even when its
	// metadata does not list "secret_text" in keep_bindings. By default such an upload drops
	// them, the unkinder of the two readings of the API (the contract doc says why).
	UploadKeepsSecrets bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnChange, if set, runs after every successful mutation and before the response is written.
	OnChange func()
}

// Mux is where the API registers its routes; *http.ServeMux satisfies it.
type Mux interface {
	Handle(pattern string, handler http.Handler)
}

// The limits the API enforces (see the contract doc for their sources).
const (
	// maxSecretBytes is the documented environment variable size, 5 KB.
	maxSecretBytes = 5 * 1024
	// maxTextBindings is the documented number of environment variables (secrets included) per
	// Worker on the Free plan, the unkinder of the two plans' limits.
	maxTextBindings = 64
	// maxBulkSecrets is how many secrets wrangler's `secret bulk` sends at most in one request.
	maxBulkSecrets = 100
)

var (
	accountIDRE = regexp.MustCompile(`^[0-9a-f]{32}$`)
	// bindingNameRE is the emulator's rule for a secret's name: a JavaScript identifier.
	bindingNameRE = regexp.MustCompile(`^[A-Za-z_$][A-Za-z0-9_$]*$`)
	// scriptNameRE is Cloudflare's rule for a Worker's name.
	scriptNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?$`)
)

// The binding types that hold text a secret command counts against maxTextBindings.
const (
	typeSecretText = "secret_text"
	typeSecretKey  = "secret_key"
	typePlainText  = "plain_text"
	typeJSON       = "json"
	typeInherit    = "inherit"
)

func isSecretType(t string) bool { return t == typeSecretText || t == typeSecretKey }

func isTextType(t string) bool {
	return isSecretType(t) || t == typePlainText || t == typeJSON
}

// API is the emulated Workers scripts API: secrets, uploads, settings, versions and
// deployments. It is safe for concurrent use.
type API struct {
	cfg Config

	mu      sync.Mutex // guards everything below
	seq     uint64     // ids handed out, for deterministic ids
	scripts map[ScriptRef]*script
}

// ScriptRef names a script: Namespace is "" for the account's own Workers, or the Workers for
// Platforms dispatch namespace the script lives in.
type ScriptRef struct {
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

func (r ScriptRef) String() string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

type script struct {
	ref         ScriptRef
	tag         string
	created     time.Time
	modified    time.Time
	compatDate  string
	versions    []*version    // oldest first; number = index + 1
	deployments []*deployment // oldest first
}

type version struct {
	id          string
	number      int
	created     time.Time
	source      string
	annotations map[string]string
	bindings    []binding
}

// binding is one binding of a version. Text holds a secret_text's value or a plain_text's text;
// Extra keeps every other field as sent (a secret_key's key material among them).
type binding struct {
	Name  string
	Type  string
	Text  string
	Extra map[string]json.RawMessage
}

type deployment struct {
	id          string
	created     time.Time
	source      string
	annotations map[string]string
	versions    []traffic
}

type traffic struct {
	versionID  string
	percentage float64
}

// New returns an API with no scripts.
func New(cfg Config) (*API, error) {
	if cfg.Token == "" {
		return nil, fmt.Errorf("workers: an API token is required")
	}
	if !accountIDRE.MatchString(cfg.AccountID) {
		return nil, fmt.Errorf("workers: account id %q is not 32 lowercase hex characters", cfg.AccountID)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &API{cfg: cfg, scripts: map[ScriptRef]*script{}}, nil
}

// Register adds the API's routes to mux: the account's scripts, the same secret, upload and
// settings routes of Workers for Platforms scripts, and the versions API's version-only write.
func (a *API) Register(mux Mux) {
	const base = "/client/v4/accounts/{account_id}/workers"
	route := func(pattern string, h http.HandlerFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		mux.Handle(method+" "+base+path, a.guard(h))
	}
	const namespaced = "/dispatch/namespaces/{dispatch_namespace}/scripts/{script_name}"
	for _, prefix := range []string{"/scripts/{script_name}", namespaced} {
		route("GET "+prefix+"/secrets", a.listSecrets)
		route("PUT "+prefix+"/secrets", a.putSecret)
		route("GET "+prefix+"/secrets/{secret_name}", a.getSecret)
		route("DELETE "+prefix+"/secrets/{secret_name}", a.deleteSecret)
		route("PATCH "+prefix+"/secrets-bulk", a.bulkSecrets)
		route("PUT "+prefix, a.uploadScript)
		route("DELETE "+prefix, a.deleteScript)
		route("GET "+prefix+"/settings", a.getSettings)
		route("PATCH "+prefix+"/settings", a.patchSettings)
	}
	route("POST /scripts/{script_name}/versions", a.uploadVersion)
	route("GET /scripts/{script_name}/versions", a.listVersions)
	route("GET /scripts/{script_name}/versions/{version_id}", a.getVersion)
	route("GET /scripts/{script_name}/deployments", a.listDeployments)
	route("POST /scripts/{script_name}/deployments", a.createDeployment)
	route("PATCH /workers/{script_name}/versions/latest", a.patchLatestVersion)
	mux.Handle(base+"/", a.guard(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errRouteNotFound)
	}))
}

// guard answers 403 for a bad token and 7003 for an unknown account, then hands over to next.
// These are the rules of the emulator's Secrets Store routes.
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
		next(w, r)
	})
}

func (a *API) authorized(header string) bool {
	return wire.BearerIn(header, append([]string{a.cfg.Token}, a.cfg.OtherTokens...)...)
}

// refOf is the script a request names.
func refOf(r *http.Request) ScriptRef {
	return ScriptRef{Namespace: r.PathValue("dispatch_namespace"), Name: r.PathValue("script_name")}
}

// lookup returns the script a request names. Callers hold mu.
func (a *API) lookup(r *http.Request) (*script, *apiError) {
	s := a.scripts[refOf(r)]
	if s == nil {
		return nil, errScriptNotFound
	}
	return s, nil
}

// Reset removes every script.
func (a *API) Reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.scripts = map[ScriptRef]*script{}
	a.seq = 0
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

// nextHash is the next deterministic id's hash: the same calls in the same order give the same
// ids. Callers hold mu.
func (a *API) nextHash(kind string) [32]byte {
	a.seq++
	return sha256.Sum256([]byte(fmt.Sprintf("%s/%s/%d", a.cfg.AccountID, kind, a.seq)))
}

// newUUID returns a deterministic id in the UUID form versions and deployments have.
func (a *API) newUUID(kind string) string {
	h := a.nextHash(kind)
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	x := hex.EncodeToString(h[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}

// newTag returns a deterministic 32-character hex tag, as scripts have.
func (a *API) newTag() string {
	h := a.nextHash("tag")
	return hex.EncodeToString(h[:16])
}
