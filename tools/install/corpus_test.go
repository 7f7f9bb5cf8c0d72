package install

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modhashes/modhashes/tools/compress"
	"github.com/modhashes/modhashes/tools/hashesroot"
	"github.com/modhashes/modhashes/tools/internal/parallel"
	"github.com/modhashes/modhashes/tools/modorder"
	"github.com/modhashes/modhashes/tools/modsig"
	"github.com/modhashes/modhashes/tools/treegen"
	"github.com/modhashes/modhashes/tools/verify"
)

// corpusDir is the directory holding modules.order of a real module tree
// (fetch-module-corpus.sh prints it); the corpus tests skip without it.
func corpusDir(t *testing.T) string {
	dir := os.Getenv("MODHASHES_CORPUS")
	if dir == "" {
		t.Skip("MODHASHES_CORPUS not set (the directory holding a real tree's modules.order)")
	}
	if _, err := os.Stat(filepath.Join(dir, "modules.order")); err != nil {
		t.Fatalf("MODHASHES_CORPUS: %v", err)
	}
	return dir
}

// unsignedObjtree copies a distribution's module tree into an object tree
// of modules as built: Debian signs its modules with PKCS#7, kbuild hashes
// them before any signature.
func unsignedObjtree(t *testing.T, corpus string) (string, []modorder.Entry) {
	t.Helper()
	entries, err := modorder.Read(filepath.Join(corpus, "modules.order"))
	if err != nil {
		t.Fatal(err)
	}
	objtree := t.TempDir()
	err = parallel.First(parallel.For(len(entries), 4, func(_, i int) error {
		b, err := os.ReadFile(filepath.Join(corpus, entries[i].ModuleFile(".ko")))
		if err != nil {
			return err
		}
		if body, _, _, err := modsig.Split(b); err == nil {
			b = body
		}
		name := filepath.Join(objtree, entries[i].ModuleFile(".ko"))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		return os.WriteFile(name, b, 0o644)
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append([]string{"modules.order"}, BuiltinFiles...) {
		if b, err := os.ReadFile(filepath.Join(corpus, f)); err == nil {
			writeFile(t, filepath.Join(objtree, f), string(b))
		}
	}
	return objtree, entries
}

func TestCorpus(t *testing.T) {
	corpus := corpusDir(t)
	start := time.Now()

	// The distribution's signed modules are refused as they are.
	_, err := Install(Options{ObjTree: corpus, Dest: t.TempDir(), KernelRelease: "r", Getenv: func(string) string { return "" }})
	if err == nil || !strings.Contains(err.Error(), "already carries a signature trailer (PKCS#7") {
		t.Fatalf("installing PKCS#7-signed modules: %v", err)
	}

	objtree, entries := unsignedObjtree(t, corpus)
	proofs := t.TempDir()
	tree, err := treegen.Hash(treegen.Options{ObjTree: objtree})
	if err != nil {
		t.Fatal(err)
	}
	if err := tree.WriteProofs(proofs); err != nil {
		t.Fatal(err)
	}
	root := tree.Root()
	t.Logf("%d modules, %d levels, prepared in %v", len(entries), root.Levels, time.Since(start).Round(time.Millisecond))

	for _, f := range compress.Formats {
		t.Run(f.String(), func(t *testing.T) {
			dest, root, proofs := t.TempDir(), root, proofs
			var order string
			if f == compress.XZ {
				// kbuild's xz takes minutes for the whole corpus: a build
				// of every eighth module, hundreds of all sizes.
				var every8th []modorder.Entry
				for i := 0; i < len(entries); i += 8 {
					every8th = append(every8th, entries[i])
				}
				var sub *treegen.Result
				order, sub = buildOf(t, objtree, every8th)
				proofs = t.TempDir()
				if err := sub.WriteProofs(proofs); err != nil {
					t.Fatal(err)
				}
				root = sub.Root()
			}
			o := Options{ObjTree: objtree, Order: order, ProofDir: proofs, Dest: dest, KernelRelease: "6.12-test",
				Compression: f, Root: &root, Getenv: func(string) string { return "" }}
			t0 := time.Now()
			res, err := Install(o)
			if err != nil {
				t.Fatal(err)
			}
			tInstall := time.Since(t0)
			files := make([]string, len(res.Modules))
			for i, m := range res.Modules {
				files[i] = m.Dst
			}
			t0 = time.Now()
			rs, err := verify.Files(files, root, 0)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("install %v, verify %v", tInstall.Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
			for _, r := range rs {
				if !r.OK() {
					t.Errorf("%v", r)
				}
			}
			systemCheck(t, f, files)
			if f == compress.Zstd {
				before := snapshot(t, dest)
				if _, err := Install(o); err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(before) != fmt.Sprint(snapshot(t, dest)) {
					t.Error("second install differs")
				}
			}
			// The whole tree checked against the root of a build without
			// its last module: every proof fails, all agree on another root.
			if f == compress.None {
				_, other := buildOf(t, objtree, entries[:len(entries)-1])
				rs, err := verify.Files(files, other.Root(), 0)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rs {
					if r.Code != verify.ENOKEY || !strings.Contains(r.Reason, "another build") {
						t.Fatalf("against another build's root: %v", r)
					}
				}
			}
			if f == compress.None || f == compress.XZ {
				negatives(t, corpus, res, root, f)
			}
		})
	}
}

// buildOf hashes the tree of a build of some of objtree's modules,
// returning its modules.order.
func buildOf(t *testing.T, objtree string, entries []modorder.Entry) (string, *treegen.Result) {
	t.Helper()
	var lines strings.Builder
	for _, e := range entries {
		lines.WriteString(e.Path + "\n")
	}
	order := filepath.Join(t.TempDir(), "modules.order")
	writeFile(t, order, lines.String())
	tree, err := treegen.Hash(treegen.Options{ObjTree: objtree, Order: order})
	if err != nil {
		t.Fatal(err)
	}
	return order, tree
}

// negatives tampers with a few installed modules and expects exactly those
// to fail, each with the kernel's outcome, the rest to stay OK.
func negatives(t *testing.T, corpus string, res *Result, root hashesroot.Root, f compress.Format) {
	n := len(res.Modules)
	read := func(i int) []byte {
		b, err := os.ReadFile(res.Modules[i].Dst)
		if err != nil {
			t.Fatal(err)
		}
		plain, _, err := compress.Decode(b, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		return plain
	}
	put := func(i int, plain []byte) {
		b, err := compress.Encode(f, plain)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(res.Modules[i].Dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	split := func(b []byte) (body, trailer []byte) {
		body, _, _, err := modsig.Split(b)
		if err != nil {
			t.Fatal(err)
		}
		// Copies: appending to body must not overwrite the trailer.
		return append([]byte(nil), body...), append([]byte(nil), b[len(body):]...)
	}
	corrupt, swapA, swapB, pkcs7, truncated, badLen := n/7, n/3, n/3+5, n/2, 2*n/3, n-1
	want := map[int]verify.Code{
		corrupt: verify.ENOKEY, swapA: verify.ENOKEY, swapB: verify.ENOKEY,
		pkcs7: verify.ENOPKG, truncated: verify.Unsigned, badLen: verify.EBADMSG,
	}
	wantLevel := map[int]int{corrupt: 0, swapA: 0, swapB: 0}

	b := read(corrupt)
	b[len(b)/3] ^= 0x01
	put(corrupt, b)

	bodyA, trA := split(read(swapA))
	bodyB, trB := split(read(swapB))
	put(swapA, append(bodyA, trB...))
	put(swapB, append(bodyB, trA...))

	signed, err := os.ReadFile(filepath.Join(corpus, res.Modules[pkcs7].ModuleFile(".ko")))
	if err != nil {
		t.Fatal(err)
	}
	put(pkcs7, signed)

	b = read(truncated)
	put(truncated, b[:len(b)-1])

	b = read(badLen)
	at := len(b) - len(modsig.Marker) - 4
	binary.BigEndian.PutUint32(b[at:], uint32(len(b)))
	put(badLen, b)

	files := make([]string, n)
	for i, m := range res.Modules {
		files[i] = m.Dst
	}
	rs, err := verify.Files(files, root, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		w, bad := want[i]
		if !bad {
			w = verify.OK
		}
		if r.Code != w {
			t.Errorf("%v: want %v", r, w)
			continue
		}
		if l, ok := wantLevel[i]; ok && r.Level != l {
			t.Errorf("%v: diverges at level %d, want %d", r, r.Level, l)
		}
		if bad {
			t.Logf("%v", r)
		}
	}
}

// systemCheck tests installed files with gzip/xz/zstd -t and a sample with
// kmod's modinfo.
func systemCheck(t *testing.T, f compress.Format, files []string) {
	tool := map[compress.Format]string{compress.Gzip: "gzip", compress.XZ: "xz", compress.Zstd: "zstd"}[f]
	if tool != "" {
		if _, err := exec.LookPath(tool); err != nil {
			t.Errorf("%s not installed: run tools/install-test-deps.sh", tool)
		} else {
			for i := 0; i < len(files); i += 500 {
				chunk := files[i:min(i+500, len(files))]
				if out, err := exec.Command(tool, append([]string{"-t", "-q"}, chunk...)...).CombinedOutput(); err != nil {
					t.Errorf("%s -t: %v\n%s", tool, err, out)
				}
			}
		}
	}
	modinfo := "/usr/sbin/modinfo"
	if p, err := exec.LookPath("modinfo"); err == nil {
		modinfo = p
	}
	if _, err := os.Stat(modinfo); err != nil {
		t.Errorf("modinfo not installed: run tools/install-test-deps.sh")
		return
	}
	if !kmodSupports(t, modinfo, f) {
		t.Logf("this kmod cannot read %v modules at all; skipping modinfo", f)
		return
	}
	for i := 0; i < len(files); i += 97 {
		out, err := exec.Command(modinfo, "-F", "license", files[i]).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) == 0 {
			t.Errorf("modinfo %s: %v %q", files[i], err, out)
		}
	}
}
