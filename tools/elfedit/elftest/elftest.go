// Package elftest builds small ELF files with the GNU toolchains on the
// machine and compares edited files with GNU objcopy's, for the tests of
// elfedit and finalize. Tests that need a missing tool are skipped, naming
// the script that installs it (tools/install-test-deps.sh).
package elftest

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modhashes/modhashes/tools/elfedit"
	"github.com/modhashes/modhashes/tools/internal/testfs"
)

// Toolchain is a set of GNU binutils for one target.
type Toolchain struct {
	Name   string // short name for subtests
	Prefix string // tool name prefix, "" for the native tools
	Class  elf.Class
	Order  binary.ByteOrder
}

// Toolchains covers both classes and both byte orders: the native x86-64
// tools and Debian's cross binutils.
var Toolchains = []Toolchain{
	{"x86_64", "", elf.ELFCLASS64, binary.LittleEndian},
	{"i686", "i686-linux-gnu-", elf.ELFCLASS32, binary.LittleEndian},
	{"mips", "mips-linux-gnu-", elf.ELFCLASS32, binary.BigEndian},
	{"s390x", "s390x-linux-gnu-", elf.ELFCLASS64, binary.BigEndian},
	// MIPS64 little-endian stores r_info differently.
	{"mips64el", "mips64el-linux-gnuabi64-", elf.ELFCLASS64, binary.LittleEndian},
}

// Tool returns the path of one of the toolchain's programs ("as", "ld",
// "objcopy"), skipping the test if it is not installed.
func (tc Toolchain) Tool(t testing.TB, name string) string {
	t.Helper()
	return testfs.Tool(t, tc.Prefix+name)
}

// Run runs a program and fails the test on error.
func Run(t testing.TB, prog string, args ...string) {
	t.Helper()
	cmd := exec.Command(prog, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, out.String())
	}
}

// Build assembles src (a file path) and links it with the linker script
// lds and extra ld flags, returning the linked file's path.
func (tc Toolchain) Build(t testing.TB, dir, src, lds string, ldflags ...string) string {
	t.Helper()
	as, ld := tc.Tool(t, "as"), tc.Tool(t, "ld")
	base := strings.TrimSuffix(filepath.Base(src), filepath.Ext(src))
	obj := filepath.Join(dir, base+"."+tc.Name+".o")
	Run(t, as, "-o", obj, src)
	out := filepath.Join(dir, fmt.Sprintf("%s.%s.%d.elf", base, tc.Name, len(ldflags)))
	args := append([]string{"-T", lds, "-o", out}, ldflags...)
	Run(t, ld, append(args, obj)...)
	return out
}

// Parse parses a file the test made.
func Parse(t testing.TB, name string) *elfedit.File {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elfedit.Parse(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}

// Compare checks the acceptance criteria of an edited file got against
// objcopy's want, reporting every difference:
//  1. ELF header and program headers identical but for e_shoff, e_shnum
//     and e_shstrndx;
//  2. identical bytes in every PT_LOAD and PT_NOTE file range;
//  3. the same sections in the same order with the same name, type,
//     flags, address, size, alignment, entry size, link, info and
//     contents, except .symtab/.strtab, which must hold the same symbols
//     in the same order.
//
// It returns whether the files are also byte-identical.
func Compare(t testing.TB, got, want string) bool {
	t.Helper()
	g, w := Parse(t, got), Parse(t, want)
	for _, d := range Differences(g, w) {
		t.Error(d)
	}
	return bytes.Equal(g.Data, w.Data)
}

// Differences lists how g differs from w in the criteria of Compare.
func Differences(g, w *elfedit.File) []string {
	var diffs []string
	add := func(format string, a ...any) { diffs = append(diffs, fmt.Sprintf(format, a...)) }
	gh, wh := g.Header, w.Header
	gh.Shoff, gh.Shnum, gh.Shstrndx = 0, 0, 0
	wh.Shoff, wh.Shnum, wh.Shstrndx = 0, 0, 0
	if gh != wh {
		add("ELF header:\n got  %+v\n want %+v", gh, wh)
	}
	if len(g.Progs) != len(w.Progs) {
		add("%d program headers, want %d", len(g.Progs), len(w.Progs))
		return diffs
	}
	for i := range g.Progs {
		gp, wp := g.Progs[i], w.Progs[i]
		if gp != wp {
			add("program header %d:\n got  %+v\n want %+v", i, gp, wp)
			continue
		}
		if gp.Type != uint32(elf.PT_LOAD) && gp.Type != uint32(elf.PT_NOTE) {
			continue
		}
		a := g.Data[gp.Off : gp.Off+gp.Filesz]
		b := w.Data[wp.Off : wp.Off+wp.Filesz]
		if !bytes.Equal(a, b) {
			k := 0
			for k < len(a) && a[k] == b[k] {
				k++
			}
			add("segment %d (%s): bytes differ first at file offset %#x", i, elf.ProgType(gp.Type), gp.Off+uint64(k))
		}
	}
	if len(g.Sections) != len(w.Sections) {
		add("%d sections, want %d", len(g.Sections), len(w.Sections))
		return diffs
	}
	for i := 1; i < len(g.Sections); i++ {
		gs, ws := g.Sections[i], w.Sections[i]
		gs.Offset, ws.Offset = 0, 0
		gs.NameOff, ws.NameOff = 0, 0
		name := ws.Name
		if name == ".symtab" || name == ".strtab" {
			gs.Size, ws.Size = 0, 0
			if name == ".symtab" {
				// sh_info counts locals: compared with the symbols.
				gs.Info, ws.Info = 0, 0
			}
		}
		if gs != ws {
			add("section %d:\n got  %+v\n want %+v", i, gs, ws)
			continue
		}
		if name != ".symtab" && name != ".strtab" && !bytes.Equal(g.Contents(i), w.Contents(i)) {
			add("section %d (%s): contents differ", i, name)
		}
	}
	gsyms, err1 := g.Symbols()
	wsyms, err2 := w.Symbols()
	if err1 != nil || err2 != nil {
		add("symbols: %v / %v", err1, err2)
		return diffs
	}
	if len(gsyms) != len(wsyms) {
		add("%d symbols, want %d", len(gsyms), len(wsyms))
	}
	for i := 0; i < len(gsyms) && i < len(wsyms); i++ {
		a, b := gsyms[i], wsyms[i]
		a.NameOff, b.NameOff = 0, 0
		if a != b {
			add("symbol %d:\n got  %+v\n want %+v", i, a, b)
			if len(diffs) > 20 {
				break
			}
		}
	}
	return diffs
}

// SectionData returns the contents of the named section of a file.
func SectionData(t testing.TB, name, section string) []byte {
	t.Helper()
	f := Parse(t, name)
	i := f.SectionByName(section)
	if i < 0 {
		t.Fatalf("%s: no section %s", name, section)
	}
	return f.Contents(i)
}
