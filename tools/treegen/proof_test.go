//go:build unix

package treegen_test

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/modhashes/modhashes/tools/internal/testfs"
	"github.com/modhashes/modhashes/tools/treegen"
)

func inode(t *testing.T, name string) uint64 {
	t.Helper()
	fi, err := os.Lstat(name)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func hashAndWrite(t *testing.T, dir string) *treegen.Result {
	t.Helper()
	res, err := treegen.Hash(treegen.Options{ObjTree: dir, Jobs: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.WriteProofs(""); err != nil {
		t.Fatal(err)
	}
	return res
}

func checkProofs(t *testing.T, dir string, res *treegen.Result) {
	t.Helper()
	root := res.Root()
	for _, m := range res.Modules {
		mod := testfs.ReadFile(t, m.File)
		if !specVerify(mod, testfs.ReadFile(t, res.ProofPath(m, "")), root.Levels, root.Hash) {
			t.Errorf("%s: proof does not verify", m.ProofFile())
		}
	}
}

// Proofs of the previous build are rewritten in their own inodes, grown and
// cut to the new height's size; links and read-only files are replaced
// instead of written through.
func TestProofsRewrittenInPlace(t *testing.T) {
	lines := []string{"a.o", "b.o", "c.o", "d.o", "e.o"}
	dir := writeModules(t, lines, ".ko")
	hashAndWrite(t, dir)
	ino := inode(t, filepath.Join(dir, "a.merkle"))

	// Same modules, new contents: same height, same inode, new bytes.
	os.WriteFile(filepath.Join(dir, "a.ko"), []byte("changed"), 0o644)
	res := hashAndWrite(t, dir)
	checkProofs(t, dir, res)
	if got := inode(t, filepath.Join(dir, "a.merkle")); got != ino {
		t.Errorf("a.merkle replaced (inode %d, was %d), want rewritten in place", got, ino)
	}

	// Fewer modules: a lower tree, shorter proofs, cut in place.
	os.WriteFile(filepath.Join(dir, "modules.order"), []byte("a.o\nb.o\n"), 0o644)
	res = hashAndWrite(t, dir)
	checkProofs(t, dir, res)
	if fi, _ := os.Stat(filepath.Join(dir, "a.merkle")); fi.Size() != 4+32+12+28 {
		t.Errorf("a.merkle is %d bytes after the tree shrank to one level", fi.Size())
	}
	if got := inode(t, filepath.Join(dir, "a.merkle")); got != ino {
		t.Errorf("a.merkle replaced when the tree shrank")
	}

	// A hard link to a file elsewhere and a symbolic link: the other files
	// keep their contents.
	other := filepath.Join(t.TempDir(), "other")
	os.WriteFile(other, []byte("not a proof"), 0o644)
	os.Remove(filepath.Join(dir, "a.merkle"))
	os.Remove(filepath.Join(dir, "b.merkle"))
	if err := os.Link(other, filepath.Join(dir, "a.merkle")); err != nil {
		t.Fatal(err)
	}
	os.Symlink(other, filepath.Join(dir, "b.merkle"))
	res = hashAndWrite(t, dir)
	checkProofs(t, dir, res)
	if got := string(testfs.ReadFile(t, other)); got != "not a proof" {
		t.Errorf("a linked file was written through: %q", got)
	}
}

// An interrupted run leaves no root (kbuild's target), old and new proofs
// side by side and a torn one; the next run restores a consistent tree.
func TestInterruptedRunIsRedone(t *testing.T) {
	dir := writeModules(t, []string{"a.o", "b.o", "c.o", "d.o", "e.o"}, ".ko")
	rootC := filepath.Join(dir, "root.c")
	res := hashAndWrite(t, dir)
	os.WriteFile(rootC, res.Root().CSource(), 0o644)

	// The next build changes a module and is killed after the old root was
	// removed and two proofs were written, one of them only half.
	os.WriteFile(filepath.Join(dir, "c.ko"), []byte("rebuilt"), 0o644)
	next, err := treegen.Hash(treegen.Options{ObjTree: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := treegen.RemoveRoots(rootC, filepath.Join(dir, "no-such-root.bin")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(rootC); !os.IsNotExist(err) {
		t.Fatalf("root still there after RemoveRoots: %v", err)
	}
	all := t.TempDir()
	if err := next.WriteProofs(all); err != nil {
		t.Fatal(err)
	}
	a := testfs.ReadFile(t, filepath.Join(all, "a.merkle"))
	os.WriteFile(filepath.Join(dir, "a.merkle"), a, 0o644)
	b := testfs.ReadFile(t, filepath.Join(all, "b.merkle"))
	f, _ := os.OpenFile(filepath.Join(dir, "b.merkle"), os.O_WRONLY, 0)
	f.WriteAt(b[:len(b)/2], 0)
	f.Close()

	// The rerun: every proof verifies against the new root.
	res = hashAndWrite(t, dir)
	os.WriteFile(rootC, res.Root().CSource(), 0o644)
	checkProofs(t, dir, res)
	if res.Root() != next.Root() {
		t.Errorf("rerun root %v, interrupted run's %v", res.Root(), next.Root())
	}
}
