package install

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modhashes/modhashes/tools/compress"
	"github.com/modhashes/modhashes/tools/internal/testfs"
)

// TestBadCompressor: a compressor that fails, or writes a stream the kernel
// or kmod would refuse, is reported by its name with the module, and no
// module is installed from its output.
func TestBadCompressor(t *testing.T) {
	for _, tc := range []struct {
		name, tool, script, want string
		f                        compress.Format
	}{
		{"xz without index and footer", "xz", `"$REAL" "$@" | head -c -24`, "which does not decompress: cannot decompress: xz: stream ends without its index and footer", compress.XZ},
		{"gzip without trailer", "gzip", `"$REAL" "$@" | head -c -8`, "which does not decompress", compress.Gzip},
		{"zstd cut", "zstd", `"$REAL" "$@" | head -c -5`, "which does not decompress", compress.Zstd},
		{"failing xz", "xz", `echo 'out of memory' >&2; exit 3`, "failed writing", compress.XZ},
	} {
		t.Run(tc.name, func(t *testing.T) {
			real := testfs.Tool(t, tc.tool)
			bin := t.TempDir()
			script := "#!/bin/sh\nREAL=" + real + "\n" + tc.script + "\n"
			if err := os.WriteFile(filepath.Join(bin, tc.tool), []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}
			t.Setenv("PATH", bin+":"+os.Getenv("PATH"))
			objtree := vectorTree(t, "n05")
			dest := filepath.Join(t.TempDir(), "dest")
			o := opts(objtree, dest)
			o.Compression = tc.f
			// zstd is compressed in-process unless the system's is asked for.
			o.SystemEncoder = tc.f == compress.Zstd
			_, err := Install(o)
			if err == nil {
				t.Fatal("installed")
			}
			msg := err.Error()
			for _, w := range []string{tc.want, filepath.Join(bin, tc.tool), "module " + objtree} {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q\ndoes not contain %q", msg, w)
				}
			}
			if strings.Contains(msg, "unsigned") {
				t.Errorf("error %q calls the module unsigned", msg)
			}
			if n := countModules(t, dest); n != 0 {
				t.Errorf("%d modules installed", n)
			}
		})
	}
}

func countModules(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".ko") {
			n++
		}
		return nil
	})
	return n
}
