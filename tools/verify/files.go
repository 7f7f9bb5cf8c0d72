package verify

import (
	"fmt"
	"os"

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
