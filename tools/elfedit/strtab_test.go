package elfedit

import (
	"math/rand"
	"slices"
	"testing"
)

// revSort orders distinct strings exactly as a comparison sort by
// revCompare does, on strings sharing long suffixes, proper suffixes of
// each other, and sizes on both sides of the insertion-sort cut-off.
func TestRevSort(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	suffixes := []string{"", "_init", "__initcall_init", "_show", "s", "ss", "__ksymtab"}
	for _, n := range []int{0, 1, 2, 11, 12, 13, 100, 5000} {
		seen := map[string]bool{}
		var strs []string
		for len(strs) < n {
			b := make([]byte, rng.Intn(6))
			for i := range b {
				b[i] = "abc_s"[rng.Intn(5)]
			}
			s := string(b) + suffixes[rng.Intn(len(suffixes))]
			if s != "" && !seen[s] {
				seen[s] = true
				strs = append(strs, s)
			}
		}
		want := make([]int32, n)
		for i := range want {
			want[i] = int32(i)
		}
		got := slices.Clone(want)
		slices.SortFunc(want, func(a, b int32) int { return revCompare(strs[a], strs[b]) })
		revSort(got, 0, strs)
		if !slices.Equal(got, want) {
			t.Fatalf("%d strings: revSort order differs from revCompare's", n)
		}
	}
}
