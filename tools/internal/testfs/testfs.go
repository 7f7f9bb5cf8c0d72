// Package testfs has the file helpers the tests of several stages share.
package testfs

import (
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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

// HaveTool is Tool for a check that is one of several in a test: without
// the program it logs and returns false instead of skipping the test, and
// fails it where CI is "true".
func HaveTool(t testing.TB, name string) (string, bool) {
	t.Helper()
	if p, err := lookTool(name); err == nil {
		return p, true
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not installed, and CI=true (tools/install-test-deps.sh installs it)", name)
	}
	t.Logf("%s not installed (tools/install-test-deps.sh installs it): check skipped", name)
	return "", false
}

// Tool finds an external program a test compares against. Without it the
// test is skipped on a developer's machine, but fails where the CI
// environment variable is "true": there a missing oracle is a broken set-up,
// not a reason to pass.
func Tool(t testing.TB, name string) string {
	t.Helper()
	if p, err := lookTool(name); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not installed, and CI=true (tools/install-test-deps.sh installs it)", name)
	}
	t.Skipf("%s not installed (tools/install-test-deps.sh installs it)", name)
	return ""
}

// lookTool searches PATH, then the sbin directories kmod installs into and
// a user's PATH may lack (as tools/install-test-deps.sh does).
func lookTool(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil || strings.Contains(name, "/") {
		return p, err
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		if p, e := exec.LookPath(filepath.Join(dir, name)); e == nil {
			return p, nil
		}
	}
	return "", err
}

// UnsignedCorpus copies the modules of a distribution's module tree (the
// directory holding modules.order; examples/corpus/fetch.sh) into a new
// temporary object tree without their appended signatures: distributions
// sign their modules, kbuild hashes them unsigned, and the tree stage
// refuses modules that already carry a trailer. Copies are made once per
// test binary and shared.
func UnsignedCorpus(t testing.TB, corpus string) string {
	t.Helper()
	unsigned.once.Do(func() { unsigned.dir, unsigned.err = unsign(corpus) })
	if unsigned.err != nil {
		t.Fatalf("unsigned copy of %s: %v", corpus, unsigned.err)
	}
	return unsigned.dir
}

var unsigned struct {
	once sync.Once
	dir  string
	err  error
}

func unsign(corpus string) (string, error) {
	order, err := os.ReadFile(filepath.Join(corpus, "modules.order"))
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "modhashes-unsigned-corpus")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Fields(string(order)) {
		rel := strings.TrimSuffix(line, filepath.Ext(line)) + ".ko"
		if err := copyUnsigned(filepath.Join(corpus, rel), filepath.Join(dir, rel)); err != nil {
			return "", err
		}
	}
	return dir, os.WriteFile(filepath.Join(dir, "modules.order"), order, 0o644)
}

// copyUnsigned copies a module without its trailer, streaming: a test's
// memory use (which a child process's peak RSS inherits at exec) stays
// small.
func copyUnsigned(src, dst string) error {
	const marker = "~Module signature appended~\n"
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	tail := make([]byte, 12+len(marker))
	if size > int64(len(tail)) {
		if _, err := in.ReadAt(tail, size-int64(len(tail))); err != nil {
			return err
		}
		// The descriptor's last 4 bytes are the signature's length.
		if strings.HasSuffix(string(tail), marker) {
			size = max(0, size-int64(len(tail))-int64(binary.BigEndian.Uint32(tail[8:12])))
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.CopyN(out, in, size); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
