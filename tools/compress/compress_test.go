package compress

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/modhashes/modhashes/tools/internal/testfs"
)

// sample is module-like data: compressible runs mixed with noise.
func sample(n int, seed int64) []byte {
	rng := rand.New(rand.NewSource(seed))
	b := make([]byte, n)
	for i := 0; i < n; {
		run := rng.Intn(64) + 1
		c := byte(rng.Intn(256))
		for j := 0; j < run && i < n; j++ {
			if rng.Intn(4) == 0 {
				b[i] = byte(rng.Intn(256))
			} else {
				b[i] = c
			}
			i++
		}
	}
	return b
}

func TestRoundTripAndDeterminism(t *testing.T) {
	for _, f := range Formats {
		for _, n := range []int{0, 1, 4096, 3 << 20} {
			data := sample(n, int64(n))
			a, err := Encode(f, data)
			if err != nil {
				t.Fatalf("%v %d: %v", f, n, err)
			}
			b, err := Encode(f, append([]byte(nil), data...))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("%v %d bytes: two encodings differ", f, n)
			}
			if f != None && Detect(a) != f {
				t.Errorf("%v: Detect = %v", f, Detect(a))
			}
			if err := KernelCheck(f, a); err != nil {
				t.Errorf("%v: own output fails KernelCheck: %v", f, err)
			}
			got, gf, err := Decode(a, int64(n)+1)
			if err != nil {
				t.Fatalf("%v %d: decode: %v", f, n, err)
			}
			if gf != f || !bytes.Equal(got, data) {
				t.Errorf("%v %d: round trip gave %v, %d bytes", f, n, gf, len(got))
			}
		}
	}
}

func TestGzipHeaderHasNoNameOrTime(t *testing.T) {
	a, err := Encode(Gzip, []byte("module"))
	if err != nil {
		t.Fatal(err)
	}
	if a[3] != 0 || !bytes.Equal(a[4:8], []byte{0, 0, 0, 0}) {
		t.Errorf("gzip header flags %#x mtime % x: want none and zero", a[3], a[4:8])
	}
}

func TestXZUsesCRC32(t *testing.T) {
	a, err := Encode(XZ, []byte("module"))
	if err != nil {
		t.Fatal(err)
	}
	if a[7]&0x0f != 1 {
		t.Errorf("xz check type %d, want 1 (CRC32)", a[7]&0x0f)
	}
}

func TestDecodeLimit(t *testing.T) {
	data := make([]byte, 1<<20)
	for _, f := range Formats[1:] {
		a, err := Encode(f, data)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := Decode(a, 1000); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%v: decode past the limit: %v, want ErrTooLarge", f, err)
		}
	}
}

