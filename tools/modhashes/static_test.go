package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The command builds as a static executable without cgo, as README says
// (CGO_ENABLED=0: pflag imports net, whose resolver would link libc).
func TestStaticBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	if os.Getenv("TEST_SRCDIR") != "" {
		t.Skip("under Bazel, whose go_binary is pure")
	}
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out := filepath.Join(t.TempDir(), "modhashes")
	cmd := exec.Command(gotool, "build", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	f, err := elf.Open(out)
	if err != nil {
		t.Skipf("not an ELF system: %v", err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the executable has a %v segment: dynamically linked", p.Type)
		}
	}
}
