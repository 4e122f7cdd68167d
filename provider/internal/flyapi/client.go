package flyapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/edgesecrets/pulumi-edgesecrets/provider/internal/backoff"
)

// DefaultBaseURL is the public Fly Machines API. FLY_FLAPS_BASE_URL overrides it in flyctl;
// callers pass that value to New.
const DefaultBaseURL = "https://api.machines.dev"

const (
	defaultUserAgent      = "pulumi-edgesecrets (flyapi)"
	defaultAttemptTimeout = 60 * time.Second

	// The retry budget outlasts Fly's rate limit for a busy app: a request that keeps meeting
	// 429s, 409s or 5xx is retried for this long (measured from its first attempt) before the
	// error is returned.
	defaultRetryBudget = 2 * time.Minute
	defaultMinBackoff  = 250 * time.Millisecond
	defaultMaxBackoff  = 8 * time.Second

	// defaultReadLag is how long after a write a read may still miss it: Fly's reads are
	// eventually consistent (docs/contract-fly.md, "Read consistency"). A 404 within it is retried.
	defaultReadLag = 2 * time.Second

	maxResponseBytes  = 16 << 20
	maxErrorBodyBytes = 64 << 10
	maxErrorTextRunes = 300
)

// Client calls the Fly Machines API secrets endpoints. It is safe for concurrent use.
type Client struct {
	baseURL        string
	authorization  string   // ready-made Authorization header value, "" for none
	tokenSecrets   []string // forms of the token scrubbed from server text
	userAgent      string
	httpClient     *http.Client
	attemptTimeout time.Duration
	retry          retryPolicy
	readLag        time.Duration
	shared         *Shared
	notify         WaitNotifier
	// coordinated: reads and Writes go through the app's desk (WithDesk).
	coordinated bool
	// now and sleep are the clock; tests replace them to record waits instead of taking them.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

type retryPolicy struct {
	budget     time.Duration // how long a request is retried; 0 disables retrying
	minBackoff time.Duration
	maxBackoff time.Duration
}

// WaitNotifier is told of every wait before it is taken: how long, and why (e.g. "Fly.io rate
// limit for app \"my-app\""), so that long operations are never silent.
type WaitNotifier func(ctx context.Context, wait time.Duration, why string)

// Option configures a Client.
type Option func(*Client)

// New returns a client for the API at baseURL ("" means DefaultBaseURL), authenticating with
// token as AuthorizationHeader describes.
func New(baseURL, token string, opts ...Option) *Client {
	baseURL = strings.TrimRight(strings.TrimSpace(baseURL), "/")
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	c := &Client{
		baseURL:        baseURL,
		authorization:  AuthorizationHeader(token),
		tokenSecrets:   tokenSecrets(token),
		userAgent:      defaultUserAgent,
		httpClient:     http.DefaultClient,
		attemptTimeout: defaultAttemptTimeout,
		retry: retryPolicy{
			budget:     defaultRetryBudget,
			minBackoff: defaultMinBackoff,
			maxBackoff: defaultMaxBackoff,
		},
		readLag: defaultReadLag,
		notify:  func(context.Context, time.Duration, string) {},
		now:     time.Now,
		sleep:   backoff.Sleep,
	}
	for _, opt := range opts {
		opt(c)
	}
	if c.shared == nil {
		o := FlyPacing()
		o.ReadLag = c.readLag
		c.shared = NewShared(o)
	}
	return c
}

// WithHTTPClient sets the HTTP client (for proxies or custom transports). Its own Timeout, if
// any, applies on top of the per-attempt timeout (WithAttemptTimeout). nil keeps the default.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.httpClient = hc
		}
	}
}

// WithAttemptTimeout bounds each attempt of a request (default 60s); an attempt that times out
// is retried like a dropped connection. d <= 0 keeps the default.
func WithAttemptTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.attemptTimeout = d
		}
	}
}

// WithRetries sets how long a failing request is retried, measured from its first attempt
// (budget 0 disables retrying), and the bounds of the exponential backoff between attempts.
// Defaults: 2 minutes, 250ms doubling up to 8s, with jitter. maxBackoff also caps a server's
// Retry-After, so that one answer cannot stall an operation silently.
func WithRetries(budget, minBackoff, maxBackoff time.Duration) Option {
	return func(c *Client) {
		if minBackoff <= 0 {
			minBackoff = defaultMinBackoff
		}
		if maxBackoff < minBackoff {
			maxBackoff = minBackoff
		}
		c.retry = retryPolicy{budget: max(budget, 0), minBackoff: minBackoff, maxBackoff: maxBackoff}
	}
}

