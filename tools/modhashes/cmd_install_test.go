package main

import (
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modhashes/modhashes/tools/hashesroot"
	"github.com/modhashes/modhashes/tools/inspect/testelf"
	"github.com/modhashes/modhashes/tools/internal/testfs"
	"github.com/modhashes/modhashes/tools/verify"
)

// installVector runs tree and install on a copy of a vector and returns the
// object tree and the installed module directory.
func installVector(t *testing.T, name, comp string) (objtree, moddir string) {
	t.Helper()
	objtree = copyVector(t, name)
	if r := modhashes(t, objtree, "tree", "--root-c", "root.c", "--root-bin", "root.bin", "--endian", "big"); r.code != 0 {
		t.Fatalf("tree: %+v", r)
	}
	dest := filepath.Join(t.TempDir(), "dest")
	r := modhashes(t, objtree, "install", "--dest", dest, "--kernel-release", "6.9.0-t", "--compress", comp, "--root-c", "root.c")
	if r.code != 0 || !strings.Contains(r.stdout, "installed") {
		t.Fatalf("install: %+v", r)
	}
	return objtree, filepath.Join(dest, "lib/modules/6.9.0-t")
}

func TestInstallVerifyCLI(t *testing.T) {
	for _, comp := range []string{"none", "gzip", "xz", "zstd"} {
		objtree, moddir := installVector(t, "n05", comp)
		r := modhashes(t, objtree, "verify", "--root-c", "root.c", moddir)
		if r.code != 0 || strings.Count(r.stdout, ": OK\n") != 5 {
			t.Fatalf("%s: verify: %+v", comp, r)
		}
		r = modhashes(t, objtree, "verify", "--root-bin", "root.bin", "--endian", "big", moddir)
		if r.code != 0 {
			t.Fatalf("%s: verify --root-bin: %+v", comp, r)
		}
		// The wrong byte order makes the root's height absurd.
		r = modhashes(t, objtree, "verify", "--root-bin", "root.bin", "--endian", "little", moddir)
		if r.code != 1 || !strings.Contains(r.stdout, "-ENOPKG") || !strings.Contains(r.stdout, "byte order") {
			t.Fatalf("%s: verify with the wrong byte order: %+v", comp, r)
		}
	}
}

