package install

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/modhashes/modhashes/tools/compress"
	"github.com/modhashes/modhashes/tools/hashesroot"
	"github.com/modhashes/modhashes/tools/inspect/testelf"
	"github.com/modhashes/modhashes/tools/internal/testfs"
	"github.com/modhashes/modhashes/tools/modorder"
	"github.com/modhashes/modhashes/tools/modsig"
	"github.com/modhashes/modhashes/tools/treegen"
	"github.com/modhashes/modhashes/tools/verify"
)

const vectors = "../../examples/vectors"

// vectorTree is a vector's object tree with kernel.release, modules.builtin
// and the expected proofs next to the modules, as kbuild leaves them.
func vectorTree(t testing.TB, name string) string {
	t.Helper()
	dir := testfs.CopyTree(t, filepath.Join(vectors, name))
	writeFile(t, filepath.Join(dir, "include/config/kernel.release"), "6.99.0-test\n")
	writeFile(t, filepath.Join(dir, "modules.builtin"), "kernel/fs/ext4/ext4.ko\n")
	if _, err := os.Stat(filepath.Join(dir, "expected/proofs")); err != nil {
		return dir // n00: no modules, no proofs
	}
	err := filepath.WalkDir(filepath.Join(dir, "expected/proofs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join(dir, "expected/proofs"), p)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeFile(t testing.TB, name, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readRoot(t testing.TB, objtree string) hashesroot.Root {
	t.Helper()
	r, err := hashesroot.ReadCSourceFile(filepath.Join(objtree, "expected/root.c"))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// snapshot maps every file below dir to its SHA-256.
func snapshot(t testing.TB, dir string) map[string][32]byte {
	t.Helper()
	m := make(map[string][32]byte)
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		if !d.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			rel, _ := filepath.Rel(dir, p)
			m[rel] = sha256.Sum256(b)
		}
		return nil
	})
	return m
}

func opts(objtree, dest string) Options {
	return Options{ObjTree: objtree, Dest: dest, Jobs: 2, Getenv: func(string) string { return "" }}
}

