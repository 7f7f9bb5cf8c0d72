package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/modhashes/modhashes/tools/internal/testfs"
)

// The test binary doubles as the modhashes command, so the tests exercise
// flag parsing, exit status and messages exactly as users see them.
func TestMain(m *testing.M) {
	if os.Getenv("MODHASHES_TEST_AS_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type result struct {
	code           int
	stdout, stderr string
}

// modhashes runs the command in dir.
func modhashes(t *testing.T, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MODHASHES_TEST_AS_MAIN=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

const vectors = "../../examples/vectors"

func copyVector(t *testing.T, name string) string {
	return testfs.CopyTree(t, filepath.Join(vectors, name))
}

func sameFile(t *testing.T, got, want string) {
	t.Helper()
	g, err1 := os.ReadFile(got)
	w, err2 := os.ReadFile(want)
	if err1 != nil || err2 != nil || !bytes.Equal(g, w) {
		t.Errorf("%s differs from %s (%v, %v)", got, want, err1, err2)
	}
}

// The kbuild drop-in form: positional ROOT_C SUFFIX, ./modules.order.
func TestTreeDropIn(t *testing.T) {
	dir := copyVector(t, "n17")
	if r := modhashes(t, dir, "tree", ".tmp_module_hashes.c", ".ko"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	sameFile(t, filepath.Join(dir, ".tmp_module_hashes.c"), filepath.Join(dir, "expected/root.c"))
	sameFile(t, filepath.Join(dir, "lib/mod_2.merkle"), filepath.Join(dir, "expected/proofs/lib/mod_2.merkle"))
}

func TestTreeFlags(t *testing.T) {
	dir := copyVector(t, "n05")
	r := modhashes(t, t.TempDir(), "tree", "--objtree", dir, "--root-bin", "be.bin", "--endian", "big",
		"--proof-dir", "proofs", "--root-c", "root.c", "-j", "1")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// The byte order can come from a target ELF: here a big-endian header.
	elf := filepath.Join(dir, "vmlinux.unstripped")
	os.WriteFile(elf, append([]byte("\x7fELF\x01\x02\x01"), make([]byte, 45)...), 0o644)
	out := t.TempDir()
	if r := modhashes(t, out, "tree", "--objtree", dir, "--target", elf, "--root-bin", "root.bin"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	sameFile(t, filepath.Join(out, "root.bin"), filepath.Join(dir, "expected/root-be.bin"))
	// Without an output, the root is printed.
	r = modhashes(t, dir, "tree")
	want := "levels 3 root "
	if r.code != 0 || !strings.HasPrefix(r.stdout, want) {
		t.Errorf("plain tree printed %q (exit %d), want %q...", r.stdout, r.code, want)
	}
}

func TestTreeUsageErrors(t *testing.T) {
	dir := copyVector(t, "n02")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"tree", "only-one"}, "want no arguments or ROOT_C SUFFIX"},
		{[]string{"tree", "--root-bin", "x"}, "--root-bin needs --endian or --target"},
		{[]string{"tree", "--endian", "middle", "--root-bin", "x"}, `byte order "middle"`},
		{[]string{"tree", "--no-such-flag"}, "unknown flag"},
		{[]string{"no-such-command"}, "unknown command"},
	} {
		r := modhashes(t, dir, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Errorf("a usage error wrote output")
	}
}

// A failure leaves no root behind and names what is wrong.
func TestTreeFailureWritesNoRoot(t *testing.T) {
	dir := copyVector(t, "n03")
	os.Remove(filepath.Join(dir, "fs/ext4/mod_1.ko"))
	r := modhashes(t, dir, "tree", "root.c", ".ko")
	if r.code != 1 || !strings.Contains(r.stderr, "fs/ext4/mod_1.ko") || !strings.Contains(r.stderr, "modules.order:2") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "root.c")); err == nil {
		t.Errorf("root.c written despite the error")
	}
	os.WriteFile(filepath.Join(dir, "fs/ext4/mod_1.ko"), []byte("module"), 0o644)
	r = modhashes(t, dir, "tree", "--root-c", filepath.Join(dir, "no/such/dir/root.c"))
	if r.code != 1 || !strings.Contains(r.stderr, "no/such/dir/root.c") {
		t.Errorf("unwritable root: exit %d, stderr %q", r.code, r.stderr)
	}
}

