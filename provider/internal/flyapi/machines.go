package flyapi

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The machines endpoints a deploy uses (fly-go's flaps client: flaps_machines.go,
// flaps_machines_wait.go and its leases). Fly limits machine actions per machine, so requests
// are paced per machine and action; listing and creating are paced per app.

// Machine states a deploy reads.
const (
	MachineStateStarted    = "started"
	MachineStateStarting   = "starting"
	MachineStateStopped    = "stopped"
	MachineStateCreated    = "created"
	MachineStateFailed     = "failed"
	MachineStateReplacing  = "replacing"
	MachineStateDestroyed  = "destroyed"
	MachineStateDestroying = "destroying"
)

// Process groups and metadata keys fly-go reads to tell release-command and console machines
// from the app's own.
const (
	metadataProcessGroup       = "fly_process_group"
	metadataLegacyProcessGroup = "process_group"
	metadataPlatformVersion    = "fly_platform_version"
	processGroupReleaseCommand = "fly_app_release_command"
	processGroupConsole        = "fly_app_console"
)

// maxWaitChunk is the longest one wait request may block: the Machines API's (and fly-go's) cap.
const maxWaitChunk = 60 * time.Second

// Machine is a Fly Machine as the API describes it (the parts of fly-go's fly.Machine a deploy
// reads).
type Machine struct {
	ID     string
	Name   string
	State  string
	Region string
	// InstanceID is the machine's version: every update makes a new one.
	InstanceID string
	// Config is the config of the current version, as the API answered it. It is nil when the
	// machine's host is unreachable (HostStatus not "ok"): Fly then knows only part of it.
	Config MachineConfig
	// Checks are the health checks' statuses ("passing", "warning", "critical").
	Checks     []CheckStatus
	HostStatus string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// CheckStatus is one health check of a machine (fly-go's MachineCheckStatus).
type CheckStatus struct {
	Name   string
	Status string
	// Output is what the check last saw (the machine's own answer, never a secret of ours).
	Output string
}

// IsActive reports whether the machine is neither destroyed nor being destroyed.
func (m Machine) IsActive() bool {
	return m.State != MachineStateDestroyed && m.State != MachineStateDestroying
}

// ProcessGroup is the machine's process group from its config metadata (fly_process_group, or
// the older process_group).
func (m Machine) ProcessGroup() string {
	md := m.Config.Metadata()
	if group := md[metadataProcessGroup]; group != "" {
		return group
	}
	return md[metadataLegacyProcessGroup]
}

// IsReleaseCommandMachine reports a machine that runs an app's release command, as fly-go's
// Machine.IsReleaseCommandMachine decides.
func (m Machine) IsReleaseCommandMachine() bool {
	return m.ProcessGroup() == processGroupReleaseCommand ||
		m.Config.Metadata()[metadataLegacyProcessGroup] == "release_command"
}

// IsFlyAppsConsole reports a `fly console` machine, as fly-go's Machine.IsFlyAppsConsole decides.
func (m Machine) IsFlyAppsConsole() bool {
	return m.Config.Metadata()[metadataPlatformVersion] == "v2" && m.IsActive() && m.ProcessGroup() == processGroupConsole
}

// ChecksPassing counts the machine's health checks and those passing.
func (m Machine) ChecksPassing() (passing, total int) {
	for _, c := range m.Checks {
		if c.Status == "passing" {
			passing++
		}
	}
	return passing, len(m.Checks)
}

// MachineConfig is a machine's config as raw JSON, so that what the API answered goes back in
// an update unchanged, fields this client does not know included.
type MachineConfig json.RawMessage

// MarshalJSON writes the config as it is (null when empty).
func (c MachineConfig) MarshalJSON() ([]byte, error) {
	if len(c) == 0 {
		return []byte("null"), nil
	}
	return c, nil
}

// UnmarshalJSON keeps a copy of the raw config.
func (c *MachineConfig) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*c = nil
		return nil
	}
	*c = append((*c)[:0], data...)
	return nil
}