func TestKernelCheckRejects(t *testing.T) {
	var crc64 bytes.Buffer
	w, err := xz.WriterConfig{CheckSum: xz.CRC64}.NewWriter(&crc64)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("module"))
	w.Close()

	var comment bytes.Buffer
	gw := gzip.NewWriter(&comment)
	gw.Comment = "built by hand"
	gw.Write([]byte("module"))
	gw.Close()

	var named bytes.Buffer
	gw = gzip.NewWriter(&named)
	gw.Name = "m.ko"
	gw.Write([]byte("module"))
	gw.Close()

	tests := []struct {
		name string
		f    Format
		b    []byte
		ok   bool
	}{
		{"xz crc64", XZ, crc64.Bytes(), false},
		{"gzip comment", Gzip, comment.Bytes(), false},
		{"gzip name", Gzip, named.Bytes(), true},
		{"gzip truncated", Gzip, []byte{0x1f, 0x8b, 8}, false},
		{"zstd garbage", Zstd, []byte{0x28, 0xb5, 0x2f, 0xfd}, false},
	}
	for _, tc := range tests {
		err := KernelCheck(tc.f, tc.b)
		if (err == nil) != tc.ok {
			t.Errorf("%s: KernelCheck = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if !tc.ok {
			if _, _, err := Decode(tc.b, 1<<20); err == nil {
				t.Errorf("%s: Decode accepted it", tc.name)
			}
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Format
		ext  string
	}{{"none", None, ""}, {"", None, ""}, {"gzip", Gzip, ".gz"}, {"xz", XZ, ".xz"}, {"zstd", Zstd, ".zst"}, {"ZST", Zstd, ".zst"}} {
		f, err := ParseFormat(tc.in)
		if err != nil || f != tc.want || f.Ext() != tc.ext {
			t.Errorf("ParseFormat(%q) = %v %q, %v", tc.in, f, f.Ext(), err)
		}
	}
	if _, err := ParseFormat("bzip2"); err == nil {
		t.Error("bzip2 accepted")
	}
}

// TestSystemTools checks our output with the tools kbuild and distributions
// use (installed by tools/install/testdata/install-deps.sh).
func TestSystemTools(t *testing.T) {
	data := sample(1<<20, 7)
	dir := t.TempDir()
	for _, tc := range []struct {
		f    Format
		tool string
	}{{Gzip, "gzip"}, {XZ, "xz"}, {Zstd, "zstd"}} {
		path, ok := testfs.HaveTool(t, tc.tool)
		if !ok {
			continue
		}
		a, err := Encode(tc.f, data)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, "m.ko"+tc.f.Ext())
		if err := os.WriteFile(name, a, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(path, "-t", name).CombinedOutput(); err != nil {
			t.Errorf("%s -t: %v\n%s", tc.tool, err, out)
		}
		out, err := exec.Command(path, "-dc", name).Output()
		if err != nil || !bytes.Equal(out, data) {
			t.Errorf("%s -dc: %v, %d bytes", tc.tool, err, len(out))
		}
	}
}

// TestDecodeSystemOutput reads what the system tools write with kbuild's
// options.
func TestDecodeSystemOutput(t *testing.T) {
	data := sample(256<<10, 9)
	dir := t.TempDir()
	for _, tc := range []struct {
		f    Format
		args []string
	}{
		{Gzip, []string{"gzip", "-n", "-f"}},
		{XZ, []string{"xz", "--check=crc32", "--lzma2=dict=1MiB", "-f"}},
		{Zstd, []string{"zstd", "--rm", "-f", "-q"}},
	} {
		if _, ok := testfs.HaveTool(t, tc.args[0]); !ok {
			continue
		}
		name := filepath.Join(dir, "m.ko")
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(tc.args[0], append(tc.args[1:], name)...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, out)
		}
		a, err := os.ReadFile(name + tc.f.Ext())
		if err != nil {
			t.Fatal(err)
		}
		got, f, err := Decode(a, 1<<20)
		if err != nil || f != tc.f || !bytes.Equal(got, data) {
			t.Errorf("%v: Decode = %v, %v, %d bytes", tc.args, f, err, len(got))
		}
	}
}

// Scan keeps small contents whole and of bigger ones only the first and
// last bytes, in every format, around the boundaries.
func TestScan(t *testing.T) {
	const keep, tail = 10000, 3000
	for _, n := range []int{0, 1, tail - 1, tail, keep - 1, keep, keep + 1, 2 * keep, 100 * keep} {
		data := sample(n, int64(n))
		for _, f := range Formats {
			enc, err := Encode(f, data)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Scan(bytes.NewReader(enc), 1<<30, keep, tail)
			if err != nil {
				t.Fatalf("%v, %d bytes: %v", f, n, err)
			}
			if c.Format != f || c.Size != int64(n) {
				t.Errorf("%v, %d bytes: format %v, size %d", f, n, c.Format, c.Size)
			}
			if n <= keep {
				if !bytes.Equal(c.Whole, data) {
					t.Errorf("%v, %d bytes: not kept whole", f, n)
				}
				continue
			}
			if c.Whole != nil || !bytes.Equal(c.Tail, data[n-tail:]) || !bytes.Equal(c.Head, data[:64]) {
				t.Errorf("%v, %d bytes: whole %d bytes, tail %d bytes (equal %v), head equal %v", f, n,
					len(c.Whole), len(c.Tail), bytes.Equal(c.Tail, data[n-tail:]), bytes.Equal(c.Head, data[:64]))
			}
		}
	}
	for _, f := range Formats {
		enc, _ := Encode(f, make([]byte, 5*keep))
		if _, err := Scan(bytes.NewReader(enc), 4*keep, keep, tail); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%v: past the limit: %v, want ErrTooLarge", f, err)
		}
	}
}

