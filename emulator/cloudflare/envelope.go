package cloudflare

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"
)

// maxBodyBytes bounds a request body: 100 secrets of 64 KiB fit.
const maxBodyBytes = 16 << 20

// envelope is the v4 response wrapper.
type envelope struct {
	Success    bool        `json:"success"`
	Errors     []message   `json:"errors"`
	Messages   []message   `json:"messages"`
	Result     any         `json:"result"`
	ResultInfo *resultInfo `json:"result_info,omitempty"`
}

type message struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type resultInfo struct {
	Count      int `json:"count"`
	Page       int `json:"page"`
	PerPage    int `json:"per_page"`
	TotalCount int `json:"total_count"`
	TotalPages int `json:"total_pages"`
}

func writeResult(w http.ResponseWriter, result any) {
	writeEnvelope(w, http.StatusOK, envelope{Success: true, Errors: []message{}, Messages: []message{}, Result: result})
}

func writeList(w http.ResponseWriter, result any, info resultInfo) {
	writeEnvelope(w, http.StatusOK, envelope{Success: true, Errors: []message{}, Messages: []message{}, Result: result, ResultInfo: &info})
}

func writeError(w http.ResponseWriter, e *apiError) {
	WriteError(w, e.status, e.code, e.message)
}

// WriteError answers status with a failed envelope holding one error.
func WriteError(w http.ResponseWriter, status, code int, msg string) {
	writeEnvelope(w, status, envelope{Errors: []message{{Code: code, Message: msg}}, Messages: []message{}})
}

func writeEnvelope(w http.ResponseWriter, status int, env envelope) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(env)
}

var errBadJSON = errors.New("invalid JSON")

// decodeJSON reads one JSON value into dst. Decoder errors are dropped: their
// text can quote the body, which may hold a secret value.
func decodeJSON(r *http.Request, dst any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBodyBytes+1))
	if err := dec.Decode(dst); err != nil {
		return errBadJSON
	}
	if dec.More() {
		return errBadJSON
	}
	return nil
}

// formatTime renders a timestamp as RFC 3339 in UTC with microseconds.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00")
}