// WithReadLag sets how long after a write a read may still miss it (default 2s): a 404 within
// that window, or from a read that cannot name the version it expects, is retried until the
// window has passed before it is returned.
func WithReadLag(d time.Duration) Option {
	return func(c *Client) { c.readLag = max(d, 0) }
}

// WithShared sets what the client shares with the provider instance's other clients (pacing,
// versions seen, operations in flight, desks). Without it the client has a Shared of its own,
// pacing to Fly's documented rate limit.
func WithShared(s *Shared) Option {
	return func(c *Client) {
		if s != nil {
			c.shared = s
		}
	}
}

// WithWaitNotifier is told of every wait (pacing, Retry-After, backoff, read lag) before it is
// taken.
func WithWaitNotifier(n WaitNotifier) Option {
	return func(c *Client) {
		if n != nil {
			c.notify = n
		}
	}
}

// WithUserAgent sets the User-Agent header, e.g. "pulumi-resource-edgesecrets/1.2.3".
func WithUserAgent(ua string) Option {
	return func(c *Client) {
		if ua != "" {
			c.userAgent = ua
		}
	}
}

// withClock replaces the clock: tests record waits instead of taking them, and move time on by
// what they record.
func withClock(now func() time.Time, sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) { c.now, c.sleep = now, sleep }
}

// APIError is a response from the API with a non-2xx status.
type APIError struct {
	StatusCode int
	// Message is the body's "error" field, followed by its "message" field when there is one;
	// for a body that is not JSON, a shortened text of it. Secret values and the token are
	// removed from it.
	Message string
	// RequestID is the fly-request-id response header, what Fly support asks for.
	RequestID string
	// Op says what was attempted, e.g. `set secret "DATABASE_URL" on app "my-app"`.
	Op string
	// Attempts is how many requests were made, retries included.
	Attempts int
}

// Error reads like
// `fly: set secret "DATABASE_URL" on app "my-app": 401 Authenticate: token validation error (request id 01H...)`.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("fly: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	b.WriteString(strconv.Itoa(e.StatusCode))
	msg := e.Message
	if msg == "" {
		msg = http.StatusText(e.StatusCode)
	}
	if msg != "" {
		b.WriteString(" ")
		b.WriteString(msg)
	}
	var details []string
	if e.RequestID != "" {
		details = append(details, "request id "+e.RequestID)
	}
	if e.Attempts > 1 {
		details = append(details, fmt.Sprintf("after %d attempts", e.Attempts))
	}
	if len(details) > 0 {
		b.WriteString(" (" + strings.Join(details, ", ") + ")")
	}
	return b.String()
}

// IsNotFound reports whether err is a 404: the app or the secret does not exist.
func IsNotFound(err error) bool {
	return statusOf(err) == http.StatusNotFound
}

// IsAppNotFound reports whether err is a 404 about the app itself ({"error":"app not found"}),
// as opposed to a missing secret in an existing app.
func IsAppNotFound(err error) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusNotFound &&
		strings.Contains(strings.ToLower(apiErr.Message), "app not found")
}

// IsUnauthorized reports whether err is a 401 (bad or expired token) or 403 (token lacks access
// to the app).
func IsUnauthorized(err error) bool {
	status := statusOf(err)
	return status == http.StatusUnauthorized || status == http.StatusForbidden
}

func statusOf(err error) int {
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode
	}
	return 0
}