// Peak memory stays small on a real kernel's modules: files are streamed,
// never held whole.
func TestTreeCorpusPeakRSS(t *testing.T) {
	dir := os.Getenv("MODHASHES_CORPUS")
	if dir == "" {
		t.Skip("MODHASHES_CORPUS not set (see examples/corpus/fetch.sh)")
	}
	dir = testfs.UnsignedCorpus(t, dir)
	out := t.TempDir()
	cmd := exec.Command(os.Args[0], "tree", "--objtree", dir, "--proof-dir", out, "--root-c", filepath.Join(out, "root.c"))
	cmd.Env = append(os.Environ(), "MODHASHES_TEST_AS_MAIN=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		t.Skip("no rusage on this system")
	}
	const limit = 64 << 20
	if rss := ru.Maxrss << 10; rss >= limit {
		t.Errorf("peak RSS %d MB, want < 64 MB", rss>>20)
	} else {
		t.Logf("peak RSS %.1f MB", float64(rss)/(1<<20))
	}
}

// A run that stops while writing proofs removes the previous root first, so
// kbuild sees its target missing; the next run restores root and proofs.
func TestTreeInterruptedRunRemovesRoot(t *testing.T) {
	dir := copyVector(t, "n03")
	if r := modhashes(t, dir, "tree", "root.c", ".ko"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	proof := filepath.Join(dir, "fs/ext4/mod_1.merkle")
	os.Remove(proof)
	os.Mkdir(proof, 0o755) // the run fails when it reaches this proof
	if r := modhashes(t, dir, "tree", "root.c", ".ko"); r.code != 1 || !strings.Contains(r.stderr, "mod_1.merkle") {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "root.c")); !os.IsNotExist(err) {
		t.Errorf("the previous root.c survived an interrupted run (%v)", err)
	}
	os.Remove(proof)
	if r := modhashes(t, dir, "tree", "root.c", ".ko"); r.code != 0 {
		t.Fatalf("rerun: exit %d: %s", r.code, r.stderr)
	}
	sameFile(t, filepath.Join(dir, "root.c"), filepath.Join(dir, "expected/root.c"))
	sameFile(t, proof, filepath.Join(dir, "expected/proofs/fs/ext4/mod_1.merkle"))
}

// --help, help COMMAND and --version print on stdout and exit 0; a wrong
// flag prints the usage on stderr and exits 2.
func TestHelpAndVersion(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args       []string
		code       int
		out, inErr string
	}{
		{[]string{"--help"}, 0, "usage: modhashes COMMAND", ""},
		{[]string{"help"}, 0, "usage: modhashes COMMAND", ""},
		{[]string{"help", "install"}, 0, "usage: modhashes install", ""},
		{[]string{"install", "--help"}, 0, "--replace-signature", ""},
		{[]string{"verify", "-h"}, 0, "usage: modhashes verify", ""},
		{[]string{"finalize", "--help"}, 0, "--allow-placeholder", ""},
		{[]string{"--version"}, 0, "modhashes ", ""},
		{[]string{"install", "--bogus"}, 2, "", "usage: modhashes install"},
		{[]string{"help", "nosuch"}, 2, "", "unknown command"},
		{[]string{"help", "install", "verify"}, 2, "", "want one command"},
		{[]string{"version"}, 0, "modhashes ", ""},
		{[]string{"help", "tree"}, 0, "--json", ""},
	} {
		r := modhashes(t, dir, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stdout, tc.out) || !strings.Contains(r.stderr, tc.inErr) ||
			(tc.code == 0 && r.stderr != "") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", tc.args, r.code, r.stdout, r.stderr)
		}
	}
	// The version names the Go toolchain (and, in a VCS checkout built
	// with go build, the revision).
	if r := modhashes(t, dir, "--version"); !strings.Contains(r.stdout, " go1.") {
		t.Errorf("--version: %q", r.stdout)
	}
}
