package provider

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// No package-level mutable state in the provider: what one provider instance knows (clients,
// pacing, listings, claims, declarations) lives in the object Configure makes, so that two
// instances, or two tests, never share it. A package-level var is allowed only where it cannot
// hold such state: an interface assertion (var _ I = ...), an error value, a compiled regexp, an
// embedded file.
func TestNoPackageLevelMutableState(t *testing.T) {
	fset := token.NewFileSet()
	var found []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		file, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		for _, decl := range file.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.VAR {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				if embedded(gen, vs) {
					continue
				}
				for i, name := range vs.Names {
					if name.Name == "_" || (i < len(vs.Values) && immutable(vs.Values[i])) {
						continue
					}
					found = append(found, fset.Position(name.Pos()).String()+": var "+name.Name)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("package-level variable (state belongs on the provider instance): %s", f)
	}
}

// immutable says whether a package-level value cannot carry what an instance knows: a table
// of values (a slice or struct literal), an error made once, a compiled regexp, a resource's
// rules. A map, a pointer, a channel or a value some other call makes (a client, a cache) can.
func immutable(v ast.Expr) bool {
	switch v := v.(type) {
	case *ast.BasicLit:
		return true
	case *ast.CompositeLit:
		_, isMap := v.Type.(*ast.MapType)
		return !isMap
	case *ast.CallExpr:
		fun := v.Fun
		if index, ok := fun.(*ast.IndexExpr); ok { // a generic call: rules.Of[T](...)
			fun = index.X
		}
		sel, ok := fun.(*ast.SelectorExpr)
		if !ok {
			return false
		}
		pkg, ok := sel.X.(*ast.Ident)
		if !ok {
			return false
		}
		switch pkg.Name + "." + sel.Sel.Name {
		case "errors.New", "fmt.Errorf", "regexp.MustCompile", "rules.Of":
			return true
		}
	}
	return false
}

// embedded says whether the var is a //go:embed file.
func embedded(gen *ast.GenDecl, vs *ast.ValueSpec) bool {
	for _, doc := range []*ast.CommentGroup{gen.Doc, vs.Doc} {
		if doc != nil && strings.Contains(doc.Text(), "go:embed") {
			return true
		}
		if doc != nil {
			for _, c := range doc.List {
				if strings.HasPrefix(c.Text, "//go:embed") {
					return true
				}
			}
		}
	}
	return false
}