// Metadata is the config's metadata (nil when it has none or cannot be read).
func (c MachineConfig) Metadata() map[string]string {
	var fields struct {
		Metadata map[string]string `json:"metadata"`
	}
	if len(c) == 0 || json.Unmarshal(c, &fields) != nil {
		return nil
	}
	return fields.Metadata
}

// CheckCount counts the health checks the config defines: its top-level checks and its
// services' checks (what flyctl waits on after an update).
func (c MachineConfig) CheckCount() int {
	var fields struct {
		Checks   map[string]json.RawMessage `json:"checks"`
		Services []struct {
			Checks []json.RawMessage `json:"checks"`
		} `json:"services"`
	}
	if len(c) == 0 || json.Unmarshal(c, &fields) != nil {
		return 0
	}
	n := len(fields.Checks)
	for _, svc := range fields.Services {
		n += len(svc.Checks)
	}
	return n
}

// WithMetadata returns the config with metadata[key] = value and everything else as it was.
func (c MachineConfig) WithMetadata(key, value string) (MachineConfig, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(c, &fields); err != nil || fields == nil {
		return nil, fmt.Errorf("fly: machine config is not a JSON object")
	}
	metadata := map[string]json.RawMessage{}
	if raw, ok := fields["metadata"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &metadata); err != nil {
			return nil, fmt.Errorf("fly: machine config metadata is not a JSON object")
		}
	}
	encoded, err := json.Marshal(value)
	if err != nil {
		return nil, err
	}
	metadata[key] = encoded
	if fields["metadata"], err = json.Marshal(metadata); err != nil {
		return nil, err
	}
	out, err := json.Marshal(fields)
	return MachineConfig(out), err
}

// LaunchMachineInput is the body of a machine create or update (fly-go's LaunchMachineInput).
type LaunchMachineInput struct {
	Config MachineConfig `json:"config,omitempty"`
	Region string        `json:"region,omitempty"`
	Name   string        `json:"name,omitempty"`
	// SkipLaunch updates (or creates) the machine without starting it: a stopped machine stays
	// stopped.
	SkipLaunch bool `json:"skip_launch,omitempty"`
	// MinSecretsVersion makes the machine boot with at least this app secrets version (0: any,
	// which may be older than the last write: Fly's secrets are eventually consistent).
	MinSecretsVersion int64 `json:"min_secrets_version,omitempty"`
	// CurrentVersion is the instance id the update is based on (the Machines API's
	// UpdateMachineRequest.current_version): Fly refuses the update if the machine has moved on.
	// UpdateMachine needs it to retry safely.
	CurrentVersion string `json:"current_version,omitempty"`
}

// Lease is a lease on a machine (fly-go's MachineLeaseData): while it is held, only requests
// that carry its nonce may change the machine.
type Lease struct {
	Nonce       string
	ExpiresAt   time.Time
	Owner       string
	Description string
	// Version is the machine's instance id when the lease was granted.
	Version string
}

// WaitTimeoutError is WaitMachine's error when the machine did not reach the state in time.
type WaitTimeoutError struct {
	App, MachineID, InstanceID, State string
	Timeout                           time.Duration
}

func (e *WaitTimeoutError) Error() string {
	return fmt.Sprintf("fly: machine %s of app %q did not reach state %q within %v",
		e.MachineID, e.App, e.State, e.Timeout)
}

// IsWaitTimeout reports whether err is a WaitTimeoutError.
func IsWaitTimeout(err error) bool {
	var timeout *WaitTimeoutError
	return errors.As(err, &timeout)
}

// Identity names the API and credential the client speaks with, for keying per-process state:
// the base URL and a hash of the token (never the token).
func (c *Client) Identity() string {
	sum := sha256.Sum256([]byte(c.authorization))
	return c.baseURL + " " + hex.EncodeToString(sum[:8])
}

