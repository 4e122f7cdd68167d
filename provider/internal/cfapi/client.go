// Package cfapi is a thin wrapper over cloudflare-go's secrets_store service: it owns the
// retry policy, turns the SDK's responses into small plain structs, and turns its errors
// into an APIError the provider can match on (codes are shared between errors, so matching
// is on the message, as docs/contract-cloudflare-secrets-store.md says).
//
// The SDK's own retries are off: it would repeat creates blindly (a create whose answer was
// lost then fails as "already exists"), sleep any Retry-After, and retry 409s. Here reads and
// idempotent writes are retried for a time budget with Retry-After capped, and creates are
// recovered by looking them up (see CreateSecrets). Every wait is told to Options.Notify.
//
// Only the secrets_store and option packages of cloudflare-go are imported: the SDK's root
// package links every Cloudflare service into the binary.
package cfapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/option"
	"github.com/cloudflare/cloudflare-go/v7/secrets_store"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/backoff"
)

// DefaultBaseURL is Cloudflare's v4 API.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4"

// Client talks to one account's Secrets Store. It is safe for concurrent use.
type Client struct {
	accountID string
	baseURL   string
	tokenKey  string // the token's hash: what coalesced calls are shared by
	shared    *Shared
	// coordinated: creates coalesce and reads share listings with the Shared's other clients.
	coordinated bool
	svc         *secrets_store.SecretsStoreService
	// token and httpClient serve the Workers routes, which cfapi calls over plain HTTP
	// (workers.go): cloudflare-go's workers package would link much of the SDK.
	token      string
	httpClient *http.Client
	retry      Options
	now        func() time.Time
	sleep      func(ctx context.Context, d time.Duration) error
}

// WaitNotifier is told of every wait before it is taken: how long, and why, so that long
// operations are never silent.
type WaitNotifier func(ctx context.Context, wait time.Duration, why string)

// Options tune a Client. The zero value is production-ready.
type Options struct {
	// RetryBudget is how long a failing request is retried, measured from its first attempt
	// (default 2 minutes; negative disables retrying).
	RetryBudget time.Duration
	// MinBackoff and MaxBackoff bound the exponential backoff between attempts (defaults
	// 500ms and 8s). MaxBackoff also caps a server's Retry-After on a 5xx: cloudflare-go would
	// sleep whatever it says.
	MinBackoff, MaxBackoff time.Duration
	// RateLimitWait is how long in all a request with no deadline of its own waits for
	// Cloudflare's rate limit (default DefaultRateLimitWait); with a deadline, the deadline
	// decides. Rate-limit waits are paced from the API's Ratelimit headers (see ratelimit.go)
	// and are not bounded by RetryBudget or MaxBackoff: a lockout lasts minutes.
	RateLimitWait time.Duration
	// HTTPClient replaces the SDK's default client (tests, proxies).
	HTTPClient *http.Client
	// RequestTimeout bounds each attempt (default 60s).
	RequestTimeout time.Duration
	// UserAgent is sent with every request when set.
	UserAgent string
	// Notify is told of every wait.
	Notify WaitNotifier
	// Shared, when set, makes the CreateSecrets calls into one store of every client of the
	// provider instance with the same API URL, token and account that arrive together one
	// create call (the endpoint takes an array): one call is in flight per store at a time, and
	// the next takes every call that queued meanwhile, once no operation that entered the store
	// (Begin) may still bring one, and once as many have queued as the last call took (within
	// Shared.Grace of quiet; see coalesce.Batcher). Each caller gets its own secrets back. A
	// call the API refuses for its content (a name taken, a bad value: the API validates a whole
	// call before creating any) is sent again caller by caller, so that one caller's failure is
	// not its neighbours'. Reads (LookUpSecret) then share one listing per store.
	Shared *Shared
	// ActivePoll is AwaitActive's first wait between listings (default 100ms; it doubles up to
	// a second); ActiveWait how long it waits in all (default 30s).
	ActivePoll, ActiveWait time.Duration
}

