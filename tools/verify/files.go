package verify

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/modhashes/modhashes/tools/compress"
	"github.com/modhashes/modhashes/tools/hashesroot"
	"github.com/modhashes/modhashes/tools/internal/input"
	"github.com/modhashes/modhashes/tools/internal/parallel"
	"github.com/modhashes/modhashes/tools/merkle"
	"github.com/modhashes/modhashes/tools/modsig"
)

// Files checks the named module files with jobs workers (0: one per CPU)
// and explains the failures (see Explain). Results are in the order of
// names. A file that cannot be read is an error, not an outcome.
func Files(names []string, root hashesroot.Root, jobs int) ([]Result, error) {
	results := make([]Result, len(names))
	errs := parallel.For(len(names), jobs, func(_, i int) (err error) {
		results[i], err = checkFile(names[i], root, false)
		return err
	})
	if err := parallel.First(errs); err != nil {
		return nil, err
	}
	Explain(results)
	return results, nil
}

// Bounds of what checkFile holds of one module: smaller modules are checked
// in memory after one read; bigger ones keep only their tail and are
// decompressed a second time to be hashed, which keeps a job's memory small
// whatever the module's size.
const (
	keepWhole = 8 << 20
	keepTail  = modsig.MaxTrailerSize
)

// CheckFile checks one module file, plain or compressed, streaming it: its
// memory use is bounded whatever the module's size. A file that cannot be
// read is an error, not an outcome.
func CheckFile(name string, root hashesroot.Root) (Result, error) {
	return checkFile(name, root, false)
}

// CheckWritten is CheckFile for a file a compressor just wrote: it also
// requires the container's own checks (gzip trailer, complete zstd frames;
// see compress.NewStrictReader), which the kernel skips but a correct
// compressor always writes.
func CheckWritten(name string, root hashesroot.Root) (Result, error) {
	return checkFile(name, root, true)
}

func checkFile(name string, root hashesroot.Root, strict bool) (Result, error) {
	f, err := input.Open(name)
	if err != nil {
		return Result{}, err
	}
	defer f.Close()
	scan := compress.Scan
	if strict {
		scan = compress.ScanStrict
	}
	c, err := scan(f, MaxModuleSize, keepWhole, keepTail)
	defer c.Release() // the Result keeps nothing of it
	var r Result
	switch {
	case err != nil && !isReadError(err):
		r = decompressError(c.Format, err)
	case err != nil:
		return Result{}, fmt.Errorf("%s: %w", name, err)
	case c.Whole != nil:
		r = Module(c.Whole, root)
	default:
		r = check(view{size: c.Size, tail: c.Tail, leaf: func(pos uint32, n int64) (merkle.Hash, error) {
			return leafOfFile(name, pos, n)
		}}, root)
		r.Enforced = r.Code.Enforced()
	}
	r.Compression = c.Format
	r.File = name
	return r, nil
}

// isReadError tells a failing file from a failing decompressor.
func isReadError(err error) bool {
	var pe *os.PathError
	return errors.As(err, &pe)
}

// leafOfFile is the second pass over a big module: the leaf hash of its
// first n decompressed bytes.
func leafOfFile(name string, pos uint32, n int64) (merkle.Hash, error) {
	f, err := input.Open(name)
	if err != nil {
		return merkle.Hash{}, err
	}
	defer f.Close()
	dec, _, err := compress.NewReader(f, MaxModuleSize)
	if err != nil {
		return merkle.Hash{}, err
	}
	defer dec.Close()
	cr := &countingReader{r: io.LimitReader(dec, n)}
	h, err := merkle.Leaf(pos, cr, nil)
	if err == nil && cr.n != n {
		err = fmt.Errorf("%s changed while being checked", name)
	}
	return h, err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ModuleSuffixes are the files Expand takes from a directory.
var ModuleSuffixes = []string{".ko", ".ko.gz", ".ko.xz", ".ko.zst"}

// Expand replaces each directory among paths by the modules below it, in
// sorted order; other paths are kept as given.
func Expand(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, p)
			continue
		}
		var found []string
		err = filepath.WalkDir(p, func(name string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !slices.ContainsFunc(ModuleSuffixes, func(s string) bool { return strings.HasSuffix(name, s) }) {
				return nil
			}
			// A link to a regular file counts (Bazel's trees and runfiles are links).
			if d.Type()&fs.ModeSymlink != 0 {
				if fi, err := os.Stat(name); err == nil && fi.Mode().IsRegular() {
					found = append(found, name)
				}
				return nil
			}
			if d.Type().IsRegular() {
				found = append(found, name)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

// Failed counts the modules that would not load.
func Failed(results []Result) int {
	n := 0
	for _, r := range results {
		if !r.OK() {
			n++
		}
	}
	return n
}

// WriteJSON writes the results as one JSON document with the root checked
// against and a summary.
func WriteJSON(w io.Writer, root hashesroot.Root, results []Result) error {
	if results == nil {
		results = []Result{}
	}
	type rootJSON struct {
		Levels uint32 `json:"levels"`
		Hash   string `json:"hash"`
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Root    rootJSON `json:"root"`
		OK      bool     `json:"ok"`
		Failed  int      `json:"failed"`
		Modules []Result `json:"modules"`
	}{rootJSON{root.Levels, root.Hash.String()}, Failed(results) == 0, Failed(results), results})
}
