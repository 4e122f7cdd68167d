package cfapi

import (
	"encoding/json"
	"fmt"
	"time"
)

// Store is a Secrets Store. An account holds at most one.
type Store struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	AccountID string    `json:"account_id"`
	Created   time.Time `json:"created"`
	Modified  time.Time `json:"modified"`
}

// Secret is a secret's metadata; the API never returns values.
type Secret struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	StoreID  string    `json:"store_id"`
	Status   string    `json:"status"` // pending | active | deleted
	Comment  string    `json:"comment"`
	Scopes   []string  `json:"scopes"`
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified"`
}

// Secret statuses.
const (
	StatusPending = "pending"
	StatusActive  = "active"
	StatusDeleted = "deleted"
)

// NewSecret is one entry of a create-secrets call.
type NewSecret struct {
	Name    string
	Value   string
	Scopes  []string
	Comment string
}

// SecretEdit is a PATCH: nil fields are left as they are.
type SecretEdit struct {
	Value   *string
	Scopes  []string // nil leaves scopes alone; the API rejects an empty list
	Comment *string
}

// Quota is the account's secrets quota.
type Quota struct {
	Quota int64 `json:"quota"`
	Usage int64 `json:"usage"`
}

// fromRaw decodes an SDK response through its raw JSON: the SDK has one struct type per
// endpoint with the same fields, and the raw JSON is the one shape they share.
func fromRaw[T any](raw string) (T, error) {
	var v T
	if err := json.Unmarshal([]byte(raw), &v); err != nil {
		return v, fmt.Errorf("cloudflare: decoding response: %w", err)
	}
	return v, nil
}
