package parallel_test

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/modhashes/modhashes/tools/internal/parallel"
)

func TestForVisitsEachIndexOnce(t *testing.T) {
	for _, tc := range []struct{ n, jobs int }{{0, 4}, {1, 4}, {1000, 1}, {1000, 3}, {7, 0}} {
		seen := make([]atomic.Int32, tc.n)
		workers := parallel.Jobs(tc.jobs, tc.n)
		errs := parallel.For(tc.n, tc.jobs, func(w, i int) error {
			if w < 0 || w >= workers {
				return fmt.Errorf("worker %d out of range", w)
			}
			seen[i].Add(1)
			if i%10 == 3 {
				return fmt.Errorf("item %d", i)
			}
			return nil
		})
		for i := range seen {
			if seen[i].Load() != 1 {
				t.Fatalf("n=%d jobs=%d: item %d ran %d times", tc.n, tc.jobs, i, seen[i].Load())
			}
			if (errs[i] != nil) != (i%10 == 3) {
				t.Fatalf("item %d: error %v", i, errs[i])
			}
		}
		if tc.n > 3 && parallel.First(errs).Error() != "item 3" {
			t.Errorf("First = %v", parallel.First(errs))
		}
	}
	if parallel.First([]error{nil, nil}) != nil || !errors.Is(parallel.First([]error{nil, errors.ErrUnsupported}), errors.ErrUnsupported) {
		t.Error("First")
	}
}
