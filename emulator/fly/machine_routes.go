package fly

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/internal/wire"
)

// nonceHeader carries a machine lease's nonce (fly-go's flaps.NonceHeader).
const nonceHeader = "fly-machine-lease-nonce"

// maxWait is how long one wait request may block: the Machines API's limit,
// which fly-go caps its waits at too.
const maxWait = 60 * time.Second

// launchRequest is fly-go's LaunchMachineInput, plus current_version from
// the Machines API's UpdateMachineRequest.
type launchRequest struct {
	Config            json.RawMessage `json:"config"`
	Region            string          `json:"region"`
	Name              string          `json:"name"`
	SkipLaunch        bool            `json:"skip_launch"`
	MinSecretsVersion *uint64         `json:"min_secrets_version"`
	LeaseTTL          int             `json:"lease_ttl"`
	// CurrentVersion, when set, must be the machine's instance id: an update
	// based on a version that has been replaced since is refused.
	CurrentVersion string `json:"current_version"`
}

// decodeLaunch checks that the app exists (404), then reads a create or
// update body and checks its config (400). ok is false when the answer has
// been written.
func (a *API) decodeLaunch(w http.ResponseWriter, r *http.Request) (req launchRequest, cfg machineConfig, ok bool) {
	if !a.checkApp(w, r.PathValue("app")) {
		return req, cfg, false
	}
	if err := wire.DecodeJSON(r, &req); err != nil {
		WriteError(w, http.StatusBadRequest, invalidJSONMessage)
		return req, cfg, false
	}
	cfg, err := parseConfig(req.Config)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return req, cfg, false
	}
	if req.LeaseTTL < 0 {
		WriteError(w, http.StatusBadRequest, "lease_ttl must not be negative")
		return req, cfg, false
	}
	return req, cfg, true
}

// answer is what a handler's locked part decided: a status and a body.
type answer struct {
	status int
	body   any
}

func failure(status int, message string) answer { return answer{status, errorBody{Error: message}} }

// withApp runs fn with mu held on the path's app (404 when it does not
// exist), then answers what fn returned. A successful answer of a mutation
// is persisted before it is written.
func (a *API) withApp(w http.ResponseWriter, r *http.Request, mutation bool, fn func(ap *app, now time.Time) answer) {
	ap := a.lockApp(w, r.PathValue("app"))
	if ap == nil {
		return
	}
	res := fn(ap, a.cfg.Now())
	a.mu.Unlock()
	if mutation && res.status < 300 {
		a.changed()
	}
	writeJSON(w, res.status, res.body)
}

// withMachine is withApp for the path's machine (404 when it does not exist).
func (a *API) withMachine(
	w http.ResponseWriter,
	r *http.Request,
	mutation bool,
	fn func(ap *app, m *machine, now time.Time) answer,
) {
	a.withApp(w, r, mutation, func(ap *app, now time.Time) answer {
		m := ap.machines[r.PathValue("id")]
		if m == nil {
			return failure(http.StatusNotFound, "machine not found")
		}
		return fn(ap, m, now)
	})
}

// checkMinSecrets refuses a min_secrets_version beyond what the app has
// written with 412, as reads asking for a version are. The caller holds mu.
func checkMinSecrets(ap *app, req launchRequest) (answer, bool) {
	if req.MinSecretsVersion != nil && *req.MinSecretsVersion > ap.version {
		return failure(http.StatusPreconditionFailed, fmt.Sprintf(
			"min_secrets_version %d is not yet available (current version %d)", *req.MinSecretsVersion, ap.version,
		)), false
	}
	return answer{}, true
}

func minSecrets(req launchRequest) uint64 {
	if req.MinSecretsVersion == nil {
		return 0
	}
	return *req.MinSecretsVersion
}

func (a *API) listMachines(w http.ResponseWriter, r *http.Request) {
	a.withApp(w, r, false, func(ap *app, now time.Time) answer {
		out := []machineJSON{}
		for _, m := range ap.machineList() {
			out = append(out, a.machineToJSON(m, now))
		}
		return answer{http.StatusOK, out}
	})
}

func (a *API) createMachine(w http.ResponseWriter, r *http.Request) {
	req, cfg, ok := a.decodeLaunch(w, r)
	if !ok {
		return
	}
	a.withApp(w, r, true, func(ap *app, now time.Time) answer {
		if refusal, ok := checkMinSecrets(ap, req); !ok {
			return refusal
		}
		m := a.newMachine(ap, cfg, req.Name, req.Region, now)
		if !req.SkipLaunch {
			a.launch(ap, m, minSecrets(req), now)
		}
		body := a.machineToJSON(m, now)
		if req.LeaseTTL > 0 {
			body.Nonce = a.takeLease(ap, m, req.LeaseTTL, "", now).nonce
		}
		return answer{http.StatusOK, body}
	})
}

// newMachine adds a machine in state "created" to the app. The caller holds mu.
func (a *API) newMachine(ap *app, cfg machineConfig, name, region string, now time.Time) *machine {
	id := newMachineID()
	for ap.machines[id] != nil {
		id = newMachineID()
	}
	if name == "" {
		name = "machine-" + id[:6]
	}
	if region == "" {
		region = "iad"
	}
	created := wire.Now(func() time.Time { return now })
	m := &machine{id: id, name: name, region: region, state: stateCreated, versions: map[string]bool{},
		createdAt: created, secretsVersion: ap.version}
	m.newVersion(cfg, stateCreated, created)
	ap.addMachine(m)
	return m
}

