package compress

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/modhashes/modhashes/tools/internal/testfs"
)

// systemCompress runs the system's compressor with kbuild's options: the
// streams under test come from an independent encoder.
func systemCompress(t *testing.T, f Format, data []byte) []byte {
	t.Helper()
	args := map[Format][]string{
		Gzip: {"gzip", "-n", "-9", "-c"},
		XZ:   {"xz", "--check=crc32", "--lzma2=dict=1MiB", "-c"},
		Zstd: {"zstd", "-q", "-c"},
	}[f]
	tool := testfs.Tool(t, args[0])
	in := filepath.Join(t.TempDir(), "m.ko")
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, append(args[1:], in)...).Output()
	if err != nil {
		t.Fatalf("%v: %v", args, err)
	}
	return out
}

// TestDamagedStreams: which damaged streams the kernel's decompressors
// (NewReader) and a strict reader (NewStrictReader) accept, and what the
// kernel then gets.
func TestDamagedStreams(t *testing.T) {
	data := sample(300<<10, 3)
	cut := func(n int) func([]byte) []byte { return func(b []byte) []byte { return b[:len(b)-n] } }
	flip := func(back int) func([]byte) []byte {
		return func(b []byte) []byte { b[len(b)-back] ^= 0x55; return b }
	}
	for _, tc := range []struct {
		name   string
		f      Format
		damage func([]byte) []byte
		kernel int // bytes the kernel decodes; -1: refused
		strict bool
	}{
		{"xz intact", XZ, cut(0), len(data), true},
		{"xz without index and footer", XZ, cut(24), -1, false},
		{"xz without footer", XZ, cut(12), -1, false},
		{"xz footer damaged", XZ, flip(6), -1, false},
		{"xz one byte short", XZ, cut(1), -1, false},
		{"gzip intact", Gzip, cut(0), len(data), true},
		{"gzip without trailer", Gzip, cut(8), len(data), false},
		{"gzip CRC32 garbled", Gzip, flip(8), len(data), false},
		{"gzip size garbled", Gzip, flip(1), len(data), false},
		{"gzip deflate data cut", Gzip, cut(100), -1, false},
		{"zstd intact", Zstd, cut(0), len(data), true},
		{"zstd without checksum", Zstd, cut(4), -1, false}, // the kernel loads it: see NewReader
		{"zstd checksum garbled", Zstd, flip(1), -1, false},
		{"zstd last block cut", Zstd, cut(5), -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.damage(systemCompress(t, tc.f, data))
			got, f, err := Decode(b, 1<<30)
			switch {
			case f != tc.f:
				t.Errorf("format %v, want %v", f, tc.f)
			case tc.kernel < 0 && err == nil:
				t.Errorf("kernel model accepted it (%d bytes)", len(got))
			case tc.kernel >= 0 && err != nil:
				t.Errorf("kernel model refused it: %v", err)
			case tc.kernel >= 0 && !bytes.Equal(got, data[:tc.kernel]):
				t.Errorf("kernel model decoded %d bytes, want the first %d", len(got), tc.kernel)
			}
			_, serr := ScanStrict(bytes.NewReader(b), 1<<30, 1<<30, 64)
			if (serr == nil) != tc.strict {
				t.Errorf("strict reader: error %v, want accepted=%v", serr, tc.strict)
			}
		})
	}
}