// New returns a client for accountID. baseURL "" means DefaultBaseURL.
func New(baseURL, token, accountID string, opts Options) *Client {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	baseURL = strings.TrimRight(baseURL, "/")
	if opts.RetryBudget == 0 {
		opts.RetryBudget = 2 * time.Minute
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 8 * time.Second
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = min(500*time.Millisecond, opts.MaxBackoff)
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.MinBackoff)
	if opts.RateLimitWait <= 0 {
		opts.RateLimitWait = DefaultRateLimitWait
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 60 * time.Second
	}
	if opts.Notify == nil {
		opts.Notify = func(context.Context, time.Duration, string) {}
	}
	if opts.ActivePoll <= 0 {
		opts.ActivePoll = 100 * time.Millisecond
	}
	if opts.ActiveWait <= 0 {
		opts.ActiveWait = 30 * time.Second
	}
	reqOpts := []option.RequestOption{
		option.WithBaseURL(baseURL + "/"),
		option.WithAPIToken(token),
		// Retries are this package's (see call): the SDK would retry creates blindly, sleep
		// any Retry-After and retry 409s.
		option.WithMaxRetries(0),
		option.WithRequestTimeout(opts.RequestTimeout),
	}
	if opts.HTTPClient != nil {
		reqOpts = append(reqOpts, option.WithHTTPClient(opts.HTTPClient))
	}
	if opts.UserAgent != "" {
		reqOpts = append(reqOpts, option.WithHeader("User-Agent", opts.UserAgent))
	}
	coordinated := opts.Shared != nil
	if !coordinated {
		opts.Shared = &Shared{} // the client's own: it shares nothing
	}
	return &Client{
		accountID:   accountID,
		baseURL:     baseURL,
		tokenKey:    tokenKey(token),
		shared:      opts.Shared,
		coordinated: coordinated,
		svc:         secrets_store.NewSecretsStoreService(reqOpts...),
		token:       token,
		httpClient:  cmpOr(opts.HTTPClient, http.DefaultClient),
		retry:       opts,
		now:         time.Now,
		sleep:       backoff.Sleep,
	}
}

// AccountID is the account this client addresses.
func (c *Client) AccountID() string { return c.accountID }

// requestKind says how a failed request may be repeated.
type requestKind int

const (
	// idempotent requests (reads, PATCH with full values, DELETE) are retried on any
	// transient failure: repeating one that was applied changes nothing (a repeated DELETE
	// answers 404, which callers take as gone).
	idempotent requestKind = iota
	// creates are repeated only when they provably were not applied (429, a refused
	// connection). Any other failure may hide an applied create, and comes back as
	// outcome-unknown for the caller to look up.
	nonIdempotent
)

// answer is what the server said to one attempt, read from its response.
type answer struct {
	status     int           // 0: no answer
	retryAfter time.Duration // the server's wait, -1 when it gave none
	date       time.Time     // the server's clock (Date header); zero when absent
	received   time.Time     // local time the answer came
}

// call runs attempt, retrying as kind allows within the budget. attempt gets the request option
// that captures the response.
func (c *Client) call(ctx context.Context, op string, kind requestKind,
	attempt func(ctx context.Context, capture option.RequestOption) error,
) (answer, error) {
	return c.retrying(ctx, op, kind, func(ctx context.Context) (*http.Response, error) {
		var res *http.Response
		err := attempt(ctx, option.WithResponseInto(&res))
		return res, wrap(op, err)
	})
}

