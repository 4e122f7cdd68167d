package coalesce

import (
	"strings"
	"sync"
)

// Keyed is what a process keeps for each of many keys (an app or a store as one token sees it at
// one API: a batcher, a listing), made on first use. The zero value is ready; it is safe for
// concurrent use.
type Keyed[T any] struct {
	mu sync.Mutex
	m  map[string]*T
}

// Get returns the value for key, made by make if there is none yet.
func (k *Keyed[T]) Get(key string, make func() *T) *T {
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[key]
	if !ok {
		if k.m == nil {
			k.m = map[string]*T{}
		}
		v = make()
		k.m[key] = v
	}
	return v
}

// DropPrefix forgets the values of every key that starts with prefix: the next Get makes anew.
func (k *Keyed[T]) DropPrefix(prefix string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for key := range k.m {
		if strings.HasPrefix(key, prefix) {
			delete(k.m, key)
		}
	}
}
