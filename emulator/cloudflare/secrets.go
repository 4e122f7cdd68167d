package cloudflare

import (
	"cmp"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/internal/wire"
)

// secretJSON is the API's Secret object; it never carries the value.
type secretJSON struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	StoreID  string   `json:"store_id"`
	Created  string   `json:"created"`
	Modified string   `json:"modified"`
	Status   string   `json:"status"`
	Comment  string   `json:"comment"`
	Scopes   []string `json:"scopes"`
}

const (
	statusPending = "pending"
	statusActive  = "active"
)

func (s *secret) status(now time.Time) string {
	if now.Before(s.activeAt) {
		return statusPending
	}
	return statusActive
}

func (s *secret) toJSON(storeID string, now time.Time) secretJSON {
	return secretJSON{
		ID:       s.id,
		Name:     s.name,
		StoreID:  storeID,
		Created:  wire.FormatTime(s.created),
		Modified: wire.FormatTime(s.modified),
		Status:   s.status(now),
		Comment:  s.comment,
		Scopes:   slices.Clone(s.scopes),
	}
}

// newSecretJSON renders a secret just created: always "pending", even with a
// zero activation delay.
func (s *secret) newSecretJSON(storeID string) secretJSON {
	out := s.toJSON(storeID, s.created)
	out.Status = statusPending
	return out
}

func (st *store) secretNamed(name string) *secret {
	for _, s := range st.secrets {
		if s.name == name {
			return s
		}
	}
	return nil
}

// addSecret stores a new secret; callers have validated everything.
func (a *API) addSecret(st *store, name, value, comment string, scopes []string, now time.Time) *secret {
	s := &secret{
		id:       newID(),
		name:     name,
		value:    value,
		comment:  comment,
		scopes:   scopes,
		created:  now,
		modified: now,
		activeAt: now.Add(a.cfg.ActivationDelay),
	}
	st.secrets[s.id] = s
	return s
}

var secretOrders = []string{"created", "name", "comment", "modified", "status"}

func (a *API) listSecrets(w http.ResponseWriter, r *http.Request) {
	lq, queryErr := parseListQuery(r, secretOrders)
	if queryErr == nil && slices.ContainsFunc(lq.scopes, func(s string) bool { return !slices.Contains(knownScopes, s) }) {
		queryErr = errScopeInvalid
	}
	a.mu.Lock()
	st, apiErr := a.lookupStore(r)
	if apiErr == nil {
		apiErr = queryErr
	}
	if apiErr != nil {
		a.mu.Unlock()
		writeError(w, apiErr)
		return
	}
	now := a.now()
	matches := []*secret{}
	for _, s := range st.secrets {
		if lq.matches(s) {
			matches = append(matches, s)
		}
	}
	sortBy(matches, lq.desc, secretOrder(lq.order, now),
		func(s *secret) string { return s.name }, func(s *secret) string { return s.id })
	page, info := paginate(matches, lq)
	result := make([]secretJSON, 0, len(page))
	for _, s := range page {
		result = append(result, s.toJSON(st.id, now))
	}
	a.mu.Unlock()
	writeList(w, result, info)
}

// matches applies search (name or comment, case-insensitive) and the scopes
// filter (every given scope present).
func (lq listQuery) matches(s *secret) bool {
	if lq.search != "" &&
		!strings.Contains(strings.ToLower(s.name), lq.search) &&
		!strings.Contains(strings.ToLower(s.comment), lq.search) {
		return false
	}
	for _, scope := range lq.scopes {
		if !slices.Contains(s.scopes, scope) {
			return false
		}
	}
	return true
}

func secretOrder(order string, now time.Time) func(a, b *secret) int {
	switch order {
	case "name":
		return func(a, b *secret) int { return cmp.Compare(a.name, b.name) }
	case "comment":
		return func(a, b *secret) int { return cmp.Compare(a.comment, b.comment) }
	case "modified":
		return func(a, b *secret) int { return a.modified.Compare(b.modified) }
	case "status":
		return func(a, b *secret) int { return cmp.Compare(a.status(now), b.status(now)) }
	default:
		return func(a, b *secret) int { return a.created.Compare(b.created) }
	}
}

