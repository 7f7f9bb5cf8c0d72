package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/modhashes/modhashes/tools/hashesroot"
	"github.com/modhashes/modhashes/tools/internal/parallel"
)

// Files checks the named module files with jobs workers (0: one per CPU)
// and explains the failures (see Explain). Results are in the order of
// names. A file that cannot be read is an error, not an outcome.
func Files(names []string, root hashesroot.Root, jobs int) ([]Result, error) {
	results := make([]Result, len(names))
	errs := parallel.For(len(names), jobs, func(_, i int) (err error) {
		results[i], err = checkFile(names[i], root)
		return err
	})
	if err := parallel.First(errs); err != nil {
		return nil, err
	}
	Explain(results)
	return results, nil
}

func checkFile(name string, root hashesroot.Root) (Result, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return Result{}, err
	}
	if !fi.Mode().IsRegular() {
		return Result{}, fmt.Errorf("%s: not a regular file", name)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return Result{}, err
	}
	r := File(b, root)
	r.File = name
	return r, nil
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
			if d.Type().IsRegular() && slices.ContainsFunc(ModuleSuffixes, func(s string) bool { return strings.HasSuffix(name, s) }) {
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
