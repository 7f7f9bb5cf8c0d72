// Package treegen is the tree stage of the pipeline: it hashes every module
// of modules.order, builds the Merkle tree and writes the proofs, the work of
// kbuild's reference generator (scripts/modules-merkle-tree).
package treegen

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/modhashes/modhashes/tools/atomicfile"
	"github.com/modhashes/modhashes/tools/hashesroot"
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
	for i := range mods {
		fi, err := os.Stat(mods[i].File)
		if err != nil {
			return moduleError(mods[i], opts, err)
		}
		if !fi.Mode().IsRegular() {
			return moduleError(mods[i], opts, fmt.Errorf("not a regular file"))
		}
		sizes[i] = fi.Size()
		queue[i] = i
	}
	sort.SliceStable(queue, func(a, b int) bool { return sizes[queue[a]] > sizes[queue[b]] })

	bufs := make([][]byte, parallel.Jobs(opts.Jobs, len(queue)))
	errs := parallel.For(len(queue), opts.Jobs, func(w, k int) error {
		if bufs[w] == nil {
			bufs[w] = make([]byte, 256<<10)
		}
		return hashFile(&mods[queue[k]], bufs[w])
	})
	for k, err := range errs {
		if err != nil {
			return moduleError(mods[queue[k]], opts, err)
		}
	}
	return nil
}

func hashFile(m *Module, buf []byte) (err error) {
	m.Leaf, err = leafOfFile(uint32(m.Pos), m.File, buf)
	return err
}

func moduleError(m Module, opts Options, err error) error {
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	return fmt.Errorf("module %s (%s:%d): %w", m.File, opts.Order, m.Pos+1, err)
}

// ProofPath is where a module's proof goes: next to the module as
// <stem>.merkle (kbuild's place), or under dir when dir is not empty.
func (r *Result) ProofPath(m Module, dir string) string {
	if dir == "" {
		dir = r.opts.ObjTree
	}
	return filepath.Join(dir, m.ProofFile())
}

// WriteProofs writes every module's proof file (see ProofPath), each
// atomically. Under dir, the module's subdirectories are created.
func (r *Result) WriteProofs(dir string) error {
	if dir != "" {
		made := map[string]bool{}
		for _, m := range r.Modules {
			sub := filepath.Dir(r.ProofPath(m, dir))
			if !made[sub] {
				if err := os.MkdirAll(sub, 0o755); err != nil {
					return err
				}
				made[sub] = true
			}
		}
	}
	return parallel.First(parallel.For(len(r.Modules), r.opts.Jobs, func(_, i int) error {
		return r.writeProof(i, dir)
	}))
}

func (r *Result) writeProof(i int, dir string) error {
	return atomicfile.WriteFile(r.ProofPath(r.Modules[i], dir), modsig.MerkleTrailer(r.Tree.Proof(i)), 0o644)
}
