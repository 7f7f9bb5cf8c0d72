// Package install is the modules_install stage with module hashes: it
// copies every module of modules.order to DEST/lib/modules/RELEASE/kernel/,
// appends its Merkle proof, compresses it as kbuild would, and copies
// modules.order and modules.builtin*, the layout of
// `make modules_install INSTALL_MOD_PATH=DEST`.
//
// Nothing is written unless every module passes, in two phases:
//
//  1. Each module and its <stem>.merkle are read; the proof must be a
//     Merkle proof for the module's line of modules.order and for a tree of
//     that many modules; the module must not carry a trailer already
//     (unless ReplaceSignature, which drops it first); the proof, folded
//     from the module's leaf hash, must reach the root (Options.Root, or
//     else the root all other modules reach): a module changed after
//     hashing is refused.
//  2. Each output is built, checked with the kernel's own decision
//     (package verify, after decompression), and written atomically.
//
// Like kbuild, which deletes DEST/lib/modules/RELEASE/kernel first, Install
// leaves no module there that is not in modules.order; but it removes them
// only once the new modules are written (removeStale), under a lock on the
// directory, so the directory never lacks a module.
//
// Modules are never stripped here: stripping after hashing breaks every
// proof. Since kbuild strips at install time when INSTALL_MOD_STRIP is set,
// Install refuses to run with INSTALL_MOD_STRIP set unless the hashed files
// are already the stripped ones (a suffix other than ".ko", e.g.
// ".ko.stripped", as kernels that strip at build time use).
package install

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/modhashes/modhashes/tools/atomicfile"
	"github.com/modhashes/modhashes/tools/compress"
	"github.com/modhashes/modhashes/tools/hashesroot"
	"github.com/modhashes/modhashes/tools/internal/input"
	"github.com/modhashes/modhashes/tools/internal/parallel"
	"github.com/modhashes/modhashes/tools/merkle"
	"github.com/modhashes/modhashes/tools/modorder"
	"github.com/modhashes/modhashes/tools/modsig"
	"github.com/modhashes/modhashes/tools/verify"
)

// Options says what to install where. Zero values mean kbuild's defaults.
type Options struct {
	ObjTree       string // object tree with modules.order and the modules; default "."
	Order         string // default ObjTree/modules.order
	Suffix        string // module file suffix; default ".ko"
	ProofDir      string // where the .merkle files are; default next to each module
	Dest          string // INSTALL_MOD_PATH; required
	KernelRelease string // default: ObjTree/include/config/kernel.release
	Compression   compress.Format
	// BuiltinEncoder compresses with the pure-Go encoders even where the
	// system's gzip, xz or zstd (kbuild's, smaller files) are installed.
	BuiltinEncoder bool
	// SystemEncoder compresses zstd too with the system's zstd, one
	// process per module as kbuild does: kbuild's bytes, many times slower.
	// By default zstd is compressed in-process (compress.ChooseEncoder).
	SystemEncoder bool
	Jobs          int // default: number of CPUs
	// Progress, when set, is called after each module is written, with the
	// number written so far and the total (from several goroutines, in
	// order of completion).
	Progress func(done, total int)
	// ReplaceSignature drops a trailer a module already carries (PKCS#7 or
	// Merkle) instead of refusing it; the rest must still be what was hashed.
	ReplaceSignature bool
	// Root, when set, is the root every proof must reach (from vmlinux or
	// the tree stage). Otherwise all modules must agree on one root.
	Root *hashesroot.Root
	// Getenv reads the environment (INSTALL_MOD_STRIP); default os.Getenv.
	Getenv func(string) string
}

