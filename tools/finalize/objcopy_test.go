package finalize

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/modhashes/modhashes/tools/elfedit"
	"github.com/modhashes/modhashes/tools/elfedit/elftest"
	"github.com/modhashes/modhashes/tools/hashesroot"
	"github.com/modhashes/modhashes/tools/internal/testfs"
)

// kbuild's objcopy runs for vmlinux (scripts/Makefile.vmlinux, with
// CONFIG_ARCH_VMLINUX_NEEDS_RELOCS), and the module hashes series' third.
var (
	kbuildRun1 = []string{
		"--set-section-flags", ".modinfo=noload",
		"--set-section-flags", ".rel*=noload",
		"--set-section-flags", "!.rel*.dyn=noload",
		"--set-section-flags", ".rel.*=noload",
	}
	kbuildRun2 = []string{
		"--remove-section=.modinfo", "--remove-section=.rel*",
		"--remove-section=!.rel*.dyn", "--remove-section=.rel.*",
		"-w", "--strip-unneeded-symbol=__mod_device_table__*",
	}
)

// kbuildObjcopy makes the reference vmlinux from in with GNU objcopy:
// two runs, and the --update-section run when rootBin is not empty.
func kbuildObjcopy(t testing.TB, objcopy, in, out, rootBin string) {
	t.Helper()
	elftest.Run(t, objcopy, append(kbuildRun1, in, out)...)
	elftest.Run(t, objcopy, append(kbuildRun2, out)...)
	if rootBin != "" {
		elftest.Run(t, objcopy, "--update-section", Section+"="+rootBin, out)
	}
}

func testRoot() hashesroot.Root {
	r := hashesroot.Root{Levels: 0x0a0b0c0d}
	for i := range r.Hash {
		r.Hash[i] = byte(0xa0 + i)
	}
	return r
}

// TestMatchesObjcopy builds miniature vmlinux.unstripped files for the
// targets of elftest.Toolchains (ELF32/ELF64, little/big endian), with .modinfo at the end of
// the text segment, after .bss at the end of the data segment, in the
// middle of a segment, in a layout shaped like x86's vmlinux.lds and in
// one whose segments the linker makes (.modinfo alone in a segment, as on
// arm64 or riscv), with and without linker-emitted relocations, and checks
// finalize against kbuild's objcopy commands.
func TestMatchesObjcopy(t *testing.T) {
	src, _ := filepath.Abs("../elfedit/testdata/mini.S")
	for _, tc := range elftest.Toolchains {
		for _, layout := range []string{"text", "data", "middle", "kernel", "auto"} {
			for _, relocs := range []bool{true, false} {
				name := tc.Name + "/" + layout
				if relocs {
					name += "/emit-relocs"
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					dir := t.TempDir()
					objcopy := tc.Tool(t, "objcopy")
					lds, _ := filepath.Abs("../elfedit/testdata/" + layout + ".lds")
					flags := []string{"-z", "max-page-size=0x1000", "-z", "noexecstack"}
					if relocs {
						flags = append(flags, "--emit-relocs")
					}
					in := tc.Build(t, dir, src, lds, flags...)
					orig, _ := os.ReadFile(in)
					root := testRoot()
					rootBin := filepath.Join(dir, "root.bin")
					if err := os.WriteFile(rootBin, root.Binary(tc.Order), 0o644); err != nil {
						t.Fatal(err)
					}
					for _, withRoot := range []bool{false, true} {
						want := filepath.Join(dir, "want")
						got := filepath.Join(dir, "got")
						opt := Options{}
						rb := ""
						if withRoot {
							opt.Root = &root
							rb = rootBin
						}
						kbuildObjcopy(t, objcopy, in, want, rb)
						if err := File(in, got, opt, false); err != nil {
							t.Fatal(err)
						}
						if !elftest.Compare(t, got, want) {
							t.Errorf("root=%v: output not byte-identical with objcopy's", withRoot)
						}
						hashes := elftest.SectionData(t, got, Section)
						if withRoot && !bytes.Equal(hashes, root.Binary(tc.Order)) {
							t.Errorf(".module_hashes = %x, want the root", hashes)
						}
						gf := elftest.Parse(t, got)
						for _, gone := range []string{".modinfo", ".rela.text", ".rel.text", ".rela.data", ".rel.data"} {
							if gf.SectionByName(gone) >= 0 {
								t.Errorf("%s still present", gone)
							}
						}
					}
					if now, _ := os.ReadFile(in); !bytes.Equal(now, orig) {
						t.Error("input file changed")
					}
				})
			}
		}
	}
}

