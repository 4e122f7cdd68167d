package cloudflare

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listingFixture makes a store with five secrets created a minute apart.
func listingFixture(t *testing.T) (*testServer, string) {
	ts := newTestServer(t, Config{ActivationDelay: 150 * time.Second})
	st := ts.defaultStore()
	for _, in := range []map[string]any{
		{"name": "delta", "value": "v", "scopes": []string{"workers"}, "comment": "Database password"},
		{"name": "alpha", "value": "v", "scopes": []string{"workers", "ai_gateway"}, "comment": "zzz"},
		{"name": "charlie", "value": "v", "scopes": []string{"ai_gateway"}},
		{"name": "bravo_DB", "value": "v", "scopes": []string{"workers"}, "comment": "aaa"},
		{"name": "echo", "value": "v", "scopes": []string{"dex"}, "comment": "mmm"},
	} {
		ts.createSecrets(st.ID, in)
		ts.clock.Advance(time.Minute)
	}
	return ts, "/stores/" + st.ID + "/secrets"
}

func names(list []secretJSON) string {
	var out []string
	for _, s := range list {
		out = append(out, s.Name)
	}
	return strings.Join(out, ",")
}

func TestListSecretsOrder(t *testing.T) {
	ts, path := listingFixture(t)
	tests := []struct {
		query string
		want  string
	}{
		{"", "echo,bravo_DB,charlie,alpha,delta"}, // created, desc
		{"direction=asc", "delta,alpha,charlie,bravo_DB,echo"},
		{"order=name&direction=asc", "alpha,bravo_DB,charlie,delta,echo"},
		{"order=name", "echo,delta,charlie,bravo_DB,alpha"},
		{"order=comment&direction=asc", "charlie,delta,bravo_DB,echo,alpha"}, // "" < "Database..." < "aaa"
		{"order=modified&direction=asc", "delta,alpha,charlie,bravo_DB,echo"},
		// 150s delay: the first three are active now, the last two pending;
		// ties fall back to name.
		{"order=status&direction=asc", "alpha,charlie,delta,bravo_DB,echo"},
	}
	for _, tt := range tests {
		var list []secretJSON
		ts.do("GET", path+"?"+tt.query, nil).ok(t, &list)
		if got := names(list); got != tt.want {
			t.Errorf("%q: %s, want %s", tt.query, got, tt.want)
		}
	}
}

func TestListSecretsPaging(t *testing.T) {
	ts, path := listingFixture(t)
	var seen []string
	for page := 1; ; page++ {
		var list []secretJSON
		r := ts.do("GET", path+"?order=name&direction=asc&per_page=2&page="+strconv.Itoa(page), nil).ok(t, &list)
		info := *r.ResultInfo
		if info.Page != page || info.PerPage != 2 || info.TotalCount != 5 || info.TotalPages != 3 || info.Count != len(list) {
			t.Errorf("page %d result_info %+v", page, info)
		}
		if len(list) == 0 {
			break
		}
		seen = append(seen, names(list))
	}
	if strings.Join(seen, "|") != "alpha,bravo_DB|charlie,delta|echo" {
		t.Errorf("pages %v", seen)
	}

	var list []secretJSON
	r := ts.do("GET", path, nil).ok(t, &list)
	if r.ResultInfo.PerPage != 20 || len(list) != 5 {
		t.Errorf("default page: %+v, %d items", r.ResultInfo, len(list))
	}
	ts.do("GET", path+"?per_page=100", nil).ok(t, nil)

	for query, msg := range map[string]string{
		"page=0":          "page_invalid",
		"page=x":          "page_invalid",
		"per_page=0":      "per_page_invalid",
		"per_page=101":    "per_page_invalid",
		"order=value":     "order_invalid",
		"direction=up":    "direction_invalid",
		"scopes=frobnity": "secret_scope_invalid",
	} {
		ts.do("GET", path+"?"+query, nil).fails(t, http.StatusBadRequest, 1001, msg)
	}
}

func TestListSecretsSearchAndScopes(t *testing.T) {
	ts, path := listingFixture(t)
	tests := []struct {
		query url.Values
		want  string
	}{
		{url.Values{"search": {"db"}}, "bravo_DB"}, // name, case-insensitive
		{url.Values{"search": {"DATA"}}, "delta"},  // comment, case-insensitive
		{url.Values{"search": {"ZZZ"}}, "alpha"},
		{url.Values{"search": {"nothing"}}, ""},
		{url.Values{"scopes": {"ai_gateway"}}, "alpha,charlie"},
		{url.Values{"scopes": {"ai_gateway", "workers"}}, "alpha"},
		{url.Values{"scopes": {"workers"}, "search": {"a"}}, "alpha,bravo_DB,delta"},
	}
	for _, tt := range tests {
		tt.query.Set("order", "name")
		tt.query.Set("direction", "asc")
		var list []secretJSON
		r := ts.do("GET", path+"?"+tt.query.Encode(), nil).ok(t, &list)
		if got := names(list); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.query.Encode(), got, tt.want)
		}
		if r.ResultInfo.TotalCount != len(list) {
			t.Errorf("%s: total_count %d for %d matches", tt.query.Encode(), r.ResultInfo.TotalCount, len(list))
		}
	}
}
