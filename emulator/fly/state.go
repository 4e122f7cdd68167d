package fly

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// State is everything the API holds, in a form that survives JSON. It carries
// secret values: whoever stores it must keep it private.
type State struct {
	Apps []AppState `json:"apps"`
}

// AppState is one app and its secrets.
type AppState struct {
	Name      string        `json:"name"`
	Org       string        `json:"org"`
	CreatedAt time.Time     `json:"created_at"`
	Version   uint64        `json:"version"`
	Secrets   []SecretState `json:"secrets"`
	// Machines are the app's machines in creation order, each in the state
	// its launch settles in. Leases are not kept.
	Machines []MachineState `json:"machines,omitempty"`
}

// MachineState is one machine.
type MachineState struct {
	ID             string          `json:"id"`
	Name           string          `json:"name"`
	Region         string          `json:"region"`
	State          string          `json:"state"`
	InstanceID     string          `json:"instance_id"`
	Config         json.RawMessage `json:"config"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
	SecretsVersion uint64          `json:"secrets_version"`
	Restarts       int             `json:"restarts"`
}

// SecretState is one secret. The digest is not stored: it is recomputed.
type SecretState struct {
	Name      string    `json:"name"`
	Value     string    `json:"value"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Snapshot copies the current state, apps and secrets sorted by name.
func (a *API) Snapshot() State {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := State{Apps: []AppState{}}
	for _, ap := range a.apps {
		as := AppState{Name: ap.name, Org: ap.org, CreatedAt: ap.createdAt, Version: ap.version, Secrets: []SecretState{}}
		for _, name := range ap.sortedNames() {
			s := ap.secrets[name]
			as.Secrets = append(
				as.Secrets,
				SecretState{Name: name, Value: s.value, CreatedAt: s.createdAt, UpdatedAt: s.updatedAt},
			)
		}
		for _, m := range ap.machineList() {
			state := m.state
			if !m.launchedAt.IsZero() {
				state = stateStarted
			}
			as.Machines = append(as.Machines, MachineState{
				ID: m.id, Name: m.name, Region: m.region, State: state, InstanceID: m.instanceID, Config: m.cfg.raw,
				CreatedAt: m.createdAt, UpdatedAt: m.updatedAt, SecretsVersion: m.secretsVersion, Restarts: m.restarts,
			})
		}
		st.Apps = append(st.Apps, as)
	}
	sort.Slice(st.Apps, func(i, j int) bool { return st.Apps[i].Name < st.Apps[j].Name })
	return st
}

// Restore replaces the current state with st.
func (a *API) Restore(st State) error {
	apps := map[string]*app{}
	for _, as := range st.Apps {
		if !validAppName(as.Name) {
			return fmt.Errorf("fly state: invalid app name %q", as.Name)
		}
		ap := &app{name: as.Name, org: as.Org, createdAt: as.CreatedAt.UTC(), version: as.Version,
			secrets: map[string]*secret{}, machines: map[string]*machine{}}
		if ap.org == "" {
			ap.org = "personal"
		}
		for _, ss := range as.Secrets {
			if !validSecretName(ss.Name) {
				return fmt.Errorf("fly state: app %q: invalid secret name %q", as.Name, ss.Name)
			}
			ap.secrets[ss.Name] = &secret{
				value:     ss.Value,
				digest:    digestOf(as.Name, ss.Name, ss.Value),
				createdAt: ss.CreatedAt.UTC(),
				updatedAt: ss.UpdatedAt.UTC(),
			}
		}
		for _, ms := range as.Machines {
			cfg, err := parseConfig(ms.Config)
			if err != nil || ms.ID == "" || ms.InstanceID == "" || ap.machines[ms.ID] != nil {
				return fmt.Errorf("fly state: app %q: invalid machine %q", as.Name, ms.ID)
			}
			// A restored machine has settled: started ones pass their checks.
			ap.addMachine(&machine{
				id: ms.ID, name: ms.Name, region: ms.Region, state: ms.State, cfg: cfg, instanceID: ms.InstanceID,
				versions: map[string]bool{ms.InstanceID: true}, createdAt: ms.CreatedAt.UTC(), updatedAt: ms.UpdatedAt.UTC(),
				secretsVersion: ms.SecretsVersion, restarts: ms.Restarts,
			})
		}
		// Restored secrets are settled: every read sees them.
		ap.history = []appVersion{{version: ap.version, secrets: ap.secrets}}
		apps[as.Name] = ap
	}
	a.mu.Lock()
	a.apps = apps
	a.mu.Unlock()
	return nil
}