// retrying runs attempt, retrying as kind allows within the budget: the one retry policy of the
// SDK's calls (call) and of the plain HTTP calls of the Workers routes (workersCall). attempt
// returns the response it got (nil when none) and its error, already wrapped.
func (c *Client) retrying(ctx context.Context, op string, kind requestKind,
	attempt func(ctx context.Context) (*http.Response, error),
) (answer, error) {
	start := c.now()
	for n := 1; ; n++ {
		if err := c.awaitRateLimit(ctx, op, start); err != nil {
			return answer{retryAfter: -1}, err
		}
		res, err := attempt(ctx)
		got := c.read(res)
		if res != nil {
			c.shared.gauge(c.gaugeKey()).observe(res.Header, got.status, got.received, got.retryAfter)
		}
		if err == nil {
			return got, nil
		}
		if ctx.Err() != nil {
			return got, err
		}
		why, retry := retryReason(kind, got.status, err)
		if !retry {
			if why != "" { // a create that may have been applied
				return got, &OutcomeUnknownError{Op: op, Err: err}
			}
			return got, err
		}
		if got.status == http.StatusTooManyRequests && c.retry.RetryBudget >= 0 {
			continue // the gauge holds the refusal's wait: awaitRateLimit takes it, told, bounded by ctx
		}
		wait := backoff.Jittered(n, c.retry.MinBackoff, c.retry.MaxBackoff)
		if got.retryAfter >= 0 {
			wait = got.retryAfter
		}
		wait = min(wait, c.retry.MaxBackoff)
		if c.retry.RetryBudget < 0 || c.now().Sub(start)+wait > c.retry.RetryBudget {
			return got, err
		}
		c.retry.Notify(ctx, wait, why)
		if serr := c.sleep(ctx, wait); serr != nil {
			return got, fmt.Errorf("%w (stopped retrying: %w)", err, serr)
		}
	}
}

// retryReason says why a failure is transient (why is "" when it is not) and whether a request
// of this kind may be repeated. A transient failure of a create that may have been applied
// gives a reason and retry false.
func retryReason(kind requestKind, status int, err error) (why string, retry bool) {
	switch {
	case status == http.StatusTooManyRequests:
		return "Cloudflare rate limit", true // a limited request was not applied
	case status == 0 && isRefused(err):
		return "Cloudflare refused the connection", true
	case status == 0, status == http.StatusRequestTimeout, status >= 500:
		why = "no answer from Cloudflare"
		if status != 0 {
			why = fmt.Sprintf("Cloudflare answered %d", status)
		}
		return why, kind == idempotent
	}
	return "", false
}

// isRefused reports a connection that was never made: the request was not sent.
func isRefused(err error) bool {
	var opErr *net.OpError
	return errors.Is(err, syscall.ECONNREFUSED) || (errors.As(err, &opErr) && opErr.Op == "dial")
}

// read takes what the retry policy and create recovery need from a response.
func (c *Client) read(res *http.Response) answer {
	got := answer{retryAfter: -1, received: c.now()}
	if res == nil {
		return got
	}
	got.status = res.StatusCode
	if d, err := http.ParseTime(res.Header.Get("Date")); err == nil {
		got.date = d
	}
	if v := strings.TrimSpace(res.Header.Get("Retry-After")); v != "" {
		if seconds, err := strconv.ParseFloat(v, 64); err == nil && seconds >= 0 {
			got.retryAfter = time.Duration(min(seconds, 86400) * float64(time.Second))
		} else if when, err := http.ParseTime(v); err == nil {
			got.retryAfter = max(when.Sub(c.now()), 0)
		}
	}
	return got
}

// OutcomeUnknownError is a create that got no definite answer (a dropped connection, a 5xx
// from a proxy): it may have been applied.
type OutcomeUnknownError struct {
	Op  string
	Err error
}

func (e *OutcomeUnknownError) Error() string {
	return e.Err.Error() + " (the create may have been applied)"
}

func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// Codes the provider reads. Cloudflare shares codes between errors (1003 is a taken name, the
// account's store limit and its secrets quota alike) and its message texts are not a contract:
// they change, and may carry the name or other detail. So an error is classified by the request
// that got it, its HTTP status and its code, never by its text, and where a class still covers
// more than one cause, the caller confirms from a listing which it was.
const (
	codeAuthenticationFail = 10000
	codeNotFound           = 1000
	codeInvalidAccount     = 7003
	// codeRefusedByState is Cloudflare's answer to a request the store's state refuses: a
	// name taken, the one store per account, the secrets quota.
	codeRefusedByState = 1003
)

// Call is the kind of request an APIError answers, for the errors whose meaning depends on it.
type Call int

const (
	CallOther Call = iota
	CallCreateSecrets
	CallCreateStore
	CallDeleteStore
)

// APIError is a failed call: what was attempted, the HTTP status and the API's errors.
// It never carries a request body, so no secret value can leak through it.
type APIError struct {
	Op         string // e.g. `create secret "API_KEY" in store 0123...`
	Call       Call
	StatusCode int
	Errors     []ErrorDetail
}

