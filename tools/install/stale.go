package install

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/modhashes/modhashes/tools/modsig"
	"github.com/modhashes/modhashes/tools/verify"
)

// removeStale leaves below ModDir only modules of this install, as kbuild's
// modules_install does by deleting lib/modules/RELEASE/kernel before it
// installs: a module of an earlier build that is no longer in modules.order
// carries a proof for another tree, so it would not load, yet depmod would
// index it and modprobe try it.
//
//   - Below kernel/ everything this install did not write goes (leftover
//     modules, other compressions, temporaries of an interrupted run), and
//     the directories that become empty; kernel/ itself stays.
//   - Elsewhere (updates/, extra/: out-of-tree modules, DKMS's among them)
//     only modules carrying a Merkle proof for another root go: those were
//     installed by an earlier run of this command. A module with a PKCS#7
//     signature, or none, is someone else's and stays.
//
// It runs once every module is written, so an interrupted install leaves
// the old modules rather than none, and the next run removes them.
func (res *Result) removeStale() error {
	keep := make(map[string]bool, len(res.Modules))
	for _, m := range res.Modules {
		keep[filepath.Clean(m.Dst)] = true
	}
	kernel := filepath.Join(res.ModDir, "kernel")
	var dirs []string
	err := filepath.WalkDir(res.ModDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		inKernel := p == kernel || strings.HasPrefix(p, kernel+string(filepath.Separator))
		switch {
		case p == kernel && !d.IsDir():
			return nil // not kbuild's layout: left alone
		case d.IsDir():
			if inKernel && p != kernel {
				dirs = append(dirs, p)
			}
			return nil
		case keep[p]:
			return nil
		case inKernel:
			return res.remove(p)
		case staleProof(p, res):
			return res.remove(p)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("removing stale modules from %s: %w", res.ModDir, err)
	}
	// Deepest first, so that a directory's emptied children go before it.
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	for _, d := range dirs {
		if err := os.Remove(d); err != nil && !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
			return fmt.Errorf("removing stale modules from %s: %w", res.ModDir, err)
		}
	}
	return nil
}

func (res *Result) remove(p string) error {
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	res.Removed = append(res.Removed, p)
	return nil
}

// staleProof reports whether p is a module whose Merkle proof does not lead
// to this install's root. Anything that cannot be read as such is kept.
func staleProof(p string, res *Result) bool {
	if !slices.ContainsFunc(verify.ModuleSuffixes, func(s string) bool { return strings.HasSuffix(p, s) }) {
		return false
	}
	r, err := verify.CheckFile(p, res.Root)
	return err == nil && r.SigType == modsig.IDTypeMerkle && !r.OK()
}
