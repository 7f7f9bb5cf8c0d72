// Package merkle is the hash tree of CONFIG_MODULE_HASHES: SHA-256 leaves over
// whole module files, tagged with their position in modules.order, paired
// level by level up to one root, an odd last element paired with itself.
package merkle

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math/bits"
	"sync"
)

// HashSize is the size of every hash in the tree.
const HashSize = sha256.Size

// Domain-separation prefixes: a leaf can never be taken for an inner node.
const (
	leafPrefix = 0x01
	nodePrefix = 0x02
)

// Hash is one SHA-256 value of the tree.
type Hash [HashSize]byte

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

var bufs sync.Pool // Leaf's scratch buffers

// Leaf hashes a module file read from r, at position pos of modules.order.
// It streams; buf (may be nil) is a scratch buffer for io.CopyBuffer.
func Leaf(pos uint32, r io.Reader, buf []byte) (Hash, error) {
	d := sha256.New()
	var hdr [5]byte
	hdr[0] = leafPrefix
	binary.BigEndian.PutUint32(hdr[1:], pos)
	d.Write(hdr[:])
	if buf == nil {
		// Callers hash thousands of modules: reused, not allocated each.
		p, ok := bufs.Get().(*[]byte)
		if !ok {
			b := make([]byte, 64<<10)
			p = &b
		}
		defer bufs.Put(p)
		buf = *p
	}
	if _, err := io.CopyBuffer(d, r, buf); err != nil {
		return Hash{}, err
	}
	var h Hash
	d.Sum(h[:0])
	return h, nil
}

// LeafBytes is Leaf over an in-memory module.
func LeafBytes(pos uint32, module []byte) Hash {
	d := sha256.New()
	d.Write([]byte{leafPrefix, byte(pos >> 24), byte(pos >> 16), byte(pos >> 8), byte(pos)})
	d.Write(module)
	var h Hash
	d.Sum(h[:0])
	return h
}

// Node hashes a left and a right child.
func Node(l, r Hash) Hash {
	var b [1 + 2*HashSize]byte
	b[0] = nodePrefix
	copy(b[1:], l[:])
	copy(b[1+HashSize:], r[:])
	return sha256.Sum256(b[:])
}

// Levels is the height of the tree over n leaves: ceil(log2(n)) for n >= 2,
// 1 for a single leaf (its root pairs the leaf with itself), 0 for none.
func Levels(n int) int {
	switch {
	case n <= 0:
		return 0
	case n == 1:
		return 1
	}
	return bits.Len(uint(n - 1))
}

// Tree holds every level: nodes[0] are the leaves, nodes[Levels()] the root.
type Tree struct {
	nodes [][]Hash
}

// New builds the tree over leaves in modules.order order.
func New(leaves []Hash) *Tree {
	levels := Levels(len(leaves))
	t := &Tree{nodes: make([][]Hash, 0, levels+1)}
	cur := append([]Hash(nil), leaves...)
	t.nodes = append(t.nodes, cur)
	for l := 0; l < levels; l++ {
		next := make([]Hash, (len(cur)+1)/2)
		for i := range next {
			left := cur[2*i]
			right := left
			if 2*i+1 < len(cur) {
				right = cur[2*i+1]
			}
			next[i] = Node(left, right)
		}
		t.nodes = append(t.nodes, next)
		cur = next
	}
	return t
}

// Len is the number of leaves.
func (t *Tree) Len() int { return len(t.nodes[0]) }

// Levels is the number of levels above the leaves.
func (t *Tree) Levels() int { return len(t.nodes) - 1 }

// Leaf returns leaf i.
func (t *Tree) Leaf(i int) Hash { return t.nodes[0][i] }

// Root is the top hash; all zero for an empty tree, as the kernel expects.
func (t *Tree) Root() Hash {
	if t.Len() == 0 {
		return Hash{}
	}
	return t.nodes[len(t.nodes)-1][0]
}

// Proof returns the path of leaf pos: its sibling at every level, bottom up,
// where an element without a pair is its own sibling.
func (t *Tree) Proof(pos int) Proof {
	p := Proof{Pos: uint32(pos), Siblings: make([]Hash, t.Levels())}
	i := pos
	for l := range p.Siblings {
		level := t.nodes[l]
		sib := i ^ 1
		if sib >= len(level) {
			sib = i
		}
		p.Siblings[l] = level[sib]
		i >>= 1
	}
	return p
}

// Proof is a leaf's position and the sibling hashes from the leaf to the root.
type Proof struct {
	Pos      uint32
	Siblings []Hash
}

// Fold climbs from leaf to the root the proof implies, as the kernel does:
// bit i of the position says whether the path is the right child at level i.
func (p Proof) Fold(leaf Hash) Hash {
	cur := leaf
	for i, sib := range p.Siblings {
		if p.Pos>>uint(i)&1 == 0 {
			cur = Node(cur, sib)
		} else {
			cur = Node(sib, cur)
		}
	}
	return cur
}

// Trace is Fold that keeps every intermediate hash: trace[i] is the node at
// level i+1 on the path, so trace[len-1] is the implied root.
func (p Proof) Trace(leaf Hash) []Hash {
	trace := make([]Hash, len(p.Siblings))
	cur := leaf
	for i, sib := range p.Siblings {
		if p.Pos>>uint(i)&1 == 0 {
			cur = Node(cur, sib)
		} else {
			cur = Node(sib, cur)
		}
		trace[i] = cur
	}
	return trace
}

// Size is the encoded size of a proof of the given height.
func Size(levels int) int { return 4 + HashSize*levels }

// MarshalBinary encodes the proof as the kernel reads it: be32 position,
// then the siblings.
func (p Proof) MarshalBinary() ([]byte, error) {
	return p.AppendBinary(make([]byte, 0, Size(len(p.Siblings))))
}

// AppendBinary appends the encoding of MarshalBinary to b.
func (p Proof) AppendBinary(b []byte) ([]byte, error) {
	b = binary.BigEndian.AppendUint32(b, p.Pos)
	for _, s := range p.Siblings {
		b = append(b, s[:]...)
	}
	return b, nil
}

// ParseProof decodes a proof. The height follows from the length, which must
// be 4 plus a whole number of hashes.
func ParseProof(b []byte) (Proof, error) {
	if len(b) < 4 || (len(b)-4)%HashSize != 0 {
		return Proof{}, fmt.Errorf("proof is %d bytes, want 4 + a multiple of %d", len(b), HashSize)
	}
	p := Proof{Pos: binary.BigEndian.Uint32(b), Siblings: make([]Hash, (len(b)-4)/HashSize)}
	for i := range p.Siblings {
		copy(p.Siblings[i][:], b[4+i*HashSize:])
	}
	return p, nil
}
