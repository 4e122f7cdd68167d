// Package wire holds the request and response plumbing the emulated APIs
// share: bounded JSON bodies, timestamps and bearer tokens. Each API keeps its own error
// shapes and messages; nothing here writes a response.
package wire

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"
)

// MaxBodyBytes bounds a request body. Cloudflare's largest call (100 secrets
// of 64 KiB) and a Fly bulk write of many large values both fit.
const MaxBodyBytes = 16 << 20

// ErrInvalidJSON is DecodeJSON's only error. Each API answers it with its own
// message.
var ErrInvalidJSON = errors.New("invalid JSON")

// DecodeJSON reads one JSON value into dst, from at most MaxBodyBytes+1 bytes
// of the body, and refuses another value after it. Decoder errors are dropped
// in favour of ErrInvalidJSON: their text can quote the request body, which
// may hold a secret value.
func DecodeJSON(r *http.Request, dst any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err := dec.Decode(dst); err != nil {
		return ErrInvalidJSON
	}
	if dec.More() {
		return ErrInvalidJSON
	}
	return nil
}

// Now reads clock at the precision FormatTime renders, in UTC, so a stored
// time and its rendering always agree.
func Now(clock func() time.Time) time.Time {
	return clock().UTC().Truncate(time.Microsecond)
}

// FormatTime renders a timestamp as RFC 3339 in UTC with microseconds.
func FormatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}

// BearerIn reports whether an Authorization header is "Bearer <token>" (scheme in any case)
// with one of tokens. Each comparison takes the same time whatever the header holds.
func BearerIn(header string, tokens ...string) bool {
	scheme, token, ok := strings.Cut(strings.TrimSpace(header), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	token = strings.TrimSpace(token)
	return slices.ContainsFunc(tokens, func(accepted string) bool {
		return accepted != "" && subtle.ConstantTimeCompare([]byte(token), []byte(accepted)) == 1
	})
}
