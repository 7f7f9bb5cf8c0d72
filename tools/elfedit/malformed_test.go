package elfedit_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modhashes/modhashes/tools/elfedit"
	"github.com/modhashes/modhashes/tools/elfedit/elftest"
)

// seeds builds the test inputs available on this machine: executables
// with and without relocations and objects, for every toolchain found.
func seeds(t testing.TB) [][]byte {
	var out [][]byte
	src, _ := filepath.Abs("testdata/mini.S")
	lds, _ := filepath.Abs("testdata/data.lds")
	dir := t.TempDir()
	for _, tc := range elftest.Toolchains {
		ok := true
		for _, tool := range []string{"as", "ld"} {
			if _, err := lookPath(tc.Prefix + tool); err != nil {
				ok = false
			}
		}
		if !ok {
			continue
		}
		for _, flags := range [][]string{nil, {"--emit-relocs"}} {
			b, err := os.ReadFile(tc.Build(t, dir, src, lds, flags...))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
	}
	return out
}

// exercise runs everything elfedit does on data; it must not panic, and
// what it rejects must be rejected with an error.
func exercise(t testing.TB, data []byte) {
	f, err := elfedit.Parse(data)
	if err != nil {
		var fe *elfedit.FormatError
		if !errors.As(err, &fe) {
			t.Fatalf("Parse error %v is not a FormatError", err)
		}
		return
	}
	if _, err := f.Symbols(); err != nil {
		return
	}
	for _, opt := range []elfedit.Options{
		{},
		{
			RemoveSections: elfedit.Patterns{".modinfo", ".rel*", "!.rel*.dyn"},
			StripUnneeded:  elfedit.Patterns{"__mod_device_table__*"},
			Update:         map[string][]byte{".module_hashes": make([]byte, 36)},
		},
	} {
		o, err := elfedit.Edit(f, opt)
		if err != nil {
			continue
		}
		var buf bytes.Buffer
		if _, err := o.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		if int64(buf.Len()) != o.Size() {
			t.Fatalf("wrote %d bytes, Size says %d", buf.Len(), o.Size())
		}
		g, err := elfedit.Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("output does not parse: %v", err)
		}
		if _, err := g.Symbols(); err != nil {
			t.Fatalf("output symbols: %v", err)
		}
	}
}

// TestMalformed corrupts valid inputs field by field and checks the
// errors say what and where.
func TestMalformed(t *testing.T) {
	tc := elftest.Toolchains[0]
	dir := t.TempDir()
	src, _ := filepath.Abs("testdata/mini.S")
	lds, _ := filepath.Abs("testdata/text.lds")
	good, err := os.ReadFile(tc.Build(t, dir, src, lds, "--emit-relocs"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := elfedit.Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	shdr := func(i int) int { return int(f.Header.Shoff) + 64*i }
	symtab := f.Symtab
	strtab := int(f.Sections[symtab].Link)
	text := f.SectionByName(".text")
	for _, tc := range []struct {
		name   string
		mutate func(b []byte) []byte
		want   string // in the error
	}{
		{"empty", func(b []byte) []byte { return nil }, "not an ELF file"},
		{"bad magic", func(b []byte) []byte { b[1] = 'X'; return b }, "not an ELF file"},
		{"bad class", func(b []byte) []byte { b[4] = 9; return b }, "unknown class"},
		{"bad data", func(b []byte) []byte { b[5] = 0; return b }, "unknown data encoding"},
		{"short header", func(b []byte) []byte { return b[:40] }, "shorter than the ELF header"},
		{"magic only", func(b []byte) []byte { return b[:7] }, "7 bytes is shorter than the ELF identification"},
		{"shoff past end", func(b []byte) []byte { le.PutUint64(b[40:], uint64(len(b))); return b }, "past the end"},
		{"shnum too large", func(b []byte) []byte { le.PutUint16(b[60:], 0xfeff); return b }, "section header table"},
		{"shentsize", func(b []byte) []byte { le.PutUint16(b[58:], 63); return b }, "e_shentsize"},
		{"shstrndx out of range", func(b []byte) []byte { le.PutUint16(b[62:], 200); return b }, "e_shstrndx"},
		{"phoff past end", func(b []byte) []byte { le.PutUint64(b[32:], uint64(len(b))-8); return b }, "program header table"},
		{"segment past end", func(b []byte) []byte { le.PutUint64(b[64+32:], uint64(len(b))); return b }, "segment 0"},
		{"section past end", func(b []byte) []byte { le.PutUint64(b[shdr(text)+32:], uint64(len(b))); return b }, "section 1"},
		{"section offset overflow", func(b []byte) []byte { le.PutUint64(b[shdr(text)+24:], ^uint64(0)-4); return b }, "past the end"},
		{"section name", func(b []byte) []byte { le.PutUint32(b[shdr(text):], 1<<20); return b }, "name offset"},
		{"alignment", func(b []byte) []byte { le.PutUint64(b[shdr(text)+48:], 12); return b }, "power of two"},
		{"symtab link", func(b []byte) []byte { le.PutUint32(b[shdr(symtab)+40:], uint32(text)); return b }, "not a string table"},
		{"symtab entsize", func(b []byte) []byte { le.PutUint64(b[shdr(symtab)+56:], 16); return b }, "entry size"},
		{"reloc entsize", func(b []byte) []byte {
			rel := f.SectionByName(".rela.text")
			le.PutUint64(b[shdr(rel)+56:], 7)
			return b
		}, "relocation section"},
		{"symbol name", func(b []byte) []byte {
			le.PutUint32(b[f.Sections[symtab].Offset+24*3:], uint32(f.Sections[strtab].Size)+5)
			return b
		}, "symbol 3: name offset"},
		{"symbol section", func(b []byte) []byte {
			le.PutUint16(b[f.Sections[symtab].Offset+24*3+6:], 0x1234)
			return b
		}, "symbol 3: section index"},
		{"xindex without table", func(b []byte) []byte {
			le.PutUint16(b[f.Sections[symtab].Offset+24*3+6:], 0xffff)
			return b
		}, "SHN_XINDEX"},
		{"relocation symbol", func(b []byte) []byte {
			rel := f.SectionByName(".rela.text")
			le.PutUint64(b[f.Sections[rel].Offset+8:], 999<<32|1)
			return b
		}, "refers to symbol 999"},
		{"overlapping sections", func(b []byte) []byte {
			ro := f.SectionByName(".rodata")
			le.PutUint64(b[shdr(ro)+24:], f.Sections[text].Offset+4)
			le.PutUint64(b[shdr(ro)+16:], f.Sections[text].Addr+4)
			return b
		}, "overlaps"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.mutate(append([]byte(nil), good...))
			f, err := elfedit.Parse(b)
			if err == nil {
				_, err = f.Symbols()
			}
			if err == nil {
				_, err = elfedit.Edit(f, elfedit.Options{RemoveSections: elfedit.Patterns{".modinfo", ".rel*"}})
			}
			if err == nil {
				t.Fatalf("accepted; want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

// TestTruncated cuts every input at every length.
func TestTruncated(t *testing.T) {
	for _, s := range seeds(t) {
		for n := 0; n < len(s); n++ {
			exercise(t, s[:n])
		}
	}
}

// FuzzEdit feeds arbitrary bytes through parsing, editing and writing:
// no panic, errors for what is rejected, and whatever is written parses.
func FuzzEdit(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		exercise(t, data)
	})
}

func lookPath(name string) (string, error) { return exec.LookPath(name) }
