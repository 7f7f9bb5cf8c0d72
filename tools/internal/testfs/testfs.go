// Package testfs has the file helpers the tests of several stages share.
package testfs

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// CopyTree copies the directory src into a new temporary directory, with
// writable files (the known-answer vectors are checked in read-only in some
// checkouts), leaving out the top-level entries named in skip.
func CopyTree(t testing.TB, src string, skip ...string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		for _, s := range skip {
			if rel == s {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// ReadFile is os.ReadFile that fails the test on error.
func ReadFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// CountFiles counts the files below dir (symbolic links too: Bazel's
// runfiles are links); a missing dir has none.
func CountFiles(t testing.TB, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return err
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return n
}

// Tool finds an external program a test compares against. Without it the
// test is skipped on a developer's machine, but fails where the CI
// environment variable is "true": there a missing oracle is a broken set-up,
// not a reason to pass.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not installed, and CI=true (tools/install-test-deps.sh installs it)", name)
	}
	t.Skipf("%s not installed (tools/install-test-deps.sh installs it)", name)
	return ""
}
