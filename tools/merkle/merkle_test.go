package merkle_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand"
	"testing"

	"github.com/modhashes/modhashes/tools/merkle"
)

// The functions below restate docs/format.md independently of the package, so the
// package is checked against the spec and not against itself.

func specLeaf(pos uint32, b []byte) [32]byte {
	msg := []byte{0x01}
	msg = binary.BigEndian.AppendUint32(msg, pos)
	return sha256.Sum256(append(msg, b...))
}

func specNode(l, r [32]byte) [32]byte {
	return sha256.Sum256(append(append([]byte{0x02}, l[:]...), r[:]...))
}

// specRoot builds the tree level by level as docs/format.md describes it.
func specRoot(leaves [][32]byte) (levels int, root [32]byte) {
	n := len(leaves)
	if n == 0 {
		return 0, root
	}
	for levels = 0; (1 << levels) < n; levels++ {
	}
	if n == 1 {
		levels = 1
	}
	cur := leaves
	for l := 0; l < levels; l++ {
		var next [][32]byte
		for i := 0; i < len(cur); i += 2 {
			r := cur[i]
			if i+1 < len(cur) {
				r = cur[i+1]
			}
			next = append(next, specNode(cur[i], r))
		}
		cur = next
	}
	return levels, cur[0]
}

// specVerify is the kernel's check from docs/format.md, on an encoded proof.
func specVerify(module, proof []byte, levels int, root [32]byte) bool {
	if len(proof) != 4+32*levels {
		return false
	}
	pos := binary.BigEndian.Uint32(proof)
	cur := specLeaf(pos, module)
	for i := 0; i < levels; i++ {
		var sib [32]byte
		copy(sib[:], proof[4+32*i:])
		if pos>>uint(i)&1 == 0 {
			cur = specNode(cur, sib)
		} else {
			cur = specNode(sib, cur)
		}
	}
	return cur == root
}

func randomModules(rng *rand.Rand, n int) [][]byte {
	mods := make([][]byte, n)
	for i := range mods {
		mods[i] = make([]byte, 1+rng.Intn(100))
		rng.Read(mods[i])
	}
	return mods
}

func build(mods [][]byte) *merkle.Tree {
	leaves := make([]merkle.Hash, len(mods))
	for i, m := range mods {
		leaves[i] = merkle.LeafBytes(uint32(i), m)
	}
	return merkle.New(leaves)
}

func TestLevels(t *testing.T) {
	for _, tc := range []struct{ n, want int }{
		{0, 0}, {1, 1}, {2, 1}, {3, 2}, {4, 2}, {5, 3}, {8, 3}, {9, 4},
		{4200, 13}, {1 << 16, 16}, {1<<16 + 1, 17},
	} {
		if got := merkle.Levels(tc.n); got != tc.want {
			t.Errorf("Levels(%d) = %d, want %d", tc.n, got, tc.want)
		}
	}
}

func TestLeafStreamsLikeBytes(t *testing.T) {
	data := bytes.Repeat([]byte("module"), 100000)
	got, err := merkle.Leaf(7, bytes.NewReader(data), make([]byte, 4096))
	if err != nil {
		t.Fatal(err)
	}
	if want := specLeaf(7, data); got != merkle.Hash(want) {
		t.Fatalf("Leaf = %x, want %x", got, want)
	}
	if got := merkle.LeafBytes(7, data); got != merkle.Hash(specLeaf(7, data)) {
		t.Fatalf("LeafBytes = %x", got)
	}
}

// Every proof of every tree size verifies with the spec's verifier, and any
// change to a module, a proof byte, or the positions breaks it.
func TestProofsAgainstSpec(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for n := 0; n <= 40; n++ {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			mods := randomModules(rng, n)
			tree := build(mods)
			specLeaves := make([][32]byte, n)
			for i, m := range mods {
				specLeaves[i] = specLeaf(uint32(i), m)
			}
			levels, root := specRoot(specLeaves)
			if tree.Levels() != levels || tree.Root() != merkle.Hash(root) {
				t.Fatalf("tree levels %d root %x, spec says %d %x", tree.Levels(), tree.Root(), levels, root)
			}
			for i, m := range mods {
				p := tree.Proof(i)
				enc, _ := p.MarshalBinary()
				if !specVerify(m, enc, levels, root) {
					t.Fatalf("proof %d does not verify", i)
				}
				if p.Fold(tree.Leaf(i)) != tree.Root() {
					t.Fatalf("Fold of proof %d is not the root", i)
				}
				dec, err := merkle.ParseProof(enc)
				if err != nil || dec.Pos != p.Pos || len(dec.Siblings) != len(p.Siblings) {
					t.Fatalf("ParseProof round trip: %+v, %v", dec, err)
				}
				// One flipped bit anywhere in the module or the proof.
				for j := 0; j < len(m); j++ {
					m[j] ^= 0x10
					if specVerify(m, enc, levels, root) {
						t.Fatalf("module %d with byte %d flipped still verifies", i, j)
					}
					m[j] ^= 0x10
				}
				for j := range enc {
					enc[j] ^= 0x01
					if specVerify(m, enc, levels, root) {
						t.Fatalf("proof %d with byte %d flipped still verifies", i, j)
					}
					enc[j] ^= 0x01
				}
				// The module at another position, with the other's proof.
				if n > 1 {
					k := (i + 1 + rng.Intn(n-1)) % n
					other, _ := tree.Proof(k).MarshalBinary()
					if specVerify(m, other, levels, root) {
						t.Fatalf("module %d verifies with the proof of %d", i, k)
					}
				}
			}
			if n > 1 {
				swapped := append([][]byte(nil), mods...)
				swapped[0], swapped[n-1] = swapped[n-1], swapped[0]
				if bytes.Equal(swapped[0], swapped[n-1]) {
					return
				}
				if build(swapped).Root() == tree.Root() {
					t.Fatalf("swapping modules 0 and %d keeps the root", n-1)
				}
			}
		})
	}
}

func TestParseProofRejectsBadLengths(t *testing.T) {
	for _, n := range []int{0, 1, 3, 5, 35, 37, 69} {
		if _, err := merkle.ParseProof(make([]byte, n)); err == nil {
			t.Errorf("ParseProof accepted %d bytes", n)
		}
	}
}

func FuzzParseProof(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1})
	f.Add(make([]byte, 4+32*3))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := merkle.ParseProof(b)
		if err != nil {
			return
		}
		enc, _ := p.MarshalBinary()
		if !bytes.Equal(enc, b) {
			t.Fatalf("round trip changed the proof: %x -> %x", b, enc)
		}
	})
}

func BenchmarkLeaf(b *testing.B) {
	data := make([]byte, 1<<20)
	b.SetBytes(int64(len(data)))
	for i := 0; i < b.N; i++ {
		merkle.LeafBytes(uint32(i), data)
	}
}
