package cloudflare

import (
	"cmp"
	"net/http"
	"strconv"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/internal/wire"
)

// storeJSON is the API's Store object.
type storeJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Created   string `json:"created"`
	Modified  string `json:"modified"`
	AccountID string `json:"account_id"`
}

func (st *store) toJSON(accountID string) storeJSON {
	return storeJSON{
		ID:        st.id,
		Name:      st.name,
		Created:   wire.FormatTime(st.created),
		Modified:  wire.FormatTime(st.modified),
		AccountID: accountID,
	}
}

var storeOrders = []string{"created", "name", "modified"}

func (a *API) listStores(w http.ResponseWriter, r *http.Request) {
	lq, apiErr := parseListQuery(r, storeOrders)
	if apiErr != nil {
		writeError(w, apiErr)
		return
	}
	a.mu.Lock()
	acct := a.account()
	stores := make([]*store, 0, len(acct.stores))
	for _, st := range acct.stores {
		stores = append(stores, st)
	}
	sortBy(stores, lq.desc, storeOrder(lq.order),
		func(s *store) string { return s.name }, func(s *store) string { return s.id })
	page, info := paginate(stores, lq)
	result := make([]storeJSON, 0, len(page))
	for _, st := range page {
		result = append(result, st.toJSON(acct.id))
	}
	a.mu.Unlock()
	writeList(w, result, info)
}

func storeOrder(order string) func(a, b *store) int {
	switch order {
	case "name":
		return func(a, b *store) int { return cmp.Compare(a.name, b.name) }
	case "modified":
		return func(a, b *store) int { return a.modified.Compare(b.modified) }
	default:
		return func(a, b *store) int { return a.created.Compare(b.created) }
	}
}

type createStoreRequest struct {
	Name *string `json:"name"`
}

func (a *API) createStore(w http.ResponseWriter, r *http.Request) {
	var req createStoreRequest
	if err := wire.DecodeJSON(r, &req); err != nil {
		writeError(w, errInvalidJSON)
		return
	}
	if apiErr := checkStoreName(req.Name); apiErr != nil {
		writeError(w, apiErr)
		return
	}
	a.mu.Lock()
	acct := a.account()
	if len(acct.stores) >= maxStoresPerAccount {
		a.mu.Unlock()
		writeError(w, errMaxStores.about("account %s already has a store, and may have %d", acct.id, maxStoresPerAccount))
		return
	}
	result := acct.addStore(*req.Name, a.now()).toJSON(acct.id)
	a.mu.Unlock()
	a.changed()
	writeResult(w, result)
}

func (a *API) getStore(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	acct := a.account()
	st, ok := acct.stores[r.PathValue("store_id")]
	var result storeJSON
	if ok {
		result = st.toJSON(acct.id)
	}
	a.mu.Unlock()
	if !ok {
		writeError(w, errStoreNotFound.about("no store %s in account %s", r.PathValue("store_id"), acct.id))
		return
	}
	writeResult(w, result)
}

func (a *API) deleteStore(w http.ResponseWriter, r *http.Request) {
	force := false
	if v := r.URL.Query().Get("force"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, errForceInvalid)
			return
		}
		force = b
	}
	a.mu.Lock()
	acct := a.account()
	st, ok := acct.stores[r.PathValue("store_id")]
	switch {
	case !ok:
		a.mu.Unlock()
		writeError(w, errStoreNotFound.about("no store %s in account %s", r.PathValue("store_id"), acct.id))
		return
	case len(st.secrets) > 0 && !force:
		a.mu.Unlock()
		writeError(w, errStoreInUse.about("store %s holds %d secrets", st.id, len(st.secrets)))
		return
	}
	delete(acct.stores, st.id)
	a.mu.Unlock()
	a.changed()
	writeResult(w, nil)
}

// lookupStore returns the store named in the path. Callers hold mu.
func (a *API) lookupStore(r *http.Request) (*store, *apiError) {
	acct := a.account()
	st, ok := acct.stores[r.PathValue("store_id")]
	if !ok {
		return nil, errStoreNotFound.about("no store %s in account %s", r.PathValue("store_id"), acct.id)
	}
	return st, nil
}
