package inspect

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modhashes/modhashes/tools/compress"
	"github.com/modhashes/modhashes/tools/hashesroot"
	"github.com/modhashes/modhashes/tools/inspect/testelf"
)

const vectors = "../../examples/vectors"

func writeTemp(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVmlinux(t *testing.T) {
	root := make([]byte, 36)
	binary.BigEndian.PutUint32(root, 12)
	for i := 4; i < 36; i++ {
		root[i] = byte(i)
	}
	for _, tc := range []struct {
		name        string
		class       elf.Class
		order       binary.ByteOrder
		data        []byte
		levels      uint32
		placeholder bool
		bo          string
	}{
		{"be32", elf.ELFCLASS32, binary.BigEndian, root, 12, false, "big"},
		{"le64 zero", elf.ELFCLASS64, binary.LittleEndian, make([]byte, 36), 0, true, "little"},
		// The same bytes read little endian: levels 12<<24.
		{"le32", elf.ELFCLASS32, binary.LittleEndian, root, 12 << 24, false, "little"},
	} {
		p := writeTemp(t, "vmlinux", testelf.Image(tc.class, tc.order, testelf.Section{Name: ".module_hashes", Data: tc.data}))
		r, err := File(p)
		if err != nil {
			t.Fatal(err)
		}
		if r.Kind != KindVmlinux || r.Root == nil || r.Root.Levels != tc.levels || r.Root.Placeholder != tc.placeholder ||
			r.Root.ByteOrder != tc.bo || r.Root.Hash != hex.EncodeToString(tc.data[4:]) {
			t.Errorf("%s: %+v %+v", tc.name, r, r.Root)
		}
		if tc.placeholder && !strings.Contains(r.Text(), "placeholder") {
			t.Errorf("%s: text does not say placeholder:\n%s", tc.name, r.Text())
		}
	}
	p := writeTemp(t, "vmlinux", testelf.Image(elf.ELFCLASS64, binary.LittleEndian, testelf.Section{Name: ".text", Data: []byte{1}}))
	if r, err := File(p); err != nil || r.Kind != KindVmlinux || r.Root != nil || !strings.Contains(r.Note, "no .module_hashes") {
		t.Errorf("vmlinux without section: %+v %v", r, err)
	}
}

func TestModuleAndProof(t *testing.T) {
	proof, err := os.ReadFile(filepath.Join(vectors, "n05/expected/proofs/sound/core/mod_3.merkle"))
	if err != nil {
		t.Fatal(err)
	}
	// The proof's fields, read straight from the spec's layout.
	pos := binary.BigEndian.Uint32(proof)
	var sibs []string
	for i := 0; i < 3; i++ {
		sibs = append(sibs, hex.EncodeToString(proof[4+32*i:4+32*(i+1)]))
	}
	elfMod := append([]byte("\x7fELF"), bytes.Repeat([]byte{7}, 1000)...)
	signed := append(append([]byte(nil), elfMod...), proof...)

	r, err := File(writeTemp(t, "mod_3.merkle", proof))
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != KindProof || r.Trailer == nil || *r.Trailer.Pos != pos || *r.Trailer.Levels != 3 ||
		strings.Join(r.Trailer.Siblings, ",") != strings.Join(sibs, ",") || r.Trailer.Type != "Merkle proof" || r.Trailer.SigLen != 100 {
		t.Errorf("proof: %+v %+v", r, r.Trailer)
	}

	for _, f := range compress.Formats {
		b, err := compress.Encode(f, signed)
		if err != nil {
			t.Fatal(err)
		}
		r, err := File(writeTemp(t, "m.ko"+f.Ext(), b))
		if err != nil {
			t.Fatal(err)
		}
		if r.Kind != KindModule || !*r.Signed || *r.BodySize != len(elfMod) || *r.Trailer.Pos != pos || r.Size != len(signed) {
			t.Errorf("%v module: %+v", f, r)
		}
		if f != compress.None && r.Compression != f.String() {
			t.Errorf("compression %q", r.Compression)
		}
		text := r.Text()
		for _, want := range []string{"module", "position 3", sibs[2], "Merkle proof"} {
			if !strings.Contains(text, want) {
				t.Errorf("text lacks %q:\n%s", want, text)
			}
		}
	}

	// An unsigned module must be an ELF file debug/elf reads: ET_REL.
	plain := testelf.Image(elf.ELFCLASS64, binary.LittleEndian, testelf.Section{Name: ".text", Data: []byte{1}})
	binary.LittleEndian.PutUint16(plain[16:], uint16(elf.ET_REL))
	r, err = File(writeTemp(t, "plain.ko", plain))
	if err != nil || *r.Signed || r.Trailer != nil || !strings.Contains(r.Text(), "unsigned") {
		t.Errorf("unsigned module: %+v %v", r, err)
	}
	// An ELF file cut short is an error, not an unsigned module.
	for _, n := range []int{10, 64, len(plain) - 1} {
		r, err = File(writeTemp(t, "cut", plain[:n]))
		if err == nil || !strings.Contains(err.Error(), "truncated?") {
			t.Errorf("first %d bytes of an ELF file: %+v, error %v", n, r, err)
		}
	}

	pkcs7 := append(append([]byte(nil), elfMod...), bytes.Repeat([]byte{0x30}, 50)...)
	pkcs7 = append(pkcs7, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 50)
	pkcs7 = append(pkcs7, "~Module signature appended~\n"...)
	r, err = File(writeTemp(t, "signed.ko", pkcs7))
	if err != nil || r.Trailer.Type != "PKCS#7" || r.Trailer.SigLen != 50 || r.Trailer.Pos != nil || *r.BodySize != len(elfMod) {
		t.Errorf("PKCS#7 module: %+v %v", r, err)
	}

	bad := append(append([]byte(nil), elfMod[:5]...), proof...) // sig_len > what precedes
	bad = bad[len(bad)-60:]
	r, err = File(writeTemp(t, "bad.ko", append([]byte("\x7fELF"), bad...)))
	if err != nil || r.Trailer == nil || r.Trailer.Problem == "" {
		t.Errorf("truncated trailer: %+v %v", r, err)
	}

	j, err := json.Marshal(r)
	if err != nil || !bytes.Contains(j, []byte(`"problem"`)) {
		t.Errorf("JSON %s %v", j, err)
	}

	r, err = File(writeTemp(t, "other", []byte("hello")))
	if err != nil || r.Kind != KindOther {
		t.Errorf("other: %+v %v", r, err)
	}
	if _, err := File(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing file: no error")
	}
}

func FuzzBytes(f *testing.F) {
	proof, _ := os.ReadFile(filepath.Join(vectors, "n05/expected/proofs/lib/mod_2.merkle"))
	f.Add(proof)
	f.Add(append([]byte("\x7fELF"), proof...))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Bytes(b)
		if err == nil {
			_ = r.Text()
		}
	})
}

func TestStandaloneRoot(t *testing.T) {
	dir := t.TempDir()
	root := hashesroot.Root{Levels: 13, Hash: [32]byte{0xab}}
	for _, tc := range []struct {
		name  string
		data  []byte
		order string
	}{
		{"root.c", root.CSource(), "target's"},
		{"le.bin", root.Binary(binary.LittleEndian), "little"},
		{"be.bin", root.Binary(binary.BigEndian), "big"},
		{"zero.bin", make([]byte, hashesroot.Size), "either"},
	} {
		name := filepath.Join(dir, tc.name)
		os.WriteFile(name, tc.data, 0o644)
		r, err := File(name)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if r.Kind != KindRoot || r.Root == nil || r.Root.ByteOrder != tc.order {
			t.Fatalf("%s: %+v %+v", tc.name, r, r.Root)
		}
		if tc.name != "zero.bin" && (r.Root.Levels != 13 || r.Root.Hash != root.Hash.String()) {
			t.Errorf("%s: levels %d hash %s", tc.name, r.Root.Levels, r.Root.Hash)
		}
	}
}
