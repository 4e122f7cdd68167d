package fly

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/edgesecrets/pulumi-edgesecrets/emulator/internal/wire"
)

// Machine states the emulator goes through. A launch (create without
// skip_launch, or update) is "created" (create) or "replacing" (update) for
// the first half of Config.MachineBootDelay, "starting" for the second half,
// then "started".
const (
	stateCreated   = "created"
	stateReplacing = "replacing"
	stateStarting  = "starting"
	stateStarted   = "started"
	stateStopped   = "stopped"
	stateReplaced  = "replaced" // an older version of a machine, only seen by waits that name it
)

// machine is one emulated Fly Machine. Everything in it is guarded by API.mu.
type machine struct {
	id, name, region string
	cfg              machineConfig
	instanceID       string
	// versions holds every instance id the machine has had; all but
	// instanceID are "replaced".
	versions map[string]bool
	// state is the settled state: created, started or stopped. While a launch
	// is under way (launchedAt set) the answered state follows the launch.
	state      string
	launchedAt time.Time
	replacing  bool   // the launch under way is an update's, not a create's
	prevState  string // the replaced version's state, which a wait without a version still sees at first
	startedAt  time.Time
	createdAt  time.Time
	updatedAt  time.Time
	// secretsVersion is the app secrets version the machine booted with;
	// restarts counts the launches of updates.
	secretsVersion uint64
	restarts       int
	lease          *machineLease
	// Faults set through the inspection routes. failingNonce is the lease under which the
	// update that met failNextUpdate was made: its retries fail too.
	failNextUpdate bool
	failingNonce   string
	failChecks     bool
}

type machineLease struct {
	nonce, owner, description string
	expiresAt                 time.Time
}

// machineConfig is a config as the emulator keeps it: the JSON as it answers
// it (normalised, defaults filled in, other fields as the client sent them)
// and what the emulator reads from it.
type machineConfig struct {
	raw    json.RawMessage
	image  string
	checks []string // names of the checks the machine reports, sorted
}

// configFields are the parts of a MachineConfig the emulator reads. Decoding
// into typed fields refuses what Fly's own decoding would (metadata that is
// not strings, checks that are not objects).
type configFields struct {
	Image    string                     `json:"image"`
	Metadata map[string]string          `json:"metadata"`
	Checks   map[string]json.RawMessage `json:"checks"`
	Services []struct {
		InternalPort int `json:"internal_port"`
		Checks       []struct {
			Type string `json:"type"`
		} `json:"checks"`
	} `json:"services"`
}

// configDefaults are filled in when a config leaves them out, as Fly does:
// what a client reads back is not byte for byte what it sent.
var configDefaults = map[string]json.RawMessage{
	"init":  json.RawMessage(`{}`),
	"guest": json.RawMessage(`{"cpu_kind":"shared","cpus":1,"memory_mb":256}`),
}

// parseConfig checks and normalises a MachineConfig. The error is a message
// for a 400; it never quotes the config (env may hold anything).
func parseConfig(raw json.RawMessage) (machineConfig, error) {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return machineConfig{}, fmt.Errorf("config is required")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return machineConfig{}, fmt.Errorf("config must be a JSON object")
	}
	var known configFields
	if err := json.Unmarshal(raw, &known); err != nil {
		return machineConfig{}, fmt.Errorf("invalid machine config")
	}
	if strings.TrimSpace(known.Image) == "" {
		return machineConfig{}, fmt.Errorf("config.image is required")
	}
	for key, value := range configDefaults {
		if _, ok := fields[key]; !ok {
			fields[key] = value
		}
	}
	normalised, err := json.Marshal(fields) // keys sorted, values as sent
	if err != nil {
		return machineConfig{}, fmt.Errorf("invalid machine config")
	}
	cfg := machineConfig{raw: normalised, image: known.Image}
	for name := range known.Checks {
		cfg.checks = append(cfg.checks, name)
	}
	for i, svc := range known.Services {
		for _, check := range svc.Checks {
			cfg.checks = append(cfg.checks, fmt.Sprintf("servicecheck-%02d-%s-%d", i, check.Type, svc.InternalPort))
		}
	}
	sort.Strings(cfg.checks)
	return cfg, nil
}

// defaultMachineConfig is the config of the machines EnsureMachines creates:
// an app machine of Fly Launch (platform v2, process group "app") with one
// health check.
func defaultMachineConfig(appName string) machineConfig {
	raw := fmt.Sprintf(`{"image":"registry.fly.io/%s:deployment-emulator",`+
		`"metadata":{"fly_platform_version":"v2","fly_process_group":"app"},`+
		`"services":[{"protocol":"tcp","internal_port":8080,"ports":[{"port":443,"handlers":["tls","http"]}]}],`+
		`"checks":{"alive":{"type":"tcp","port":8080,"interval":"15s","timeout":"2s"}}}`, appName)
	cfg, err := parseConfig(json.RawMessage(raw))
	if err != nil {
		panic("emulator: default machine config: " + err.Error())
	}
	return cfg
}

// newMachineID is 14 lowercase hex characters, like Fly's.
func newMachineID() string { return randomHex(7) }

// newInstanceID is a 26-character version id in Crockford base32, ordered by
// time like the ULIDs Fly uses.
func newInstanceID(now time.Time) string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var out [26]byte
	ms := uint64(now.UnixMilli())
	for i := 9; i >= 0; i-- {
		out[i] = alphabet[ms&31]
		ms >>= 5
	}
	var random [16]byte
	_, _ = rand.Read(random[:])
	for i := 10; i < 26; i++ {
		out[i] = alphabet[random[i-10]&31]
	}
	return string(out[:])
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// settle ends a launch whose boot delay has passed. The caller holds mu.
func (a *API) settle(m *machine, now time.Time) {
	if m.launchedAt.IsZero() || now.Before(m.launchedAt.Add(a.cfg.MachineBootDelay)) {
		return
	}
	m.state = stateStarted
	m.startedAt = m.launchedAt.Add(a.cfg.MachineBootDelay)
	m.launchedAt = time.Time{}
}