// ListMachines returns the app's machines.
// GET /v1/apps/{app}/machines -> 200 [Machine...]
func (c *Client) ListMachines(ctx context.Context, app string) ([]Machine, error) {
	op := fmt.Sprintf("list machines of app %q", app)
	path, err := machinesPath(op, app)
	if err != nil {
		return nil, err
	}
	var out []machineJSON
	req := request{op: op, app: app, action: "machine list", method: http.MethodGet, path: path}
	if err := c.do(ctx, req, &out); err != nil {
		return nil, err
	}
	machines := make([]Machine, 0, len(out))
	for _, m := range out {
		machines = append(machines, m.machine())
	}
	return machines, nil
}

// GetMachine returns one machine; IsNotFound(err) when it (or the app) does not exist.
// GET /v1/apps/{app}/machines/{id} -> 200 Machine
func (c *Client) GetMachine(ctx context.Context, app, id string) (Machine, error) {
	op := fmt.Sprintf("get machine %s of app %q", id, app)
	path, err := machinePath(op, app, id)
	if err != nil {
		return Machine{}, err
	}
	var out machineJSON
	req := request{op: op, app: app, action: "machine get " + id, method: http.MethodGet, path: path}
	if err := c.do(ctx, req, &out); err != nil {
		return Machine{}, err
	}
	return out.machine(), nil
}

// CreateMachine creates a machine. A create is not repeatable (a second one is a second
// machine), so after an attempt whose answer is lost it is not retried: the error says so.
// POST /v1/apps/{app}/machines LaunchMachineInput -> 200 Machine
func (c *Client) CreateMachine(ctx context.Context, app string, input LaunchMachineInput) (Machine, error) {
	op := fmt.Sprintf("create a machine in app %q", app)
	path, err := machinesPath(op, app)
	if err != nil {
		return Machine{}, err
	}
	body, err := launchBody(op, input)
	if err != nil {
		return Machine{}, err
	}
	var out machineJSON
	req := request{op: op, app: app, action: "machine create", method: http.MethodPost, path: path, body: body, once: true}
	if err := c.do(ctx, req, &out); err != nil {
		return Machine{}, err
	}
	return out.machine(), nil
}

// UpdateMachine replaces the machine's config (a new version) and, unless input.SkipLaunch,
// restarts it; nonce is the lease's, "" for an unleased machine. It answers the machine at its
// new version: wait for that InstanceID.
//
// An update is not blindly repeatable: one whose answer was lost may have restarted the machine
// already. With input.CurrentVersion set (the InstanceID the update is based on), such an
// update is settled before any retry: the machine is read again, and if its version has moved
// on, the update was applied (while the lease is held nobody else can have moved it) and that
// machine is the answer; a retry that still reaches Fly is refused there (current_version no
// longer matches), never applied twice. Without CurrentVersion, an update whose outcome is
// unknown is not retried.
// POST /v1/apps/{app}/machines/{id} LaunchMachineInput, header fly-machine-lease-nonce -> 200 Machine
func (c *Client) UpdateMachine(ctx context.Context, app, id, nonce string, input LaunchMachineInput) (Machine, error) {
	op := fmt.Sprintf("update machine %s of app %q", id, app)
	path, err := machinePath(op, app, id)
	if err != nil {
		return Machine{}, err
	}
	body, err := launchBody(op, input)
	if err != nil {
		return Machine{}, err
	}
	var out machineJSON
	req := request{
		op: op, app: app, action: "machine update " + id, method: http.MethodPost, path: path, body: body,
		headers: nonceHeaders(nonce), once: true,
		retry412: func(ctx context.Context) bool { return c.secretsVersionLag(ctx, op, app, id, input) },
		conflict: fmt.Sprintf("machine %s of app %q is leased by someone else", id, app),
	}
	if input.CurrentVersion != "" {
		req.settle = func(ctx context.Context) (bool, error) {
			got, err := c.settleRead(ctx, op, app, id)
			if err != nil || got.InstanceID == "" || got.InstanceID == input.CurrentVersion {
				return false, err
			}
			out = got
			return true, nil
		}
	}
	if err := c.do(ctx, req, &out); err != nil {
		return Machine{}, err
	}
	return out.machine(), nil
}

