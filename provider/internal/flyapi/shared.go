package flyapi

import (
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/coalesce"
)

// Fly's documented Machines API limit: about 1 request per second per action per app, with
// bursts of 3. Clients pace themselves to it so that a stack of many secrets on one app queues
// instead of failing with 429s.
const (
	FlyRequestsPerSecond = 1.0
	FlyRequestBurst      = 3
)

// Shared is what every Client of one process shares about the apps it talks to: a rate limiter
// per app and action, so that concurrent clients (the engine runs resources in parallel) queue
// within Fly's rate limit instead of racing into it, and the newest secrets version each app has
// answered with, so that reads ask for it (Fly's reads are eventually consistent). It is keyed by
// API URL and app, and safe for concurrent use.
type Shared struct {
	perSecond rate.Limit
	burst     int

	mu   sync.Mutex
	apps map[string]*appShared

	// started is when this Shared was made: the provider process's start for the default one.
	// A listing fetched a read lag after it shows every write made before it, which is what
	// versions read from state are (see listing).
	started time.Time
	// writeQueues and listings serve clients WithCoalescing, by API URL, token and app.
	writeQueues coalesce.Keyed[writeQueue]
	listings    coalesce.Keyed[listing]
	begun       map[string]time.Time // by API URL: BeginOperation
}

type appShared struct {
	limiters map[string]*rate.Limiter // by action: "set", "get", "list", ...
	version  int64                    // the newest secrets version a write answered
	wroteAt  time.Time                // when that answer came (local clock)
}

// NewShared returns a Shared that paces each app and action to perSecond requests with bursts of
// burst. perSecond <= 0 turns pacing off.
func NewShared(perSecond float64, burst int) *Shared {
	return &Shared{
		perSecond: rate.Limit(perSecond),
		burst:     max(burst, 1),
		apps:      map[string]*appShared{},
		started:   time.Now(),
		begun:     map[string]time.Time{},
	}
}

// paceMargin keeps clients a little under the documented rate: requests reach the server with
// some jitter, and one that arrives a few milliseconds early meets an empty bucket.
const paceMargin = 0.9

// defaultShared serves every Client that is not given one: one process, one view of each app.
var defaultShared = NewShared(FlyRequestsPerSecond*paceMargin, FlyRequestBurst)

// BeginOperation tells the clients that share the default Shared that an operation begins at
// the API at baseURL: the listings of its apps are dropped, and the operation's start is when
// versions read from state were already answered (see listing). Pacing and the versions
// written are kept. A provider process serves one operation: it calls this once, when it is
// configured; a program that serves several in one process calls it before each.
func BeginOperation(baseURL string) { defaultShared.BeginOperation(baseURL) }

// BeginOperation is the package's BeginOperation for this Shared.
func (s *Shared) BeginOperation(baseURL string) {
	baseURL = strings.TrimRight(strings.TrimSpace(baseURL), "/")
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	s.mu.Lock()
	s.begun[baseURL] = time.Now()
	s.mu.Unlock()
	s.listings.DropPrefix(baseURL + "\x00")
}

// operationStart is when the current operation at baseURL began: BeginOperation's time, or the
// Shared's making.
func (s *Shared) operationStart(baseURL string) time.Time {
	if at, ok := s.begun[baseURL]; ok {
		return at
	}
	return s.started
}

func (s *Shared) app(baseURL, app string) *appShared {
	key := baseURL + " " + app
	a, ok := s.apps[key]
	if !ok {
		a = &appShared{limiters: map[string]*rate.Limiter{}}
		s.apps[key] = a
	}
	return a
}

// reserve books the next request slot for app and action and says how long to wait for it; cancel
// gives the slot back (the caller gave up waiting). ok is false when pacing is off.
func (s *Shared) reserve(baseURL, app, action string, now time.Time) (wait time.Duration, cancel func(), ok bool) {
	if s.perSecond <= 0 || app == "" {
		return 0, nil, false
	}
	s.mu.Lock()
	a := s.app(baseURL, app)
	lim, found := a.limiters[action]
	if !found {
		lim = rate.NewLimiter(s.perSecond, s.burst)
		a.limiters[action] = lim
	}
	s.mu.Unlock()
	r := lim.ReserveN(now, 1)
	return r.DelayFrom(now), func() { r.CancelAt(now) }, true
}

// wrote records the secrets version a write to app answered with.
func (s *Shared) wrote(baseURL, app string, version int64, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(baseURL, app)
	a.version = max(a.version, version)
	a.wroteAt = now
}

// lastWrite returns the newest version written to app in this process and when, or zeros.
func (s *Shared) lastWrite(baseURL, app string) (version int64, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(baseURL, app)
	return a.version, a.wroteAt
}

// KnownVersion is the newest secrets version of the app that this process has seen a write
// answer with (0 when none). The list endpoint reports no version, so this is the best lower
// bound of the app's version a reader has.
func (c *Client) KnownVersion(app string) int64 {
	version, _ := c.shared.lastWrite(c.baseURL, app)
	return version
}