func (o Options) withDefaults() Options {
	if o.ObjTree == "" {
		o.ObjTree = "."
	}
	if o.Order == "" {
		o.Order = filepath.Join(o.ObjTree, "modules.order")
	}
	if o.Suffix == "" {
		o.Suffix = ".ko"
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	return o
}

// Module is one installed module.
type Module struct {
	modorder.Entry
	Src   string // the module as built
	Proof string // its .merkle file
	Dst   string // the installed file
}

// Result is what Install wrote.
type Result struct {
	ModDir  string // DEST/lib/modules/RELEASE
	Release string
	Root    hashesroot.Root  // the root every installed module verifies against
	Encoder compress.Encoder // what compressed the modules
	Modules []Module
	Copied  []string // modules.order, modules.builtin* written under ModDir
	Removed []string // stale files removed from ModDir (see removeStale)
}

// BuiltinFiles are copied from the object tree when present.
var BuiltinFiles = []string{"modules.builtin", "modules.builtin.modinfo", "modules.builtin.ranges"}

// InstalledPath is where a module of modules.order goes below
// lib/modules/RELEASE, before any compression suffix: kbuild's
// "kernel/<path>.ko" for an in-tree module, and the line itself for an
// out-of-tree one, which kbuild installs to its INSTALL_MOD_DIR
// ("updates/" for M= builds).
func InstalledPath(e modorder.Entry) string {
	if !e.InTree {
		return e.Stem + ".ko"
	}
	return "kernel/" + e.Stem + ".ko"
}

// KernelRelease returns the release: given, or read from
// OBJTREE/include/config/kernel.release.
func KernelRelease(given, objtree string) (string, error) {
	rel := given
	if rel == "" {
		name := filepath.Join(objtree, "include", "config", "kernel.release")
		b, err := input.ReadFile(name)
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrNoKernelRelease, err)
		}
		rel = strings.TrimSpace(string(b))
		if rel == "" {
			return "", fmt.Errorf("kernel release: %s is empty", name)
		}
	}
	if rel == "." || rel == ".." || strings.ContainsAny(rel, "/\x00\n") {
		return "", fmt.Errorf("kernel release %q: not a directory name", rel)
	}
	return rel, nil
}

// checkStrip refuses install-time stripping of hashed modules.
func checkStrip(opts Options) error {
	v := opts.Getenv("INSTALL_MOD_STRIP")
	if v == "" || opts.Suffix != ".ko" {
		return nil
	}
	return fmt.Errorf("INSTALL_MOD_STRIP=%s is set, but %w "+
		"(kbuild refuses CONFIG_MODULE_HASHES with INSTALL_MOD_STRIP too): unset it, or strip at build time, "+
		"hash the stripped files and install those", v, ErrStripAfterHashing)
}

// Errors the command adds its flags' hints to (errors.Is).
var (
	ErrStripAfterHashing = errors.New("stripping modules after hashing breaks every proof")
	ErrHasTrailer        = errors.New("already carries a signature trailer")
	ErrNoMajority        = errors.New("no root reached by a majority of the modules")
	ErrNoKernelRelease   = errors.New("cannot read the kernel release")
)

// pending is phase 1's finding for one module.
type pending struct {
	proof merkle.Proof
	root  merkle.Hash // the root the proof reaches from the module
	size  int64       // the module's size as hashed
}