// Scan reuses the memory of released contents: each content must still be
// exactly its own, a content kept without Release must not be overwritten
// by later scans, and Release must leave nothing to read.
func TestScanReusesReleasedBuffers(t *testing.T) {
	const keep, tail = 1 << 16, 512
	kept := sample(keep/2, 99)
	enc, err := Encode(Zstd, kept)
	if err != nil {
		t.Fatal(err)
	}
	held, err := Scan(bytes.NewReader(enc), 1<<30, keep, tail)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range []int{keep, 100, keep / 2, 3 * keep, keep - 1, 7} {
		data := sample(n, int64(i))
		f := Formats[i%len(Formats)]
		b, err := Encode(f, data)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ScanStrict(bytes.NewReader(b), 1<<30, keep, tail)
		if err != nil {
			t.Fatalf("%v, %d bytes: %v", f, n, err)
		}
		if got := c.Tail; !bytes.Equal(got, data[max(0, n-tail):]) && !bytes.Equal(got, data) {
			t.Errorf("%v, %d bytes: tail differs after reuse", f, n)
		}
		if n <= keep && !bytes.Equal(c.Whole, data) {
			t.Errorf("%v, %d bytes: whole content differs after reuse", f, n)
		}
		c.Release()
		if c.Whole != nil || c.Head != nil || c.Tail != nil || c.Size != int64(n) {
			t.Errorf("%v, %d bytes: after Release: whole %d, head %d, tail %d bytes, size %d",
				f, n, len(c.Whole), len(c.Head), len(c.Tail), c.Size)
		}
	}
	if !bytes.Equal(held.Whole, kept) {
		t.Error("a content kept without Release was overwritten by later scans")
	}
}

