package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The README's account of linking, build by build: static without cgo or
// with -tags netgo; with cgo, a plain build links the C library, because
// pflag imports net, whose cgo resolver does.
func TestStaticBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	if os.Getenv("TEST_SRCDIR") != "" {
		t.Skip("under Bazel, which builds the command its own way")
	}
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	cgo := true
	if _, err := exec.LookPath("gcc"); err != nil {
		cgo = false // only the CGO_ENABLED=0 build is like a user's then
	}
	for _, tc := range []struct {
		name    string
		env     []string
		args    []string
		dynamic bool
		cgo     bool
	}{
		{"CGO_ENABLED=0", []string{"CGO_ENABLED=0"}, nil, false, false},
		{"-tags netgo", []string{"CGO_ENABLED=1"}, []string{"-tags", "netgo"}, false, true},
		{"plain, cgo enabled", []string{"CGO_ENABLED=1"}, nil, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cgo && !cgo {
				t.Skip("no C compiler: cgo is off for every build")
			}
			out := filepath.Join(t.TempDir(), "modhashes")
			cmd := exec.Command(gotool, append(append([]string{"build", "-o", out}, tc.args...), ".")...)
			cmd.Env = append(os.Environ(), tc.env...)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("go build: %v\n%s", err, b)
			}
			f, err := elf.Open(out)
			if err != nil {
				t.Skipf("not an ELF system: %v", err)
			}
			defer f.Close()
			dynamic := false
			for _, p := range f.Progs {
				dynamic = dynamic || p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC
			}
			if dynamic != tc.dynamic {
				t.Errorf("dynamically linked: %v, but README says %v: update its Dependencies section", dynamic, tc.dynamic)
			}
		})
	}
}
