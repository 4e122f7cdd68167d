package workers

import (
	"encoding/json"
	"net/http"
)

// envelope is the Cloudflare v4 response wrapper.
type envelope struct {
	Success  bool      `json:"success"`
	Errors   []message `json:"errors"`
	Messages []message `json:"messages"`
	Result   any       `json:"result"`
}

type message struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func writeResult(w http.ResponseWriter, result any) {
	writeEnvelope(w, http.StatusOK, envelope{Success: true, Errors: []message{}, Messages: []message{}, Result: result})
}

func writeError(w http.ResponseWriter, e *apiError) {
	writeEnvelope(w, e.status, envelope{Errors: []message{{Code: e.code, Message: e.message}}, Messages: []message{}})
}

func writeEnvelope(w http.ResponseWriter, status int, env envelope) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(env)
}
