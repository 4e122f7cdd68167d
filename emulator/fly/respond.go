package fly

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"
)

// maxBodyBytes bounds a request body; a bulk write of many large values fits.
const maxBodyBytes = 16 << 20

// errorBody is Fly's error shape.
type errorBody struct {
	Error string `json:"error"`
}

// WriteError answers status with {"error": message}. Messages never carry a
// secret value.
func WriteError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, errorBody{Error: message})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	setRequestID(w)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func writeEmpty(w http.ResponseWriter, status int) {
	setRequestID(w)
	w.WriteHeader(status)
}

// setRequestID adds the header Fly clients quote in error messages.
func setRequestID(w http.ResponseWriter) {
	if w.Header().Get("Fly-Request-Id") != "" {
		return
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	w.Header().Set("Fly-Request-Id", "emu-"+hex.EncodeToString(b[:]))
}

var errInvalidJSON = errors.New("invalid JSON body")

// decodeJSON reads one JSON value into dst. Decoder errors are not passed on:
// their text can quote the request body, which may hold a secret value.
func decodeJSON(r *http.Request, dst any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes+1))
	if err := dec.Decode(dst); err != nil {
		return errInvalidJSON
	}
	if dec.More() {
		return errInvalidJSON
	}
	return nil
}

// formatTime renders a timestamp as RFC 3339 in UTC with microseconds.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}
