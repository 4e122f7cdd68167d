package fly

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/internal/wire"
)

// Leases are exclusive locks on modifying one machine: while one is held, an
// update needs its nonce. They are not saved in the state file.
const (
	defaultLeaseTTL = 30 // seconds, when neither the query nor the body gives one
	leaseOwner      = "edgesecrets-emulator@tokens.fly.io"
)

// leaseRequest is the Machines API's CreateLeaseRequest. fly-go sends the
// TTL as ?ttl=S instead, which wins over the body.
type leaseRequest struct {
	TTL         *int   `json:"ttl"`
	Description string `json:"description"`
}

// leaseJSON is fly-go's MachineLease.
type leaseJSON struct {
	Status string        `json:"status"`
	Data   leaseDataJSON `json:"data"`
}

type leaseDataJSON struct {
	Nonce       string `json:"nonce"`
	ExpiresAt   int64  `json:"expires_at"`
	Owner       string `json:"owner"`
	Description string `json:"description"`
	// Version is the machine's instance id when the lease was answered.
	Version string `json:"version"`
}

func (l *machineLease) toJSON(m *machine) leaseJSON {
	return leaseJSON{Status: "success", Data: leaseDataJSON{
		Nonce: l.nonce, ExpiresAt: l.expiresAt.Unix(), Owner: l.owner, Description: l.description, Version: m.instanceID,
	}}
}

// leaseHeld is Fly's answer to a write on a machine someone else holds.
func leaseHeld(m *machine, l *machineLease) answer {
	return failure(http.StatusConflict, fmt.Sprintf("aborted: machine ID %s lease currently held by %s, expires at %s",
		m.id, l.owner, l.expiresAt.UTC().Format(time.RFC3339)))
}

// takeLease gives the machine a new lease and records how many the app holds
// at once. The caller holds mu.
func (a *API) takeLease(ap *app, m *machine, ttlSeconds int, description string, now time.Time) *machineLease {
	m.lease = &machineLease{
		nonce:       randomHex(6),
		owner:       leaseOwner,
		description: description,
		expiresAt:   now.Add(time.Duration(ttlSeconds) * time.Second),
	}
	ap.maxLeasesHeld = max(ap.maxLeasesHeld, ap.leasesHeld(now))
	return m.lease
}

func parseLeaseRequest(r *http.Request) (leaseRequest, int, error) {
	var req leaseRequest
	body, err := io.ReadAll(io.LimitReader(r.Body, wire.MaxBodyBytes))
	if err != nil {
		return req, 0, fmt.Errorf("%s", invalidJSONMessage)
	}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			return req, 0, fmt.Errorf("%s", invalidJSONMessage)
		}
	}
	ttl := defaultLeaseTTL
	if req.TTL != nil {
		ttl = *req.TTL
	}
	if q := r.URL.Query().Get("ttl"); q != "" {
		if ttl, err = strconv.Atoi(q); err != nil {
			return req, 0, fmt.Errorf("ttl must be a whole number of seconds")
		}
	}
	if ttl < 1 {
		return req, 0, fmt.Errorf("ttl must be at least 1 second")
	}
	return req, ttl, nil
}

// acquireLease takes a lease on the machine, or refreshes the one held when
// the request carries its nonce; 409 while another is held.
func (a *API) acquireLease(w http.ResponseWriter, r *http.Request) {
	if !a.checkApp(w, r.PathValue("app")) {
		return
	}
	req, ttl, err := parseLeaseRequest(r)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	a.withMachine(w, r, false, func(ap *app, m *machine, now time.Time) answer {
		if held := m.activeLease(now); held != nil {
			if r.Header.Get(nonceHeader) != held.nonce {
				return leaseHeld(m, held)
			}
			held.expiresAt = now.Add(time.Duration(ttl) * time.Second)
			return answer{http.StatusOK, held.toJSON(m)}
		}
		return answer{http.StatusOK, a.takeLease(ap, m, ttl, req.Description, now).toJSON(m)}
	})
}

func (a *API) getLease(w http.ResponseWriter, r *http.Request) {
	a.withMachine(w, r, false, func(_ *app, m *machine, now time.Time) answer {
		held := m.activeLease(now)
		if held == nil {
			return failure(http.StatusNotFound, "lease not found")
		}
		return answer{http.StatusOK, held.toJSON(m)}
	})
}

// releaseLease drops the lease whose nonce the request carries: 404 when no
// lease is held (a release repeated after a lost answer), 409 for another's.
func (a *API) releaseLease(w http.ResponseWriter, r *http.Request) {
	a.withMachine(w, r, false, func(_ *app, m *machine, now time.Time) answer {
		held := m.activeLease(now)
		switch {
		case held == nil:
			return failure(http.StatusNotFound, "lease not found")
		case r.Header.Get(nonceHeader) != held.nonce:
			return leaseHeld(m, held)
		}
		m.lease = nil
		return answer{http.StatusOK, struct{}{}}
	})
}