func TestVerifyCLINegative(t *testing.T) {
	objtree, moddir := installVector(t, "n05", "none")
	victim := filepath.Join(moddir, "kernel/fs/ext4/mod_1.ko")
	b, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	b[3] ^= 0xff
	if err := os.WriteFile(victim, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r := modhashes(t, objtree, "verify", "--root-c", "root.c", moddir)
	if r.code != 1 || strings.Count(r.stdout, ": OK\n") != 4 || !strings.HasSuffix(r.stdout, "\n1 of 5 modules would be refused\n") || r.stderr != "" {
		t.Fatalf("verify: %+v", r)
	}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if strings.HasPrefix(line, victim+": ") && !strings.Contains(line, "-ENOKEY (-EKEYREJECTED when enforced): root mismatch") {
			t.Errorf("line %q", line)
		}
	}
	r = modhashes(t, objtree, "verify", "--json", "--root-c", "root.c", moddir)
	var out struct {
		OK      bool `json:"ok"`
		Failed  int  `json:"failed"`
		Modules []struct {
			File    string `json:"file"`
			Outcome string `json:"outcome"`
			Level   int    `json:"diverges_at_level"`
		} `json:"modules"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != 1 {
		t.Fatalf("--json: %v %+v", err, r)
	}
	if out.OK || out.Failed != 1 || len(out.Modules) != 5 {
		t.Fatalf("--json: %+v", out)
	}
	for _, m := range out.Modules {
		if (m.File == victim) != (m.Outcome == "-ENOKEY") || (m.File == victim && m.Level != 0) {
			t.Errorf("--json module %+v", m)
		}
	}
}

func TestVerifyCLIVmlinux(t *testing.T) {
	objtree, moddir := installVector(t, "n05", "zstd")
	root, err := hashesroot.ReadCSourceFile(filepath.Join(objtree, "root.c"))
	if err != nil {
		t.Fatal(err)
	}
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, class := range []elf.Class{elf.ELFCLASS32, elf.ELFCLASS64} {
			img := testelf.Image(class, order, testelf.Section{Name: ".module_hashes", Data: root.Binary(order)})
			vmlinux := filepath.Join(t.TempDir(), "vmlinux")
			if err := os.WriteFile(vmlinux, img, 0o644); err != nil {
				t.Fatal(err)
			}
			if r := modhashes(t, objtree, "verify", "--vmlinux", vmlinux, moddir); r.code != 0 {
				t.Errorf("%v %v: %+v", class, order, r)
			}
			r := modhashes(t, objtree, "inspect", vmlinux)
			if r.code != 0 || !strings.Contains(r.stdout, root.Hash.String()) {
				t.Errorf("inspect %v %v: %+v", class, order, r)
			}
		}
	}
	// The placeholder vmlinux is linked with: nothing loads.
	img := testelf.Image(elf.ELFCLASS64, binary.LittleEndian, testelf.Section{Name: ".module_hashes", Data: make([]byte, 36)})
	vmlinux := filepath.Join(t.TempDir(), "vmlinux")
	os.WriteFile(vmlinux, img, 0o644)
	if r := modhashes(t, objtree, "verify", "--vmlinux", vmlinux, moddir); r.code != 1 || strings.Count(r.stdout, "placeholder") != 5 {
		t.Errorf("placeholder: %+v", r)
	}
	if r := modhashes(t, objtree, "install", "--dest", t.TempDir(), "--kernel-release", "x", "--vmlinux", vmlinux); r.code != 1 ||
		!strings.Contains(r.stderr, "root given has 0 levels") {
		t.Errorf("install against the placeholder: %+v", r)
	}
}

func TestInspectCLI(t *testing.T) {
	objtree, moddir := installVector(t, "n05", "xz")
	mod := filepath.Join(moddir, "kernel/lib/mod_2.ko.xz")
	r := modhashes(t, objtree, "inspect", mod, "lib/mod_2.merkle")
	if r.code != 0 || strings.Count(r.stdout, "position 2 (modules.order line 3), 3 levels") != 2 || !strings.Contains(r.stdout, "the proof leads to root 9f318104c5d33da4") || !strings.Contains(r.stdout, "xz compressed") {
		t.Fatalf("inspect: %+v", r)
	}
	r = modhashes(t, objtree, "inspect", "--json", mod)
	var out []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out) != 1 || out[0]["compression"] != "xz" {
		t.Fatalf("inspect --json: %v %+v", err, r)
	}
	if r := modhashes(t, objtree, "inspect", "missing"); r.code != 1 || !strings.Contains(r.stderr, "missing") {
		t.Errorf("missing file: %+v", r)
	}
}

func TestInstallCLIRefusals(t *testing.T) {
	objtree := copyVector(t, "n05")
	if r := modhashes(t, objtree, "tree"); r.code != 0 {
		t.Fatal(r)
	}
	dest := filepath.Join(t.TempDir(), "d")
	f, _ := os.OpenFile(filepath.Join(objtree, "lib/mod_2.ko"), os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte("tampered"))
	f.Close()
	r := modhashes(t, objtree, "install", "--dest", dest, "--kernel-release", "r")
	if r.code != 1 || !strings.Contains(r.stderr, "lib/mod_2.ko") || !strings.Contains(r.stderr, "changed after hashing") {
		t.Errorf("tampered module: %+v", r)
	}
	if _, err := os.Stat(dest); err == nil {
		t.Error("refused install wrote files")
	}
	cmd := []string{"install", "--dest", dest, "--kernel-release", "r"}
	r = modhashesEnv(t, objtree, []string{"INSTALL_MOD_STRIP=1"}, cmd...)
	if r.code != 1 || !strings.Contains(r.stderr, "INSTALL_MOD_STRIP") {
		t.Errorf("INSTALL_MOD_STRIP: %+v", r)
	}
}

func TestInstallVerifyUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"install"},
		{"install", "--dest", dir, "--compress", "bzip2"},
		{"install", "--dest", dir, "extra"},
		{"verify", "m.ko"},
		{"verify", "--root-c", "r.c"},
		{"verify", "--root-bin", "r.bin", "m.ko"},
		{"verify", "--root-c", "r.c", "--vmlinux", "v", "m.ko"},
		{"verify", "--endian", "big", "--root-c", "r.c", "m.ko"},
		{"inspect"},
	} {
		if r := modhashes(t, dir, args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, r.code, r.stderr)
		}
	}
}

// modhashesEnv is modhashes with extra environment variables.
func modhashesEnv(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	return modhashes(t, dir, args...)
}

// The summary names the encoder; -q prints nothing; progress is only for a
// terminal, so a log (here a pipe) gets none.
func TestInstallSummaryQuietProgress(t *testing.T) {
	objtree := copyVector(t, "n05")
	if r := modhashes(t, objtree, "tree", "--root-c", "root.c"); r.code != 0 {
		t.Fatalf("tree: %+v", r)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--compress", "zstd", "--builtin-encoder"}, "built-in zstd encoder"},
		{[]string{"--compress", "none"}, "uncompressed"},
		{[]string{"--compress", "xz"}, "--check=crc32 --lzma2=dict=1MiB"},
	} {
		if tc.want == "--check=crc32 --lzma2=dict=1MiB" {
			if _, ok := testfs.HaveTool(t, "xz"); !ok {
				continue
			}
		}
		dest := t.TempDir()
		r := modhashes(t, objtree, append([]string{"install", "--dest", dest, "--kernel-release", "r"}, tc.args...)...)
		if r.code != 0 || !strings.Contains(r.stdout, tc.want) || strings.Contains(r.stderr, "installing modules") {
			t.Errorf("%v: %+v, want the summary to say %q and no progress", tc.args, r, tc.want)
		}
		r = modhashes(t, objtree, append([]string{"install", "-q", "--dest", dest, "--kernel-release", "r"}, tc.args...)...)
		if r.code != 0 || r.stdout != "" || r.stderr != "" {
			t.Errorf("%v -q: %+v, want silence", tc.args, r)
		}
	}
	var b strings.Builder
	p := newProgress(&b)
	for i := 1; i <= 3; i++ {
		p.update(i, 3)
	}
	p.finish()
	if s := b.String(); !strings.HasPrefix(s, "\rinstalling modules: 1 of 3") || !strings.Contains(s, "3 of 3") || !strings.HasSuffix(s, "\r\033[K") {
		t.Errorf("progress wrote %q", s)
	}
}

// install --depmod runs depmod (here a stand-in named by DEPMOD, as for
// kbuild; install's tests run kmod's) with kbuild's arguments; a reinstall
// removes the earlier build's modules and says so.
func TestInstallDepmodAndStale(t *testing.T) {
	objtree := copyVector(t, "n05")
	if r := modhashes(t, objtree, "tree", "-q"); r.code != 0 {
		t.Fatalf("tree: %+v", r)
	}
	bin := t.TempDir()
	fake := filepath.Join(bin, "depmod")
	os.WriteFile(fake, []byte("#!/bin/sh\necho \"$@\" >> \"$0.args\"\n"), 0o755)
	dest := t.TempDir()
	install := []string{"install", "--dest", dest, "--kernel-release", "r", "--depmod"}
	if r := modhashesEnv(t, objtree, []string{"DEPMOD=" + fake}, install...); r.code != 0 {
		t.Fatalf("install --depmod: %+v", r)
	}
	os.WriteFile(filepath.Join(objtree, "System.map"), nil, 0o644)
	if r := modhashesEnv(t, objtree, []string{"DEPMOD=" + fake}, install...); r.code != 0 {
		t.Fatalf("install --depmod with System.map: %+v", r)
	}
	want := fmt.Sprintf("-a -b %s r\n-ae -F %s -b %s r\n", dest, filepath.Join(objtree, "System.map"), dest)
	if got := string(testfs.ReadFile(t, fake+".args")); got != want {
		t.Errorf("depmod ran with\n%s\nwant\n%s", got, want)
	}
	r := modhashesEnv(t, objtree, []string{"DEPMOD=no-such-depmod"}, install...)
	if r.code != 1 || !strings.Contains(r.stderr, `no "no-such-depmod" in PATH`) || !strings.Contains(r.stderr, "hint: install kmod") {
		t.Errorf("missing depmod: %+v", r)
	}

	other := copyVector(t, "n02")
	if r := modhashes(t, other, "tree", "-q"); r.code != 0 {
		t.Fatalf("tree: %+v", r)
	}
	r = modhashes(t, other, "install", "-v", "--dest", dest, "--kernel-release", "r")
	moddir := filepath.Join(dest, "lib/modules/r")
	if r.code != 0 || !strings.Contains(r.stdout, "removed 3 stale files") || !strings.Contains(r.stdout, "REMOVE  "+filepath.Join(moddir, "kernel/lib/mod_2.ko")) {
		t.Errorf("reinstall: %+v", r)
	}
	if got, err := verify.Expand([]string{moddir}); err != nil || len(got) != 2 {
		t.Errorf("after the reinstall: %q, %v; want n02's 2 modules", got, err)
	}
}
