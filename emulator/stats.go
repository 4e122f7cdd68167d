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
// APIs' own limits).
type Stats struct {
	Total  int            `json:"total"`
	Routes map[string]int `json:"routes"`
	Faults map[string]int `json:"faults"`
}

type statsCounter struct {
	mu     sync.Mutex
	total  int
	routes map[string]int
	faults map[string]int
}

func newStatsCounter() *statsCounter {
	return &statsCounter{routes: map[string]int{}, faults: map[string]int{}}
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

func (c *statsCounter) snapshot() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Stats{Total: c.total, Routes: maps.Clone(c.routes), Faults: maps.Clone(c.faults)}
}

func (c *statsCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total = 0
	c.routes = map[string]int{}
	c.faults = map[string]int{}
}

// routeKey is the stats key of a routed request: its pattern, with the method
// in front for catch-all patterns registered without one.
func routeKey(r *http.Request) string {
	if strings.Contains(r.Pattern, " ") {
		return r.Pattern
	}
	return r.Method + " " + r.Pattern
}