type createSecretInput struct {
	Name    *string  `json:"name"`
	Value   *string  `json:"value"`
	Scopes  []string `json:"scopes"`
	Comment *string  `json:"comment"`
}

// createSecrets creates every secret of the array or none.
func (a *API) createSecrets(w http.ResponseWriter, r *http.Request) {
	var inputs []createSecretInput
	decodeErr := wire.DecodeJSON(r, &inputs)

	a.mu.Lock()
	st, apiErr := a.lookupStore(r)
	var scopes [][]string
	switch {
	case apiErr != nil:
	case decodeErr != nil:
		apiErr = errInvalidJSON
	default:
		scopes, apiErr = checkNewSecrets(st, inputs)
	}
	if apiErr == nil && a.account().secretCount()+len(inputs) > maxSecretsPerAccount {
		apiErr = errMaxSecrets.about("the account may hold %d secrets", maxSecretsPerAccount)
	}
	if apiErr != nil {
		a.mu.Unlock()
		writeError(w, apiErr)
		return
	}
	now := a.now()
	result := make([]secretJSON, 0, len(inputs))
	for i, in := range inputs {
		s := a.addSecret(st, *in.Name, *in.Value, deref(in.Comment), scopes[i], now)
		result = append(result, s.newSecretJSON(st.id))
	}
	a.mu.Unlock()
	a.changed()
	writeList(
		w,
		result,
		resultInfo{Count: len(result), Page: 1, PerPage: len(result), TotalCount: len(result), TotalPages: 1},
	)
}

// checkNewSecrets validates a create call, entry by entry, against the store
// and against itself; it returns each entry's normalised scopes.
func checkNewSecrets(st *store, inputs []createSecretInput) ([][]string, *apiError) {
	if len(inputs) == 0 {
		return nil, errInvalidJSON
	}
	scopes := make([][]string, len(inputs))
	seen := map[string]bool{}
	for i, in := range inputs {
		if apiErr := cmp.Or(checkSecretName(in.Name), checkValue(in.Value)); apiErr != nil {
			return nil, apiErr
		}
		var apiErr *apiError
		if scopes[i], apiErr = normaliseScopes(in.Scopes); apiErr != nil {
			return nil, apiErr
		}
		if seen[*in.Name] || st.secretNamed(*in.Name) != nil {
			return nil, errNameExists.about("a secret named %q already exists in store %s", *in.Name, st.id)
		}
		seen[*in.Name] = true
	}
	return scopes, nil
}

// lookupSecret returns the store and secret named in the path. Callers hold mu.
func (a *API) lookupSecret(r *http.Request) (*store, *secret, *apiError) {
	st, apiErr := a.lookupStore(r)
	if apiErr != nil {
		return nil, nil, apiErr
	}
	s, ok := st.secrets[r.PathValue("secret_id")]
	if !ok {
		return nil, nil, errSecretNotFound.about("no secret %s in store %s", r.PathValue("secret_id"), st.id)
	}
	return st, s, nil
}

func (a *API) getSecret(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	st, s, apiErr := a.lookupSecret(r)
	var result secretJSON
	if apiErr == nil {
		result = s.toJSON(st.id, a.now())
	}
	a.mu.Unlock()
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	writeResult(w, result)
}

type editSecretInput struct {
	Name    *string   `json:"name"`
	Value   *string   `json:"value"`
	Scopes  *[]string `json:"scopes"`
	Comment *string   `json:"comment"`
}

