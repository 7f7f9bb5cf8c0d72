package elfedit_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modhashes/modhashes/tools/elfedit"
	"github.com/modhashes/modhashes/tools/elfedit/elftest"
)

// edit runs elfedit on in and writes out.
func edit(in, out string, opt elfedit.Options) error {
	f, err := elfedit.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	o, err := elfedit.Edit(f, opt)
	if err != nil {
		return err
	}
	return o.WriteFile(out, 0o755)
}

// objcopyArgs turns options into objcopy's arguments.
func objcopyArgs(opt elfedit.Options, dir string) []string {
	args := []string{"-w"}
	for _, p := range opt.RemoveSections {
		args = append(args, "--remove-section="+p)
	}
	if len(opt.StripUnneeded) > 0 && len(opt.RemoveSections) == 0 {
		// objcopy filters symbols only when some other option asks for
		// it (--strip-unneeded-symbol alone does nothing); a removal
		// pattern that selects no section is such an option.
		args = append(args, "--remove-section=!*")
	}
	for _, p := range opt.StripUnneeded {
		args = append(args, "--strip-unneeded-symbol="+p)
	}
	for name, data := range opt.Update {
		file := filepath.Join(dir, "update"+strings.ReplaceAll(name, "/", "_"))
		os.WriteFile(file, data, 0o644)
		args = append(args, "--update-section", name+"="+file)
	}
	return args
}

// TestStripMatchesObjcopy runs section removal, symbol stripping and
// section updates on relocatable objects and on executables linked with
// and without relocations, for every toolchain in elftest.Toolchains, and wants objcopy's output
// byte for byte; where objcopy refuses, elfedit must refuse too.
func TestStripMatchesObjcopy(t *testing.T) {
	src, _ := filepath.Abs("testdata/mini.S")
	lds, _ := filepath.Abs("testdata/text.lds")
	root := bytes.Repeat([]byte{0x5a}, 36)
	cases := []elfedit.Options{
		{},
		{RemoveSections: elfedit.Patterns{".rel*", "!.rel*.dyn"}},
		{RemoveSections: elfedit.Patterns{".comment"}, StripUnneeded: elfedit.Patterns{"*"}},
		{StripUnneeded: elfedit.Patterns{"__mod*", "!*usb*"}},
		{RemoveSections: elfedit.Patterns{".rela.text", ".rel.text"}, StripUnneeded: elfedit.Patterns{"__mod_device_table__*"}},
		{RemoveSections: elfedit.Patterns{".modinfo"}},                                      // refused: a relocation needs it
		{RemoveSections: elfedit.Patterns{".rodata"}, StripUnneeded: elfedit.Patterns{"*"}}, // refused in objects
		{RemoveSections: elfedit.Patterns{".mod*", "!.module_hashes", ".rel*"}},             // negation
		{RemoveSections: elfedit.Patterns{".[m]o*", ".rel*"}, StripUnneeded: elfedit.Patterns{"[!_]*"}},
		{Update: map[string][]byte{".module_hashes": root}},
		{Update: map[string][]byte{".comment": []byte("a longer comment than the linker's\x00")}},
		{Update: map[string][]byte{".module_hashes": root[:8]}}, // refused in executables (objcopy moves segments)
		{Update: map[string][]byte{".nosuch": root}},            // refused
	}
	for _, tc := range elftest.Toolchains {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			objcopy := tc.Tool(t, "objcopy")
			as := tc.Tool(t, "as")
			obj := filepath.Join(dir, "mini.o")
			elftest.Run(t, as, "-o", obj, src)
			auto, _ := filepath.Abs("testdata/auto.lds")
			inputs := map[string]string{
				"object":      obj,
				"exec":        tc.Build(t, dir, src, lds),
				"emit-relocs": tc.Build(t, dir, src, lds, "--emit-relocs"),
				// .modinfo alone in a segment, PT_GNU_STACK.
				"auto": tc.Build(t, dir, src, auto, "-z", "noexecstack", "-z", "max-page-size=0x1000", "--emit-relocs"),
			}
			for kind, in := range inputs {
				for k, opt := range cases {
					want := filepath.Join(dir, fmt.Sprintf("want.%s.%d", kind, k))
					got := filepath.Join(dir, fmt.Sprintf("got.%s.%d", kind, k))
					cmd := exec.Command(objcopy, append(objcopyArgs(opt, dir), in, want)...)
					out, oerr := cmd.CombinedOutput()
					gerr := edit(in, got, opt)
					what := fmt.Sprintf("%s %s %v", kind, in, cmd.Args[1:])
					if kind != "object" && len(opt.Update[".module_hashes"]) == 8 {
						// By design: a section in a segment keeps its size.
						if gerr == nil {
							t.Errorf("%s: resizing a section in a segment accepted", what)
						}
						continue
					}
					if oerr != nil {
						if gerr == nil {
							t.Errorf("%s: objcopy refused (%s) but elfedit did not", what, bytes.TrimSpace(out))
						}
						continue
					}
					if gerr != nil {
						t.Errorf("%s: %v (objcopy: ok)", what, gerr)
						continue
					}
					if !elftest.Compare(t, got, want) {
						t.Errorf("%s: not byte-identical with objcopy", what)
					}
				}
			}
		})
	}
}

