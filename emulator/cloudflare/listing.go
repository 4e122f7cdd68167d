package cloudflare

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

const (
	defaultPerPage = 20
	maxPerPage     = 100
)

// listQuery is the paging, sorting and filtering a list request asks for.
type listQuery struct {
	page    int
	perPage int
	order   string
	desc    bool
	search  string   // lowercased; secrets only
	scopes  []string // secrets only
}

// parseListQuery reads page, per_page, order and direction; orders lists the
// accepted order keys, the first being the default.
func parseListQuery(r *http.Request, orders []string) (listQuery, *apiError) {
	q := r.URL.Query()
	lq := listQuery{page: 1, perPage: defaultPerPage, order: orders[0], desc: true}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return lq, errPageInvalid
		}
		lq.page = n
	}
	if v := q.Get("per_page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPerPage {
			return lq, errPerPageInvalid
		}
		lq.perPage = n
	}
	if v := q.Get("order"); v != "" {
		if !slices.Contains(orders, v) {
			return lq, errOrderInvalid
		}
		lq.order = v
	}
	switch q.Get("direction") {
	case "", "desc":
	case "asc":
		lq.desc = false
	default:
		return lq, errDirectionInvalid
	}
	lq.search = strings.ToLower(q.Get("search"))
	lq.scopes = q["scopes"]
	return lq, nil
}

// sortBy sorts items by key in the query's direction, ties broken by name
// then id in the same direction so pages never overlap.
func sortBy[T any](items []T, desc bool, key func(a, b T) int, name, id func(T) string) {
	slices.SortFunc(items, func(a, b T) int {
		c := key(a, b)
		if c == 0 {
			c = cmp.Compare(name(a), name(b))
		}
		if c == 0 {
			c = cmp.Compare(id(a), id(b))
		}
		if desc {
			return -c
		}
		return c
	})
}

// paginate cuts one page out of items; a page past the end is empty.
func paginate[T any](items []T, lq listQuery) ([]T, resultInfo) {
	total := len(items)
	start := min((lq.page-1)*lq.perPage, total)
	end := min(start+lq.perPage, total)
	page := items[start:end]
	if page == nil {
		page = []T{}
	}
	return page, resultInfo{
		Count:      len(page),
		Page:       lq.page,
		PerPage:    lq.perPage,
		TotalCount: total,
		TotalPages: (total + lq.perPage - 1) / lq.perPage,
	}
}
