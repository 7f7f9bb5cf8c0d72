package treegen_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modhashes/modhashes/tools/internal/testfs"
	"github.com/modhashes/modhashes/tools/merkle"
	"github.com/modhashes/modhashes/tools/modsig"
	"github.com/modhashes/modhashes/tools/treegen"
)

const vectors = "../../examples/vectors"

// The reference generator's output for every vector, byte for byte: root
// (both byte orders and C source) and every proof file, with proofs both
// next to the modules and under a proof directory.
func TestVectors(t *testing.T) {
	dirs, _ := filepath.Glob(filepath.Join(vectors, "n*"))
	if len(dirs) < 10 {
		t.Fatalf("found %d vectors", len(dirs))
	}
	for _, d := range dirs {
		t.Run(filepath.Base(d), func(t *testing.T) {
			obj := testfs.CopyTree(t, d, "expected")
			res, err := treegen.Hash(treegen.Options{ObjTree: obj, Jobs: 3})
			if err != nil {
				t.Fatal(err)
			}
			exp := filepath.Join(d, "expected")
			if got, want := res.Root().CSource(), testfs.ReadFile(t, filepath.Join(exp, "root.c")); !bytes.Equal(got, want) {
				t.Errorf("root C source:\n%s\nwant\n%s", got, want)
			}
			if got, want := res.Root().Binary(binary.BigEndian), testfs.ReadFile(t, filepath.Join(exp, "root-be.bin")); !bytes.Equal(got, want) {
				t.Errorf("big-endian root %x, want %x", got, want)
			}
			if got, want := res.Root().Binary(binary.LittleEndian), testfs.ReadFile(t, filepath.Join(exp, "root-le.bin")); !bytes.Equal(got, want) {
				t.Errorf("little-endian root %x, want %x", got, want)
			}
			proofDir := t.TempDir()
			for _, dir := range []string{"", proofDir} {
				if err := res.WriteProofs(dir); err != nil {
					t.Fatal(err)
				}
			}
			for _, m := range res.Modules {
				want := testfs.ReadFile(t, filepath.Join(exp, "proofs", m.ProofFile()))
				for _, got := range [][]byte{
					testfs.ReadFile(t, filepath.Join(obj, m.ProofFile())),
					testfs.ReadFile(t, filepath.Join(proofDir, m.ProofFile())),
				} {
					if !bytes.Equal(got, want) {
						t.Errorf("%s differs from the reference", m.ProofFile())
					}
				}
			}
			n := testfs.CountFiles(t, filepath.Join(exp, "proofs"))
			if n != len(res.Modules) || testfs.CountFiles(t, proofDir) != n {
				t.Errorf("%d modules, %d reference proofs, %d written", len(res.Modules), n, testfs.CountFiles(t, proofDir))
			}
		})
	}
}

