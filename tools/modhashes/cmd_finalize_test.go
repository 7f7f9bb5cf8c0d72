package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modhashes/modhashes/tools/elfedit/elftest"
	"github.com/modhashes/modhashes/tools/hashesroot"
)

// miniVmlinux links the miniature vmlinux.unstripped of the elfedit tests
// for the native target.
func miniVmlinux(t *testing.T, dir string) string {
	t.Helper()
	src, _ := filepath.Abs("../elfedit/testdata/mini.S")
	lds, _ := filepath.Abs("../elfedit/testdata/kernel.lds")
	return elftest.Toolchains[0].Build(t, dir, src, lds, "-z", "max-page-size=0x1000", "--emit-relocs")
}

func TestFinalizeCLI(t *testing.T) {
	tc := elftest.Toolchains[0]
	objcopy := tc.Tool(t, "objcopy")
	dir := t.TempDir()
	in := miniVmlinux(t, dir)
	orig, _ := os.ReadFile(in)
	root := hashesroot.Root{Levels: 7}
	for i := range root.Hash {
		root.Hash[i] = byte(3 * i)
	}
	os.WriteFile(filepath.Join(dir, "root.c"), root.CSource(), 0o644)
	os.WriteFile(filepath.Join(dir, "root.bin"), root.Binary(tc.Order), 0o644)

	// kbuild's three objcopy runs, as the reference.
	want := filepath.Join(dir, "want")
	elftest.Run(t, objcopy, "--set-section-flags", ".modinfo=noload", "--set-section-flags", ".rel*=noload",
		"--set-section-flags", "!.rel*.dyn=noload", in, want)
	elftest.Run(t, objcopy, "--remove-section=.modinfo", "--remove-section=.rel*", "--remove-section=!.rel*.dyn",
		"-w", "--strip-unneeded-symbol=__mod_device_table__*", want)
	elftest.Run(t, objcopy, "--update-section", ".module_hashes="+filepath.Join(dir, "root.bin"), want)

	for _, flag := range []string{"--root-c=root.c", "--root-bin=root.bin"} {
		r := modhashes(t, dir, "finalize", flag, in, "vmlinux")
		if r.code != 0 {
			t.Fatalf("%s: exit %d: %s", flag, r.code, r.stderr)
		}
		sameFile(t, filepath.Join(dir, "vmlinux"), want)
	}
	if now, _ := os.ReadFile(in); !bytes.Equal(now, orig) {
		t.Error("finalize changed its input")
	}

	// section dump gives the root back; section update writes it.
	if r := modhashes(t, dir, "section", "dump", ".module_hashes", "vmlinux", "dumped"); r.code != 0 {
		t.Fatalf("section dump: %+v", r)
	}
	sameFile(t, filepath.Join(dir, "dumped"), filepath.Join(dir, "root.bin"))
	wantUpd := filepath.Join(dir, "want-upd")
	elftest.Run(t, objcopy, "--update-section", ".module_hashes="+filepath.Join(dir, "root.bin"), in, wantUpd)
	if r := modhashes(t, dir, "section", "update", ".module_hashes", "root.bin", in, "updated"); r.code != 0 {
		t.Fatalf("section update: %+v", r)
	}
	sameFile(t, filepath.Join(dir, "updated"), wantUpd)

	// strip with kbuild's patterns is the two-run result.
	want2 := filepath.Join(dir, "want2")
	elftest.Run(t, objcopy, "--set-section-flags", ".modinfo=noload", in, want2)
	elftest.Run(t, objcopy, "--remove-section=.modinfo", "--remove-section=.rel*", "--remove-section=!.rel*.dyn",
		"-w", "--strip-unneeded-symbol=__mod_device_table__*", want2)
	r := modhashes(t, dir, "strip", "--remove-section", ".modinfo", "--remove-section", ".rel*",
		"--remove-section", "!.rel*.dyn", "--strip-unneeded-symbol", "__mod_device_table__*", in, "stripped")
	if r.code != 0 {
		t.Fatalf("strip: %+v", r)
	}
	sameFile(t, filepath.Join(dir, "stripped"), want2)
	if r := modhashes(t, dir, "finalize", "--allow-placeholder", in, "plain"); r.code != 0 {
		t.Fatalf("finalize without a root: %+v", r)
	}
	sameFile(t, filepath.Join(dir, "plain"), want2)

	// OUT may be IN only with --in-place.
	cp := filepath.Join(dir, "copy")
	os.WriteFile(cp, orig, 0o755)
	if r := modhashes(t, dir, "finalize", "--root-c", "root.c", cp, cp); r.code != 1 || !strings.Contains(r.stderr, "--in-place") {
		t.Errorf("OUT == IN: %+v", r)
	}
	if r := modhashes(t, dir, "finalize", "--root-c", "root.c", "--in-place", cp, cp); r.code != 0 {
		t.Errorf("--in-place: %+v", r)
	}
	sameFile(t, cp, want)
}