// request is one API call, described once and sent as many times as retries need.
type request struct {
	op     string // for errors, e.g. `get secret "A" on app "b"`
	app    string // the app addressed, for pacing and versions
	action string // what is done to it ("set", "get", ...): Fly limits each action separately
	method string
	path   string // escaped, starting with /v1, query included
	body   []byte // JSON, nil for none; a new reader is made from it for every attempt
	// secrets are the values the body carries, scrubbed from any text the server sends back.
	secrets []string
	// notFoundUntil, for a read, is until when a 404 may be read lag rather than an answer.
	notFoundUntil time.Time
	// versionUntil, for a read that asks for a secrets version, is until when a 412 (the app
	// has not shown that version yet) may be lag; zero: for the whole retry budget. Past it,
	// the answer stands: the app may never reach the version (it was deleted and made again,
	// starting over at 0), and the caller reads the app as it is (readAt).
	versionUntil time.Time
	// attemptTimeout, when set, bounds each attempt instead of the client's (a wait blocks for
	// up to a minute on purpose).
	attemptTimeout time.Duration
	// answers are statuses that are this call's answer, returned at once (a wait's 408).
	answers []int
	// once marks a write that must not be applied twice: after an attempt whose outcome is
	// unknown (no answer, 408, 5xx) it is retried only if settle says it was not applied.
	once bool
	// settle, after an attempt whose outcome is unknown, looks whether the write was applied
	// and, if so, fills the call's result and returns true. Its errors only mean "cannot tell".
	settle func(ctx context.Context) (applied bool, err error)
	// retry412 says whether a 412 of this write is lag to wait out (a secrets version that is
	// not there yet), from facts it may look up; see retryReason.
	retry412 func(ctx context.Context) bool
	// headers are extra request headers (a lease nonce).
	headers map[string]string
	// conflict says what a 409 means for this call, for the wait notifier; "" is the secrets
	// writes' meaning.
	conflict string
	// prepaced says the first attempt's slot in the rate limit is already taken (a batch
	// paces before it gathers); retries are paced as usual.
	prepaced bool
	// tell, when set, is told of the request's waits instead of the client's notifier: a
	// request made for many callers tells each of them.
	tell func(wait time.Duration, why string)
	// sent, when set, is told when each attempt is sent (after its pacing): a listing shows the
	// app as of its last attempt.
	sent func(at time.Time)
}

// response is what one attempt got back, body read in full.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends req, pacing and retrying as the policy allows, and decodes a 2xx JSON body into out
// (if non-nil).
func (c *Client) do(ctx context.Context, req request, out any) error {
	start := c.now()
	var lastErr error
	stop := func(attempts int, err error) error {
		if lastErr == nil {
			return err
		}
		return fmt.Errorf("%w (stopped retrying: %w)", withAttempts(lastErr, attempts), err)
	}
	uncertain := false // an attempt may have been applied without our knowing
	for attempt := 1; ; attempt++ {
		if attempt > 1 || !req.prepaced {
			if err := c.pace(ctx, req); err != nil {
				return stop(attempt-1, err)
			}
		}
		resp, err := c.send(ctx, req)
		if err == nil && resp.status >= 200 && resp.status < 300 {
			return decodeBody(req.op, resp.body, out)
		}
		uncertain = uncertain || err != nil || outcomeUnknown(resp.status)
		if uncertain && req.settle != nil && ctx.Err() == nil {
			if applied, _ := req.settle(ctx); applied {
				return nil
			}
		}
		var wait time.Duration
		var why string
		switch {
		case err != nil:
			err = fmt.Errorf("fly: %s: %w", req.op, err)
			if ctx.Err() != nil || !isRetryableTransportError(err) || (req.once && req.settle == nil) {
				return err
			}
			lastErr = err
			wait, why = c.backoff(attempt), fmt.Sprintf("no answer from Fly.io for app %q", req.app)

		default:
			apiErr := c.newAPIError(req, resp)
			apiErr.Attempts = attempt
			why = c.retryReason(ctx, req, resp.status)
			if why == "" || slices.Contains(req.answers, resp.status) ||
				(req.once && req.settle == nil && outcomeUnknown(resp.status)) {
				return apiErr
			}
			lastErr = apiErr
			wait = c.backoff(attempt)
			if serverWait, ok := retryAfter(resp.header, c.now()); ok {
				wait = serverWait
			}
			// Honour the server's wait, but never past maxBackoff: a long Retry-After would
			// stall a deployment with no output.
			wait = min(wait, c.retry.maxBackoff)
			// Lag is waited out to the end of its window, not a full backoff beyond it.
			switch {
			case resp.status == http.StatusNotFound:
				wait = min(wait, req.notFoundUntil.Sub(c.now()))
			case resp.status == http.StatusPreconditionFailed && !req.versionUntil.IsZero():
				wait = max(min(wait, req.versionUntil.Sub(c.now())), 0)
			}
		}

		if c.now().Sub(start)+wait > c.retry.budget {
			return withAttempts(lastErr, attempt)
		}
		c.tellWait(ctx, req, wait, why)
		if err := c.sleep(ctx, wait); err != nil {
			return stop(attempt, err)
		}
	}
}

