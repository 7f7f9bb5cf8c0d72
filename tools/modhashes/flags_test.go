package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modhashes/modhashes/tools/hashesroot"
)

// Every command that reads or writes a root names it with the same flags.
func TestRootFlagsAreOneSet(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		cmd     string
		vmlinux bool
	}{
		{"tree", false}, {"finalize", false}, {"install", true}, {"verify", true},
	} {
		r := modhashes(t, dir, "help", tc.cmd)
		for _, flag := range []string{"--root-bin FILE", "--root-c FILE", "--endian ORDER", "--target FILE"} {
			if !strings.Contains(r.stdout, flag) {
				t.Errorf("%s --help does not offer %s:\n%s", tc.cmd, flag, r.stdout)
			}
		}
		if strings.Contains(r.stdout, "--vmlinux") != tc.vmlinux {
			t.Errorf("%s --help: --vmlinux offered: %v, want %v", tc.cmd, !tc.vmlinux, tc.vmlinux)
		}
	}
}

// --target gives the byte order of --root-bin wherever --endian does, and a
// byte order that contradicts finalize's input is refused.
func TestRootFlagsTarget(t *testing.T) {
	objtree := copyVector(t, "n05")
	be := filepath.Join(objtree, "be.elf")
	os.WriteFile(be, append([]byte("\x7fELF\x02\x02\x01"), make([]byte, 57)...), 0o644)
	if r := modhashes(t, objtree, "tree", "--root-bin", "root.bin", "--target", be); r.code != 0 {
		t.Fatalf("tree --target: %+v", r)
	}
	sameFile(t, filepath.Join(objtree, "root.bin"), filepath.Join(objtree, "expected/root-be.bin"))
	dest := t.TempDir()
	if r := modhashes(t, objtree, "install", "-q", "--dest", dest, "--kernel-release", "r", "--root-bin", "root.bin", "--target", be); r.code != 0 {
		t.Fatalf("install --target: %+v", r)
	}
	moddir := filepath.Join(dest, "lib/modules/r")
	if r := modhashes(t, objtree, "verify", "--root-bin", "root.bin", "--target", be, moddir); r.code != 0 {
		t.Fatalf("verify --target: %+v", r)
	}
	in := miniVmlinux(t, t.TempDir())
	native, err := hashesroot.TargetByteOrder(in)
	if err != nil {
		t.Fatal(err)
	}
	other := "big"
	if native.String() == "BigEndian" {
		other = "little"
	}
	r := modhashes(t, objtree, "finalize", "--root-bin", "root.bin", "--endian", other, in, "vmlinux")
	if r.code != 1 || !strings.Contains(r.stderr, "root written for another target") {
		t.Errorf("finalize --endian %s on a %v input: %+v", other, native, r)
	}
	for _, args := range [][]string{
		{"tree", "--endian", "big", "--target", be, "--root-bin", "x"},
		{"tree", "--target", be},
		{"verify", "--root-bin", "root.bin", "--endian", "big", "--target", be, moddir},
		{"install", "--dest", dest, "--root-c", "root.c", "--target", be},
		{"finalize", "--root-c", "root.c", "--endian", "big", in, "out"},
	} {
		if r := modhashes(t, objtree, args...); r.code != 2 {
			t.Errorf("%q: exit %d, want 2: %s", args, r.code, r.stderr)
		}
	}
}

// The commands that report take -q (nothing on stdout or stderr) and --json
// (the result, with the values the vector's reference generator computed),
// not both.
func TestQuietAndJSON(t *testing.T) {
	objtree := copyVector(t, "n05")
	want, err := hashesroot.ReadCSourceFile(filepath.Join(objtree, "expected/root.c"))
	if err != nil {
		t.Fatal(err)
	}
	if r := modhashes(t, objtree, "tree", "--root-c", "root.c"); r.code != 0 {
		t.Fatalf("tree: %+v", r)
	}
	dest := t.TempDir()
	moddir := filepath.Join(dest, "lib/modules/r")
	mod := filepath.Join(moddir, "kernel/lib/mod_2.ko")
	for _, tc := range []struct {
		name string
		args []string
		// check gets the --json output.
		check func(t *testing.T, out []byte)
	}{
		{"tree", []string{"tree"}, func(t *testing.T, out []byte) {
			var v struct {
				Modules int
				Levels  uint32
				Root    string
			}
			if err := json.Unmarshal(out, &v); err != nil || v.Modules != 5 || v.Levels != want.Levels || v.Root != want.Hash.String() {
				t.Errorf("%v: %+v", err, v)
			}
		}},
		{"install", []string{"install", "--dest", dest, "--kernel-release", "r"}, func(t *testing.T, out []byte) {
			var v struct {
				Release, ModDir, Root string
				Levels                uint32
				Modules               []struct{ Module, Installed string }
			}
			if err := json.Unmarshal(out, &v); err != nil || v.Release != "r" || v.ModDir != moddir || v.Root != want.Hash.String() ||
				v.Levels != want.Levels || len(v.Modules) != 5 || v.Modules[2].Installed != mod {
				t.Errorf("%v: %+v", err, v)
			}
		}},
		{"verify", []string{"verify", "--root-c", "root.c", moddir}, func(t *testing.T, out []byte) {
			var v struct {
				OK      bool
				Modules []struct{ File string }
			}
			if err := json.Unmarshal(out, &v); err != nil || !v.OK || len(v.Modules) != 5 {
				t.Errorf("%v: %+v", err, v)
			}
		}},
		{"inspect", []string{"inspect", mod}, func(t *testing.T, out []byte) {
			var v []map[string]any
			if err := json.Unmarshal(out, &v); err != nil || len(v) != 1 || !strings.Contains(string(out), want.Hash.String()) {
				t.Errorf("%v: %s", err, out)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, rest := tc.args[0], tc.args[1:]
			r := modhashes(t, objtree, append([]string{cmd, "-q"}, rest...)...)
			if r.code != 0 || r.stdout != "" || r.stderr != "" {
				t.Errorf("-q: %+v, want silence", r)
			}
			r = modhashes(t, objtree, append([]string{cmd, "--json"}, rest...)...)
			if r.code != 0 {
				t.Fatalf("--json: %+v", r)
			}
			tc.check(t, []byte(r.stdout))
			if r := modhashes(t, objtree, append([]string{cmd, "-q", "--json"}, rest...)...); r.code != 2 || !strings.Contains(r.stderr, "exclude each other") {
				t.Errorf("-q --json: %+v", r)
			}
		})
	}
	// -q keeps the exit status: a refused module is 1, silently.
	os.WriteFile(mod, []byte("tampered"), 0o644)
	if r := modhashes(t, objtree, "verify", "-q", "--root-c", "root.c", moddir); r.code != 1 || r.stdout != "" {
		t.Errorf("verify -q, a tampered module: %+v", r)
	}
}
