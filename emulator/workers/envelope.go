package workers

import (
	"net/http"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/cloudflare"
)

// The Workers routes answer in the Cloudflare v4 envelope, written as the Secrets Store routes
// write it.

func writeResult(w http.ResponseWriter, result any) { cloudflare.WriteResult(w, result) }

func writeError(w http.ResponseWriter, e *apiError) {
	cloudflare.WriteError(w, e.status, e.code, e.message)
}
