package fly

import (
	"fmt"
	"net/http"
	"time"
)

// MachineSummary is what tests see of a machine through
// GET /_emulator/fly/apps/{app}/machines.
type MachineSummary struct {
	ID    string `json:"id"`
	State string `json:"state"`
	// SecretsVersion is the app secrets version the machine booted with (or
	// is booting with).
	SecretsVersion uint64 `json:"secrets_version"`
	// Restarts counts the updates that relaunched it.
	Restarts int  `json:"restarts"`
	Leased   bool `json:"leased"`
}

// LeaseSummary is GET /_emulator/fly/apps/{app}/leases: the leases held on
// the app's machines now, and the most ever held at once.
type LeaseSummary struct {
	Held          int `json:"held"`
	MaxHeldAtOnce int `json:"max_held_at_once"`
}

// ErrNotFound is returned by the inspection methods for an unknown app or
// machine.
var ErrNotFound = fmt.Errorf("fly: not found")

// RegisterInspection adds the fixed routes tests read the machines through.
// They are not part of Fly's API: mount them outside /v1, unauthenticated and
// uncounted.
//
//	GET  /_emulator/fly/apps/{app}/machines                    [MachineSummary...]
//	GET  /_emulator/fly/apps/{app}/leases                      LeaseSummary
//	POST /_emulator/fly/apps/{app}/machines/{id}/fail-next-update   204: the next update (and its retries
//	                                                                under the same lease) answers 500
//	POST /_emulator/fly/apps/{app}/machines/{id}/fail-checks        204: its health checks stay critical
func (a *API) RegisterInspection(mux Mux) {
	mux.Handle("GET /_emulator/fly/apps/{app}/machines", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		machines, err := a.Machines(r.PathValue("app"))
		inspectionAnswer(w, machines, err)
	}))
	mux.Handle("GET /_emulator/fly/apps/{app}/leases", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leases, err := a.Leases(r.PathValue("app"))
		inspectionAnswer(w, leases, err)
	}))
	mux.Handle(
		"POST /_emulator/fly/apps/{app}/machines/{id}/fail-next-update",
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inspectionDone(w, a.FailNextUpdate(r.PathValue("app"), r.PathValue("id")))
		}),
	)
	mux.Handle(
		"POST /_emulator/fly/apps/{app}/machines/{id}/fail-checks",
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			inspectionDone(w, a.FailChecks(r.PathValue("app"), r.PathValue("id")))
		}),
	)
}

func inspectionAnswer[T any](w http.ResponseWriter, body T, err error) {
	if err != nil {
		WriteError(w, http.StatusNotFound, "not found")
		return
	}
	writeJSON(w, http.StatusOK, body)
}

func inspectionDone(w http.ResponseWriter, err error) {
	if err != nil {
		WriteError(w, http.StatusNotFound, "not found")
		return
	}
	writeEmpty(w, http.StatusNoContent)
}

// Machines summarises the app's machines in creation order.
func (a *API) Machines(appName string) ([]MachineSummary, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ap := a.apps[appName]
	if ap == nil {
		return nil, ErrNotFound
	}
	now := a.cfg.Now()
	out := []MachineSummary{}
	for _, m := range ap.machineList() {
		out = append(out, MachineSummary{
			ID: m.id, State: a.stateAt(m, now), SecretsVersion: m.secretsVersion,
			Restarts: m.restarts, Leased: m.activeLease(now) != nil,
		})
	}
	return out, nil
}

// Leases counts the app's machine leases.
func (a *API) Leases(appName string) (LeaseSummary, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ap := a.apps[appName]
	if ap == nil {
		return LeaseSummary{}, ErrNotFound
	}
	return LeaseSummary{Held: ap.leasesHeld(a.cfg.Now()), MaxHeldAtOnce: ap.maxLeasesHeld}, nil
}

// FailNextUpdate makes the machine's next update answer 500 and change
// nothing, and so every retry of it under the same lease (the same nonce):
// the deploy that made it fails, the next deploy (a new lease) goes through.
// An update without a lease fails once.
func (a *API) FailNextUpdate(appName, id string) error {
	return a.withMachineLocked(appName, id, func(m *machine) { m.failNextUpdate = true })
}

// FailChecks makes the machine's health checks critical from now on.
func (a *API) FailChecks(appName, id string) error {
	return a.withMachineLocked(appName, id, func(m *machine) { m.failChecks = true })
}

func (a *API) withMachineLocked(appName, id string, fn func(m *machine)) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	ap := a.apps[appName]
	if ap == nil || ap.machines[id] == nil {
		return ErrNotFound
	}
	fn(ap.machines[id])
	return nil
}

// EnsureMachines gives the app started machines until it has n (existing ones
// count), each an app machine of Fly Launch with one health check, already
// passing, booted with the app's current secrets version.
func (a *API) EnsureMachines(appName string, n int) error {
	a.mu.Lock()
	ap := a.apps[appName]
	if ap == nil {
		a.mu.Unlock()
		return fmt.Errorf("fly: app %q does not exist", appName)
	}
	now := a.cfg.Now()
	added := false
	for len(ap.machines) < n {
		m := a.newMachine(ap, defaultMachineConfig(appName), "", "", now)
		m.state, m.startedAt = stateStarted, now.Add(-a.cfg.MachineCheckDelay-time.Second)
		added = true
	}
	a.mu.Unlock()
	if added {
		a.changed()
	}
	return nil
}
