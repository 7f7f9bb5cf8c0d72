package main

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/modhashes/modhashes/tools/hashesroot"
	"github.com/modhashes/modhashes/tools/internal/testfs"
	"github.com/modhashes/modhashes/tools/merkle"
	"github.com/modhashes/modhashes/tools/modsig"
)

// zeros streams n zero bytes.
type zeros int64

func (z *zeros) Read(p []byte) (int, error) {
	if *z <= 0 {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), int64(*z)))
	clear(p[:n])
	*z -= zeros(n)
	return n, nil
}

// compressStream writes r compressed as format into name: zstd and gzip
// with the fast pure-Go encoders, xz with the system's xz (the pure-Go one
// takes minutes for gigabytes).
func compressStream(t *testing.T, format, name string, r io.Reader) {
	t.Helper()
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	switch format {
	case "zst":
		w, _ := zstd.NewWriter(f, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderCRC(true))
		if _, err := io.Copy(w, r); err != nil {
			t.Fatal(err)
		}
		err = w.Close()
	case "gz":
		w, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
		if _, err := io.Copy(w, r); err != nil {
			t.Fatal(err)
		}
		err = w.Close()
	case "xz":
		cmd := exec.Command(testfs.Tool(t, "xz"), "-0", "-T0", "--check=crc32", "-c")
		cmd.Stdin, cmd.Stdout = r, f
		err = cmd.Run()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// measure runs the command and returns its result, wall time and peak RSS.
func measure(t *testing.T, args ...string) (result, time.Duration, int64) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "MODHASHES_TEST_AS_MAIN=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024
	return result{code, out.String(), errb.String()}, took, rss
}

const maxRSS = 64 << 20

// Decompression bombs (2 GiB of zeros) are refused at the 1 GiB limit
// without holding what they expand to, and big modules verify and install
// in bounded memory: verify, inspect and install stream.
func TestBombsAndBigModulesStream(t *testing.T) {
	if testing.Short() {
		t.Skip("writes gigabytes through compressors")
	}
	dir := t.TempDir()
	for _, format := range []string{"zst", "gz", "xz"} {
		t.Run("bomb "+format, func(t *testing.T) {
			bomb := filepath.Join(dir, "bomb.ko."+format)
			z := zeros(2 << 30)
			compressStream(t, format, bomb, &z)
			rootBin := filepath.Join(dir, "root.bin")
			os.WriteFile(rootBin, make([]byte, hashesroot.Size), 0o644)
			r, took, rss := measure(t, "verify", "--root-bin", rootBin, "--endian", "little", bomb)
			if r.code != 1 || !strings.Contains(r.stdout, "exceeds the limit") {
				t.Errorf("verify: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
			t.Logf("verify %s: %v, peak RSS %d MB", bomb, took, rss>>20)
			if rss > maxRSS {
				t.Errorf("verify of a bomb peaked at %d MB RSS", rss>>20)
			}
			r, took, rss = measure(t, "inspect", bomb)
			if r.code == 0 || !strings.Contains(r.stderr, "exceeds the limit") || !strings.Contains(r.stderr, bomb) {
				t.Errorf("inspect: exit %d, stderr %q", r.code, r.stderr)
			}
			t.Logf("inspect %s: %v, peak RSS %d MB", bomb, took, rss>>20)
			if rss > maxRSS {
				t.Errorf("inspect of a bomb peaked at %d MB RSS", rss>>20)
			}
		})
	}

	// A 300 MB module with its proof, a tree of one.
	const bodySize = 300 << 20
	body := func() io.Reader {
		z := zeros(bodySize - 4)
		return io.MultiReader(strings.NewReader("\x7fELF"), &z)
	}
	leaf, err := merkle.Leaf(0, body(), nil)
	if err != nil {
		t.Fatal(err)
	}
	root := merkle.Node(leaf, leaf)
	trailer := modsig.MerkleTrailer(merkle.Proof{Pos: 0, Siblings: []merkle.Hash{leaf}})
	rootBin := filepath.Join(dir, "big-root.bin")
	os.WriteFile(rootBin, append(binary.LittleEndian.AppendUint32(nil, 1), root[:]...), 0o644)
	for _, format := range []string{"zst", "xz"} {
		t.Run("big module "+format, func(t *testing.T) {
			name := filepath.Join(dir, "big.ko."+format)
			compressStream(t, format, name, io.MultiReader(body(), bytes.NewReader(trailer)))
			r, took, rss := measure(t, "verify", "--root-bin", rootBin, "--endian", "little", name)
			if r.code != 0 || !strings.Contains(r.stdout, ": OK") {
				t.Errorf("verify: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
			t.Logf("verify %s: %v, peak RSS %d MB", name, took, rss>>20)
			if rss > maxRSS {
				t.Errorf("verify of a %d MB module peaked at %d MB RSS", bodySize>>20, rss>>20)
			}
			r, _, rss = measure(t, "inspect", name)
			if r.code != 0 || !strings.Contains(r.stdout, "Merkle") {
				t.Errorf("inspect: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
			}
			if rss > maxRSS {
				t.Errorf("inspect of a %d MB module peaked at %d MB RSS", bodySize>>20, rss>>20)
			}
		})
	}

	t.Run("big module install", func(t *testing.T) {
		obj := t.TempDir()
		os.WriteFile(filepath.Join(obj, "modules.order"), []byte("big.o\n"), 0o644)
		f, err := os.Create(filepath.Join(obj, "big.ko"))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(f, body())
		f.Close()
		if r := modhashes(t, obj, "tree", "--root-bin", "root.bin", "--endian", "little"); r.code != 0 {
			t.Fatalf("tree: %+v", r)
		}
		if got := testfs.ReadFile(t, filepath.Join(obj, "root.bin")); !bytes.Equal(got, testfs.ReadFile(t, rootBin)) {
			t.Fatalf("tree's root %x, want %x", got, testfs.ReadFile(t, rootBin))
		}
		for _, comp := range []string{"zstd", "none"} {
			r, took, rss := measure(t, "install", "--objtree", obj, "--dest", filepath.Join(obj, "dest"),
				"--kernel-release", "r", "--compress", comp, "--builtin-encoder", "--root-bin", rootBin, "--endian", "little")
			if r.code != 0 {
				t.Fatalf("install: %+v", r)
			}
			t.Logf("install --compress %s of a %d MB module: %v, peak RSS %d MB", comp, bodySize>>20, took, rss>>20)
			if rss > maxRSS {
				t.Errorf("install --compress %s of a %d MB module peaked at %d MB RSS", comp, bodySize>>20, rss>>20)
			}
		}
	})
}

// finalize keeps its memory small on a big vmlinux.unstripped: a linked
// executable with 400 MB of debug data and relocations.
func TestFinalizeBigInputPeakRSS(t *testing.T) {
	if testing.Short() {
		t.Skip("links a 400 MB executable")
	}
	gcc := testfs.Tool(t, "gcc")
	dir := t.TempDir()
	src := filepath.Join(dir, "k.c")
	os.WriteFile(src, []byte(`
struct root { unsigned int levels; unsigned char hash[32]; };
const struct root module_hashes_root __attribute__((section(".module_hashes"), used, aligned(4)));
static const char modinfo[] __attribute__((section(".modinfo"), used)) = "license=GPL";
int f(int x) { return x + 1; }
int main(void) { return f(module_hashes_root.levels) + modinfo[0]; }
asm(".section .debug_big,\"\",@progbits\n.skip 400000000\n.previous\n");
`), 0o644)
	in := filepath.Join(dir, "vmlinux.unstripped")
	if out, err := exec.Command(gcc, "-O2", "-no-pie", "-Wl,--emit-relocs", "-o", in, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	rootBin := filepath.Join(dir, "root.bin")
	// A root that finalize accepts: one level, in the input's byte order.
	os.WriteFile(rootBin, append([]byte{1, 0, 0, 0}, bytes.Repeat([]byte{7}, hashesroot.Size-4)...), 0o644)
	r, took, rss := measure(t, "finalize", "--root-bin", rootBin, in, filepath.Join(dir, "vmlinux"))
	if r.code != 0 {
		t.Fatalf("finalize: %+v", r)
	}
	t.Logf("finalize of a %d MB file: %v, peak RSS %d MB", fileSize(t, in)>>20, took, rss>>20)
	if rss > maxRSS {
		t.Errorf("finalize of a %d MB file peaked at %d MB RSS", fileSize(t, in)>>20, rss>>20)
	}
}

func fileSize(t *testing.T, name string) int64 {
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
