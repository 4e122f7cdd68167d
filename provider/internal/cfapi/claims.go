package cfapi

import (
	"fmt"
	"sync"
)

// claimSet is the names that creates of this instance are making right now, per store: two
// callers that create the same name at once are two resources declaring one secret, and only
// one of them may ever take the result as its own.
//
// It also remembers what creates of this process have handed out: a create whose answer was
// lost must never take as its own a secret or store that an earlier create already returned to
// another caller, however recent.
// The zero value is ready.
type claimSet struct {
	mu        sync.Mutex
	names     map[string]bool // key: claimKey + "\x00" + name
	handedOut map[string]bool // key: claimKey + "\x00" + ID
}

// handOut records IDs a create returns to its caller.
func (s *claimSet) handOut(where string, ids ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handedOut == nil {
		s.handedOut = map[string]bool{}
	}
	for _, id := range ids {
		s.handedOut[where+"\x00"+id] = true
	}
}

// wasHandedOut reports whether a create of this process already returned id.
func (s *claimSet) wasHandedOut(where, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.handedOut[where+"\x00"+id]
}

// claimKey names the place a create makes names in: a store, or the account's stores ("").
func (c *Client) claimKey(storeID string) string {
	return c.baseURL + "\x00" + c.accountID + "\x00" + storeID
}

// take claims every name, or none when one is already claimed; release gives them back.
func (s *claimSet) take(where string, names []string) (release func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range names {
		if s.names[where+"\x00"+name] {
			return nil, fmt.Errorf("another resource of this program is creating %q in the same place at the "+
				"same time: two resources declare one secret or store; remove one of them", name)
		}
	}
	if s.names == nil {
		s.names = map[string]bool{}
	}
	for _, name := range names {
		s.names[where+"\x00"+name] = true
	}
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, name := range names {
			delete(s.names, where+"\x00"+name)
		}
	}, nil
}