// A reader's decoder and buffer go back to their pools on Close: reading
// on must fail, not read another stream's data.
func TestReadAfterClose(t *testing.T) {
	for _, f := range Formats {
		b, err := Encode(f, sample(1<<17, 5))
		if err != nil {
			t.Fatal(err)
		}
		r, _, err := NewReader(bytes.NewReader(b), 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Read(make([]byte, 100)); err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		r.Close()
		if n, err := r.Read(make([]byte, 100)); n != 0 || err == nil {
			t.Errorf("%v: read after Close: %d bytes, error %v", f, n, err)
		}
	}
}

// Both encoders of every format: deterministic, readable back, and the
// system's exactly what kbuild's command line writes.
func TestEncoders(t *testing.T) {
	data := sample(300<<10, 11)
	dir := t.TempDir()
	file := filepath.Join(dir, "m.ko")
	os.WriteFile(file, data, 0o644)
	kbuild := map[Format][]string{
		Gzip: {"gzip", "-n", "-f", "-k"},
		XZ:   {"xz", "--check=crc32", "--lzma2=dict=1MiB", "-f", "-k"},
		Zstd: {"zstd", "-T0", "-f", "-q", "-k"},
	}
	for _, f := range Formats {
		for _, builtin := range []bool{true, false} {
			e := SystemEncoder(f, builtin)
			if f != None && !builtin && e.Path == "" {
				t.Logf("%v: no system program", f)
				continue
			}
			var a, b bytes.Buffer
			if err := e.Compress(&a, bytes.NewReader(data), int64(len(data))); err != nil {
				t.Fatalf("%v: %v", e, err)
			}
			e.Compress(&b, bytes.NewReader(data), int64(len(data)))
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Errorf("%v: not deterministic", e)
			}
			got, g, err := Decode(a.Bytes(), 1<<30)
			if err != nil || g != f || !bytes.Equal(got, data) {
				t.Errorf("%v: decodes to %v, %v, %d bytes", e, g, err, len(got))
			}
			if f == None || builtin {
				continue
			}
			if out, err := exec.Command(kbuild[f][0], append(kbuild[f][1:], file)...).CombinedOutput(); err != nil {
				t.Fatalf("%v: %v: %s", kbuild[f], err, out)
			}
			if want := readFile(t, file+f.Ext()); !bytes.Equal(a.Bytes(), want) {
				t.Errorf("%v: %d bytes differ from kbuild's %d", e, a.Len(), len(want))
			}
		}
	}
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Scan never fails differently from Decode, and keeps what it promises.
func FuzzScan(f *testing.F) {
	for _, fm := range Formats {
		b, _ := Encode(fm, sample(5000, 3))
		f.Add(b, uint16(1000), uint16(100))
	}
	f.Fuzz(func(t *testing.T, b []byte, keep, tail uint16) {
		c, err := Scan(bytes.NewReader(b), 1<<20, int(keep), int(tail)+1)
		want, _, werr := Decode(b, 1<<20)
		if (err == nil) != (werr == nil) {
			t.Fatalf("Scan error %v, Decode error %v", err, werr)
		}
		if err != nil {
			return
		}
		if c.Size != int64(len(want)) {
			t.Fatalf("size %d, Decode gives %d bytes", c.Size, len(want))
		}
		if c.Whole != nil && !bytes.Equal(c.Whole, want) || !bytes.HasSuffix(want, c.Tail) || !bytes.HasPrefix(want, c.Head) {
			t.Fatalf("kept bytes differ from the content")
		}
		if c.Whole == nil && len(c.Tail) < min(len(want), int(tail)+1) {
			t.Fatalf("tail of %d bytes, want %d", len(c.Tail), int(tail)+1)
		}
	})
}

// A stream that expands past the limit is refused when its output crosses
// the limit, not after decompressing the rest: NewReader has read only the
// part of the input the limit needs, plus its buffers.
func TestRefusedAtLimit(t *testing.T) {
	const limit, total = 256 << 10, 4 << 20
	data := sample(total, 7)
	for _, f := range Formats[1:] {
		t.Run(f.String(), func(t *testing.T) {
			enc, err := Encode(f, data)
			if err != nil {
				t.Fatal(err)
			}
			in := bytes.NewReader(enc)
			dec, _, err := NewReader(in, limit)
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			n, err := io.Copy(io.Discard, dec)
			if !errors.Is(err, ErrTooLarge) || n != limit {
				t.Fatalf("%d bytes, error %v; want %d bytes and ErrTooLarge", n, err, limit)
			}
			// A sixteenth of the output needs about a sixteenth of the
			// input; a quarter leaves room for the decoders' buffers.
			read := len(enc) - in.Len()
			if read > len(enc)/4 {
				t.Errorf("read %d of %d compressed bytes to refuse at %d of %d bytes", read, len(enc), limit, total)
			}
			t.Logf("read %d of %d compressed bytes", read, len(enc))
		})
	}
}

// The built-in zstd encoder writes what the kernel's module_zstd_decompress
// handles with the least memory: one frame with the content size, zstd
// -3's window at most, and a checksum; the same bytes every time, whatever
// encoder of the pool writes them.
func TestBuiltinZstdFrame(t *testing.T) {
	e, err := ChooseEncoder(Zstd, Auto)
	if err != nil || e.Path != "" {
		t.Fatalf("default zstd encoder %v, %v: want the built-in one", e, err)
	}
	for _, n := range []int{0, 1000, 300 << 10, 5 << 20} { // 5 MiB: more than the window
		data := sample(n, 7)
		var a, b bytes.Buffer
		if err := e.Compress(&a, bytes.NewReader(data), int64(n)); err != nil {
			t.Fatal(err)
		}
		if err := e.Compress(&b, bytes.NewReader(data), int64(n)); err != nil || !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%d bytes: not deterministic (%v)", n, err)
		}
		var h zstd.Header
		if err := h.Decode(a.Bytes()); err != nil {
			t.Fatal(err)
		}
		// (An empty input gets no content size: there are no empty modules.)
		if (n > 0 && (!h.HasFCS || h.FrameContentSize != uint64(n))) || !h.HasCheckSum || h.WindowSize > 1<<21 {
			t.Errorf("%d bytes: frame header %+v: want the content size, a checksum and a window <= 2 MiB", n, h)
		}
		got, _, err := Decode(a.Bytes(), 1<<30)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%d bytes: decodes to %d bytes, %v", n, len(got), err)
		}
		// The zstd tool is a second decoder (HaveTool fails the test in CI
		// without it).
		if p, ok := testfs.HaveTool(t, "zstd"); ok {
			cmd := exec.Command(p, "-t", "-q")
			cmd.Stdin = bytes.NewReader(a.Bytes())
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%d bytes: zstd -t: %v: %s", n, err, out)
			}
		}
	}
}