// Install installs every module of modules.order; see the package doc.
func Install(opts Options) (*Result, error) {
	opts = opts.withDefaults()
	if opts.Dest == "" {
		return nil, errors.New("no destination directory")
	}
	if err := checkStrip(opts); err != nil {
		return nil, err
	}
	rel, err := KernelRelease(opts.KernelRelease, opts.ObjTree)
	if err != nil {
		return nil, err
	}
	entries, err := modorder.Read(opts.Order)
	if err != nil {
		return nil, err
	}
	res := &Result{Release: rel, ModDir: filepath.Join(opts.Dest, "lib", "modules", rel)}
	proofDir := opts.ProofDir
	if proofDir == "" {
		proofDir = opts.ObjTree
	}
	res.Modules = make([]Module, len(entries))
	for i, e := range entries {
		res.Modules[i] = Module{
			Entry: e,
			Src:   filepath.Join(opts.ObjTree, e.ModuleFile(opts.Suffix)),
			Proof: filepath.Join(proofDir, e.ProofFile()),
			Dst:   filepath.Join(res.ModDir, filepath.FromSlash(InstalledPath(e))+opts.Compression.Ext()),
		}
	}

	found := make([]pending, len(entries))
	if err := joinErrors(parallel.For(len(entries), opts.Jobs, func(_, i int) (err error) {
		found[i], err = examine(res.Modules[i], len(entries), opts)
		return err
	})); err != nil {
		return nil, err
	}
	root, err := agree(res.Modules, found, opts)
	if err != nil {
		return nil, err
	}
	res.Root = root
	pick := compress.Auto
	switch {
	case opts.BuiltinEncoder && opts.SystemEncoder:
		return nil, errors.New("both the built-in and the system's encoder asked for")
	case opts.BuiltinEncoder:
		pick = compress.Builtin
	case opts.SystemEncoder:
		pick = compress.System
	}
	if res.Encoder, err = compress.ChooseEncoder(opts.Compression, pick); err != nil {
		return nil, err
	}

	lists, err := readLists(entries, opts)
	if err != nil {
		return nil, err
	}

	// Nothing is written before here: every module passed phase 1.
	if err := os.MkdirAll(res.ModDir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockDir(res.ModDir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	// Largest modules first, so that no job is left compressing a big
	// one alone at the end while the others idle.
	queue := make([]int, len(entries))
	for i := range queue {
		queue[i] = i
	}
	sort.SliceStable(queue, func(a, b int) bool { return found[queue[a]].size > found[queue[b]].size })
	var done atomic.Int64
	errs := make([]error, len(entries))
	for k, err := range parallel.For(len(queue), opts.Jobs, func(_, k int) error {
		i := queue[k]
		if err := write(res.Modules[i], found[i], root, res.Encoder, opts); err != nil {
			return err
		}
		if opts.Progress != nil {
			opts.Progress(int(done.Add(1)), len(entries))
		}
		return nil
	}) {
		errs[queue[k]] = err
	}
	if err := joinErrors(errs); err != nil {
		return nil, err
	}
	if err := res.writeLists(lists); err != nil {
		return nil, err
	}
	if err := res.removeStale(); err != nil {
		return nil, err
	}
	return res, nil
}

// joinErrors joins the errors of the lowest indices (up to 10).
func joinErrors(errs []error) error {
	var out []error
	n := 0
	for _, err := range errs {
		if err == nil {
			continue
		}
		if n++; n <= 10 {
			out = append(out, err)
		}
	}
	if n > 10 {
		out = append(out, fmt.Errorf("... and %d more", n-10))
	}
	return errors.Join(out...)
}

func where(m Module, opts Options) string { return modorder.Where(m.Src, opts.Order, m.Pos) }

// tailSize is how much of a module's end is read to find a trailer: its
// marker and descriptor, which give the body's length (the signature
// itself is dropped unread).
const tailSize = len(modsig.Marker) + modsig.InfoSize

// openBody opens the module and returns how many of its first bytes are the
// module as hashed: all of them, or with ReplaceSignature all but the
// trailer it carries. Only the file's end is read.
func openBody(m Module, opts Options) (*os.File, int64, error) {
	f, err := input.Open(m.Src)
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", where(m, opts), unwrapPath(err))
	}
	var buf [tailSize]byte
	var tail []byte
	fi, err := f.Stat()
	if err == nil && fi.Size() == 0 {
		err = errors.New("empty file, not a module")
	}
	if err == nil {
		tail = buf[:min(fi.Size(), int64(tailSize))]
		_, err = f.ReadAt(tail, fi.Size()-int64(len(tail)))
	}
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("%s: %w", where(m, opts), unwrapPath(err))
	}
	tr, err := modsig.ParseTrailer(fi.Size(), tail)
	if errors.Is(err, modsig.ErrUnsigned) {
		return f, fi.Size(), nil
	}
	info := tr.Info
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("%s: ends with a signature marker, but its trailer is malformed: %w", where(m, opts), err)
	}
	if !opts.ReplaceSignature {
		f.Close()
		// The tree stage refuses modules with a trailer, so this one was
		// appended after hashing, and dropping it gives the hashed module.
		return nil, 0, fmt.Errorf("%s: %w (%s, %d bytes), appended after the module was hashed; a module carries at most one: "+
			"install the module as built, or drop the old trailer", where(m, opts), ErrHasTrailer, modsig.TypeName(info.IDType), info.SigLen)
	}
	return f, tr.BodyLen, nil
}

