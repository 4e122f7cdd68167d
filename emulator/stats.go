package emulator

import (
	"maps"
	"net/http"
	"strings"
	"sync"
)

// Stats counts API requests. Routes is keyed "METHOD /route/{template}". Faults counts the
// requests that met an injected fault or a rate limit, by kind: "drop", "server_error",
// "throttle" (injected 429s), "conflict", "lost_response" and "rate_limited" (429s of the
// APIs' own limits). RateLimited counts those 429s of the APIs' own limits by route: a client
// sends such a request again, so Routes less RateLimited is the calls it made.
type Stats struct {
	Total       int            `json:"total"`
	Routes      map[string]int `json:"routes"`
	Faults      map[string]int `json:"faults"`
	RateLimited map[string]int `json:"rate_limited"`
}

// Answered is Routes without the requests the APIs' own rate limits refused: the calls a client
// made, each counted once however often the limit sent it back.
func (s Stats) Answered() map[string]int {
	out := maps.Clone(s.Routes)
	for route, n := range s.RateLimited {
		if out[route] -= n; out[route] <= 0 {
			delete(out, route)
		}
	}
	return out
}

type statsCounter struct {
	mu      sync.Mutex
	total   int
	routes  map[string]int
	faults  map[string]int
	limited map[string]int
}

func newStatsCounter() *statsCounter {
	return &statsCounter{routes: map[string]int{}, faults: map[string]int{}, limited: map[string]int{}}
}

func (c *statsCounter) add(route string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total++
	c.routes[route]++
}

func (c *statsCounter) addFault(kind string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults[kind]++
}

// addRateLimited counts a request of route refused by the API's own rate limit.
func (c *statsCounter) addRateLimited(route string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.faults["rate_limited"]++
	c.limited[route]++
}

func (c *statsCounter) snapshot() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Total: c.total, Routes: maps.Clone(c.routes), Faults: maps.Clone(c.faults),
		RateLimited: maps.Clone(c.limited)}
}

func (c *statsCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total = 0
	c.routes = map[string]int{}
	c.faults = map[string]int{}
	c.limited = map[string]int{}
}

// routeKey is the stats key of a routed request: its pattern, with the method
// in front for catch-all patterns registered without one.
func routeKey(r *http.Request) string {
	if strings.Contains(r.Pattern, " ") {
		return r.Pattern
	}
	return r.Method + " " + r.Pattern
}
