package cloudflare

import (
	"encoding/json"
	"net/http"
)

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

func writeResult(w http.ResponseWriter, result any) { WriteResult(w, result) }

// WriteResult answers 200 with a successful envelope holding result.
func WriteResult(w http.ResponseWriter, result any) {
	writeEnvelope(w, http.StatusOK, envelope{Success: true, Errors: []message{}, Messages: []message{}, Result: result})
}

func writeList(w http.ResponseWriter, result any, info resultInfo) {
	writeEnvelope(
		w,
		http.StatusOK,
		envelope{Success: true, Errors: []message{}, Messages: []message{}, Result: result, ResultInfo: &info},
	)
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
