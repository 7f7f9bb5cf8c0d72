// Package inspect tells what a file carries for module hashes: the root in
// a kernel image's .module_hashes section, the signature trailer at the end
// of a module (plain or compressed), or the proof in a .merkle file.
package inspect

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/modhashes/modhashes/tools/compress"
	"github.com/modhashes/modhashes/tools/hashesroot"
	"github.com/modhashes/modhashes/tools/internal/input"
	"github.com/modhashes/modhashes/tools/merkle"
	"github.com/modhashes/modhashes/tools/modsig"
)

// Kinds of file.
const (
	KindVmlinux = "vmlinux" // an ELF image with a .module_hashes section
	KindModule  = "module"  // a .ko (ELF, or anything with data before a trailer), maybe compressed
	KindProof   = "proof"   // a bare trailer: a .merkle file
	KindRoot    = "root"    // a root on its own: the 36 raw section bytes or tree's C source
	KindOther   = "other"   // none of these
)

// RootInfo is a vmlinux's .module_hashes contents.
type RootInfo struct {
	Levels      uint32 `json:"levels"`
	Hash        string `json:"hash"`
	ByteOrder   string `json:"byte_order"` // "little" or "big"; for raw bytes, the plausible one or "unknown"
	Placeholder bool   `json:"placeholder"`
}

// Trailer is an appended signature.
type Trailer struct {
	Type      string   `json:"type"` // "PKCS#7", "Merkle proof", ...
	IDType    uint8    `json:"id_type"`
	Algo      uint8    `json:"algo"`
	Hash      uint8    `json:"hash"`
	SignerLen uint8    `json:"signer_len"`
	KeyIDLen  uint8    `json:"key_id_len"`
	SigLen    uint32   `json:"sig_len"`
	Pos       *uint32  `json:"pos,omitempty"`      // Merkle proofs only
	Levels    *int     `json:"levels,omitempty"`   // Merkle proofs only
	Siblings  []string `json:"siblings,omitempty"` // Merkle proofs only, bottom up
	Problem   string   `json:"problem,omitempty"`  // why it is malformed, if it is

	proof *merkle.Proof
}

// Report is what one file carries.
type Report struct {
	File        string    `json:"file"`
	Kind        string    `json:"kind"`
	Compression string    `json:"compression,omitempty"`
	Size        int       `json:"size"`                // after decompression
	BodySize    *int      `json:"body_size,omitempty"` // modules: bytes before the trailer
	Root        *RootInfo `json:"root,omitempty"`      // vmlinux
	Signed      *bool     `json:"signed,omitempty"`    // modules: ends with the marker
	Trailer     *Trailer  `json:"trailer,omitempty"`   // signed modules and proofs
	// Modules: the name and vermagic from .modinfo, and for a module with
	// a Merkle proof its leaf hash and the root its proof leads to.
	Name      string `json:"name,omitempty"`
	Vermagic  string `json:"vermagic,omitempty"`
	Leaf      string `json:"leaf,omitempty"`
	ProofRoot string `json:"proof_root,omitempty"`
	Note      string `json:"note,omitempty"`
}

// MaxSize bounds a decompressed file.
const MaxSize = compress.MaxModuleSize

