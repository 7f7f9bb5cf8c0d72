package hashesroot_test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modhashes/modhashes/tools/hashesroot"
)

func TestSource(t *testing.T) {
	dir := t.TempDir()
	want := hashesroot.Root{Levels: 4, Hash: [32]byte{9, 8, 7}}
	bin := filepath.Join(dir, "root.bin")
	c := filepath.Join(dir, "root.c")
	os.WriteFile(bin, want.Binary(binary.BigEndian), 0o644)
	os.WriteFile(c, want.CSource(), 0o644)
	// Only the identification bytes of a target are read: a big-endian one.
	be := filepath.Join(dir, "be.elf")
	os.WriteFile(be, append([]byte("\x7fELF\x02\x02\x01"), make([]byte, 57)...), 0o644)
	notELF := filepath.Join(dir, "not.elf")
	os.WriteFile(notELF, make([]byte, 64), 0o644)

	for _, s := range []hashesroot.Source{{Bin: bin, Endian: "big"}, {Bin: bin, Target: be}, {C: c}} {
		got, err := s.Load()
		if err != nil || got != want {
			t.Errorf("%+v: Load = %+v, %v", s, got, err)
		}
	}
	for _, tc := range []struct {
		s    hashesroot.Source
		want string
	}{
		{hashesroot.Source{Bin: bin, C: c}, "exclude each other"},
		{hashesroot.Source{Bin: bin}, "need their byte order"},
		{hashesroot.Source{C: c, Endian: "big"}, "goes with raw root bytes"},
		{hashesroot.Source{Bin: bin, Endian: "pdp"}, `byte order "pdp"`},
		{hashesroot.Source{Bin: bin, Endian: "big", Target: be}, "exclude each other: name the byte order once"},
		{hashesroot.Source{C: c, Target: be}, "goes with raw root bytes"},
		{hashesroot.Source{Bin: bin, Target: notELF}, "not.elf: not an ELF file"},
		{hashesroot.Source{}, "no root given"},
		{hashesroot.Source{Vmlinux: filepath.Join(dir, "none")}, "none"},
	} {
		if _, err := tc.s.Load(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.s, err, tc.want)
		}
	}
}
