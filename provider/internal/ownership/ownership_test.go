package ownership

import (
	"errors"
	"strings"
	"testing"
)

func owner(name string) Owner {
	return OwnerOf("urn:pulumi:dev::proj::edgesecrets:fly:FlySecret::" + name)
}

// One name, one owner: a second resource declaring it is refused, naming both; a resource that
// declares again replaces what it declared.
func TestOneNameOneOwner(t *testing.T) {
	var tab Table
	a, b := owner("a"), OwnerOf("urn:pulumi:dev::proj::edgesecrets:fly:FlyAppSecrets::b")
	if err := tab.Declare("app", a, []string{"DB"}, nil); err != nil {
		t.Fatal(err)
	}
	err := tab.Declare("app", b, []string{"API", "DB"}, nil)
	var conflict *ConflictError
	if !errors.As(err, &conflict) || !strings.Contains(err.Error(), `fly:FlySecret "a"`) ||
		!strings.Contains(err.Error(), `fly:FlyAppSecrets "b"`) {
		t.Fatalf("got %v", err)
	}
	if by := tab.DeclaredBy("app", "API", a.URN); by != "" {
		t.Errorf("a refused declaration was recorded: API declared by %s", by)
	}
	if err := tab.Declare("other-app", b, []string{"DB"}, nil); err != nil {
		t.Errorf("another place: %v", err)
	}
	if err := tab.Declare("app", a, []string{"RENAMED"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := tab.Declare("app", b, []string{"DB"}, nil); err != nil {
		t.Errorf("DB is free once a declares otherwise: %v", err)
	}
	if got := tab.DeclaredBy("app", "DB", a.URN); got != b.Name {
		t.Errorf("DeclaredBy = %q", got)
	}
	if got := tab.DeclaredBy("app", "DB", b.URN); got != "" {
		t.Errorf("a resource is not another owner of its own names: %q", got)
	}
}

// A prune scope owns every name it matches, whichever of the two is declared first.
func TestAScopeOwnsItsNames(t *testing.T) {
	prod := &Scope{Describe: "PROD_*", Match: func(n string) bool { return strings.HasPrefix(n, "PROD_") }}
	for _, scopeFirst := range []bool{true, false} {
		var tab Table
		pruner, other := owner("pruner"), owner("other")
		declareScope := func() error { return tab.Declare("app", pruner, []string{"PROD_A"}, prod) }
		declareName := func() error { return tab.Declare("app", other, []string{"PROD_MANUAL", "STAGING"}, nil) }
		first, second := declareScope, declareName
		if !scopeFirst {
			first, second = declareName, declareScope
		}
		if err := first(); err != nil {
			t.Fatal(err)
		}
		err := second()
		if err == nil || !strings.Contains(err.Error(), "PROD_MANUAL") || !strings.Contains(err.Error(), "PROD_*") {
			t.Errorf("scope first %v: got %v", scopeFirst, err)
		}
		// The refusal names both resources: the scope's and the one that declares the name.
		for _, name := range []string{pruner.Name, other.Name} {
			if err != nil && !strings.Contains(err.Error(), name) {
				t.Errorf("scope first %v: %q does not name %s", scopeFirst, err, name)
			}
		}
	}
}

func TestOwnerOf(t *testing.T) {
	for urn, want := range map[string]string{
		"urn:pulumi:dev::proj::edgesecrets:fly:FlySecret::db":                   `fly:FlySecret "db"`,
		"urn:pulumi:dev::proj::my:Component$edgesecrets:cloudflare:Secret::api": `cloudflare:Secret "api"`,
		"urn:pulumi:dev::proj::edgesecrets:cloudflare:SecretsStore::store":      `cloudflare:SecretsStore "store"`,
	} {
		if got := OwnerOf(urn).Name; got != want {
			t.Errorf("OwnerOf(%s) = %s, want %s", urn, got, want)
		}
	}
}
