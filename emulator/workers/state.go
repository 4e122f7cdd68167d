package workers

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"
)

// State is everything the API holds, in a form that survives JSON. It carries secret values:
// whoever stores it must keep it private.
type State struct {
	// Seq counts the ids handed out, so that ids stay deterministic across a restart.
	Seq     uint64        `json:"seq"`
	Scripts []ScriptState `json:"scripts"`
}

// ScriptState is one script with its versions and deployments, oldest first.
type ScriptState struct {
	Namespace         string            `json:"namespace,omitempty"`
	Name              string            `json:"name"`
	Tag               string            `json:"tag"`
	Created           time.Time         `json:"created"`
	Modified          time.Time         `json:"modified"`
	CompatibilityDate string            `json:"compatibility_date,omitempty"`
	Versions          []VersionState    `json:"versions"`
	Deployments       []DeploymentState `json:"deployments"`
}

// VersionState is one version and its bindings, secret values included.
type VersionState struct {
	ID          string            `json:"id"`
	Number      int               `json:"number"`
	Created     time.Time         `json:"created"`
	Source      string            `json:"source"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Bindings    []BindingState    `json:"bindings"`
}

// BindingState is one binding: Text is a secret's value.
type BindingState struct {
	Name  string                     `json:"name"`
	Type  string                     `json:"type"`
	Text  string                     `json:"text,omitempty"`
	Extra map[string]json.RawMessage `json:"extra,omitempty"`
}

// DeploymentState is one deployment: the versions it sends traffic to.
type DeploymentState struct {
	ID          string            `json:"id"`
	Created     time.Time         `json:"created"`
	Source      string            `json:"source"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Versions    []TrafficState    `json:"versions"`
}

// TrafficState is one version's share of a deployment, in percent.
type TrafficState struct {
	VersionID  string  `json:"version_id"`
	Percentage float64 `json:"percentage"`
}

// Snapshot copies the current state in a stable order.
func (a *API) Snapshot() State {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := State{Seq: a.seq, Scripts: []ScriptState{}}
	for _, s := range a.scripts {
		st.Scripts = append(st.Scripts, s.state())
	}
	slices.SortFunc(st.Scripts, func(x, y ScriptState) int {
		return cmp.Or(cmp.Compare(x.Namespace, y.Namespace), cmp.Compare(x.Name, y.Name))
	})
	return st
}

func (s *script) state() ScriptState {
	ss := ScriptState{Namespace: s.ref.Namespace, Name: s.ref.Name, Tag: s.tag, Created: s.created,
		Modified: s.modified, CompatibilityDate: s.compatDate, Versions: []VersionState{},
		Deployments: []DeploymentState{}}
	for _, v := range s.versions {
		vs := VersionState{ID: v.id, Number: v.number, Created: v.created, Source: v.source,
			Annotations: maps.Clone(v.annotations), Bindings: []BindingState{}}
		for _, b := range v.bindings {
			vs.Bindings = append(vs.Bindings, BindingState{Name: b.Name, Type: b.Type, Text: b.Text,
				Extra: maps.Clone(b.Extra)})
		}
		ss.Versions = append(ss.Versions, vs)
	}
	for _, d := range s.deployments {
		ds := DeploymentState{ID: d.id, Created: d.created, Source: d.source,
			Annotations: maps.Clone(d.annotations), Versions: []TrafficState{}}
		for _, t := range d.versions {
			ds.Versions = append(ds.Versions, TrafficState{VersionID: t.versionID, Percentage: t.percentage})
		}
		ss.Deployments = append(ss.Deployments, ds)
	}
	return ss
}

// Restore replaces the current state with st.
func (a *API) Restore(st State) error {
	scripts := map[ScriptRef]*script{}
	for _, ss := range st.Scripts {
		ref := ScriptRef{Namespace: ss.Namespace, Name: ss.Name}
		if !scriptNameRE.MatchString(ss.Name) {
			return fmt.Errorf("workers state: invalid script name %q", ss.Name)
		}
		if scripts[ref] != nil {
			return fmt.Errorf("workers state: script %s twice", ref)
		}
		s := &script{ref: ref, tag: ss.Tag, created: ss.Created.UTC(), modified: ss.Modified.UTC(),
			compatDate: ss.CompatibilityDate}
		for i, vs := range ss.Versions {
			if vs.Number != i+1 {
				return fmt.Errorf("workers state: script %s: version %s has number %d, want %d",
					ref, vs.ID, vs.Number, i+1)
			}
			v := &version{id: vs.ID, number: vs.Number, created: vs.Created.UTC(), source: vs.Source,
				annotations: maps.Clone(vs.Annotations), bindings: []binding{}}
			for _, bs := range vs.Bindings {
				v.bindings = append(v.bindings, binding{Name: bs.Name, Type: bs.Type, Text: bs.Text,
					Extra: maps.Clone(bs.Extra)})
			}
			s.versions = append(s.versions, v)
		}
		for _, ds := range ss.Deployments {
			d := &deployment{id: ds.ID, created: ds.Created.UTC(), source: ds.Source,
				annotations: maps.Clone(ds.Annotations)}
			for _, t := range ds.Versions {
				if s.version(t.VersionID) == nil {
					return fmt.Errorf("workers state: script %s: deployment %s names unknown version %s", ref, ds.ID,
						t.VersionID)
				}
				d.versions = append(d.versions, traffic{versionID: t.VersionID, percentage: t.Percentage})
			}
			s.deployments = append(s.deployments, d)
		}
		scripts[ref] = s
	}
	a.mu.Lock()
	a.scripts = scripts
	a.seq = st.Seq
	a.mu.Unlock()
	return nil
}