func TestInstallVectors(t *testing.T) {
	for _, name := range []string{"n00", "n01", "n02", "n05", "n08"} {
		objtree := vectorTree(t, name)
		want := readRoot(t, objtree)
		entries, err := modorder.Read(filepath.Join(objtree, "modules.order"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range compress.Formats {
			dest := t.TempDir()
			o := opts(objtree, dest)
			o.Compression = f
			res, err := Install(o)
			if err != nil {
				t.Fatalf("%s %v: %v", name, f, err)
			}
			if res.Root != want {
				t.Errorf("%s: root %v, want %v", name, res.Root, want)
			}
			moddir := filepath.Join(dest, "lib/modules/6.99.0-test")
			var files []string
			for _, e := range entries {
				// kbuild: kernel/<path without .o>.ko, then the compression suffix.
				dst := filepath.Join(moddir, "kernel", strings.TrimSuffix(e.Path, ".o")+".ko"+f.Ext())
				files = append(files, dst)
				got, err := os.ReadFile(dst)
				if err != nil {
					t.Fatal(err)
				}
				plain, gf, err := compress.Decode(got, 1<<30)
				if err != nil || gf != f {
					t.Fatalf("%s: %v %v", dst, gf, err)
				}
				// modules_install: cp module; cat module.merkle >> module.
				mod, _ := os.ReadFile(filepath.Join(objtree, e.Stem+".ko"))
				proof, _ := os.ReadFile(filepath.Join(objtree, "expected/proofs", e.Stem+".merkle"))
				if !bytes.Equal(plain, append(mod, proof...)) {
					t.Errorf("%s: not the module with its proof appended", dst)
				}
			}
			rs, err := verify.Files(files, want, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				if !r.OK() {
					t.Errorf("%s: %v", name, r)
				}
			}
			order, _ := os.ReadFile(filepath.Join(moddir, "modules.order"))
			var wantOrder strings.Builder
			for _, e := range entries {
				fmt.Fprintf(&wantOrder, "kernel/%s.ko\n", strings.TrimSuffix(e.Path, ".o"))
			}
			if string(order) != wantOrder.String() {
				t.Errorf("%s: modules.order\n%s\nwant\n%s", name, order, wantOrder.String())
			}
			if b, _ := os.ReadFile(filepath.Join(moddir, "modules.builtin")); string(b) != "kernel/fs/ext4/ext4.ko\n" {
				t.Errorf("modules.builtin not copied: %q", b)
			}
			// Twice: identical files, nothing else.
			before := snapshot(t, dest)
			if _, err := Install(o); err != nil {
				t.Fatal(err)
			}
			after := snapshot(t, dest)
			if fmt.Sprint(before) != fmt.Sprint(after) {
				t.Errorf("%s %v: second install differs", name, f)
			}
		}
	}
}

func TestCompressionSwitchRemovesStale(t *testing.T) {
	objtree := vectorTree(t, "n02")
	dest := t.TempDir()
	o := opts(objtree, dest)
	o.Compression = compress.Gzip
	if _, err := Install(o); err != nil {
		t.Fatal(err)
	}
	o.Compression = compress.Zstd
	res, err := Install(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range res.Modules {
		if _, err := os.Stat(strings.TrimSuffix(m.Dst, ".zst") + ".gz"); err == nil {
			t.Errorf("stale %s.gz left", m.Dst)
		}
	}
}

func TestRefusals(t *testing.T) {
	tests := []struct {
		name   string
		prep   func(t *testing.T, objtree string, o *Options)
		errMsg string
	}{
		{"PKCS#7 signed module", func(t *testing.T, d string, o *Options) {
			appendTo(t, filepath.Join(d, "fs/ext4/mod_1.ko"), sigTrailer(modsig.IDTypePKCS7, 200))
		}, "already carries a signature trailer (PKCS#7"},
		{"Merkle trailer already there", func(t *testing.T, d string, o *Options) {
			b, _ := os.ReadFile(filepath.Join(d, "lib/mod_2.merkle"))
			appendTo(t, filepath.Join(d, "lib/mod_2.ko"), b)
		}, "already carries a signature trailer (Merkle proof"},
		{"proofs swapped", func(t *testing.T, d string, o *Options) {
			a, _ := os.ReadFile(filepath.Join(d, "lib/mod_2.merkle"))
			b, _ := os.ReadFile(filepath.Join(d, "sound/core/mod_3.merkle"))
			writeFile(t, filepath.Join(d, "lib/mod_2.merkle"), string(b))
			writeFile(t, filepath.Join(d, "sound/core/mod_3.merkle"), string(a))
		}, "is for position 3, but the module is line 3"},
		{"proof of another tree size", func(t *testing.T, d string, o *Options) {
			b, _ := os.ReadFile(filepath.Join(vectors, "n03/expected/proofs/fs/ext4/mod_1.merkle"))
			writeFile(t, filepath.Join(d, "fs/ext4/mod_1.merkle"), string(b))
		}, "has 2 levels, but a tree of 5 modules has 3"},
		{"module changed after hashing", func(t *testing.T, d string, o *Options) {
			b, _ := os.ReadFile(filepath.Join(d, "drivers/net/mod_0.ko"))
			b[len(b)/2] ^= 1
			writeFile(t, filepath.Join(d, "drivers/net/mod_0.ko"), string(b))
		}, "mod_0.ko (" /* named */},
		{"last module changed (no pair at level 0)", func(t *testing.T, d string, o *Options) {
			appendTo(t, filepath.Join(d, "drivers/net/mod_4.ko"), []byte{0})
		}, "changed after hashing: at level 0"},
		{"root given from another build", func(t *testing.T, d string, o *Options) {
			r, _ := hashesroot.ReadCSourceFile(filepath.Join(vectors, "n06/expected/root.c"))
			o.Root = &r
		}, "not to the root given"},
		{"root given of another height", func(t *testing.T, d string, o *Options) {
			r, _ := hashesroot.ReadCSourceFile(filepath.Join(vectors, "n03/expected/root.c"))
			o.Root = &r
		}, "root given has 2 levels"},
		{"INSTALL_MOD_STRIP", func(t *testing.T, d string, o *Options) {
			o.Getenv = func(k string) string {
				if k == "INSTALL_MOD_STRIP" {
					return "1"
				}
				return ""
			}
		}, "INSTALL_MOD_STRIP=1 is set"},
		{"no kernel release", func(t *testing.T, d string, o *Options) {
			os.Remove(filepath.Join(d, "include/config/kernel.release"))
		}, "kernel.release"},
		{"bad kernel release", func(t *testing.T, d string, o *Options) { o.KernelRelease = "../x" }, "not a directory name"},
		{"missing proof", func(t *testing.T, d string, o *Options) {
			os.Remove(filepath.Join(d, "lib/mod_2.merkle"))
		}, "run the tree stage first"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objtree := vectorTree(t, "n05")
			dest := filepath.Join(t.TempDir(), "dest")
			o := opts(objtree, dest)
			tc.prep(t, objtree, &o)
			_, err := Install(o)
			if err == nil || !strings.Contains(err.Error(), tc.errMsg) {
				t.Fatalf("error %v, want one containing %q", err, tc.errMsg)
			}
			if _, err := os.Stat(dest); err == nil {
				t.Errorf("refused, but wrote %s", dest)
			}
		})
	}
}

func TestChangedModuleNamed(t *testing.T) {
	objtree := vectorTree(t, "n05")
	appendTo(t, filepath.Join(objtree, "lib/mod_2.ko"), []byte("x"))
	_, err := Install(opts(objtree, t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), "lib/mod_2.ko") || !strings.Contains(err.Error(), "changed after hashing") ||
		strings.Contains(err.Error(), "mod_1.ko") {
		t.Fatalf("error %v: want exactly lib/mod_2.ko named as changed", err)
	}
}

func TestNoMajority(t *testing.T) {
	objtree := vectorTree(t, "n02")
	appendTo(t, filepath.Join(objtree, "drivers/net/mod_0.ko"), []byte("x"))
	_, err := Install(opts(objtree, t.TempDir()))
	if !errors.Is(err, ErrNoMajority) || strings.Contains(err.Error(), "--") {
		t.Fatalf("error %v", err)
	}
	r := readRoot(t, objtree)
	o := opts(objtree, t.TempDir())
	o.Root = &r
	_, err = Install(o)
	if err == nil || !strings.Contains(err.Error(), "mod_0.ko") || strings.Contains(err.Error(), "mod_1.ko") {
		t.Fatalf("with the root given: %v", err)
	}
}

func TestReplaceSignature(t *testing.T) {
	clean := vectorTree(t, "n05")
	signed := vectorTree(t, "n05")
	appendTo(t, filepath.Join(signed, "fs/ext4/mod_1.ko"), sigTrailer(modsig.IDTypePKCS7, 300))
	b, _ := os.ReadFile(filepath.Join(signed, "lib/mod_2.merkle"))
	appendTo(t, filepath.Join(signed, "lib/mod_2.ko"), b)
	d1, d2 := t.TempDir(), t.TempDir()
	if _, err := Install(opts(clean, d1)); err != nil {
		t.Fatal(err)
	}
	o := opts(signed, d2)
	o.ReplaceSignature = true
	if _, err := Install(o); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(snapshot(t, d1)) != fmt.Sprint(snapshot(t, d2)) {
		t.Error("--replace-signature install differs from the clean one")
	}
}

func TestStrippedAtBuildTimeAllowed(t *testing.T) {
	objtree := vectorTree(t, "n02")
	entries, _ := modorder.Read(filepath.Join(objtree, "modules.order"))
	for _, e := range entries {
		os.Rename(filepath.Join(objtree, e.Stem+".ko"), filepath.Join(objtree, e.Stem+".ko.stripped"))
	}
	o := opts(objtree, t.TempDir())
	o.Suffix = ".ko.stripped"
	o.Getenv = func(k string) string { return map[string]string{"INSTALL_MOD_STRIP": "1"}[k] }
	res, err := Install(o)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(res.Modules[0].Dst, ".ko") {
		t.Errorf("installed as %s, want .ko", res.Modules[0].Dst)
	}
}

func appendTo(t testing.TB, name string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(b)
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// sigTrailer is a trailer per the spec with n bytes of signature data.
func sigTrailer(idType byte, n int) []byte {
	b := bytes.Repeat([]byte{0xa5}, n)
	b = append(b, 0, 0, idType, 0, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(n))
	return append(b, "~Module signature appended~\n"...)
}

// TestSystemTools installs real-looking modules (ELF with .modinfo) and
// reads them back with gzip, xz, zstd and kmod's modinfo.
func TestSystemTools(t *testing.T) {
	objtree := t.TempDir()
	var order strings.Builder
	for i := 0; i < 7; i++ {
		path := fmt.Sprintf("drivers/test/m%d", i)
		img := testelf.Image(elf.ELFCLASS64, binary.LittleEndian,
			testelf.Section{Name: ".text", Data: bytes.Repeat([]byte{byte(i), 0x90}, 5000)},
			testelf.Section{Name: ".modinfo", Data: []byte(fmt.Sprintf("license=GPL\x00description=test module %d\x00", i))})
		writeFile(t, filepath.Join(objtree, path+".ko"), string(img))
		order.WriteString(path + ".o\n")
	}
	writeFile(t, filepath.Join(objtree, "modules.order"), order.String())
	res, err := treegen.Hash(treegen.Options{ObjTree: objtree})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.WriteProofs(""); err != nil {
		t.Fatal(err)
	}
	modinfo, _ := testfs.HaveTool(t, "modinfo")
	// Each format with the default encoder, then with the other one.
	type run struct {
		f               compress.Format
		builtin, system bool
	}
	var runs []run
	for _, f := range compress.Formats {
		runs = append(runs, run{f: f})
		if f == compress.Zstd {
			if _, ok := testfs.HaveTool(t, "zstd"); ok {
				runs = append(runs, run{f: f, system: true})
			}
		} else if f != compress.None {
			runs = append(runs, run{f: f, builtin: true})
		}
	}
	for _, rn := range runs {
		f := rn.f
		dest := t.TempDir()
		o := opts(objtree, dest)
		o.KernelRelease = "6.99.0"
		o.Compression = f
		o.BuiltinEncoder, o.SystemEncoder = rn.builtin, rn.system
		root := res.Root()
		o.Root = &root
		ir, err := Install(o)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%v: %v", f, ir.Encoder)
		var files []string
		for _, m := range ir.Modules {
			files = append(files, m.Dst)
		}
		sort.Strings(files)
		if tool := map[compress.Format]string{compress.Gzip: "gzip", compress.XZ: "xz", compress.Zstd: "zstd"}[f]; tool != "" {
			if _, ok := testfs.HaveTool(t, tool); !ok {
			} else if out, err := exec.Command(tool, append([]string{"-t"}, files...)...).CombinedOutput(); err != nil {
				t.Errorf("%s -t: %v\n%s", tool, err, out)
			}
		}
		if modinfo == "" {
			continue
		}
		if !kmodSupports(t, modinfo, f) {
			t.Logf("this kmod cannot read %v modules at all (kmod --version); skipping modinfo", f)
			continue
		}
		for i, file := range files {
			out, err := exec.Command(modinfo, "-F", "description", file).CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != fmt.Sprintf("test module %d", i) {
				t.Errorf("modinfo %s: %v %q", file, err, out)
			}
		}
	}
}

// kmodSupports reads kmod's feature list ("+XZ -ZLIB ..."): Debian 12's
// kmod is built without zlib, so no .ko.gz is readable by its modinfo.
func kmodSupports(t *testing.T, modinfo string, f compress.Format) bool {
	feature := map[compress.Format]string{compress.Gzip: "ZLIB", compress.XZ: "XZ", compress.Zstd: "ZSTD"}[f]
	if feature == "" {
		return true
	}
	out, err := exec.Command(modinfo, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("modinfo --version: %v", err)
	}
	for _, w := range strings.Fields(string(out)) {
		if w == "+"+feature {
			return true
		}
	}
	return false
}

func TestInstalledPath(t *testing.T) {
	for _, tc := range []struct {
		name  string
		order string
		want  []string
	}{
		{"6.2 and later: objects", "drivers/net/dummy.o\nkernel/kheaders.o\n",
			[]string{"kernel/drivers/net/dummy.ko", "kernel/kernel/kheaders.ko"}},
		{"6.1 and older: modules", "drivers/net/dummy.ko\nkernel/kheaders.ko\n",
			[]string{"kernel/drivers/net/dummy.ko", "kernel/kernel/kheaders.ko"}},
		{"set: objects, then out-of-tree by installed path", "lib/a.o\nupdates/hello.ko\nvendor/wifi.ko\n",
			[]string{"kernel/lib/a.ko", "updates/hello.ko", "vendor/wifi.ko"}},
		{"set of out-of-tree modules only", "updates/hello.ko\nextra/vendor/wifi.ko\n",
			[]string{"updates/hello.ko", "extra/vendor/wifi.ko"}},
	} {
		entries, err := modorder.Parse(strings.NewReader(tc.order), "modules.order")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var got []string
		for _, e := range entries {
			got = append(got, InstalledPath(e))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: installed paths %q, want %q", tc.name, got, tc.want)
		}
	}
}

// kbuild's installed modules.order lists in-tree modules only: out-of-tree
// ones (M=, installed to updates/) are not in it. 6.1's modules_install
// writes it with sed 's:^:kernel/:' over its own modules.order.
func TestListsLeaveOutOutOfTree(t *testing.T) {
	for _, tc := range []struct{ order, want string }{
		{"lib/a.o\nupdates/hello.ko\ndrivers/b.o\n", "kernel/lib/a.ko\nkernel/drivers/b.ko\n"},
		{"lib/a.ko\nkernel/b.ko\n", "kernel/lib/a.ko\nkernel/kernel/b.ko\n"},
	} {
		entries, err := modorder.Parse(strings.NewReader(tc.order), "modules.order")
		if err != nil {
			t.Fatal(err)
		}
		res := &Result{ModDir: filepath.Join(t.TempDir(), "lib/modules/7.3.4")}
		lists, err := readLists(entries, opts(t.TempDir(), ""))
		if err == nil {
			err = res.writeLists(lists)
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(res.ModDir, "modules.order"))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.want {
			t.Errorf("%q: modules.order = %q, want %q", tc.order, b, tc.want)
		}
	}
}
