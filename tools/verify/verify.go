// Package verify answers "will this kernel load this module, and if not,
// why?" without booting: it repeats the load-time check of a kernel built
// with CONFIG_MODULE_HASHES (and without CONFIG_MODULE_SIG), given the root
// from that kernel's .module_hashes section.
//
// The check, in the kernel's order, and the outcome this package reports:
//
//  1. Compressed modules (.ko.gz/.xz/.zst) are decompressed first, as the
//     kernel (CONFIG_MODULE_DECOMPRESS) or kmod do before the check. A file
//     that does not decompress, or that the in-kernel decompressor would
//     refuse (e.g. an xz CRC64 check, an xz stream without its index and
//     footer), is EINVAL. The streams are read as the kernel reads them
//     (compress.NewReader): the gzip trailer is not checked.
//  2. No "~Module signature appended~\n" at the end, or nothing but it:
//     Unsigned (the kernel's -ENODATA, "unsigned module").
//  3. At most 12 bytes before the marker, or a sig_len in struct
//     module_signature not smaller than what precedes the descriptor:
//     EBADMSG (mod_check_sig).
//  4. id_type is not 3 (Merkle): ENOPKG ("not signed with signature
//     mechanism"). A PKCS#7 signature (id_type 2) lands here on a kernel
//     without CONFIG_MODULE_SIG; a kernel with it would check the PKCS#7
//     signature against its keyring, which this package cannot model.
//  5. A Merkle descriptor with a non-zero algo, hash, signer_len,
//     key_id_len or pad: EBADMSG (docs/format.md: the other descriptor fields must be
//     zero; the kernel's mod_check_sig rejects such descriptors so).
//  6. A proof whose size is not 4 + 32*levels, levels from the root in
//     vmlinux: ENOPKG (module_hash_check).
//  7. The leaf hash of everything before the proof, folded up with the
//     proof's siblings, differs from the root: ENOKEY. Version 5 of the
//     series returns -ENOKEY here; version 4 returns 0 with sig_ok false.
//     Either way the module loads tainted without enforcement and is
//     refused with enforcement.
//  8. Otherwise OK.
//
// What the loader finally returns depends on module.sig_enforce (or
// CONFIG_MODULE_SIG_FORCE): see Code.Enforced. EBADMSG (and EINVAL) are
// fatal even without enforcement; Unsigned, ENOPKG and ENOKEY then only
// taint the kernel, and become -EKEYREJECTED with enforcement
// (module_sig_check).
//
// Files checks many modules in parallel and, for a module whose proof does
// not reach the root, tells at which level of the tree its path leaves the
// real tree, using the nodes that the modules which did verify prove.
package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/modhashes/modhashes/tools/compress"
	"github.com/modhashes/modhashes/tools/hashesroot"
	"github.com/modhashes/modhashes/tools/merkle"
	"github.com/modhashes/modhashes/tools/modsig"
)

// Code is the outcome of the kernel's check.
type Code int

// Outcomes. The names are the kernel's error codes.
const (
	OK       Code = iota
	Unsigned      // no signature marker (the kernel's -ENODATA)
	EBADMSG       // malformed signature descriptor
	ENOPKG        // not a Merkle proof, or a proof for another tree height
	ENOKEY        // the proof does not lead to the root
	EINVAL        // the compressed module cannot be decompressed
)

var codeNames = [...]string{OK: "OK", Unsigned: "unsigned", EBADMSG: "-EBADMSG", ENOPKG: "-ENOPKG", ENOKEY: "-ENOKEY", EINVAL: "-EINVAL"}

func (c Code) String() string {
	if c < 0 || int(c) >= len(codeNames) {
		return fmt.Sprintf("Code(%d)", int(c))
	}
	return codeNames[c]
}

// MarshalText makes a Code a string in JSON.
func (c Code) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText parses what MarshalText writes.
func (c *Code) UnmarshalText(b []byte) error {
	for i, n := range codeNames {
		if n == string(b) {
			*c = Code(i)
			return nil
		}
	}
	return fmt.Errorf("unknown outcome %q", b)
}

// Enforced is what loading returns with module.sig_enforce=1: "OK", or the
// error code finit_module fails with.
func (c Code) Enforced() string {
	switch c {
	case OK:
		return "OK"
	case Unsigned, ENOPKG, ENOKEY:
		return "-EKEYREJECTED"
	}
	return c.String()
}

// LoadsUnenforced reports whether the module still loads (tainting the
// kernel) when signatures are not enforced.
func (c Code) LoadsUnenforced() bool {
	switch c {
	case OK, Unsigned, ENOPKG, ENOKEY:
		return true
	}
	return false
}