// launchBody encodes a create or update body.
func launchBody(op string, input LaunchMachineInput) ([]byte, error) {
	body, err := json.Marshal(input)
	if err != nil {
		return nil, fmt.Errorf("fly: %s: encoding request failed", op) // no %w: the config may hold env values
	}
	return body, nil
}

// settleTimeout bounds the look a settle takes: it only decides whether to retry.
const settleTimeout = 20 * time.Second

// settleRead reads the machine for a settle, in the JSON form the update answers.
func (c *Client) settleRead(ctx context.Context, op, app, id string) (machineJSON, error) {
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	path, err := machinePath(op, app, id)
	if err != nil {
		return machineJSON{}, err
	}
	var got machineJSON
	err = c.do(ctx, request{op: "look at machine " + id + " after an update without answer", app: app,
		action: "machine get " + id, method: http.MethodGet, path: path}, &got)
	return got, err
}

// secretsVersionLag tells, from facts, a 412 to an update that is a secrets version Fly has not
// caught up with (worth waiting out) from the other precondition, a current_version the machine
// has moved on from: Fly's messages are not a contract. Without min_secrets_version it cannot be
// the first; without current_version it cannot be the second; with both, the machine is read: if
// it is still at current_version, the secrets version is what is missing.
func (c *Client) secretsVersionLag(ctx context.Context, op, app, id string, input LaunchMachineInput) bool {
	switch {
	case input.MinSecretsVersion == 0:
		return false
	case input.CurrentVersion == "":
		return true
	}
	got, err := c.settleRead(ctx, op, app, id)
	return err == nil && got.InstanceID == input.CurrentVersion
}

// AcquireLease takes a lease on the machine for ttl (whole seconds, at least 1). A lease held by
// someone else (409) is waited for within the retry budget. An acquire whose answer was lost is
// settled by reading the machine's lease: this call gives its lease a description of its own, so
// that it can tell its lease from another's.
// POST /v1/apps/{app}/machines/{id}/lease?ttl=S {"ttl":S,"description":...} -> 200 {"status":"success","data":{...}}
func (c *Client) AcquireLease(ctx context.Context, app, id string, ttl time.Duration) (Lease, error) {
	op := fmt.Sprintf("lease machine %s of app %q", id, app)
	var out leaseJSON
	req, desc, err := c.leaseRequest(op, app, id, "", ttl)
	if err != nil {
		return Lease{}, err
	}
	req.once = true
	req.settle = func(ctx context.Context) (bool, error) {
		ctx, cancel := context.WithTimeout(ctx, settleTimeout)
		defer cancel()
		held, err := c.FindLease(ctx, app, id)
		if err != nil || held.Description != desc {
			return false, err
		}
		out = leaseJSON{Status: "success", Data: &leaseDataJSON{
			Nonce: held.Nonce, ExpiresAt: held.ExpiresAt.Unix(), Owner: held.Owner, Description: held.Description,
			Version: held.Version,
		}}
		return true, nil
	}
	if err := c.do(ctx, req, &out); err != nil {
		return Lease{}, err
	}
	return out.lease(op)
}

// RefreshLease extends the lease whose nonce is given by ttl.
// POST /v1/apps/{app}/machines/{id}/lease?ttl=S, header fly-machine-lease-nonce -> 200 lease
func (c *Client) RefreshLease(ctx context.Context, app, id, nonce string, ttl time.Duration) (Lease, error) {
	op := fmt.Sprintf("refresh the lease on machine %s of app %q", id, app)
	var out leaseJSON
	req, _, err := c.leaseRequest(op, app, id, nonce, ttl)
	if err != nil {
		return Lease{}, err
	}
	if err := c.do(ctx, req, &out); err != nil {
		return Lease{}, err
	}
	return out.lease(op)
}

