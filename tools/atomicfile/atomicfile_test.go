package atomicfile_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/modhashes/modhashes/tools/atomicfile"
)

func TestWriteFileReplaces(t *testing.T) {
	name := filepath.Join(t.TempDir(), "out")
	for _, data := range []string{"first", "second, longer"} {
		if err := atomicfile.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(name); string(got) != data {
			t.Fatalf("content %q, want %q", got, data)
		}
	}
	if ents, _ := os.ReadDir(filepath.Dir(name)); len(ents) != 1 {
		t.Errorf("%d files left in the directory, want 1", len(ents))
	}
}

func TestWriteFileErrorKeepsOld(t *testing.T) {
	dir := t.TempDir()
	// Renaming a file over a non-empty directory fails even for root.
	target := filepath.Join(dir, "target")
	os.MkdirAll(filepath.Join(target, "x"), 0o755)
	err := atomicfile.WriteFile(target, []byte("data"), 0o644)
	if err == nil || !strings.Contains(err.Error(), target) {
		t.Fatalf("error %v, want one naming %s", err, target)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temp file left behind: %v", ents)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "no/dir/f"), nil, 0o644); err == nil {
		t.Errorf("write into a missing directory succeeded")
	}
}

func TestCreateCommitAbort(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "f")
	os.WriteFile(name, []byte("old"), 0o644)

	f, err := atomicfile.Create(name, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("half")
	f.Abort()
	if got, _ := os.ReadFile(name); string(got) != "old" {
		t.Fatalf("after Abort: %q", got)
	}

	f, _ = atomicfile.Create(name, 0o600)
	f.WriteString("new")
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort() // harmless after Commit
	if got, _ := os.ReadFile(name); string(got) != "new" {
		t.Fatalf("after Commit: %q", got)
	}
	if fi, _ := os.Stat(name); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d entries, want 1", len(ents))
	}
}

// A temporary left by a process that is gone (SIGKILL) is removed when the
// same target is written again; one of a live process, or of another
// target, is kept.
func TestCreateRemovesStaleTemporaries(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip(err)
	}
	dead := strconv.Itoa(cmd.Process.Pid)
	self := strconv.Itoa(os.Getpid())
	files := map[string]bool{ // name: kept
		".out.tmp" + dead + "-1":   false,
		".out.tmp" + dead + "-7":   false,
		".out.tmp" + self + "-999": true,
		".other.tmp" + dead + "-1": true,
		".out.tmpjunk":             true,
	}
	for n := range files {
		os.WriteFile(filepath.Join(dir, n), []byte("half"), 0o644)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err) // WriteFile does not look
	}
	f, err := atomicfile.Create(filepath.Join(dir, "out"), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	for n, kept := range files {
		if _, err := os.Stat(filepath.Join(dir, n)); (err == nil) != kept {
			t.Errorf("%s: kept=%v, want %v", n, err == nil, kept)
		}
	}
}