// writeModules makes an object tree of n modules with the given order lines.
func writeModules(t testing.TB, lines []string, suffix string) string {
	t.Helper()
	dir := t.TempDir()
	var order strings.Builder
	for i, l := range lines {
		order.WriteString(l + "\n")
		f := filepath.Join(dir, l[:strings.LastIndexByte(l, '.')]+suffix)
		os.MkdirAll(filepath.Dir(f), 0o755)
		if err := os.WriteFile(f, []byte(fmt.Sprintf("module %d at %s", i, l)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "modules.order"), []byte(order.String()), 0o644)
	return dir
}

// specVerify is the kernel's check restated from docs/format.md.
func specVerify(module, trailer []byte, levels uint32, root merkle.Hash) bool {
	n := 4 + 32*int(levels)
	if !bytes.HasSuffix(trailer, []byte(modsig.Marker)) || len(trailer) != n+12+28 ||
		binary.BigEndian.Uint32(trailer[n+8:]) != uint32(n) || trailer[n+2] != 3 {
		return false
	}
	pos := binary.BigEndian.Uint32(trailer)
	cur := sha256.Sum256(append(binary.BigEndian.AppendUint32([]byte{1}, pos), module...))
	for i := 0; i < int(levels); i++ {
		sib := trailer[4+32*i : 4+32*(i+1)]
		var msg []byte
		if pos>>uint(i)&1 == 0 {
			msg = append(append([]byte{2}, cur[:]...), sib...)
		} else {
			msg = append(append([]byte{2}, sib...), cur[:]...)
		}
		cur = sha256.Sum256(msg)
	}
	return cur == root
}

// Dots in directory names, the stripped suffix, and proofs verified with an
// independent checker.
func TestSuffixAndDottedDirectories(t *testing.T) {
	lines := []string{"drivers/net/v1.2/e1000.o", "fs/ext4.d/ext4.o", "lib/crc.o"}
	dir := writeModules(t, lines, ".ko.stripped")
	res, err := treegen.Hash(treegen.Options{ObjTree: dir, Suffix: ".ko.stripped"})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.WriteProofs(""); err != nil {
		t.Fatal(err)
	}
	root := res.Root()
	for _, l := range lines {
		stem := l[:strings.LastIndexByte(l, '.')]
		mod := testfs.ReadFile(t, filepath.Join(dir, stem+".ko.stripped"))
		proof := testfs.ReadFile(t, filepath.Join(dir, stem+".merkle"))
		if !specVerify(mod, proof, root.Levels, root.Hash) {
			t.Errorf("%s: proof does not verify", stem)
		}
	}
}

func TestErrors(t *testing.T) {
	t.Run("missing module", func(t *testing.T) {
		dir := writeModules(t, []string{"a.o", "b/c.o"}, ".ko")
		os.Remove(filepath.Join(dir, "b/c.ko"))
		_, err := treegen.Hash(treegen.Options{ObjTree: dir})
		wantErr(t, err, "b/c.ko", "modules.order:2", "no such file")
	})
	t.Run("module is a directory", func(t *testing.T) {
		dir := writeModules(t, []string{"a.o"}, ".ko")
		os.Remove(filepath.Join(dir, "a.ko"))
		os.Mkdir(filepath.Join(dir, "a.ko"), 0o755)
		_, err := treegen.Hash(treegen.Options{ObjTree: dir})
		wantErr(t, err, "a.ko", "modules.order:1", "not a regular file")
	})
	t.Run("bad modules.order", func(t *testing.T) {
		dir := writeModules(t, []string{"a.o"}, ".ko")
		os.WriteFile(filepath.Join(dir, "modules.order"), []byte("a.o\na.o\n"), 0o644)
		_, err := treegen.Hash(treegen.Options{ObjTree: dir})
		wantErr(t, err, "modules.order:2", "listed twice")
	})
	t.Run("unwritable proof", func(t *testing.T) {
		dir := writeModules(t, []string{"a.o", "b.o"}, ".ko")
		res, err := treegen.Hash(treegen.Options{ObjTree: dir})
		if err != nil {
			t.Fatal(err)
		}
		// A file where the proof directory should be: not writable even as root.
		blocker := filepath.Join(dir, "blocker")
		os.WriteFile(blocker, nil, 0o644)
		wantErr(t, res.WriteProofs(blocker), "blocker")
		if n := testfs.CountFiles(t, dir); n != 4 {
			t.Errorf("%d files in the tree after a failed write, want the 4 inputs", n)
		}
	})
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

// The scale the reference was never tested at: 100,000 small modules.
func TestScale100k(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	const n = 100000
	dir := t.TempDir()
	var order bytes.Buffer
	for i := 0; i < n; i++ {
		sub := fmt.Sprintf("d%03d", i%500)
		if i < 500 {
			os.Mkdir(filepath.Join(dir, sub), 0o755)
		}
		fmt.Fprintf(&order, "%s/m%d.o\n", sub, i)
		if err := os.WriteFile(filepath.Join(dir, sub, fmt.Sprintf("m%d.ko", i)), []byte(fmt.Sprint(i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "modules.order"), order.Bytes(), 0o644)
	res, proofs := hashTree(t, dir)
	root := res.Root()
	if root.Levels != 17 {
		t.Fatalf("levels %d, want 17", root.Levels)
	}
	for _, i := range []int{0, 1, 65535, 65536, 99998, n - 1} {
		stem := fmt.Sprintf("d%03d/m%d", i%500, i)
		if !specVerify([]byte(fmt.Sprint(i)), testfs.ReadFile(t, filepath.Join(proofs, stem+".merkle")), root.Levels, root.Hash) {
			t.Errorf("module %d: proof does not verify", i)
		}
	}
	if c := testfs.CountFiles(t, proofs); c != n {
		t.Errorf("%d proofs written, want %d", c, n)
	}
}

// hashTree runs the stage on objtree, proofs into a new directory.
func hashTree(t *testing.T, objtree string) (*treegen.Result, string) {
	t.Helper()
	res, err := treegen.Hash(treegen.Options{ObjTree: objtree})
	if err != nil {
		t.Fatal(err)
	}
	proofs := t.TempDir()
	if err := res.WriteProofs(proofs); err != nil {
		t.Fatal(err)
	}
	return res, proofs
}

// corpus is a real object tree (examples/corpus/fetch.sh) or "" to skip.
func corpus(t testing.TB) string {
	dir := os.Getenv("MODHASHES_CORPUS")
	if dir == "" {
		t.Skip("MODHASHES_CORPUS not set (see examples/corpus/fetch.sh)")
	}
	return testfs.UnsignedCorpus(t, dir)
}

// Every proof of a real kernel's ~4,200 modules checks out with the
// independent verifier.
func TestCorpus(t *testing.T) {
	dir := corpus(t)
	res, proofs := hashTree(t, dir)
	root := res.Root()
	if len(res.Modules) < 1000 || int(root.Levels) != merkle.Levels(len(res.Modules)) {
		t.Fatalf("%d modules, %d levels", len(res.Modules), root.Levels)
	}
	for _, m := range res.Modules {
		if !specVerify(testfs.ReadFile(t, m.File), testfs.ReadFile(t, res.ProofPath(m, proofs)), root.Levels, root.Hash) {
			t.Fatalf("%s: proof does not verify", m.File)
		}
	}
}

// BenchmarkCorpus hashes a real tree and writes every proof into an empty
// directory: reusing one directory would time the path where every proof
// already holds the right bytes and nothing is written.
func BenchmarkCorpus(b *testing.B) {
	dir := corpus(b)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		proofs, err := os.MkdirTemp(b.TempDir(), "proofs")
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := treegen.Hash(treegen.Options{ObjTree: dir})
		if err == nil {
			err = res.WriteProofs(proofs)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}
