package install

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modhashes/modhashes/tools/compress"
	"github.com/modhashes/modhashes/tools/modorder"
)

// Two installs into one destination at once, with different compressions,
// leave every module installed once, in one of the two compressions: each
// would otherwise remove the other's files as stale.
func TestConcurrentInstalls(t *testing.T) {
	objtree := vectorTree(t, "n33")
	entries, err := modorder.Read(filepath.Join(objtree, "modules.order"))
	if err != nil {
		t.Fatal(err)
	}
	testHookAfterCommit = func() { time.Sleep(time.Millisecond) }
	defer func() { testHookAfterCommit = func() {} }()
	for round := 0; round < 3; round++ {
		dest := filepath.Join(t.TempDir(), "dest")
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, f := range []compress.Format{compress.Gzip, compress.Zstd} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				o := opts(objtree, dest)
				o.Compression, o.BuiltinEncoder, o.Jobs = f, true, 1
				_, errs[i] = Install(o)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		modDir := filepath.Join(dest, "lib/modules/6.99.0-test")
		for _, e := range entries {
			base := filepath.Join(modDir, filepath.FromSlash(InstalledPath(e)))
			var have []string
			for _, f := range compress.Formats {
				if _, err := os.Stat(base + f.Ext()); err == nil {
					have = append(have, f.String())
				}
			}
			if len(have) != 1 {
				t.Fatalf("round %d: %s installed as %s", round, base, strings.Join(have, ", "))
			}
		}
	}
}
