// Package treegen is the tree stage of the pipeline: it hashes every module
// of modules.order, builds the Merkle tree and writes the proofs, the work of
// kbuild's reference generator (scripts/modules-merkle-tree).
//
// Proofs are rewritten in place. In kbuild's case every module already has
// its proof from the previous build, and on file systems that discard freed
// blocks (ext4 -o discard) truncating or replacing thousands of files costs
// far more than hashing the modules. A proof of an existing regular file is
// therefore overwritten from offset 0 and cut to size (its size only changes
// when the tree's height does), and not written at all when it already holds
// the right bytes. Files shared with another tree (hard or symbolic links) or
// not writable are replaced atomically instead, so no other file is written
// through.
//
// Consistency comes from the root: the caller removes the previous root
// before the proofs are written and writes the new one atomically after all
// of them (see RemoveRoots). An interrupted run thus leaves no root, which
// kbuild and Bazel take for "not built", and the next run redoes the tree and
// every proof. A proof is one write(2) of at most a few KiB, so a signal
// cannot leave it torn; after a power loss the missing root again forces the
// rewrite.
package treegen

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/modhashes/modhashes/tools/hashesroot"
	"github.com/modhashes/modhashes/tools/internal/input"
	"github.com/modhashes/modhashes/tools/internal/parallel"
	"github.com/modhashes/modhashes/tools/merkle"
	"github.com/modhashes/modhashes/tools/modorder"
	"github.com/modhashes/modhashes/tools/modsig"
)

// Options says where the modules are. Zero values mean kbuild's defaults.
type Options struct {
	ObjTree string // object tree holding the modules; default "."
	Order   string // modules.order; default ObjTree/modules.order
	Suffix  string // module file suffix; default ".ko"
	Jobs    int    // parallel hashing; <= 0: the number of CPUs
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
	return o
}

// Module is one hashed module.
type Module struct {
	modorder.Entry
	File string      // the module file that was hashed
	Leaf merkle.Hash // its leaf hash
}

// Result is the hashed tree.
type Result struct {
	Modules []Module
	Tree    *merkle.Tree
	opts    Options
}

// Root is what goes into .module_hashes.
func (r *Result) Root() hashesroot.Root { return hashesroot.FromTree(r.Tree) }

// Hash reads modules.order and hashes every module in parallel.
func Hash(opts Options) (*Result, error) {
	opts = opts.withDefaults()
	entries, err := modorder.Read(opts.Order)
	if err != nil {
		return nil, err
	}
	mods := make([]Module, len(entries))
	for i, e := range entries {
		mods[i] = Module{Entry: e, File: filepath.Join(opts.ObjTree, e.ModuleFile(opts.Suffix))}
	}
	if err := hashAll(mods, opts); err != nil {
		return nil, err
	}
	leaves := make([]merkle.Hash, len(mods))
	for i := range mods {
		leaves[i] = mods[i].Leaf
	}
	return &Result{Modules: mods, Tree: merkle.New(leaves), opts: opts}, nil
}

// hashAll hashes the largest files first so that no worker is left with a
// big module at the end while the others idle.
func hashAll(mods []Module, opts Options) error {
	sizes := make([]int64, len(mods))
	queue := make([]int, len(mods))
	// Thousands of stat calls: on all cores too.
	errs := parallel.For(len(mods), opts.Jobs, func(_, i int) error {
		fi, err := os.Stat(mods[i].File)
		switch {
		case err != nil:
			return err
		case !fi.Mode().IsRegular():
			return fmt.Errorf("not a regular file but %s", input.Kind(fi.Mode()))
		case fi.Size() == 0:
			// The kernel cannot load it, and an empty build output is a
			// failed build step, not a module to hash.
			return errors.New("empty file, not a module")
		}
		sizes[i] = fi.Size()
		queue[i] = i
		return nil
	})
	for i, err := range errs {
		if err != nil {
			return moduleError(mods[i], opts, err)
		}
	}
	sort.SliceStable(queue, func(a, b int) bool { return sizes[queue[a]] > sizes[queue[b]] })

	bufs := make([][]byte, parallel.Jobs(opts.Jobs, len(queue)))
	errs = parallel.For(len(queue), opts.Jobs, func(w, k int) error {
		if bufs[w] == nil {
			bufs[w] = make([]byte, 256<<10)
		}
		return hashFile(&mods[queue[k]], bufs[w], sizes[queue[k]])
	})
	for k, err := range errs {
		if err != nil {
			return moduleError(mods[queue[k]], opts, err)
		}
	}
	return nil
}

func hashFile(m *Module, buf []byte, size int64) (err error) {
	var signed bool
	m.Leaf, signed, err = leafOfFile(uint32(m.Pos), m.File, buf, size)
	if err == nil && signed {
		// Hashing it would make the old trailer part of the module, and
		// the kernel would read that trailer, not the new proof.
		err = errors.New("already ends with a module signature trailer (signed, or a proof appended by an install): " +
			"hash the module as the build linked it")
	}
	return err
}

func moduleError(m Module, opts Options, err error) error {
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	return fmt.Errorf("%s: %w", modorder.Where(m.File, opts.Order, m.Pos), err)
}

// ProofPath is where a module's proof goes: next to the module as
// <stem>.merkle (kbuild's place), or under dir when dir is not empty.
func (r *Result) ProofPath(m Module, dir string) string {
	if dir == "" {
		dir = r.opts.ObjTree
	}
	return filepath.Join(dir, m.ProofFile())
}

// WriteProofs writes every module's proof file (see ProofPath), in place
// (see the package doc). Under dir, the module's subdirectories are created
// as needed.
//
// A job takes all the modules of one directory in a row: two jobs creating
// files in one directory queue on its lock, where the kernel's files go
// alternately to either job.
func (r *Result) WriteProofs(dir string) error {
	var runs []int // index of each run's first module, then len(r.Modules)
	last := "\x00"
	for i, m := range r.Modules {
		if d := filepath.Dir(m.ProofFile()); d != last {
			runs, last = append(runs, i), d
		}
	}
	runs = append(runs, len(r.Modules))
	jobs := parallel.Jobs(r.opts.Jobs, len(runs)-1)
	scratch := make([][]byte, jobs)
	errs := make([]error, len(r.Modules))
	parallel.For(len(runs)-1, jobs, func(w, k int) error {
		for i := runs[k]; i < runs[k+1]; i++ {
			data := modsig.MerkleTrailer(r.Tree.Proof(i))
			if len(scratch[w]) < len(data) {
				scratch[w] = make([]byte, len(data))
			}
			errs[i] = writeProofFile(r.ProofPath(r.Modules[i], dir), data, scratch[w], dir != "")
		}
		return nil
	})
	return parallel.First(errs)
}

// RemoveRoots removes the previous run's root files before the proofs are
// rewritten, so that an interrupted run leaves none (see the package doc).
func RemoveRoots(names ...string) error {
	for _, name := range names {
		if name == "" {
			continue
		}
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove the previous root %s: %w", name, err)
		}
	}
	return nil
}
