package cloudflare

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// State is everything the API holds, in a form that survives JSON. It carries
// secret values: whoever stores it must keep it private.
type State struct {
	Accounts []AccountState `json:"accounts"`
}

// AccountState is one account's stores.
type AccountState struct {
	ID string `json:"id"`
	// AutoStoreCreated records that the default store was created on first
	// use, so it is not created again after a delete.
	AutoStoreCreated bool         `json:"auto_store_created,omitempty"`
	Stores           []StoreState `json:"stores"`
}

// StoreState is one store and its secrets.
type StoreState struct {
	ID       string        `json:"id"`
	Name     string        `json:"name"`
	Created  time.Time     `json:"created"`
	Modified time.Time     `json:"modified"`
	Secrets  []SecretState `json:"secrets"`
}

// SecretState is one secret, value included.
type SecretState struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Value    string    `json:"value"`
	Comment  string    `json:"comment,omitempty"`
	Scopes   []string  `json:"scopes"`
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified"`
	ActiveAt time.Time `json:"active_at"`
}

// Snapshot copies the current state in a stable order.
func (a *API) Snapshot() State {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := State{Accounts: []AccountState{}}
	for _, acct := range a.accounts {
		as := AccountState{ID: acct.id, AutoStoreCreated: acct.autoStoreCreated, Stores: []StoreState{}}
		for _, s := range acct.stores {
			ss := StoreState{ID: s.id, Name: s.name, Created: s.created, Modified: s.modified, Secrets: []SecretState{}}
			for _, sec := range s.secrets {
				ss.Secrets = append(ss.Secrets, SecretState{
					ID: sec.id, Name: sec.name, Value: sec.value, Comment: sec.comment,
					Scopes: slices.Clone(sec.scopes), Created: sec.created, Modified: sec.modified, ActiveAt: sec.activeAt,
				})
			}
			slices.SortFunc(ss.Secrets, func(x, y SecretState) int { return cmp.Compare(x.Name, y.Name) })
			as.Stores = append(as.Stores, ss)
		}
		slices.SortFunc(as.Stores, func(x, y StoreState) int { return cmp.Compare(x.ID, y.ID) })
		st.Accounts = append(st.Accounts, as)
	}
	slices.SortFunc(st.Accounts, func(x, y AccountState) int { return cmp.Compare(x.ID, y.ID) })
	return st
}

// Restore replaces the current state with st. Accounts other than the
// configured one are kept (and saved again) but cannot be reached.
func (a *API) Restore(st State) error {
	accounts := map[string]*account{}
	for _, as := range st.Accounts {
		if !accountIDRE.MatchString(as.ID) {
			return fmt.Errorf("cloudflare state: invalid account id %q", as.ID)
		}
		acct := &account{id: as.ID, autoStoreCreated: as.AutoStoreCreated, stores: map[string]*store{}}
		for _, ss := range as.Stores {
			s := &store{
				id:       ss.ID,
				name:     ss.Name,
				created:  ss.Created.UTC(),
				modified: ss.Modified.UTC(),
				secrets:  map[string]*secret{},
			}
			for _, sec := range ss.Secrets {
				scopes, apiErr := normaliseScopes(sec.Scopes)
				if apiErr != nil {
					return fmt.Errorf("cloudflare state: secret %q: %s", sec.Name, apiErr.message)
				}
				s.secrets[sec.ID] = &secret{
					id: sec.ID, name: sec.Name, value: sec.Value, comment: sec.Comment, scopes: scopes,
					created: sec.Created.UTC(), modified: sec.Modified.UTC(), activeAt: sec.ActiveAt.UTC(),
				}
			}
			acct.stores[s.id] = s
		}
		accounts[acct.id] = acct
	}
	a.mu.Lock()
	a.accounts = accounts
	a.mu.Unlock()
	return nil
}
