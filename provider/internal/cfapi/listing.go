package cfapi

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"
)

// ListingMaxAge is how long a listing of a store serves LookUpSecret. A provider instance serves
// one operation, whose reads (a refresh, a destroy's ownership checks) come together; the bound
// keeps an up that refreshes first and deletes minutes later from judging ownership by an old
// listing.
const ListingMaxAge = time.Minute

// listing is what the process has seen of one store's secrets, as one token sees them: the last
// complete listing, and every secret seen since, in a write's answer or a later look. Readers
// share one list call (LookUpSecret); writes keep it current, so that a reader sees this
// process's own writes without listing again.
type listing struct {
	mu    sync.Mutex
	full  *fullListing
	fetch *listingFetch          // in flight
	seen  map[string]observation // by secret ID
}

// fullListing is one complete listing of the store, asked for at a time.
type fullListing struct {
	byID map[string]Secret
	at   time.Time // when it was asked for: it shows every write answered before
}

// observation is one secret as a write's answer or a look showed it.
type observation struct {
	secret Secret
	gone   bool
	at     time.Time // a write's: when it was answered; a listing's: when it was asked for
}

type listingFetch struct {
	done chan struct{}
	full *fullListing
	err  error
}

func (c *Client) listing(storeID string) *listing {
	return c.shared.listings.Get(c.storeKey(storeID), func() *listing { return &listing{seen: map[string]observation{}} })
}

// observe records secrets as a write's answer (or a look asked for at at) showed them, for the
// clients that share what they see (Options.Shared): a client that does not is someone else.
func (c *Client) observe(storeID string, at time.Time, secrets ...Secret) {
	if !c.coordinated {
		return
	}
	l := c.listing(storeID)
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range secrets {
		if s.ID != "" {
			l.record(s.ID, observation{secret: s, gone: s.Status == StatusDeleted, at: at})
		}
	}
}

// observeGone records that a secret was deleted (or found gone) by an answer at at.
func (c *Client) observeGone(storeID, secretID string, at time.Time) {
	c.observe(storeID, at, Secret{ID: secretID, Status: StatusDeleted})
}

func (l *listing) record(id string, o observation) {
	if prev, ok := l.seen[id]; !ok || !prev.at.After(o.at) {
		l.seen[id] = o
	}
}

// LookUpSecret returns one secret's metadata as a listing of its store shows it, and an error
// for which IsNotFound holds when the store has no such secret. Every reader of the process that
// coalesces (Options.Shared) shares one list call per store for ListingMaxAge: a refresh or
// destroy of a whole store's Secret resources costs one listing, not a GET each. This process's
// own writes show at once. Without Options.Shared it is GetSecret.
func (c *Client) LookUpSecret(ctx context.Context, storeID, secretID string) (Secret, error) {
	if !c.coordinated {
		return c.GetSecret(ctx, storeID, secretID)
	}
	l := c.listing(storeID)
	for {
		l.mu.Lock()
		if full := l.full; full != nil && c.now().Sub(full.at) < ListingMaxAge {
			s, ok, goneSince := l.lookUp(secretID)
			l.mu.Unlock()
			switch {
			case ok:
				return s, nil
			case goneSince:
				return Secret{}, &APIError{Op: fmt.Sprintf("get secret %s in store %s", secretID, storeID),
					StatusCode: http.StatusNotFound, Errors: []ErrorDetail{{Code: 1001, Message: "secret_not_found"}}}
			}
			// Lists lag creates: one missing from a listing is looked up by its id before it is
			// taken for gone.
			return c.GetSecret(ctx, storeID, secretID)
		}
		f := l.fetch
		if f == nil {
			f = &listingFetch{done: make(chan struct{})}
			l.fetch = f
			// The fetch serves every reader that joins it: the first one's cancellation is not
			// theirs.
			go c.fetchListing(context.WithoutCancel(ctx), storeID, l, f)
		}
		l.mu.Unlock()
		select {
		case <-f.done:
		case <-ctx.Done():
			return Secret{}, ctx.Err()
		}
		if f.err != nil {
			return Secret{}, f.err
		}
	}
}

// lookUp is the secret as last seen: in the listing, or in a write or look since; goneSince says
// that an answer since the listing showed it gone (this process deleted it, or found it gone).
func (l *listing) lookUp(id string) (s Secret, ok, goneSince bool) {
	if o, seen := l.seen[id]; seen && o.at.After(l.full.at) {
		return o.secret, !o.gone, o.gone
	}
	s, ok = l.full.byID[id]
	return s, ok, false
}

func (c *Client) fetchListing(ctx context.Context, storeID string, l *listing, f *listingFetch) {
	at := c.now()
	secrets, _, err := c.listSecrets(ctx, storeID, "")
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fetch = nil
	if err != nil {
		f.err = err
	} else {
		full := &fullListing{byID: make(map[string]Secret, len(secrets)), at: at}
		for _, s := range secrets {
			full.byID[s.ID] = s
		}
		if l.full == nil || !l.full.at.After(at) {
			l.full = full
		}
		f.full = full
	}
	close(f.done)
}
