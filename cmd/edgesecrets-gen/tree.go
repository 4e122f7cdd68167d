package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// isBuildOutput reports whether a path under sdk/ (slash-separated, relative to sdk/) belongs
// to an ecosystem's build rather than to the generator. The SDKs build in place (tsc writes
// nodejs/bin, pip writes python/build and *.egg-info), so these paths sit beside generated
// files; they are git-ignored, and the generator neither deletes nor checks them.
func isBuildOutput(rel string) bool {
	for _, dir := range []string{"nodejs/bin", "nodejs/dist", "python/build", "python/dist"} {
		if rel == dir || strings.HasPrefix(rel, dir+"/") {
			return true
		}
	}
	if rel == "nodejs/package-lock.json" {
		return true
	}
	for _, part := range strings.Split(rel, "/") {
		switch {
		case part == "node_modules", part == "__pycache__", part == ".venv",
			strings.HasSuffix(part, ".egg-info"):
			return true
		}
	}
	return false
}

// writeTree writes files (slash paths relative to root) under root.
func writeTree(root string, files map[string][]byte) error {
	for name, content := range files {
		target := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(target, content, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// readTree returns the generator-owned files under root, keyed by slash path relative to root.
// A missing root is an empty tree.
func readTree(root string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && p == root {
			return fs.SkipAll
		}
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel != "." && isBuildOutput(rel) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		content, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files[rel] = content
		return nil
	})
	return files, err
}

// syncTree makes dst hold exactly the files of src: it rewrites files whose content changed,
// adds new ones and deletes the ones the generator no longer produces, leaving build outputs
// alone. Unchanged files keep their modification time, so builds downstream stay incremental.
func syncTree(src, dst string) error {
	want, err := readTree(src)
	if err != nil {
		return err
	}
	have, err := readTree(dst)
	if err != nil {
		return err
	}
	for name := range have {
		if _, ok := want[name]; !ok {
			if err := os.Remove(filepath.Join(dst, filepath.FromSlash(name))); err != nil {
				return err
			}
		}
	}
	changed := map[string][]byte{}
	for name, content := range want {
		if old, ok := have[name]; !ok || !bytes.Equal(old, content) {
			changed[name] = content
		}
	}
	if err := writeTree(dst, changed); err != nil {
		return err
	}
	return removeEmptyDirs(dst)
}

// removeEmptyDirs deletes directories left empty under root (deepest first), but not root.
func removeEmptyDirs(root string) error {
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root {
			dirs = append(dirs, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		if len(entries) == 0 {
			if err := os.Remove(dir); err != nil {
				return err
			}
		}
	}
	return nil
}

// diffTrees compares the generator-owned files of a freshly generated tree (want) with the
// checked-in one (have), and describes every difference as "<kind>: <path under have>".
func diffTrees(want, have string) ([]string, error) {
	wantFiles, err := readTree(want)
	if err != nil {
		return nil, err
	}
	haveFiles, err := readTree(have)
	if err != nil {
		return nil, err
	}
	var diffs []string
	for name, content := range wantFiles {
		old, ok := haveFiles[name]
		switch {
		case !ok:
			diffs = append(diffs, "missing:  "+path.Join(filepath.ToSlash(have), name))
		case !bytes.Equal(old, content):
			diffs = append(diffs, "modified: "+path.Join(filepath.ToSlash(have), name))
		}
	}
	for name := range haveFiles {
		if _, ok := wantFiles[name]; !ok {
			diffs = append(
				diffs,
				fmt.Sprintf("extra:    %s (not generated; delete it)", path.Join(filepath.ToSlash(have), name)),
			)
		}
	}
	sort.Slice(diffs, func(i, j int) bool { return diffPath(diffs[i]) < diffPath(diffs[j]) })
	return diffs, nil
}

// diffPath is the path part of a diffTrees line, for sorting by file rather than by kind.
func diffPath(line string) string {
	_, p, _ := strings.Cut(line, ":")
	return strings.TrimSpace(p)
}
