package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
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

// --version names what the build recorded: the module's version, the VCS
// revision, its time and whether the tree was modified, the toolchain.
func TestFormatVersion(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	for _, tc := range []struct {
		version  string
		settings []debug.BuildSetting
		want     string
	}{
		{"v1.2.3", nil, "modhashes v1.2.3 go1.99"},
		{"(devel)", vcs("vcs.revision", "abc123", "vcs.time", "2026-01-02T03:04:05Z", "vcs.modified", "false"),
			"modhashes (devel) (abc123, 2026-01-02T03:04:05Z) go1.99"},
		{"(devel)", vcs("vcs.revision", "abc123", "vcs.modified", "true"), "modhashes (devel) (abc123, modified) go1.99"},
	} {
		bi := &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: tc.version}, Settings: tc.settings}
		if got := formatVersion(bi); got != tc.want {
			t.Errorf("formatVersion(%s, %v) = %q, want %q", tc.version, tc.settings, got, tc.want)
		}
	}
}

// A go build in a checkout records the revision (not in a git worktree,
// whose .git is a file the go command does not recognize), and --version
// prints the one recorded.
func TestVersionNamesRevision(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	if os.Getenv("TEST_SRCDIR") != "" {
		t.Skip("under Bazel, which records no VCS information")
	}
	gotool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	out := filepath.Join(t.TempDir(), "modhashes")
	cmd := exec.Command(gotool, "build", "-buildvcs=auto", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	info, err := exec.Command(gotool, "version", "-m", out).Output()
	if err != nil {
		t.Fatal(err)
	}
	_, rev, ok := strings.Cut(string(info), "vcs.revision=")
	if !ok {
		t.Skip("the build recorded no VCS revision (not a git checkout, or a git worktree)")
	}
	rev, _, _ = strings.Cut(rev, "\n")
	v, err := exec.Command(out, "--version").Output()
	if err != nil || !strings.Contains(string(v), "("+rev) {
		t.Errorf("--version printed %q (%v), want the revision %s", v, err, rev)
	}
}