// File inspects the named file.
func File(name string) (*Report, error) {
	f, err := input.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if r, ok, err := vmlinux(name, f); ok || err != nil {
		return r, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c, err := compress.Scan(f, MaxSize, keepWhole, keepTail)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if c.Format == compress.None && c.Whole != nil {
		if root := standaloneRoot(c.Whole); root != nil {
			return &Report{File: name, Kind: KindRoot, Size: len(c.Whole), Root: root}, nil
		}
	}
	r := analyze(c)
	r.File = name
	if r.Kind == KindModule {
		if err := r.moduleDetails(c, name); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return r, nil
}

// moduleDetails adds what .modinfo says and where the module's proof
// leads. A module too big to be held (see Scan) is read a second time to
// hash it; its .modinfo is not read.
func (r *Report) moduleDetails(c compress.Content, name string) error {
	if c.Whole != nil {
		r.Name, r.Vermagic = modinfo(c.Whole)
	}
	t := r.Trailer
	if t == nil || t.proof == nil || r.BodySize == nil {
		return nil
	}
	var leaf merkle.Hash
	if c.Whole != nil {
		leaf = merkle.LeafBytes(t.proof.Pos, c.Whole[:*r.BodySize])
	} else {
		f, err := input.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		dec, _, err := compress.NewReader(f, MaxSize)
		if err != nil {
			return err
		}
		defer dec.Close()
		if leaf, err = merkle.Leaf(t.proof.Pos, io.LimitReader(dec, int64(*r.BodySize)), nil); err != nil {
			return err
		}
	}
	r.Leaf = leaf.String()
	root := leaf
	if tr := t.proof.Trace(leaf); len(tr) > 0 {
		root = tr[len(tr)-1]
	}
	r.ProofRoot = root.String()
	return nil
}

// modinfo reads name= and vermagic= from a module's .modinfo section
// (NUL-separated key=value strings); empty where the module has none.
func modinfo(mod []byte) (name, vermagic string) {
	e, err := elf.NewFile(bytes.NewReader(mod))
	if err != nil {
		return "", ""
	}
	s := e.Section(".modinfo")
	if s == nil || s.Type == elf.SHT_NOBITS {
		return "", ""
	}
	b, err := s.Data()
	if err != nil {
		return "", ""
	}
	for _, kv := range bytes.Split(b, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("name=")); ok {
			name = string(v)
		} else if v, ok := bytes.CutPrefix(kv, []byte("vermagic=")); ok {
			vermagic = string(v)
		}
	}
	return name, vermagic
}

// What File holds of a file: all of it when small, else its first and last
// bytes (more than any signature trailer), so memory stays bounded whatever
// the file's size.
const (
	keepWhole = 8 << 20
	keepTail  = 1 << 20
)

// standaloneRoot recognizes a root written by `tree --root-c` or
// `--root-bin`. Raw bytes do not say their byte order: the one that gives a
// plausible height (at most 32 levels) is reported.
func standaloneRoot(b []byte) *RootInfo {
	if root, err := hashesroot.ParseCSource(b); err == nil {
		return &RootInfo{Levels: root.Levels, Hash: root.Hash.String(), ByteOrder: "target's", Placeholder: root.IsPlaceholder()}
	}
	if len(b) != hashesroot.Size || modsig.HasMarker(b) {
		return nil
	}
	le, _ := hashesroot.ParseBinary(b, binary.LittleEndian)
	be, _ := hashesroot.ParseBinary(b, binary.BigEndian)
	info := &RootInfo{Levels: le.Levels, Hash: le.Hash.String(), ByteOrder: "unknown", Placeholder: le.IsPlaceholder()}
	switch {
	case le.Levels == be.Levels:
		info.ByteOrder = "either"
	case le.Levels <= 32 && be.Levels > 32:
		info.ByteOrder = "little"
	case be.Levels <= 32 && le.Levels > 32:
		info.ByteOrder, info.Levels = "big", be.Levels
	}
	return info
}

// vmlinux reports the root of an ELF executable or shared object with a
// .module_hashes section; ok is false for anything else.
func vmlinux(name string, f *os.File) (*Report, bool, error) {
	e, err := elf.NewFile(f)
	if err != nil && brokenELF(f) {
		// Not an unsigned module: most likely a vmlinux cut short.
		size := int64(0)
		if fi, serr := f.Stat(); serr == nil {
			size = fi.Size()
		}
		return nil, false, fmt.Errorf("%s: %w", name, hashesroot.ELFError(f, size, err))
	}
	if err != nil || e.Type == elf.ET_REL {
		return nil, false, nil
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	if e.Section(hashesroot.SectionName) == nil {
		return &Report{File: name, Kind: KindVmlinux, Size: int(fi.Size()),
			Note: "no .module_hashes section (kernel built without CONFIG_MODULE_HASHES?)"}, true, nil
	}
	root, order, err := hashesroot.ReadVmlinux(name)
	if err != nil {
		return nil, false, err
	}
	bo := "little"
	if order == binary.BigEndian {
		bo = "big"
	}
	return &Report{
		File: name, Kind: KindVmlinux, Size: int(fi.Size()),
		Root: &RootInfo{Levels: root.Levels, Hash: root.Hash.String(), ByteOrder: bo, Placeholder: root.IsPlaceholder()},
	}, true, nil
}

// brokenELF tells an ELF file that debug/elf cannot read and that carries
// no signature trailer either (a signed module is hashed as bytes, and may
// be anything before its trailer).
func brokenELF(f *os.File) bool {
	var magic [4]byte
	fi, err := f.Stat()
	if err != nil || fi.Size() < int64(len(magic)) {
		return false
	}
	if _, err := f.ReadAt(magic[:], 0); err != nil || string(magic[:]) != elf.ELFMAG {
		return false
	}
	tail := make([]byte, min(fi.Size(), int64(len(modsig.Marker))))
	if _, err := f.ReadAt(tail, fi.Size()-int64(len(tail))); err != nil {
		return false
	}
	return !modsig.HasMarker(tail)
}

// Bytes inspects a module or proof held in memory (decompressing it first).
func Bytes(b []byte) (*Report, error) {
	plain, f, err := compress.Decode(b, MaxSize)
	if err != nil {
		return nil, err
	}
	return analyze(compress.Content{Format: f, Size: int64(len(plain)), Whole: plain, Head: plain, Tail: plain}), nil
}

// analyze reports on decompressed content from its size, first and last
// bytes.
func analyze(c compress.Content) *Report {
	r := &Report{Size: int(c.Size)}
	if c.Format != compress.None {
		r.Compression = c.Format.String()
	}
	isELF := bytes.HasPrefix(c.Head, []byte(elf.ELFMAG))
	signed := modsig.HasMarker(c.Tail)
	before := c.Size - int64(len(c.Tail)) // bytes not kept, all before the tail
	switch {
	case isELF:
		r.Kind = KindModule
	case signed:
		r.Kind = KindProof
		if body, _ := trailer(c.Tail); len(body) > 0 || before > 0 {
			r.Kind, isELF = KindModule, true // something precedes the trailer
			r.Note = "not an ELF file before the trailer"
		}
	default:
		r.Kind = KindOther
		r.Note = "neither an ELF file nor a signature trailer"
		return r
	}
	if isELF {
		r.Signed = &signed
	}
	if !signed {
		return r
	}
	body, t := trailer(c.Tail)
	r.Trailer = t
	if isELF && t.Problem == "" {
		n := len(body) + int(before)
		r.BodySize = &n
	}
	return r
}

// trailer decodes a trailer the way the kernel splits it.
func trailer(b []byte) ([]byte, *Trailer) {
	rest := b[:len(b)-len(modsig.Marker)]
	if len(rest) < modsig.InfoSize {
		return nil, &Trailer{Problem: fmt.Sprintf("only %d bytes before the marker", len(rest))}
	}
	raw := rest[len(rest)-modsig.InfoSize:]
	t := &Trailer{
		IDType: raw[2], Algo: raw[0], Hash: raw[1], SignerLen: raw[3], KeyIDLen: raw[4],
		SigLen: binary.BigEndian.Uint32(raw[8:]),
	}
	t.Type = modsig.TypeName(t.IDType)
	rest = rest[:len(rest)-modsig.InfoSize]
	if uint64(t.SigLen) > uint64(len(rest)) {
		t.Problem = fmt.Sprintf("signature length %d, but only %d bytes precede the descriptor", t.SigLen, len(rest))
		return nil, t
	}
	cut := len(rest) - int(t.SigLen)
	body, sig := rest[:cut], rest[cut:]
	if t.IDType != modsig.IDTypeMerkle {
		return body, t
	}
	p, err := merkle.ParseProof(sig)
	if err != nil {
		t.Problem = err.Error()
		return body, t
	}
	levels := len(p.Siblings)
	t.Pos, t.Levels, t.proof = &p.Pos, &levels, &p
	for _, s := range p.Siblings {
		t.Siblings = append(t.Siblings, hex.EncodeToString(s[:]))
	}
	return body, t
}

// Text renders a report for people.
func (r *Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s", r.File, r.Kind)
	if r.Compression != "" {
		fmt.Fprintf(&b, " (%s compressed, %d bytes uncompressed)", r.Compression, r.Size)
	} else {
		fmt.Fprintf(&b, " (%d bytes)", r.Size)
	}
	b.WriteByte('\n')
	if r.Root != nil {
		fmt.Fprintf(&b, "  .module_hashes: levels %d, %s byte order\n  root %s\n", r.Root.Levels, r.Root.ByteOrder, r.Root.Hash)
		if r.Root.Placeholder {
			b.WriteString("  (all-zero placeholder: the root has not been written yet)\n")
		}
	}
	if r.Name != "" || r.Vermagic != "" {
		fmt.Fprintf(&b, "  name %s, vermagic %q\n", r.Name, r.Vermagic)
	}
	if r.Leaf != "" {
		fmt.Fprintf(&b, "  leaf %s\n  the proof leads to root %s\n", r.Leaf, r.ProofRoot)
	}
	if r.Signed != nil && !*r.Signed {
		b.WriteString("  no signature trailer (unsigned)\n")
	}
	if t := r.Trailer; t != nil {
		fmt.Fprintf(&b, "  trailer: %s (id_type %d), algo %d, hash %d, signer_len %d, key_id_len %d, sig_len %d\n",
			t.Type, t.IDType, t.Algo, t.Hash, t.SignerLen, t.KeyIDLen, t.SigLen)
		if r.BodySize != nil {
			fmt.Fprintf(&b, "  module without trailer: %d bytes\n", *r.BodySize)
		}
		if t.Pos != nil {
			fmt.Fprintf(&b, "  proof: position %d (modules.order line %d), %d levels\n", *t.Pos, *t.Pos+1, *t.Levels)
			for i, s := range t.Siblings {
				fmt.Fprintf(&b, "    level %2d sibling %s\n", i, s)
			}
		}
		if t.Problem != "" {
			fmt.Fprintf(&b, "  malformed: %s\n", t.Problem)
		}
	}
	if r.Note != "" {
		fmt.Fprintf(&b, "  %s\n", r.Note)
	}
	return b.String()
}