// TestDumpMatchesObjcopy compares section dumps.
func TestDumpMatchesObjcopy(t *testing.T) {
	tc := elftest.Toolchains[0]
	objcopy := tc.Tool(t, "objcopy")
	dir := t.TempDir()
	src, _ := filepath.Abs("testdata/mini.S")
	lds, _ := filepath.Abs("testdata/text.lds")
	in := tc.Build(t, dir, src, lds, "--emit-relocs")
	f, err := elfedit.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, name := range []string{".text", ".module_hashes", ".modinfo", ".notes", ".data"} {
		want := filepath.Join(dir, "dump")
		elftest.Run(t, objcopy, "--dump-section", name+"="+want, in, filepath.Join(dir, "scratch"))
		w, _ := os.ReadFile(want)
		g, err := elfedit.Dump(f, name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if !bytes.Equal(g, w) {
			t.Errorf("%s: dump %x, objcopy %x", name, g, w)
		}
	}
	if _, err := elfedit.Dump(f, ".bss"); err == nil {
		t.Error("dump of .bss (no contents) succeeded")
	}
	if _, err := elfedit.Dump(f, ".nosuch"); err == nil {
		t.Error("dump of a missing section succeeded")
	}
}

// manySections writes an assembler source with n sections (each with a
// global and a local symbol and a relocation), plus .modinfo, so that the
// linked file needs extended section numbering.
func manySections(t testing.TB, dir string, n int) string {
	var b strings.Builder
	b.WriteString("\t.text\n\t.globl _start\n_start:\n\t.byte 0\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "\t.section .s%d,\"a\"\n\t.globl g%d\ng%d:\n\t.byte %d\nl%d:\n\t.dc.a g%d\n", i, i, i, i%256, i, i)
	}
	b.WriteString("\t.section .modinfo,\"a\"\n\t.asciz \"m.x=y\"\n")
	name := filepath.Join(dir, "many.S")
	if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestExtendedNumbering checks files with more than 65,279 sections
// (e_shnum 0, e_shstrndx SHN_XINDEX, SHT_SYMTAB_SHNDX), keeping that many
// and dropping below the limit, against objcopy.
func TestExtendedNumbering(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: links 66,000 sections")
	}
	// ELF64 little-endian and ELF32 big-endian.
	for _, tc := range []elftest.Toolchain{elftest.Toolchains[0], elftest.Toolchains[2]} {
		t.Run(tc.Name, func(t *testing.T) { testExtendedNumbering(t, tc) })
	}
}

func testExtendedNumbering(t *testing.T, tc elftest.Toolchain) {
	objcopy := tc.Tool(t, "objcopy")
	dir := t.TempDir()
	lds := filepath.Join(dir, "many.lds")
	os.WriteFile(lds, []byte("ENTRY(_start)\nSECTIONS { . = 0x400000 + SIZEOF_HEADERS; .text : { *(.text) } }\n"), 0o644)
	in := tc.Build(t, dir, manySections(t, dir, 66000), lds, "--emit-relocs")
	f := elftest.Parse(t, in)
	if f.Header.Shnum != 0 || f.Header.Shstrndx != 0xffff || f.Shndx == 0 || len(f.Sections) < 0xff00 {
		t.Fatalf("input does not use extended numbering: e_shnum %d e_shstrndx %#x, %d sections, shndx %d",
			f.Header.Shnum, f.Header.Shstrndx, len(f.Sections), f.Shndx)
	}
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	high := 0
	for _, s := range syms {
		if !s.Reserved && s.Shndx >= 0xff00 {
			high++
		}
	}
	if high == 0 {
		t.Fatal("no symbol in a section numbered 0xff00 or more")
	}
	for k, opt := range []elfedit.Options{
		{RemoveSections: elfedit.Patterns{".modinfo", ".rel*", "!.rel*.dyn"}, StripUnneeded: elfedit.Patterns{"l1*"}},
		{RemoveSections: elfedit.Patterns{".s1*", ".rel*"}}, // 54,889 sections left
		{RemoveSections: elfedit.Patterns{".s6*"}},          // relocations kept and rewritten
	} {
		want := filepath.Join(dir, fmt.Sprint("want", k))
		got := filepath.Join(dir, fmt.Sprint("got", k))
		elftest.Run(t, objcopy, append(objcopyArgs(opt, dir), in, want)...)
		if err := edit(in, got, opt); err != nil {
			t.Fatal(err)
		}
		if !elftest.Compare(t, got, want) {
			t.Errorf("case %d: not byte-identical with objcopy", k)
		}
	}
}