// examine is phase 1 for one module.
func examine(m Module, n int, opts Options) (pending, error) {
	var p pending
	f, bodyLen, err := openBody(m, opts)
	if err != nil {
		return p, err
	}
	defer f.Close()
	raw, err := input.ReadFile(m.Proof)
	if err != nil {
		return p, fmt.Errorf("%s: proof: %w (run the tree stage first)", where(m, opts), err)
	}
	proof, err := modsig.ParseMerkleTrailer(raw)
	if err != nil {
		return p, fmt.Errorf("proof %s: %w", m.Proof, err)
	}
	if int(proof.Pos) != m.Pos {
		return p, fmt.Errorf("proof %s: is for position %d, but the module is line %d of %s (position %d): proof from another modules.order?",
			m.Proof, proof.Pos, m.Pos+1, opts.Order, m.Pos)
	}
	if want := merkle.Levels(n); len(proof.Siblings) != want {
		return p, fmt.Errorf("proof %s: has %d levels, but a tree of %d modules has %d: proof from another build?",
			m.Proof, len(proof.Siblings), n, want)
	}
	p.proof, p.size = proof, bodyLen
	leaf, err := merkle.Leaf(proof.Pos, io.NewSectionReader(f, 0, bodyLen), nil)
	if err != nil {
		return p, fmt.Errorf("%s: %w", where(m, opts), unwrapPath(err))
	}
	trace := proof.Trace(leaf)
	// Where the path's node is the last of an odd-sized level it has no
	// pair and the proof repeats the node itself: this is checkable
	// without the root (it is how a single module's tree is checked).
	cur, idx, count := leaf, m.Pos, n
	for l, sib := range proof.Siblings {
		if idx^1 >= count && sib != cur {
			return p, fmt.Errorf("%s: changed after hashing: at level %d its path has no pair, and the proof's copy of the node differs from the module's (%s)",
				where(m, opts), l, m.Proof)
		}
		cur, idx, count = trace[l], idx>>1, (count+1)/2
	}
	p.root = cur
	return p, nil
}

// agree checks that every proof reaches the same root, the given one if any.
func agree(mods []Module, found []pending, opts Options) (hashesroot.Root, error) {
	levels := uint32(merkle.Levels(len(mods)))
	var root merkle.Hash
	switch {
	case opts.Root != nil:
		if opts.Root.Levels != levels {
			return hashesroot.Root{}, fmt.Errorf("the root given has %d levels, but %s lists %d modules (%d levels): root from another build",
				opts.Root.Levels, opts.Order, len(mods), levels)
		}
		root = opts.Root.Hash
	case len(mods) > 0:
		// The root most modules reach. Without a strict majority nobody
		// can tell which modules changed.
		count := make(map[merkle.Hash]int)
		best := 0
		for i := range found {
			r := found[i].root
			count[r]++
			if count[r] > best {
				best, root = count[r], r
			}
		}
		if len(count) > 1 && 2*best <= len(found) {
			return hashesroot.Root{}, fmt.Errorf("%w: the %d proofs lead to %d different roots: "+
				"modules changed after hashing, or proofs from several builds; the kernel's root would name the changed modules",
				ErrNoMajority, len(found), len(count))
		}
	}
	var errs []error
	for i := range found {
		if found[i].root == root {
			continue
		}
		against := "the root the other modules reach"
		if opts.Root != nil {
			against = "the root given"
		}
		errs = append(errs, fmt.Errorf("%s: changed after hashing (or its proof %s is from another build): its proof leads to %s, not to %s %s",
			where(mods[i], opts), mods[i].Proof, found[i].root, against, root))
	}
	if err := joinErrors(errs); err != nil {
		return hashesroot.Root{}, err
	}
	return hashesroot.Root{Levels: levels, Hash: root}, nil
}

// outBufs are write's output buffers: one a module would be 256 KiB to
// allocate and clear each time.
var outBufs sync.Pool