// FindLease returns the lease held on the machine; IsNotFound(err) when there is none.
// GET /v1/apps/{app}/machines/{id}/lease -> 200 lease
func (c *Client) FindLease(ctx context.Context, app, id string) (Lease, error) {
	op := fmt.Sprintf("look up the lease on machine %s of app %q", id, app)
	path, err := machinePath(op, app, id)
	if err != nil {
		return Lease{}, err
	}
	var out leaseJSON
	req := request{op: op, app: app, action: "lease get " + id, method: http.MethodGet, path: path + "/lease"}
	if err := c.do(ctx, req, &out); err != nil {
		return Lease{}, err
	}
	return out.lease(op)
}

// ReleaseLease releases the lease whose nonce is given. A lease that is no longer held (404:
// released by a retry whose first answer was lost, or expired) is released.
// DELETE /v1/apps/{app}/machines/{id}/lease, header fly-machine-lease-nonce -> 200
func (c *Client) ReleaseLease(ctx context.Context, app, id, nonce string) error {
	op := fmt.Sprintf("release the lease on machine %s of app %q", id, app)
	path, err := machinePath(op, app, id)
	if err != nil {
		return err
	}
	req := request{op: op, app: app, action: "lease release " + id, method: http.MethodDelete, path: path + "/lease",
		headers: nonceHeaders(nonce)}
	if err := c.do(ctx, req, nil); err != nil && !IsNotFound(err) {
		return err
	}
	return nil
}

// WaitMachine waits until version instanceID of the machine ("" for its current version, which
// right after an update may still be the old one) is in state, for at most timeout (0: until ctx
// ends). Fly answers one wait after at most 60 s, so longer waits are a series of them, each told
// to the WaitNotifier. A version Fly does not show yet (404 just after an update) is waited for
// within the read lag. It returns a *WaitTimeoutError when the time is up.
// GET /v1/apps/{app}/machines/{id}/wait?instance_id=V&version=V&state=S&timeout=N -> 200 | 408
func (c *Client) WaitMachine(ctx context.Context, app, id, instanceID, state string, timeout time.Duration) error {
	op := fmt.Sprintf("wait for machine %s of app %q to be %s", id, app, state)
	path, err := machinePath(op, app, id)
	if err != nil {
		return err
	}
	start := c.now()
	for {
		chunk := maxWaitChunk
		if timeout > 0 {
			left := timeout - c.now().Sub(start)
			if left <= 0 {
				return &WaitTimeoutError{App: app, MachineID: id, InstanceID: instanceID, State: state, Timeout: timeout}
			}
			chunk = min(chunk, left)
		}
		seconds := max(1, int(math.Ceil(chunk.Seconds())))
		query := url.Values{"state": {state}, "timeout": {strconv.Itoa(seconds)}}
		if instanceID != "" {
			// fly-go sends the version as "version", the API reference names it "instance_id".
			query.Set("instance_id", instanceID)
			query.Set("version", instanceID)
		}
		c.notify(ctx, chunk, fmt.Sprintf("waiting for machine %s of app %q to be %s", id, app, state))
		req := request{
			op: op, app: app, action: "machine wait " + id, method: http.MethodGet, path: path + "/wait?" + query.Encode(),
			attemptTimeout: time.Duration(seconds)*time.Second + 30*time.Second,
			answers:        []int{http.StatusRequestTimeout},
			notFoundUntil:  c.now().Add(c.readLag),
		}
		err := c.do(ctx, req, nil)
		if statusOf(err) != http.StatusRequestTimeout {
			return err
		}
	}
}