// Result is the decision for one module.
type Result struct {
	File        string          `json:"file,omitempty"`
	Code        Code            `json:"outcome"`
	Enforced    string          `json:"enforced"` // Code.Enforced
	Reason      string          `json:"reason,omitempty"`
	Compression compress.Format `json:"-"`
	SigType     int             `json:"sig_type"` // id_type of the descriptor; -1 without one
	Pos         uint32          `json:"pos"`      // proof position, when there is a Merkle proof
	Levels      int             `json:"levels"`   // proof height, when there is a Merkle proof
	Level       int             `json:"diverges_at_level"`
	// Level is where a failing proof leaves the real tree (0 = the leaf,
	// i = the node at height i); -1 when unknown or not applicable.

	leaf  merkle.Hash
	proof merkle.Proof
	trace []merkle.Hash
}

// MarshalJSON adds the compression by name.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	return json.Marshal(struct {
		plain
		Compression string `json:"compression"`
	}{plain(r), r.Compression.String()})
}

// OK reports whether the kernel accepts the module.
func (r Result) OK() bool { return r.Code == OK }

// String is the one-line human form: "FILE: OK" or
// "FILE: -ENOKEY (-EKEYREJECTED when enforced): reason".
func (r Result) String() string {
	if r.Code == OK {
		return r.File + ": OK"
	}
	s := r.File + ": " + r.Code.String()
	if e := r.Code.Enforced(); e != r.Code.String() {
		s += " (" + e + " when enforced)"
	}
	return s + ": " + r.Reason
}

// MaxModuleSize bounds a decompressed module.
const MaxModuleSize = compress.MaxModuleSize

// File checks the contents of a module file, plain or compressed.
func File(b []byte, root hashesroot.Root) Result {
	plain, f, err := compress.Decode(b, MaxModuleSize)
	if err != nil {
		return decompressError(f, err)
	}
	r := Module(plain, root)
	r.Compression = f
	return r
}

func decompressError(f compress.Format, err error) Result {
	return Result{Code: EINVAL, Enforced: EINVAL.Enforced(), Compression: f, SigType: -1, Level: -1,
		Reason: fmt.Sprintf("cannot decompress: %v", err)}
}

// Module checks an uncompressed module as the kernel does.
func Module(mod []byte, root hashesroot.Root) Result {
	r := check(view{size: int64(len(mod)), tail: mod, leaf: func(pos uint32, n int64) (merkle.Hash, error) {
		return merkle.LeafBytes(pos, mod[:n]), nil
	}}, root)
	r.Enforced = r.Code.Enforced()
	return r
}

// view is what the check needs of a module, so that a big one need not be
// held in memory: its size, its last bytes (all of the trailer unless that
// is bigger than any proof), and the leaf hash of its first n bytes.
type view struct {
	size int64
	tail []byte
	leaf func(pos uint32, n int64) (merkle.Hash, error)
}

func check(v view, root hashesroot.Root) Result {
	r := Result{SigType: -1, Level: -1}
	tr, err := modsig.ParseTrailer(v.size, v.tail)
	switch {
	case errors.Is(err, modsig.ErrUnsigned):
		r.Code, r.Reason = Unsigned, "no signature marker at the end (unsigned module)"
		return r
	case err != nil:
		r.Code, r.Reason = EBADMSG, err.Error()
		if v.size-int64(len(modsig.Marker)) > modsig.InfoSize { // the descriptor was read
			r.SigType = int(tr.Info.IDType)
		}
		return r
	}
	info, bodyLen, sig := tr.Info, tr.BodyLen, tr.Sig // sig is nil when the view's tail does not hold it
	r.SigType = int(info.IDType)
	switch info.IDType {
	case modsig.IDTypeMerkle:
	case modsig.IDTypePKCS7:
		r.Code = ENOPKG
		r.Reason = fmt.Sprintf("PKCS#7 signature (%d bytes), not a Merkle proof: only a kernel with CONFIG_MODULE_SIG and the signing key can check it (out-of-tree module, or a module signed after hashing?)", info.SigLen)
		return r
	default:
		r.Code = ENOPKG
		r.Reason = fmt.Sprintf("signature type %s (id_type %d), not a Merkle proof", modsig.TypeName(info.IDType), info.IDType)
		return r
	}
	if err := modsig.CheckMerkleInfo(info); err != nil {
		r.Code = EBADMSG
		r.Reason = fmt.Sprintf("Merkle descriptor has non-zero fields (algo %d, hash %d, signer_len %d, key_id_len %d, pad %v)",
			info.Algo, info.Hash, info.SignerLen, info.KeyIDLen, info.Pad)
		return r
	}
	want := merkle.Size(int(root.Levels))
	if sigLen := int(info.SigLen); uint64(sigLen) != uint64(want) || sig == nil {
		r.Code = ENOPKG
		var what string
		if sigLen >= 4 && (sigLen-4)%merkle.HashSize == 0 {
			what = fmt.Sprintf("a proof for a tree of %d levels", (sigLen-4)/merkle.HashSize)
		} else {
			what = "not a whole number of levels"
		}
		r.Reason = fmt.Sprintf("proof is %d bytes (%s), but the root has %d levels: want %d bytes", sigLen, what, root.Levels, want)
		if root.IsPlaceholder() {
			r.Reason += "; the root is still the all-zero placeholder (vmlinux not finalized?)"
		} else if root.Levels > 32 {
			r.Reason += "; a tree of more than 32 levels is implausible: root read in the wrong byte order?"
		} else {
			r.Reason += " (proof from a build with a different number of modules?)"
		}
		return r
	}
	p, err := merkle.ParseProof(sig)
	if err != nil { // cannot happen: the size was checked
		r.Code, r.Reason = ENOPKG, err.Error()
		return r
	}
	r.Pos, r.Levels, r.proof = p.Pos, len(p.Siblings), p
	if r.leaf, err = v.leaf(p.Pos, bodyLen); err != nil {
		r.Code, r.Reason = EINVAL, fmt.Sprintf("cannot read the module again to hash it: %v", err)
		return r
	}
	r.trace = p.Trace(r.leaf)
	got := r.leaf
	if len(r.trace) > 0 {
		got = r.trace[len(r.trace)-1]
	}
	if got == root.Hash {
		r.Code = OK
		return r
	}
	r.Code = ENOKEY
	r.Reason = fmt.Sprintf("root mismatch: the proof for position %d leads to %s, the kernel has %s", p.Pos, short(got), short(root.Hash))
	if root.IsPlaceholder() {
		r.Reason += " (the all-zero placeholder: vmlinux not finalized?)"
	}
	return r
}

