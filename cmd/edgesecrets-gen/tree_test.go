package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestSyncTreeReplacesGeneratedFilesAndKeepsBuildOutputs(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	mustWrite(t, src, map[string][]byte{
		"nodejs/index.ts":         []byte("new index\n"),
		"nodejs/fly/flySecret.ts": []byte("unchanged\n"),
	})
	mustWrite(t, dst, map[string][]byte{
		"nodejs/index.ts":                []byte("old index\n"),
		"nodejs/fly/flySecret.ts":        []byte("unchanged\n"),
		"nodejs/gone/removed.ts":         []byte("no longer generated\n"),
		"nodejs/bin/index.js":            []byte("tsc output\n"),
		"nodejs/node_modules/x/index.js": []byte("dependency\n"),
		"python/dist/pkg.whl":            []byte("wheel\n"),
		"python/pkg/__pycache__/a.pyc":   []byte("bytecode\n"),
	})

	if err := syncTree(src, dst); err != nil {
		t.Fatal(err)
	}

	got := listFiles(t, dst)
	want := []string{
		"nodejs/bin/index.js",
		"nodejs/fly/flySecret.ts",
		"nodejs/index.ts",
		"nodejs/node_modules/x/index.js",
		"python/dist/pkg.whl",
		"python/pkg/__pycache__/a.pyc",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("files after sync:\n got %q\nwant %q", got, want)
	}
	if content, _ := os.ReadFile(filepath.Join(dst, "nodejs/index.ts")); string(content) != "new index\n" {
		t.Errorf("nodejs/index.ts = %q, want the generated content", content)
	}
	if _, err := os.Stat(filepath.Join(dst, "nodejs/gone")); !os.IsNotExist(err) {
		t.Errorf("the emptied directory nodejs/gone should be removed (stat: %v)", err)
	}
}

func TestDiffTreesNamesEveryKindOfDifference(t *testing.T) {
	want, have := t.TempDir(), t.TempDir()
	mustWrite(t, want, map[string][]byte{
		"go.mod":          []byte("module m\n"),
		"nodejs/index.ts": []byte("generated\n"),
		"python/setup.py": []byte("generated\n"),
	})
	mustWrite(t, have, map[string][]byte{
		"go.mod":              []byte("module m\n"),
		"nodejs/index.ts":     []byte("edited by hand\n"),
		"nodejs/extra.ts":     []byte("added by hand\n"),
		"nodejs/bin/index.js": []byte("build output, not compared\n"),
	})

	diffs, err := diffTrees(want, have)
	if err != nil {
		t.Fatal(err)
	}
	wantDiffs := []string{
		"extra:    " + filepath.ToSlash(have) + "/nodejs/extra.ts (not generated; delete it)",
		"modified: " + filepath.ToSlash(have) + "/nodejs/index.ts",
		"missing:  " + filepath.ToSlash(have) + "/python/setup.py",
	}
	if !reflect.DeepEqual(diffs, wantDiffs) {
		t.Errorf("diffs:\n got %q\nwant %q", diffs, wantDiffs)
	}
}

func mustWrite(t *testing.T, root string, files map[string][]byte) {
	t.Helper()
	if err := writeTree(root, files); err != nil {
		t.Fatal(err)
	}
}

func listFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
