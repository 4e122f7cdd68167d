package flyapi

import (
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

// paceMargin keeps clients a little under the documented rate: requests reach the server with
// some jitter, and one that arrives a few milliseconds early meets an empty bucket.
const paceMargin = 0.9

// Defaults of SharedOptions.
const (
	// DefaultUnsetFreshness bounds how old the listing behind an unset may be: a write another
	// process made since it was taken is invisible to it, so it must be recent (see desk).
	DefaultUnsetFreshness = 20 * time.Second
	// DefaultListingMaxAge bounds how old a listing serves reads and create checks.
	DefaultListingMaxAge = time.Minute
)

// SharedOptions configure a Shared.
type SharedOptions struct {
	// PerSecond and Burst pace each app and action (0 PerSecond: no pacing). A desk's bulk writes
	// take no burst: a write waits for Fly's sustained rate after the first, and the operations
	// arriving meanwhile join it.
	PerSecond float64
	Burst     int
	// ReadLag is how long after a write a read may miss it (default defaultReadLag).
	ReadLag time.Duration
	// UnsetFreshness bounds the age of the listing an unset is decided from
	// (DefaultUnsetFreshness).
	UnsetFreshness time.Duration
	// ListingMaxAge bounds the age of the listing a read or a create check is served from
	// (DefaultListingMaxAge).
	ListingMaxAge time.Duration
	// Keep, when set, names another resource of the program that declares the app's secret
	// name, for a write by owner: an unset of it is then dropped (the declaring resource writes
	// it). What a program declares may only keep a secret, never remove one.
	Keep func(app, name, owner string) (declaredBy string)
}

// FlyPacing is Fly's documented limit with the margin: what the provider paces to.
func FlyPacing() SharedOptions {
	return SharedOptions{PerSecond: FlyRequestsPerSecond * paceMargin, Burst: FlyRequestBurst}
}

// Shared is what the Clients of one provider instance share about the apps they talk to: a rate
// limiter per app and action, so that concurrent clients (the engine runs resources in parallel)
// queue within Fly's rate limit instead of racing into it; the newest secrets version each app
// has answered with; the operations in flight per app (InFlight); and one desk per app, which
// makes every write and serves every read of the clients that coordinate (see desk). Nothing
// here outlives the instance. It is safe for concurrent use.
type Shared struct {
	opts SharedOptions

	mu   sync.Mutex
	apps map[string]*appShared

	// InFlight is what the instance's operations are on their way to do, by app (desk key).
	InFlight coalesce.InFlight
	desks    coalesce.Keyed[desk]
}

type appShared struct {
	limiters map[string]*rate.Limiter // by action: "set", "get", "list", ...
	version  int64                    // the newest secrets version a write answered
	wroteAt  time.Time                // when that answer came (local clock)
}

// NewShared returns a Shared with o's settings, defaults filled in.
func NewShared(o SharedOptions) *Shared {
	if o.Burst < 1 {
		o.Burst = 1
	}
	if o.ReadLag <= 0 {
		o.ReadLag = defaultReadLag
	}
	if o.UnsetFreshness <= 0 {
		o.UnsetFreshness = DefaultUnsetFreshness
	}
	if o.ListingMaxAge <= 0 {
		o.ListingMaxAge = DefaultListingMaxAge
	}
	return &Shared{opts: o, apps: map[string]*appShared{}}
}

// ConfirmDelay is how long after a takeover's write its confirmation listing is asked for: by
// then an unset another process decided before it could see the write (from a listing at most
// UnsetFreshness old, a read lag behind) has been made and shows (another read lag).
func (s *Shared) ConfirmDelay() time.Duration { return 2*s.opts.ReadLag + s.opts.UnsetFreshness }

// deskKey names one app at one API: the key of its desk and of its operations in InFlight.
func deskKey(baseURL, app string) string { return baseURL + " " + app }

func (s *Shared) app(baseURL, app string) *appShared {
	key := deskKey(baseURL, app)
	a, ok := s.apps[key]
	if !ok {
		a = &appShared{limiters: map[string]*rate.Limiter{}}
		s.apps[key] = a
	}
	return a
}

// actionBulkWrite is the bulk write's name in the rate limit (Fly limits each action). A desk's
// bulk writes are paced without a burst (see SharedOptions.PerSecond).
const actionBulkWrite = "update"

// reserve books the next request slot for app and action and says how long to wait for it; cancel
// gives the slot back (the caller gave up waiting). ok is false when pacing is off.
func (s *Shared) reserve(baseURL, app, action string, now time.Time) (wait time.Duration, cancel func(), ok bool) {
	if s.opts.PerSecond <= 0 || app == "" {
		return 0, nil, false
	}
	s.mu.Lock()
	a := s.app(baseURL, app)
	lim, found := a.limiters[action]
	if !found {
		burst := s.opts.Burst
		if action == actionBulkWrite {
			burst = 1
		}
		lim = rate.NewLimiter(rate.Limit(s.opts.PerSecond), burst)
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

// forgetVersion drops the version written to app, if it is at most version: reads asked for
// it in vain.
func (s *Shared) forgetVersion(baseURL, app string, version int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.app(baseURL, app); a.version <= version {
		a.version = 0
	}
}

// lastWrite returns the newest version written to app in this instance and when, or zeros.
func (s *Shared) lastWrite(baseURL, app string) (version int64, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.app(baseURL, app)
	return a.version, a.wroteAt
}

// KnownVersion is the newest secrets version of the app that this instance has seen a write
// answer with (0 when none). The list endpoint reports no version, so this is the best lower
// bound of the app's version a reader has.
func (c *Client) KnownVersion(app string) int64 {
	version, _ := c.shared.lastWrite(c.baseURL, app)
	return version
}