// ErrorDetail is one entry of the envelope's "errors".
type ErrorDetail struct {
	Code    int64
	Message string
}

func (e *APIError) Error() string {
	parts := make([]string, 0, len(e.Errors))
	for _, d := range e.Errors {
		parts = append(parts, fmt.Sprintf("%s (code %d)", d.Message, d.Code))
	}
	detail := strings.Join(parts, "; ")
	if detail == "" {
		detail = http.StatusText(e.StatusCode)
	}
	return fmt.Sprintf("cloudflare: %s: %d %s", e.Op, e.StatusCode, detail)
}

// hasCode reports whether any of the API's errors carries code.
func (e *APIError) hasCode(code int64) bool {
	for _, d := range e.Errors {
		if d.Code == code {
			return true
		}
	}
	return false
}

// asAPIError is err's APIError, if it has one.
func asAPIError(err error) (*APIError, bool) {
	var apiErr *APIError
	return apiErr, errors.As(err, &apiErr)
}

// answering tags err, when it is an APIError, with the request it answers.
func answering(call Call, err error) error {
	if apiErr, ok := asAPIError(err); ok {
		apiErr.Call = call
	}
	return err
}

// refusedByState reports a create of call's kind refused for its content (refusedForContent)
// with codeRefusedByState.
func refusedByState(err error, call Call) bool {
	apiErr, ok := asAPIError(err)
	return ok && apiErr.Call == call && apiErr.hasCode(codeRefusedByState) && refusedForContent(err)
}

// NameMayBeTaken reports a create of secrets refused as a taken name would be. The same answer
// means the account's secrets quota is reached, so the caller lists the store to see whether a
// name it asked for is there; if none is, the error is the quota's and stands as it is.
func NameMayBeTaken(err error) bool { return refusedByState(err, CallCreateSecrets) }

// StoreLimitReached reports a create of a store refused as the account's one-store limit is.
// The caller confirms from the store listing that a store exists.
func StoreLimitReached(err error) bool { return refusedByState(err, CallCreateStore) }

// StoreNotEmpty reports a delete of a store refused because the store still holds secrets
// (409 Conflict: Cloudflare deletes a store with secrets only when forced).
func StoreNotEmpty(err error) bool {
	apiErr, ok := asAPIError(err)
	return ok && apiErr.Call == CallDeleteStore && apiErr.StatusCode == http.StatusConflict
}

// IsNotFound reports whether err says the store or secret does not exist. An unknown or
// unreachable account also answers 404 (code 7003), but says nothing about the secret: it
// must fail loudly, or a mistyped account would make a refresh drop every resource.
func IsNotFound(err error) bool {
	apiErr, ok := asAPIError(err)
	if !ok || apiErr.hasCode(codeInvalidAccount) {
		return false
	}
	return apiErr.StatusCode == http.StatusNotFound || apiErr.hasCode(codeNotFound)
}

// IsUnauthorized reports whether the token was refused.
func IsUnauthorized(err error) bool {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	if apiErr.StatusCode == http.StatusUnauthorized || apiErr.StatusCode == http.StatusForbidden {
		return true
	}
	for _, d := range apiErr.Errors {
		if d.Code == codeAuthenticationFail {
			return true
		}
	}
	return false
}

// wrap turns an SDK error into an APIError naming the operation. Transport errors keep
// their text (the SDK's do not include request bodies) behind the operation.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var sdkErr *secrets_store.Error
	if errors.As(err, &sdkErr) {
		apiErr := &APIError{Op: op, StatusCode: sdkErr.StatusCode}
		for _, d := range sdkErr.Errors {
			apiErr.Errors = append(apiErr.Errors, ErrorDetail{Code: d.Code, Message: d.Message})
		}
		return apiErr
	}
	return fmt.Errorf("cloudflare: %s: %w", op, err)
}

// cmpOr is the first non-nil of its arguments.
func cmpOr[T any](values ...*T) *T {
	for _, v := range values {
		if v != nil {
			return v
		}
	}
	return nil
}
