// Package cfapi is a thin wrapper over cloudflare-go's secrets_store service: it pins the
// retry policy, turns the SDK's responses into small plain structs, and turns its errors
// into an APIError the provider can match on (codes are shared between errors, so matching
// is on the message, as ../shared/api/cloudflare-secrets-store.md says).
//
// Only the secrets_store and option packages of cloudflare-go are imported: the SDK's root
// package links every Cloudflare service into the binary.
package cfapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cloudflare/cloudflare-go/v7/option"
	"github.com/cloudflare/cloudflare-go/v7/secrets_store"
)

// DefaultBaseURL is Cloudflare's v4 API.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4"

// Client talks to one account's Secrets Store.
type Client struct {
	accountID string
	svc       *secrets_store.SecretsStoreService
}

// Options tune a Client. The zero value is production-ready.
type Options struct {
	// MaxRetries bounds the SDK's retries of 408, 429 and 5xx answers (default 4).
	MaxRetries int
	// HTTPClient replaces the SDK's default client (tests, proxies).
	HTTPClient *http.Client
	// RequestTimeout bounds each attempt (default 60s).
	RequestTimeout time.Duration
	// UserAgent is sent with every request when set.
	UserAgent string
}

// New returns a client for accountID. baseURL "" means DefaultBaseURL.
func New(baseURL, token, accountID string, opts Options) *Client {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 4
	}
	if opts.RequestTimeout == 0 {
		opts.RequestTimeout = 60 * time.Second
	}
	reqOpts := []option.RequestOption{
		option.WithBaseURL(strings.TrimRight(baseURL, "/") + "/"),
		option.WithAPIToken(token),
		option.WithMaxRetries(opts.MaxRetries),
		option.WithRequestTimeout(opts.RequestTimeout),
		option.WithMiddleware(noRetryOnConflict),
	}
	if opts.HTTPClient != nil {
		reqOpts = append(reqOpts, option.WithHTTPClient(opts.HTTPClient))
	}
	if opts.UserAgent != "" {
		reqOpts = append(reqOpts, option.WithHeader("User-Agent", opts.UserAgent))
	}
	return &Client{accountID: accountID, svc: secrets_store.NewSecretsStoreService(reqOpts...)}
}

// AccountID is the account this client addresses.
func (c *Client) AccountID() string { return c.accountID }

// noRetryOnConflict stops the SDK from retrying 409s: for the Secrets Store a 409 is a
// definite answer (store_not_empty), not a transient race, and the SDK's default would
// stall for minutes retrying it. The SDK honours the x-should-retry response header.
func noRetryOnConflict(req *http.Request, next option.MiddlewareNext) (*http.Response, error) {
	res, err := next(req)
	if err == nil && res != nil && res.StatusCode == http.StatusConflict {
		res.Header.Set("x-should-retry", "false")
	}
	return res, err
}

// Error messages the API uses; codes are shared between errors, so these are what to match.
const (
	MsgMaxStoresExceeded   = "maximum_stores_exceeded"
	MsgSecretNameExists    = "secret_name_already_exists"
	MsgStoreNotEmpty       = "store_not_empty"
	MsgSecretNotFound      = "secret_not_found"
	MsgStoreNotFound       = "store_not_found"
	codeAuthenticationFail = 10000
	codeNotFound           = 1000
	codeInvalidAccount     = 7003
)

// APIError is a failed call: what was attempted, the HTTP status and the API's errors.
// It never carries a request body, so no secret value can leak through it.
type APIError struct {
	Op         string // e.g. `create secret "API_KEY" in store 0123...`
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

// HasMessage reports whether err is an APIError carrying the given error message.
func HasMessage(err error, message string) bool {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	for _, d := range apiErr.Errors {
		if d.Message == message {
			return true
		}
	}
	return false
}

// IsNotFound reports whether err says the store or secret does not exist. An unknown or
// unreachable account also answers 404 (code 7003), but says nothing about the secret: it
// must fail loudly, or a mistyped account would make a refresh drop every resource.
func IsNotFound(err error) bool {
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	for _, d := range apiErr.Errors {
		if d.Code == codeInvalidAccount {
			return false
		}
	}
	if apiErr.StatusCode == http.StatusNotFound {
		return true
	}
	for _, d := range apiErr.Errors {
		if d.Code == codeNotFound || d.Message == MsgSecretNotFound || d.Message == MsgStoreNotFound {
			return true
		}
	}
	return false
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