// write is phase 2 for one module: the module and its proof are streamed
// through the encoder into a temporary file, which the kernel's decision
// (package verify) is taken on before it replaces the target.
func write(m Module, p pending, root hashesroot.Root, enc compress.Encoder, opts Options) error {
	f, bodyLen, err := openBody(m, opts)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := os.MkdirAll(filepath.Dir(m.Dst), 0o755); err != nil {
		return err
	}
	out, err := atomicfile.Create(m.Dst, 0o644)
	if err != nil {
		return err
	}
	defer out.Abort()
	trailer := modsig.MerkleTrailer(p.proof)
	src := io.MultiReader(io.NewSectionReader(f, 0, bodyLen), bytes.NewReader(trailer))
	size := bodyLen + int64(len(trailer))
	if enc.Path != "" {
		err = enc.Compress(out.File, src, size) // the program writes the file itself
	} else {
		w, ok := outBufs.Get().(*bufio.Writer)
		if ok {
			w.Reset(out.File)
		} else {
			w = bufio.NewWriterSize(out.File, 256<<10)
		}
		if err = enc.Compress(w, src, size); err == nil {
			err = w.Flush()
		}
		w.Reset(nil)
		outBufs.Put(w)
	}
	if err != nil {
		return fmt.Errorf("%s: %s failed writing %s: %w", where(m, opts), enc, m.Dst, err)
	}
	// The kernel's decision on exactly the bytes written; this also catches
	// a module that changed since phase 1.
	r, err := verify.CheckWritten(out.Name(), root)
	if err != nil {
		return fmt.Errorf("%s: %w", m.Dst, err)
	}
	if r.Code == verify.EINVAL {
		// The proof was checked in phase 1: a stream that does not
		// decompress is the compressor's fault, not the module's.
		return fmt.Errorf("%s: %s wrote %s, which does not decompress: %s", where(m, opts), enc, m.Dst, r.Reason)
	}
	if !r.OK() {
		return fmt.Errorf("%s: would not load after compression by %s: %s", where(m, opts), enc, r.Code.String()+": "+r.Reason)
	}
	if err := out.Commit(); err != nil {
		return err
	}
	testHookAfterCommit()
	// A module installed before with another compression would shadow or
	// duplicate this one for depmod; kbuild removes the whole kernel/ tree.
	plain := strings.TrimSuffix(m.Dst, opts.Compression.Ext())
	for _, f := range compress.Formats {
		if f == opts.Compression {
			continue
		}
		if err := os.Remove(plain + f.Ext()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing stale %s: %w", plain+f.Ext(), unwrapPath(err))
		}
	}
	return nil
}

// testHookAfterCommit lets a test widen the window between installing a
// module and removing its copies in other compressions.
var testHookAfterCommit = func() {}

// listFile is a file installed beside the modules.
type listFile struct {
	name string // below ModDir
	data []byte
}

// readLists returns modules.order with the installed paths of the in-tree
// modules (kbuild's "kernel/<path>.ko" lines) and the object tree's
// modules.builtin* when present. They are read before anything is written,
// so that one that cannot be read stops the install before it begins.
func readLists(entries []modorder.Entry, opts Options) ([]listFile, error) {
	var order bytes.Buffer
	for _, e := range entries {
		// kbuild's installed modules.order has the in-tree modules only.
		if !e.InTree {
			continue
		}
		order.WriteString(InstalledPath(e))
		order.WriteByte('\n')
	}
	lists := []listFile{{"modules.order", order.Bytes()}}
	for _, base := range BuiltinFiles {
		b, err := input.ReadFile(filepath.Join(opts.ObjTree, base))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		lists = append(lists, listFile{base, b})
	}
	return lists, nil
}

// writeLists writes what readLists read into ModDir.
func (res *Result) writeLists(lists []listFile) error {
	if err := os.MkdirAll(res.ModDir, 0o755); err != nil {
		return err
	}
	for _, l := range lists {
		dst := filepath.Join(res.ModDir, l.name)
		if err := atomicfile.WriteFile(dst, l.data, 0o644); err != nil {
			return err
		}
		res.Copied = append(res.Copied, dst)
	}
	sort.Strings(res.Copied)
	return nil
}

// unwrapPath drops os.PathError's repetition of a path already named.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
