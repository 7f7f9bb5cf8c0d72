package hashesroot

import (
	"debug/elf"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modhashes/modhashes/tools/inspect/testelf"
)

func TestReadVmlinux(t *testing.T) {
	want := Root{Levels: 13}
	for i := range want.Hash {
		want.Hash[i] = byte(i * 7)
	}
	dir := t.TempDir()
	for _, class := range []elf.Class{elf.ELFCLASS32, elf.ELFCLASS64} {
		for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
			name := filepath.Join(dir, class.String()+order.String())
			img := testelf.Image(class, order,
				testelf.Section{Name: ".text", Data: []byte{0x90, 0x90}},
				testelf.Section{Name: SectionName, Data: want.Binary(order)})
			if err := os.WriteFile(name, img, 0o644); err != nil {
				t.Fatal(err)
			}
			got, gotOrder, err := ReadVmlinux(name)
			if err != nil || got != want || gotOrder != order {
				t.Errorf("%v %v: %+v %v %v", class, order, got, gotOrder, err)
			}
		}
	}
	for _, tc := range []struct {
		name string
		img  []byte
		msg  string
	}{
		{"nosection", testelf.Image(elf.ELFCLASS64, binary.LittleEndian, testelf.Section{Name: ".text", Data: []byte{1}}), "no .module_hashes"},
		{"short", testelf.Image(elf.ELFCLASS64, binary.LittleEndian, testelf.Section{Name: SectionName, Data: make([]byte, 32)}), "32 bytes"},
		{"notelf", []byte("not an ELF file at all"), "notelf"},
	} {
		name := filepath.Join(dir, tc.name)
		if err := os.WriteFile(name, tc.img, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ReadVmlinux(name); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.msg)
		}
	}
}

// ReadVmlinux never panics on a file's bytes, and refuses what debug/elf
// cannot read with an error naming the file.
func FuzzReadVmlinux(f *testing.F) {
	img := testelf.Image(elf.ELFCLASS64, binary.LittleEndian, testelf.Section{Name: SectionName, Data: make([]byte, Size)})
	f.Add(img)
	f.Add(img[:70])
	f.Add([]byte("\x7fELF\x01\x02\x01"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		name := filepath.Join(dir, "vmlinux")
		if err := os.WriteFile(name, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ReadVmlinux(name); err != nil && !strings.Contains(err.Error(), name) {
			t.Fatalf("error %v does not name the file", err)
		}
	})
}
