package inspect

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modhashes/modhashes/tools/compress"
	"github.com/modhashes/modhashes/tools/hashesroot"
	"github.com/modhashes/modhashes/tools/inspect/testelf"
	"github.com/modhashes/modhashes/tools/internal/testfs"
	"github.com/modhashes/modhashes/tools/merkle"
	"github.com/modhashes/modhashes/tools/modsig"
)

// specLeaf is the leaf hash as docs/format.md states it.
func specLeaf(pos uint32, b []byte) string {
	h := sha256.Sum256(append(binary.BigEndian.AppendUint32([]byte{1}, pos), b...))
	return hex.EncodeToString(h[:])
}

// A module shows its .modinfo name and vermagic, its position, its leaf
// hash and the root its proof leads to: the vector's root, for a module
// with its own proof, in every compression.
func TestModuleDetails(t *testing.T) {
	v := filepath.Join(vectors, "n05")
	want, err := hashesroot.ReadCSourceFile(filepath.Join(v, "expected/root.c"))
	if err != nil {
		t.Fatal(err)
	}
	body := testfs.ReadFile(t, filepath.Join(v, "lib/mod_2.ko"))
	proof := testfs.ReadFile(t, filepath.Join(v, "expected/proofs/lib/mod_2.merkle"))
	for _, f := range compress.Formats {
		b, err := compress.Encode(f, append(append([]byte(nil), body...), proof...))
		if err != nil {
			t.Fatal(err)
		}
		r, err := File(writeTemp(t, "mod_2.ko"+f.Ext(), b))
		if err != nil {
			t.Fatal(err)
		}
		if r.Leaf != specLeaf(2, body) || r.ProofRoot != want.Hash.String() {
			t.Errorf("%v: leaf %s, proof root %s; want %s, %s", f, r.Leaf, r.ProofRoot, specLeaf(2, body), want.Hash)
		}
		if text := r.Text(); !strings.Contains(text, "modules.order line 3") || !strings.Contains(text, "the proof leads to root "+want.Hash.String()) {
			t.Errorf("%v: text\n%s", f, text)
		}
	}

	mod := testelf.Image(elf.ELFCLASS64, binary.LittleEndian,
		testelf.Section{Name: ".text", Data: []byte{1}},
		testelf.Section{Name: ".modinfo", Data: []byte("license=GPL\x00name=e1000e\x00vermagic=7.3.0 SMP preempt mod_unload \x00")})
	binary.LittleEndian.PutUint16(mod[16:], uint16(elf.ET_REL))
	r, err := File(writeTemp(t, "e1000e.ko", mod))
	if err != nil {
		t.Fatal(err)
	}
	if r.Name != "e1000e" || r.Vermagic != "7.3.0 SMP preempt mod_unload " || !strings.Contains(r.Text(), `name e1000e, vermagic "7.3.0 SMP preempt mod_unload "`) {
		t.Errorf("modinfo: %+v\n%s", r, r.Text())
	}
}

// A module too big to be held is hashed in a second pass.
func TestBigModuleLeaf(t *testing.T) {
	body := append([]byte("\x7fELF"), bytes.Repeat([]byte{5}, keepWhole+100)...)
	leaf := merkle.LeafBytes(0, body)
	trailer := modsig.MerkleTrailer(merkle.Proof{Siblings: []merkle.Hash{leaf}})
	b, err := compress.Encode(compress.Zstd, append(body, trailer...))
	if err != nil {
		t.Fatal(err)
	}
	r, err := File(writeTemp(t, "big.ko.zst", b))
	if err != nil {
		t.Fatal(err)
	}
	if root := merkle.Node(leaf, leaf); r.Leaf != specLeaf(0, body) || r.ProofRoot != root.String() {
		t.Errorf("leaf %s, proof root %s", r.Leaf, r.ProofRoot)
	}
}

// modinfo never fails on a module's bytes, and what it returns is one
// .modinfo string each.
func FuzzModinfo(f *testing.F) {
	mod := testelf.Image(elf.ELFCLASS64, binary.LittleEndian,
		testelf.Section{Name: ".modinfo", Data: []byte("name=a\x00vermagic=7.3\x00")})
	f.Add(mod)
	f.Add([]byte("\x7fELF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		name, vermagic := modinfo(b)
		if strings.ContainsRune(name, 0) || strings.ContainsRune(vermagic, 0) {
			t.Fatalf("%q, %q", name, vermagic)
		}
	})
}
