package verify

import (
	"fmt"
	"os"
	"runtime"
	"sync"

	"github.com/modhashes/modhashes/tools/hashesroot"
)

// Files checks the named module files with jobs workers (0: one per CPU)
// and explains the failures (see Explain). Results are in the order of
// names. A file that cannot be read is an error, not an outcome.
func Files(names []string, root hashesroot.Root, jobs int) ([]Result, error) {
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	jobs = min(jobs, len(names))
	results := make([]Result, len(names))
	errs := make([]error, len(names))
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results[i], errs[i] = checkFile(names[i], root)
			}
		}()
	}
	for i := range names {
		work <- i
	}
	close(work)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
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