// TestRootErrors checks the messages for inputs that cannot take a root.
func TestRootErrors(t *testing.T) {
	tc := elftest.Toolchains[0]
	dir := t.TempDir()
	src, _ := filepath.Abs("../elfedit/testdata/mini.S")
	lds, _ := filepath.Abs("../elfedit/testdata/text.lds")
	in := tc.Build(t, dir, src, lds)
	f := elftest.Parse(t, in)
	root := testRoot()

	// No .module_hashes: remove it first with elfedit itself.
	o, err := elfedit.Edit(f, elfedit.Options{RemoveSections: elfedit.Patterns{Section}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := o.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	nf, err := elfedit.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Plan(nf, Options{Root: &root}); err != ErrNoRootSection {
		t.Errorf("without .module_hashes: err = %v, want ErrNoRootSection", err)
	}
	// Without a root, such a file is fine.
	if _, err := Plan(nf, Options{}); err != nil {
		t.Errorf("without .module_hashes and root: %v", err)
	}

	// A .module_hashes of the wrong size.
	bad := bytes.Replace(f.Data, []byte(".module_hashes\x00"), []byte(".module_hashez\x00"), 1)
	bf, err := elfedit.Parse(bad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Plan(bf, Options{Root: &root}); err != ErrNoRootSection {
		t.Errorf("renamed section: err = %v, want ErrNoRootSection", err)
	}
	small := filepath.Join(dir, "small.S")
	srcText, _ := os.ReadFile(src)
	os.WriteFile(small, bytes.Replace(srcText, []byte(".fill 36, 1, 0"), []byte(".fill 32, 1, 0"), 1), 0o644)
	sf := elftest.Parse(t, tc.Build(t, dir, small, lds))
	_, err = Plan(sf, Options{Root: &root})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("32 bytes, want 36")) {
		t.Errorf("32-byte section: err = %v", err)
	}
}

// TestInPlace checks that OUT may name IN only when allowed.
func TestInPlace(t *testing.T) {
	tc := elftest.Toolchains[0]
	dir := t.TempDir()
	src, _ := filepath.Abs("../elfedit/testdata/mini.S")
	lds, _ := filepath.Abs("../elfedit/testdata/text.lds")
	in := tc.Build(t, dir, src, lds, "--emit-relocs")
	orig, _ := os.ReadFile(in)
	if err := File(in, in, Options{}, false); err == nil {
		t.Fatal("OUT == IN accepted without inPlace")
	}
	if now, _ := os.ReadFile(in); !bytes.Equal(now, orig) {
		t.Fatal("refused run changed the input")
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(in, link); err != nil {
		t.Fatal(err)
	}
	if err := File(in, link, Options{}, false); err == nil {
		t.Fatal("OUT as a symlink to IN accepted without inPlace")
	}
	want := filepath.Join(dir, "want")
	if err := File(in, want, Options{}, false); err != nil {
		t.Fatal(err)
	}
	if err := File(in, in, Options{}, true); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(in)
	b, _ := os.ReadFile(want)
	if !bytes.Equal(a, b) {
		t.Fatal("in-place result differs from a normal run")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name()[0] == '.' {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}

func lookPath(name string) (string, error) { return exec.LookPath(name) }

// TestMatchesObjcopyUserland runs finalize on gcc-linked executables
// (static, static PIE, non-PIE, PIE, all with --emit-relocs) against kbuild's objcopy
// commands: segment kinds and sections a kernel does not have.
func TestMatchesObjcopyUserland(t *testing.T) {
	tc := elftest.Toolchains[0]
	objcopy := tc.Tool(t, "objcopy")
	gcc := testfs.Tool(t, "gcc")
	src, _ := filepath.Abs("../elfedit/testdata/user.c")
	root := testRoot()
	for _, mode := range []string{"-static", "-static-pie", "-no-pie", "-pie"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "user")
			if out, err := exec.Command(gcc, "-O2", mode, "-Wl,--emit-relocs", "-o", in, src).CombinedOutput(); err != nil {
				// -static needs the C library's archives (libc6-dev).
				if os.Getenv("CI") == "true" {
					t.Fatalf("gcc %s: %v, and CI=true\n%s", mode, err, out)
				}
				t.Skipf("gcc %s: %v\n%s", mode, err, out)
			}
			rootBin := filepath.Join(dir, "root.bin")
			os.WriteFile(rootBin, root.Binary(tc.Order), 0o644)
			for _, withRoot := range []bool{false, true} {
				want, got := filepath.Join(dir, "want"), filepath.Join(dir, "got")
				opt, rb := Options{}, ""
				if withRoot {
					opt.Root, rb = &root, rootBin
				}
				kbuildObjcopy(t, objcopy, in, want, rb)
				if err := File(in, got, opt, false); err != nil {
					t.Fatal(err)
				}
				if !elftest.Compare(t, got, want) {
					t.Errorf("root=%v: not byte-identical with objcopy's", withRoot)
				}
			}
		})
	}
}

// TestKeepRelocsMatchesObjcopy checks --keep-relocs --keep-modinfo, what
// a kernel whose vmlinux keeps its relocations needs (6.1 x86 with KASLR:
// the boot image's relocs tool reads them from the final vmlinux), against
// objcopy's symbol filtering and --update-section run, on files linked with
// relocations: the root's run then still sees relocations and keeps the
// section symbols they refer to.
func TestKeepRelocsMatchesObjcopy(t *testing.T) {
	src, _ := filepath.Abs("../elfedit/testdata/mini.S")
	for _, tc := range elftest.Toolchains {
		for _, layout := range []string{"text", "kernel", "auto"} {
			t.Run(tc.Name+"/"+layout, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				objcopy := tc.Tool(t, "objcopy")
				lds, _ := filepath.Abs("../elfedit/testdata/" + layout + ".lds")
				in := tc.Build(t, dir, src, lds, "-z", "max-page-size=0x1000", "-z", "noexecstack", "--emit-relocs")
				root := testRoot()
				rootBin := filepath.Join(dir, "root.bin")
				if err := os.WriteFile(rootBin, root.Binary(tc.Order), 0o644); err != nil {
					t.Fatal(err)
				}
				for _, withRoot := range []bool{false, true} {
					want := filepath.Join(dir, "want")
					// A removal that selects nothing makes objcopy filter
					// symbols, as finalize always does.
					elftest.Run(t, objcopy, "--remove-section=!*", "-w", "--strip-unneeded-symbol=__mod_device_table__*", in, want)
					opt := Options{KeepRelocs: true, KeepModinfo: true}
					if withRoot {
						elftest.Run(t, objcopy, "--update-section", Section+"="+rootBin, want)
						opt.Root = &root
					}
					got := filepath.Join(dir, "got")
					if err := File(in, got, opt, false); err != nil {
						t.Fatalf("root=%v: %v", withRoot, err)
					}
					if !elftest.Compare(t, got, want) {
						t.Errorf("root=%v: output not byte-identical with objcopy's", withRoot)
					}
				}
			})
		}
	}
}