// implied is the root a Merkle proof leads to.
func (r *Result) implied() merkle.Hash {
	if len(r.trace) == 0 {
		return r.leaf
	}
	return r.trace[len(r.trace)-1]
}

func short(h merkle.Hash) string { return h.String()[:16] + "…" }

// nodeKey names a node of the tree: its height and index at that height.
type nodeKey struct {
	level int
	index uint32
}

// knownNodes collects the tree nodes the verified modules prove: their
// leaves, siblings and path nodes are nodes of the real tree.
func knownNodes(results []Result) map[nodeKey]merkle.Hash {
	known := make(map[nodeKey]merkle.Hash)
	for _, r := range results {
		if r.Code != OK {
			continue
		}
		idx := r.Pos
		known[nodeKey{0, idx}] = r.leaf
		cur := r.leaf
		for i, sib := range r.proof.Siblings {
			// An element without a pair is its own sibling; its
			// neighbour's index does not exist in the tree.
			if sib != cur {
				known[nodeKey{i, idx ^ 1}] = sib
			}
			idx >>= 1
			cur = r.trace[i]
			known[nodeKey{i + 1, idx}] = cur
		}
	}
	return known
}

// explain finds the lowest level at which a failing proof's path differs
// from nodes known to be in the tree.
func explain(r *Result, known map[nodeKey]merkle.Hash) {
	if r.Code != ENOKEY {
		return
	}
	idx := r.Pos
	if h, ok := known[nodeKey{0, idx}]; ok && h != r.leaf {
		r.Level = 0
		r.Reason += fmt.Sprintf("; diverges at level 0: the module's leaf hash differs from the tree's leaf %d (module changed after hashing, or the proof belongs to another module)", idx)
		return
	}
	cur := r.leaf
	for i, sib := range r.proof.Siblings {
		if h, ok := known[nodeKey{i, idx ^ 1}]; ok && h != sib && sib != cur {
			r.Level = i
			r.Reason += fmt.Sprintf("; diverges at level %d: the proof's sibling there differs from the tree's node %d (corrupt proof, or a proof from another build)", i, idx^1)
			return
		}
		idx >>= 1
		cur = r.trace[i]
		if h, ok := known[nodeKey{i + 1, idx}]; ok && h != cur {
			r.Level = i + 1
			r.Reason += fmt.Sprintf("; diverges at level %d: the path's node differs from the tree's node %d", i+1, idx)
			return
		}
	}
	if len(known) == 0 {
		r.Reason += "; no module verified, so where it diverges is unknown"
	}
}

// Explain completes the reasons of failing Merkle checks in results with
// the level where each path leaves the tree proven by the others, and
// notes when every module agrees on a root other than the kernel's (a root
// from another build).
func Explain(results []Result) {
	known := knownNodes(results)
	for i := range results {
		explain(&results[i], known)
	}
	if len(known) != 0 {
		return
	}
	// Nothing verified. If most failing proofs lead to one same root, the
	// modules belong together and the kernel's root is another build's.
	implied := make(map[merkle.Hash]int)
	failing := 0
	for i := range results {
		if results[i].Code == ENOKEY {
			implied[results[i].implied()]++
			failing++
		}
	}
	var best merkle.Hash
	n := 0
	for h, c := range implied {
		if c > n || (c == n && bytes.Compare(h[:], best[:]) < 0) {
			best, n = h, c
		}
	}
	if n < 2 || 2*n <= failing {
		return
	}
	for i := range results {
		if r := &results[i]; r.Code == ENOKEY && r.implied() == best {
			r.Reason += fmt.Sprintf("; %d of the %d failing modules agree on root %s: the kernel's root is probably from another build", n, failing, short(best))
		}
	}
}