func (a *API) getMachine(w http.ResponseWriter, r *http.Request) {
	a.withMachine(w, r, false, func(_ *app, m *machine, now time.Time) answer {
		return answer{http.StatusOK, a.machineToJSON(m, now)}
	})
}

// updateMachine replaces the machine's config with a new version. A leased
// machine needs its lease's nonce. Unless skip_launch, the machine restarts:
// it boots the new version with at least min_secrets_version. With
// skip_launch a stopped machine keeps its state and takes the config.
func (a *API) updateMachine(w http.ResponseWriter, r *http.Request) {
	req, cfg, ok := a.decodeLaunch(w, r)
	if !ok {
		return
	}
	a.withMachine(w, r, true, func(ap *app, m *machine, now time.Time) answer {
		if lease := m.activeLease(now); lease != nil && r.Header.Get(nonceHeader) != lease.nonce {
			return leaseHeld(m, lease)
		}
		if refusal, ok := checkMinSecrets(ap, req); !ok {
			return refusal
		}
		if req.CurrentVersion != "" && req.CurrentVersion != m.instanceID {
			return failure(http.StatusPreconditionFailed,
				fmt.Sprintf("current_version %s does not match the machine's version %s", req.CurrentVersion, m.instanceID))
		}
		if nonce := r.Header.Get(nonceHeader); m.failNextUpdate || (m.failingNonce != "" && nonce == m.failingNonce) {
			m.failNextUpdate, m.failingNonce = false, nonce
			return failure(http.StatusInternalServerError,
				"failed to update machine "+m.id+": injected by edgesecrets-emulator (fail-next-update)")
		}
		m.failingNonce = ""
		state := a.stateAt(m, now)
		neverLaunched := m.launchedAt.IsZero() && m.state == stateCreated
		m.newVersion(cfg, state, now)
		if req.Name != "" {
			m.name = req.Name
		}
		if req.SkipLaunch {
			if !neverLaunched {
				m.state = stateStopped
			}
			m.launchedAt = time.Time{}
		} else {
			m.replacing = true
			m.restarts++
			a.launch(ap, m, minSecrets(req), now)
		}
		return answer{http.StatusOK, a.machineToJSON(m, now)}
	})
}

// waitStates are the states a wait may ask for.
var waitStates = []string{stateStarted, stateStopped, "suspended", "destroyed"}

type waitRequest struct {
	states   []string
	version  string
	deadline time.Duration
}

func parseWait(r *http.Request) (waitRequest, error) {
	q := r.URL.Query()
	req := waitRequest{states: q["state"], deadline: maxWait}
	if len(req.states) == 0 {
		req.states = []string{stateStarted}
	}
	for _, s := range req.states {
		if !slices.Contains(waitStates, s) {
			return req, fmt.Errorf("invalid state %q: want started, stopped, suspended or destroyed", s)
		}
	}
	// fly-go sends the version as "version", the API reference calls it
	// "instance_id": both are read.
	req.version = q.Get("instance_id")
	if v := q.Get("version"); v != "" {
		if req.version != "" && req.version != v {
			return req, fmt.Errorf("instance_id and version differ")
		}
		req.version = v
	}
	if t := q.Get("timeout"); t != "" {
		seconds, err := strconv.Atoi(t)
		if err != nil || seconds < 1 {
			return req, fmt.Errorf("timeout must be a whole number of seconds, at least 1")
		}
		req.deadline = min(time.Duration(seconds)*time.Second, maxWait)
	}
	return req, nil
}

// waitPoll is how often a wait looks at the machine again.
const waitPoll = 10 * time.Millisecond

// waitMachine blocks until the machine (its version instance_id, or its
// current version) is in one of the states asked for: 200 {"ok":true}, or
// 408 after the timeout (at most 60 s). The state of a version that has been
// replaced is "replaced", which no wait asks for. In the first half of a
// launch, a wait that names no version still sees the version being replaced
// (Fly's own race, which is why clients must pass the version an update
// answered).
func (a *API) waitMachine(w http.ResponseWriter, r *http.Request) {
	req, err := parseWait(r)
	if err != nil {
		WriteError(w, http.StatusBadRequest, err.Error())
		return
	}
	ap := a.lockApp(w, r.PathValue("app"))
	if ap == nil {
		return
	}
	m := ap.machines[r.PathValue("id")]
	known := m != nil && (req.version == "" || m.versions[req.version])
	a.mu.Unlock()
	switch {
	case m == nil:
		WriteError(w, http.StatusNotFound, "machine not found")
		return
	case !known:
		WriteError(w, http.StatusNotFound, "machine version "+req.version+" not found")
		return
	}

	timeout := time.NewTimer(req.deadline)
	defer timeout.Stop()
	tick := time.NewTicker(waitPoll)
	defer tick.Stop()
	for {
		a.mu.Lock()
		state := a.waitedState(m, req.version, a.cfg.Now())
		a.mu.Unlock()
		if slices.Contains(req.states, state) {
			writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
			return
		}
		select {
		case <-tick.C:
		case <-timeout.C:
			WriteError(w, http.StatusRequestTimeout,
				fmt.Sprintf("deadline_exceeded: machine %s did not reach %v in time (state %s)", m.id, req.states, state))
			return
		case <-r.Context().Done():
			return
		}
	}
}

// waitedState is the state a wait sees. The caller holds mu.
func (a *API) waitedState(m *machine, version string, now time.Time) string {
	state := a.stateAt(m, now)
	switch {
	case version != "" && version != m.instanceID:
		return stateReplaced
	case version == "" && m.replacing && state == stateReplacing:
		return m.prevState
	}
	return state
}