// outcomeUnknown reports answers after which a write may or may not have been applied: a
// timeout or a server-side failure (a proxy's 502 can hide a write that went through).
func outcomeUnknown(status int) bool {
	return status == http.StatusRequestTimeout || status >= 500
}

// retryReason says why an error answer is worth another try ("" when it is not): timeouts, rate
// limits, racing writes and server-side failures; for reads, a version not yet available (412)
// and a 404 that may be read lag; for writes that say so (retry412), a 412 that is lag too.
func (c *Client) retryReason(ctx context.Context, req request, status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return fmt.Sprintf("Fly.io rate limit for app %q", req.app)
	case http.StatusConflict:
		if req.conflict != "" {
			return req.conflict
		}
		return fmt.Sprintf("another write to app %q's secrets is in progress", req.app)
	case http.StatusRequestTimeout, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return fmt.Sprintf("Fly.io answered %d for app %q", status, req.app)
	}
	if req.method != http.MethodGet {
		if status == http.StatusPreconditionFailed && req.retry412 != nil && req.retry412(ctx) {
			return fmt.Sprintf("Fly.io has not caught up with app %q's newest secrets yet", req.app)
		}
		return ""
	}
	switch {
	case status == http.StatusPreconditionFailed && !req.versionUntil.IsZero() && !c.now().Before(req.versionUntil):
		return ""
	case status == http.StatusPreconditionFailed:
		return fmt.Sprintf("Fly.io has not caught up with app %q's newest secrets yet", req.app)
	case status == http.StatusNotFound && c.now().Before(req.notFoundUntil):
		return fmt.Sprintf("Fly.io may not show app %q's newest secrets yet", req.app)
	}
	return ""
}

// pace waits for the request's slot in Fly's rate limit for its app and action.
func (c *Client) pace(ctx context.Context, req request) error {
	wait, cancel, ok := c.shared.reserve(c.baseURL, req.app, req.action, c.now())
	if !ok || wait <= 0 {
		return nil
	}
	c.tellWait(ctx, req, wait, pacingReason(req.app))
	if err := c.sleep(ctx, wait); err != nil {
		cancel()
		return fmt.Errorf("fly: %s: %w", req.op, err)
	}
	return nil
}

func pacingReason(app string) string {
	return fmt.Sprintf("pacing requests to app %q to stay within Fly.io's rate limit", app)
}

// tellWait tells of a wait: to the request's own listeners when it has them, else to the
// client's notifier.
func (c *Client) tellWait(ctx context.Context, req request, wait time.Duration, why string) {
	if req.tell != nil {
		req.tell(wait, why)
		return
	}
	c.notify(ctx, wait, why)
}

// withAttempts notes on a transport error how many attempts were made (an APIError carries the
// count itself).
func withAttempts(err error, attempts int) error {
	var apiErr *APIError
	if attempts <= 1 || errors.As(err, &apiErr) {
		return err
	}
	return fmt.Errorf("%w (after %d attempts)", err, attempts)
}

func (c *Client) send(ctx context.Context, req request) (*response, error) {
	if req.sent != nil {
		req.sent(c.now())
	}
	var body io.Reader
	if req.body != nil {
		body = bytes.NewReader(req.body)
	}
	timeout := c.attemptTimeout
	if req.attemptTimeout > 0 {
		timeout = req.attemptTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	httpReq, err := http.NewRequestWithContext(ctx, req.method, c.baseURL+req.path, body)
	if err != nil {
		return nil, err
	}
	httpReq.Header.Set("Accept", "application/json")
	httpReq.Header.Set("User-Agent", c.userAgent)
	if req.body != nil {
		httpReq.Header.Set("Content-Type", "application/json")
	}
	if c.authorization != "" {
		httpReq.Header.Set("Authorization", c.authorization)
	}
	for name, value := range req.headers {
		httpReq.Header.Set(name, value)
	}

	httpResp, err := c.httpClient.Do(httpReq)
	if err != nil {
		return nil, err
	}
	defer httpResp.Body.Close()

	limit := int64(maxResponseBytes)
	if httpResp.StatusCode < 200 || httpResp.StatusCode >= 300 {
		limit = maxErrorBodyBytes // only a message is wanted from it
	}
	data, err := io.ReadAll(io.LimitReader(httpResp.Body, limit))
	if err != nil {
		return nil, err
	}
	return &response{status: httpResp.StatusCode, header: httpResp.Header, body: data}, nil
}

func decodeBody(op string, body []byte, out any) error {
	if out == nil || len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("fly: %s: decoding response: %w", op, err)
	}
	return nil
}

