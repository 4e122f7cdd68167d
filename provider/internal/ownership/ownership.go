// Package ownership is what one provider instance knows of which resource of the program declares
// which secret: each resource's Check says what it declares (names in a place: an app, a store,
// a Worker), and the table refuses a second owner of one name, or a name inside another
// resource's prune scope. It is memory, not fact: it only ever keeps a secret (an unset of a name
// another resource declares is dropped) and refuses a program; a deletion is decided from what
// the API shows and what the resource recorded, never from here. It has no Pulumi imports.
package ownership

import (
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Owner is a resource of the program: its URN, and how messages name it.
type Owner struct {
	URN  string
	Name string // e.g. `fly:FlySecret "db"`
}

// Scope is a set of names a resource owns whole (its prune scope).
type Scope struct {
	// Describe says what it is, e.g. `PROD_*`.
	Describe string
	Match    func(name string) bool
}

// Table is the instance's declarations. The zero value is ready; it is safe for concurrent use.
type Table struct {
	mu     sync.Mutex
	places map[string]*place
}

type place struct {
	names  map[string]Owner  // name -> its declaring resource
	scopes map[string]scoped // by owner URN
}

type scoped struct {
	owner Owner
	scope Scope
}

// ConflictError is a Declare that another resource's declaration contradicts.
type ConflictError struct {
	Name         string
	Owner, Other Owner
	Scope        string // the other's prune scope the name falls in, or ""
}

func (e *ConflictError) Error() string {
	if e.Scope != "" {
		return fmt.Sprintf("%q is inside the prune scope %s of %s, which owns every secret there, and %s declares it: "+
			"one secret has one owner; move it into that resource's secrets, rename it out of the scope, or narrow the "+
			"scope", e.Name, e.Scope, e.Other.Name, e.Owner.Name)
	}
	return fmt.Sprintf("%q is declared by both %s and %s: one secret has one owner; remove it from one of them "+
		"(to move it, take it out of one and add it to the other in the same up)", e.Name, e.Other.Name, e.Owner.Name)
}

// Declare records that owner declares names in where (and, when scope is set, owns every name
// the scope matches), replacing what it declared there before. It refuses, declaring nothing,
// when another resource declares one of the names, or one of them is inside another's scope, or
// the scope takes in a name another resource declares.
func (t *Table) Declare(where string, owner Owner, names []string, scope *Scope) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.place(where)
	for _, name := range names {
		if other, ok := p.names[name]; ok && other.URN != owner.URN {
			return &ConflictError{Name: name, Owner: owner, Other: other}
		}
		for urn, s := range p.scopes {
			if urn != owner.URN && s.scope.Match(name) {
				return &ConflictError{Name: name, Owner: owner, Other: s.owner, Scope: s.scope.Describe}
			}
		}
	}
	if scope != nil {
		for _, name := range sortedKeys(p.names) {
			if other := p.names[name]; other.URN != owner.URN && scope.Match(name) {
				return &ConflictError{Name: name, Owner: other, Other: owner, Scope: scope.Describe}
			}
		}
	}
	for name, o := range p.names {
		if o.URN == owner.URN {
			delete(p.names, name)
		}
	}
	for _, name := range names {
		p.names[name] = owner
	}
	delete(p.scopes, owner.URN)
	if scope != nil {
		p.scopes[owner.URN] = scoped{owner: owner, scope: *scope}
	}
	return nil
}

// DeclaredBy names the resource other than ownerURN that declares name in where ("" for none).
func (t *Table) DeclaredBy(where, name, ownerURN string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if o, ok := t.place(where).names[name]; ok && o.URN != ownerURN {
		return o.Name
	}
	return ""
}

func (t *Table) place(where string) *place {
	if t.places == nil {
		t.places = map[string]*place{}
	}
	p, ok := t.places[where]
	if !ok {
		p = &place{names: map[string]Owner{}, scopes: map[string]scoped{}}
		t.places[where] = p
	}
	return p
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// OwnerOf is an Owner for urn, named by its type's last two parts and its name:
// `fly:FlySecret "db"` for urn:pulumi:dev::proj::edgesecrets:fly:FlySecret::db.
func OwnerOf(urn string) Owner {
	name := urn
	if i := strings.LastIndex(urn, "::"); i >= 0 {
		typ := urn[:i]
		if j := strings.LastIndex(typ, "::"); j >= 0 {
			typ = typ[j+2:]
		}
		if k := strings.LastIndex(typ, "$"); k >= 0 {
			typ = typ[k+1:]
		}
		if parts := strings.Split(typ, ":"); len(parts) >= 3 {
			typ = parts[len(parts)-2] + ":" + parts[len(parts)-1]
		}
		name = fmt.Sprintf("%s %q", typ, urn[i+2:])
	}
	return Owner{URN: urn, Name: name}
}