// leaseRequest is the request of an acquire or (with nonce) a refresh, and the description it
// gives a new lease, unique to this call.
func (c *Client) leaseRequest(op, app, id, nonce string, ttl time.Duration) (request, string, error) {
	path, err := machinePath(op, app, id)
	if err != nil {
		return request{}, "", err
	}
	seconds := max(1, int(math.Ceil(ttl.Seconds())))
	desc := "edgesecrets deploy " + randomToken()
	body, err := json.Marshal(leaseRequestJSON{TTL: seconds, Description: desc})
	if err != nil {
		return request{}, "", err
	}
	action := "lease acquire " + id
	if nonce != "" {
		action = "lease refresh " + id
	}
	return request{
		op: op, app: app, action: action, method: http.MethodPost, path: path + "/lease?ttl=" + strconv.Itoa(seconds),
		body: body, headers: nonceHeaders(nonce),
		conflict: fmt.Sprintf("machine %s of app %q is leased by another deploy", id, app),
	}, desc, nil
}

func nonceHeaders(nonce string) map[string]string {
	if nonce == "" {
		return nil
	}
	return map[string]string{"fly-machine-lease-nonce": nonce}
}

func randomToken() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Paths.

func machinesPath(op, app string) (string, error) {
	appSeg, err := pathSegment(op, "app", app)
	if err != nil {
		return "", err
	}
	return "/v1/apps/" + appSeg + "/machines", nil
}

func machinePath(op, app, id string) (string, error) {
	base, err := machinesPath(op, app)
	if err != nil {
		return "", err
	}
	idSeg, err := pathSegment(op, "machine id", id)
	if err != nil {
		return "", err
	}
	return base + "/" + idSeg, nil
}

// Bodies as they travel.

type machineJSON struct {
	ID         string        `json:"id"`
	Name       string        `json:"name"`
	State      string        `json:"state"`
	Region     string        `json:"region"`
	InstanceID string        `json:"instance_id"`
	Config     MachineConfig `json:"config"`
	Checks     []checkJSON   `json:"checks"`
	HostStatus string        `json:"host_status"`
	CreatedAt  timestamp     `json:"created_at"`
	UpdatedAt  timestamp     `json:"updated_at"`
}

type checkJSON struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Output string `json:"output"`
}

func (m machineJSON) machine() Machine {
	out := Machine{
		ID: m.ID, Name: m.Name, State: m.State, Region: m.Region, InstanceID: m.InstanceID,
		Config: m.Config, HostStatus: m.HostStatus, CreatedAt: time.Time(m.CreatedAt), UpdatedAt: time.Time(m.UpdatedAt),
	}
	for _, c := range m.Checks {
		// fly-go drops the checks Fly adds for old flyctl blue/green deploys.
		if strings.HasPrefix(c.Name, "bg_deployments_compat") {
			continue
		}
		out.Checks = append(out.Checks, CheckStatus(c))
	}
	return out
}

type leaseRequestJSON struct {
	TTL         int    `json:"ttl"`
	Description string `json:"description"`
}

type leaseJSON struct {
	Status  string         `json:"status"`
	Data    *leaseDataJSON `json:"data"`
	Message string         `json:"message"`
	Code    string         `json:"code"`
}

type leaseDataJSON struct {
	Nonce       string `json:"nonce"`
	ExpiresAt   int64  `json:"expires_at"`
	Owner       string `json:"owner"`
	Description string `json:"description"`
	Version     string `json:"version"`
}

// lease checks the answer as flyctl does: a status other than "success", or no data, is no lease.
func (l leaseJSON) lease(op string) (Lease, error) {
	if l.Status != "success" || l.Data == nil || l.Data.Nonce == "" {
		return Lease{}, fmt.Errorf("fly: %s: no lease in the answer (status %q, code %q, message %q)",
			op, l.Status, l.Code, shorten(l.Message))
	}
	return Lease{
		Nonce: l.Data.Nonce, ExpiresAt: time.Unix(l.Data.ExpiresAt, 0).UTC(), Owner: l.Data.Owner,
		Description: l.Data.Description, Version: l.Data.Version,
	}, nil
}