// editSecret changes value, scopes and comment; the name cannot change.
func (a *API) editSecret(w http.ResponseWriter, r *http.Request) {
	var in editSecretInput
	decodeErr := wire.DecodeJSON(r, &in)

	a.mu.Lock()
	st, s, apiErr := a.lookupSecret(r)
	if apiErr == nil && decodeErr != nil {
		apiErr = errInvalidJSON
	}
	if apiErr == nil && in.Name != nil && *in.Name != s.name {
		apiErr = errNameReadOnly
	}
	if apiErr == nil && in.Value != nil {
		apiErr = checkValue(in.Value)
	}
	var scopes []string
	if apiErr == nil && in.Scopes != nil {
		scopes, apiErr = normaliseScopes(*in.Scopes)
	}
	if apiErr != nil {
		a.mu.Unlock()
		writeError(w, apiErr)
		return
	}
	if in.Value != nil {
		s.value = *in.Value
	}
	if in.Scopes != nil {
		s.scopes = scopes
	}
	if in.Comment != nil {
		s.comment = *in.Comment
	}
	now := a.now()
	s.modified = now
	result := s.toJSON(st.id, now)
	a.mu.Unlock()
	a.changed()
	writeResult(w, result)
}

func (a *API) deleteSecret(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	st, s, apiErr := a.lookupSecret(r)
	if apiErr != nil {
		a.mu.Unlock()
		writeError(w, apiErr)
		return
	}
	delete(st.secrets, s.id)
	a.mu.Unlock()
	a.changed()
	writeResult(w, nil)
}

// bulkDeleteSecrets deletes the secrets whose ids the body lists, all or
// none. The real body is undocumented; without one nothing is deleted.
func (a *API) bulkDeleteSecrets(w http.ResponseWriter, r *http.Request) {
	var ids []string
	decodeErr := wire.DecodeJSON(r, &ids)

	a.mu.Lock()
	st, apiErr := a.lookupStore(r)
	if apiErr == nil && (decodeErr != nil || len(ids) == 0) {
		apiErr = errInvalidJSON
	}
	for _, id := range ids {
		if apiErr != nil {
			break
		}
		if _, ok := st.secrets[id]; !ok {
			apiErr = errSecretNotFound.about("no secret %s in store %s", id, st.id)
		}
	}
	if apiErr != nil {
		a.mu.Unlock()
		writeError(w, apiErr)
		return
	}
	for _, id := range ids {
		delete(st.secrets, id)
	}
	a.mu.Unlock()
	a.changed()
	writeResult(w, nil)
}

type duplicateSecretInput struct {
	Name    *string  `json:"name"`
	Scopes  []string `json:"scopes"`
	Comment *string  `json:"comment"`
}

// duplicateSecret copies a secret's value under a new name.
func (a *API) duplicateSecret(w http.ResponseWriter, r *http.Request) {
	var in duplicateSecretInput
	decodeErr := wire.DecodeJSON(r, &in)

	a.mu.Lock()
	st, src, apiErr := a.lookupSecret(r)
	if apiErr == nil && decodeErr != nil {
		apiErr = errInvalidJSON
	}
	if apiErr == nil {
		apiErr = checkSecretName(in.Name)
	}
	var scopes []string
	if apiErr == nil {
		scopes, apiErr = normaliseScopes(in.Scopes)
	}
	if apiErr == nil && st.secretNamed(*in.Name) != nil {
		apiErr = errNameExists.about("a secret named %q already exists in store %s", *in.Name, st.id)
	}
	if apiErr == nil && a.account().secretCount()+1 > maxSecretsPerAccount {
		apiErr = errMaxSecrets.about("the account may hold %d secrets", maxSecretsPerAccount)
	}
	if apiErr != nil {
		a.mu.Unlock()
		writeError(w, apiErr)
		return
	}
	s := a.addSecret(st, *in.Name, src.value, deref(in.Comment), scopes, a.now())
	result := s.newSecretJSON(st.id)
	a.mu.Unlock()
	a.changed()
	writeResult(w, result)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