// isRetryableTransportError reports failures of the connection itself (refused, reset, closed
// before a full response, timed out). The secrets requests are idempotent (set to a value, unset,
// delete), so repeating one whose first try may have reached the server is safe; a repeated
// delete may then answer 404, which callers treat as gone. Requests that are not (request.once)
// are settled first, or not repeated. Errors such as a bad URL or a TLS certificate failure are
// not retried.
func isRetryableTransportError(err error) bool {
	// A per-attempt timeout is retried; the caller's own deadline is not, and do checks that
	// before asking here.
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr) && opErr.Op == "dial"
}

// backoff is the wait before retry number attempt (1-based).
func (c *Client) backoff(attempt int) time.Duration {
	return backoff.Jittered(attempt, c.retry.minBackoff, c.retry.maxBackoff)
}

// retryAfter reads a Retry-After header, in delay-seconds or as an HTTP date; ok is false when
// the header is absent or unreadable.
func retryAfter(header http.Header, now time.Time) (wait time.Duration, ok bool) {
	value := strings.TrimSpace(header.Get("Retry-After"))
	if value == "" {
		return 0, false
	}
	if seconds, err := strconv.ParseInt(value, 10, 64); err == nil {
		if seconds < 0 {
			return 0, false
		}
		// Clamp before converting so a huge value cannot overflow; the caller caps it anyway.
		return time.Duration(min(seconds, int64(24*time.Hour/time.Second))) * time.Second, true
	}
	when, err := http.ParseTime(value)
	if err != nil {
		return 0, false
	}
	return max(when.Sub(now), 0), true
}

// newAPIError builds the error for a non-2xx response, scrubbing the request's secret values
// and the token from whatever text the server sent back.
func (c *Client) newAPIError(req request, resp *response) *APIError {
	secrets := append(append([]string(nil), req.secrets...), c.tokenSecrets...)
	return &APIError{
		StatusCode: resp.status,
		Message:    shorten(redact(errorText(resp.body), secrets)),
		RequestID:  resp.header.Get("fly-request-id"),
		Op:         req.op,
	}
}

// errorText is the message of a Fly error body {"error":"...","message":"..."}, or the body
// itself when it is not one (HTML from a proxy, plain text).
func errorText(body []byte) string {
	var payload struct {
		Error   string `json:"error"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &payload); err == nil {
		switch {
		case payload.Error != "" && payload.Message != "" && payload.Message != payload.Error:
			return payload.Error + ": " + payload.Message
		case payload.Error != "":
			return payload.Error
		case payload.Message != "":
			return payload.Message
		}
	}
	return string(body)
}

const redacted = "[REDACTED]"

// redact replaces every occurrence of the secrets (and of their JSON-escaped forms, in case a
// body echoes JSON) in text. Longest first, so a token's part does not break up the whole token.
func redact(text string, secrets []string) string {
	var forms []string
	for _, s := range secrets {
		if s == "" {
			continue
		}
		forms = append(forms, s)
		if quoted, err := json.Marshal(s); err == nil {
			if escaped := string(quoted[1 : len(quoted)-1]); escaped != s {
				forms = append(forms, escaped)
			}
		}
	}
	sort.Slice(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	for _, form := range forms {
		text = strings.ReplaceAll(text, form, redacted)
	}
	return text
}

// shorten makes server text fit in one line of an error message. It runs after redact, so that
// cutting the text cannot leave part of a secret that redact would no longer recognise.
func shorten(text string) string {
	text = strings.Join(strings.Fields(strings.ToValidUTF8(text, "\uFFFD")), " ")
	if utf8.RuneCountInString(text) <= maxErrorTextRunes {
		return text
	}
	runes := []rune(text)
	return string(runes[:maxErrorTextRunes]) + "…"
}
