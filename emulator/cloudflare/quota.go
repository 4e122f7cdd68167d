package cloudflare

import "net/http"

type quotaJSON struct {
	Secrets quotaSecretsJSON `json:"secrets"`
}

type quotaSecretsJSON struct {
	Quota int `json:"quota"`
	Usage int `json:"usage"`
}

func (a *API) quota(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	usage := a.account().secretCount()
	a.mu.Unlock()
	writeResult(w, quotaJSON{Secrets: quotaSecretsJSON{Quota: maxSecretsPerAccount, Usage: usage}})
}
