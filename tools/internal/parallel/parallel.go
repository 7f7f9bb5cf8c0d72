// Package parallel runs independent work items on a bounded number of
// goroutines: the stages hash, install and verify thousands of modules.
package parallel

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Jobs is the number of goroutines For uses for a requested count: the
// number of CPUs when jobs <= 0, never more than n.
func Jobs(jobs, n int) int {
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	return max(min(jobs, n), 0)
}

// For calls f(worker, i) for every i in [0, n) on Jobs(jobs, n) goroutines
// and returns f's errors by index. Indexes come from a shared counter, which
// is cheaper than a channel when the items are thousands of small files;
// worker (0 <= worker < Jobs) lets f keep per-goroutine scratch buffers.
func For(n, jobs int, f func(worker, i int) error) []error {
	errs := make([]error, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < Jobs(jobs, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				errs[i] = f(w, i)
			}
		}()
	}
	wg.Wait()
	return errs
}

// First returns the error of the lowest index, or nil.
func First(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