func TestFinalizeCLIErrors(t *testing.T) {
	dir := t.TempDir()
	in := miniVmlinux(t, dir)
	root := hashesroot.Root{Levels: 1}
	os.WriteFile(filepath.Join(dir, "root.c"), root.CSource(), 0o644)
	os.WriteFile(filepath.Join(dir, "short.bin"), make([]byte, 35), 0o644)
	other := map[binary.ByteOrder]binary.ByteOrder{binary.LittleEndian: binary.BigEndian, binary.BigEndian: binary.LittleEndian}
	os.WriteFile(filepath.Join(dir, "swapped.bin"), hashesroot.Root{Levels: 7}.Binary(other[elftest.Toolchains[0].Order]), 0o644)
	os.WriteFile(filepath.Join(dir, "huge.bin"), hashesroot.Root{Levels: 0x01000100}.Binary(binary.LittleEndian), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.c"), []byte("int x;\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "notelf"), []byte("hello"), 0o644)
	if r := modhashes(t, dir, "strip", "--remove-section", ".module_hashes", in, "nohashes"); r.code != 0 {
		t.Fatalf("strip: %+v", r)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"finalize", in}, 2, "want IN and OUT"},
		{[]string{"finalize", "--root-c", "root.c", "--root-bin", "x", in, "out"}, 2, "exclude each other"},
		{[]string{"finalize", "--root-c", "root.c", "nohashes", "out"}, 1, "no .module_hashes section"},
		{[]string{"finalize", "--root-bin", "short.bin", in, "out"}, 1, "short.bin"},
		{[]string{"finalize", "--root-c", "bad.c", in, "out"}, 1, "bad.c"},
		{[]string{"finalize", "--allow-placeholder", "notelf", "out"}, 1, "notelf: malformed ELF at offset 0x0"},
		{[]string{"finalize", "--allow-placeholder", "missing", "out"}, 1, "missing"},
		{[]string{"finalize", in, "out"}, 2, "no root given"},
		{[]string{"finalize", "--root-bin", "swapped.bin", in, "out"}, 1, "root written for a target of the other byte order"},
		{[]string{"finalize", "--root-bin", "huge.bin", in, "out"}, 1, "more than a tree of 32-bit positions can have"},
		{[]string{"section", "dump", ".nosuch", in, "out"}, 1, "no section .nosuch"},
		{[]string{"section", "dump", ".bss", in, "out"}, 1, "no contents"},
		{[]string{"section", "update", ".module_hashes", "short.bin", in, "out"}, 1, "lies in segment"},
		{[]string{"section", "frob"}, 2, "unknown action"},
		{[]string{"section", "dump", ".text"}, 2, "dump wants NAME IN OUT"},
		{[]string{"strip", in}, 2, "want IN and OUT"},
	} {
		r := modhashes(t, dir, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Error("a failed run wrote output")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