// stateAt is the machine's current version's state now.
func (a *API) stateAt(m *machine, now time.Time) string {
	a.settle(m, now)
	switch {
	case m.launchedAt.IsZero():
		return m.state
	case now.Before(m.launchedAt.Add(a.cfg.MachineBootDelay / 2)):
		if m.replacing {
			return stateReplacing
		}
		return stateCreated
	default:
		return stateStarting
	}
}

// launch starts booting the machine's current version with at least secrets
// version minSecrets: the version it gets is the newest a lagging read sees,
// or minSecrets if that is newer. The caller holds mu and has checked that
// the app has minSecrets.
func (a *API) launch(ap *app, m *machine, minSecrets uint64, now time.Time) {
	m.secretsVersion = max(minSecrets, a.visibleVersion(ap, minSecrets).version)
	m.launchedAt = now
	a.settle(m, now) // at once when there is no boot delay
}

// newVersion gives the machine a new instance id with cfg, remembering
// which state the replaced version was in.
func (m *machine) newVersion(cfg machineConfig, state string, now time.Time) {
	m.prevState = state
	m.cfg = cfg
	m.instanceID = newInstanceID(now)
	m.versions[m.instanceID] = true
	m.updatedAt = now
}

// activeLease returns the lease if it has not expired, dropping an expired
// one. The caller holds mu.
func (m *machine) activeLease(now time.Time) *machineLease {
	if m.lease != nil && !now.Before(m.lease.expiresAt) {
		m.lease = nil
	}
	return m.lease
}

// leasesHeld counts the app's machines under an unexpired lease.
func (ap *app) leasesHeld(now time.Time) int {
	held := 0
	for _, m := range ap.machines {
		if m.activeLease(now) != nil {
			held++
		}
	}
	return held
}

// addMachine records a new machine in the app. The caller holds mu.
func (ap *app) addMachine(m *machine) {
	ap.machines[m.id] = m
	ap.order = append(ap.order, m.id)
}

// machineList is the app's machines in creation order.
func (ap *app) machineList() []*machine {
	out := make([]*machine, 0, len(ap.order))
	for _, id := range ap.order {
		out = append(out, ap.machines[id])
	}
	return out
}

// Machine JSON, as fly-go's fly.Machine reads it.

type machineJSON struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	State      string            `json:"state"`
	Region     string            `json:"region"`
	InstanceID string            `json:"instance_id"`
	PrivateIP  string            `json:"private_ip"`
	Config     json.RawMessage   `json:"config"`
	ImageRef   imageRefJSON      `json:"image_ref"`
	CreatedAt  string            `json:"created_at"`
	UpdatedAt  string            `json:"updated_at"`
	Checks     []checkStatusJSON `json:"checks,omitempty"`
	HostStatus string            `json:"host_status"`
	// Nonce is set only on a create that asked for a lease (lease_ttl).
	Nonce string `json:"nonce,omitempty"`
}

type imageRefJSON struct {
	Registry   string `json:"registry"`
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
}

// checkStatusJSON is fly-go's MachineCheckStatus.
type checkStatusJSON struct {
	Name      string `json:"name"`
	Status    string `json:"status"`
	Output    string `json:"output"`
	UpdatedAt string `json:"updated_at"`
}

func (a *API) machineToJSON(m *machine, now time.Time) machineJSON {
	state := a.stateAt(m, now)
	out := machineJSON{
		ID:         m.id,
		Name:       m.name,
		State:      state,
		Region:     m.region,
		InstanceID: m.instanceID,
		PrivateIP:  "fdaa:0:1:a7b:" + m.id[:4] + ":" + m.id[4:8] + ":" + m.id[8:12] + ":2",
		Config:     m.cfg.raw,
		ImageRef:   parseImageRef(m.cfg.image),
		CreatedAt:  wire.FormatTime(m.createdAt),
		UpdatedAt:  wire.FormatTime(m.updatedAt),
		HostStatus: "ok",
	}
	for _, name := range m.cfg.checks {
		out.Checks = append(out.Checks, a.checkStatus(m, name, state, now))
	}
	return out
}

// checkStatus reports one health check: passing from MachineCheckDelay after
// the machine started, critical before (and always once fail-checks is set).
func (a *API) checkStatus(m *machine, name, state string, now time.Time) checkStatusJSON {
	out := checkStatusJSON{Name: name, Status: "critical", UpdatedAt: wire.FormatTime(now)}
	switch {
	case state != stateStarted:
		out.Output = "the machine is " + state
	case m.failChecks:
		out.Output = "connection refused (failing on purpose: fail-checks)"
	case now.Before(m.startedAt.Add(a.cfg.MachineCheckDelay)):
		out.Output = "waiting for the machine to answer"
	default:
		out.Status, out.Output = "passing", "success"
	}
	return out
}

// parseImageRef splits "registry/repository:tag"; a first segment without a
// dot, colon or "localhost" is part of the repository on Docker Hub.
func parseImageRef(image string) imageRefJSON {
	ref := imageRefJSON{Registry: "docker-hub-mirror.fly.io", Tag: "latest"}
	rest := image
	if first, after, ok := strings.Cut(image, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		ref.Registry, rest = first, after
	}
	if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		rest, ref.Tag = rest[:i], rest[i+1:]
	}
	ref.Repository = rest
	return ref
}
