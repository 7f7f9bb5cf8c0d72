package hashesroot_test

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modhashes/modhashes/tools/hashesroot"
)

const vectors = "../../examples/vectors"

// The reference generator's outputs for every vector: C source and both raw
// encodings must describe the same root, and ours must match them bytewise.
func TestVectorsRoundTrip(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(vectors, "n*"))
	if len(dirs) == 0 {
		t.Fatal("no vectors found")
	}
	for _, d := range dirs {
		t.Run(filepath.Base(d), func(t *testing.T) {
			src := read(t, filepath.Join(d, "expected/root.c"))
			le := read(t, filepath.Join(d, "expected/root-le.bin"))
			be := read(t, filepath.Join(d, "expected/root-be.bin"))
			r, err := hashesroot.ParseCSource(src)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.CSource(); !bytes.Equal(got, src) {
				t.Errorf("CSource differs from the reference:\n%s\nwant\n%s", got, src)
			}
			if got := r.Binary(binary.LittleEndian); !bytes.Equal(got, le) {
				t.Errorf("little-endian root %x, want %x", got, le)
			}
			if got := r.Binary(binary.BigEndian); !bytes.Equal(got, be) {
				t.Errorf("big-endian root %x, want %x", got, be)
			}
			if r2, err := hashesroot.ParseBinary(be, binary.BigEndian); err != nil || r2 != r {
				t.Errorf("ParseBinary(be) = %+v, %v", r2, err)
			}
			if r.IsPlaceholder() != (filepath.Base(d) == "n00") {
				t.Errorf("IsPlaceholder = %v", r.IsPlaceholder())
			}
		})
	}
}

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseCSourceErrors(t *testing.T) {
	good := string(hashesroot.Root{Levels: 3}.CSource())
	for _, tc := range []struct{ name, src, want string }{
		{"not the root", "int x;", "no module_hashes_root"},
		{"no levels", strings.Replace(good, ".levels", ".lvls", 1), "no .levels"},
		{"no hash", strings.Replace(good, ".hash", ".hsh", 1), "no .hash"},
		{"short hash", strings.Replace(good, "0x00, ", "", 1), ".hash has 31 bytes"},
		{"bad byte", strings.Replace(good, "0x00,", "0x100,", 1), "not a byte value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := hashesroot.ParseCSource([]byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestTargetByteOrder(t *testing.T) {
	dir := t.TempDir()
	elf := func(data byte) string {
		name := filepath.Join(dir, "elf"+string('0'+data))
		b := append([]byte("\x7fELF\x02"), data, 1)
		os.WriteFile(name, append(b, make([]byte, 60)...), 0o644)
		return name
	}
	if o, err := hashesroot.TargetByteOrder(elf(1)); err != nil || o != binary.LittleEndian {
		t.Errorf("ELFDATA2LSB: %v, %v", o, err)
	}
	if o, err := hashesroot.TargetByteOrder(elf(2)); err != nil || o != binary.BigEndian {
		t.Errorf("ELFDATA2MSB: %v, %v", o, err)
	}
	for _, bad := range []string{elf(3), filepath.Join(dir, "missing")} {
		if _, err := hashesroot.TargetByteOrder(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("%s: error %v, want one naming the file", bad, err)
		}
	}
	notELF := filepath.Join(dir, "text")
	os.WriteFile(notELF, []byte("hello, this is not an ELF file at all"), 0o644)
	if _, err := hashesroot.TargetByteOrder(notELF); err == nil || !strings.Contains(err.Error(), "bad magic") {
		t.Errorf("text file: %v", err)
	}
}

func FuzzParseCSource(f *testing.F) {
	f.Add(hashesroot.Root{Levels: 13, Hash: [32]byte{1, 2, 3}}.CSource())
	f.Fuzz(func(t *testing.T, src []byte) {
		r, err := hashesroot.ParseCSource(src)
		if err != nil {
			return
		}
		if r2, err := hashesroot.ParseCSource(r.CSource()); err != nil || r2 != r {
			t.Fatalf("re-parse of our own output: %+v, %v", r2, err)
		}
	})
}
