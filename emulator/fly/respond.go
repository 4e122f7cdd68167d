package fly

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
)

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

// invalidJSONMessage answers a body that wire.DecodeJSON refuses.
const invalidJSONMessage = "invalid JSON body"
