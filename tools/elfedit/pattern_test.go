package elfedit

import (
	"bufio"
	"bytes"
	"math/rand"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modhashes/modhashes/tools/internal/testfs"
)

func TestPatternsMatch(t *testing.T) {
	kbuild := Patterns{".modinfo", ".rel*", "!.rel*.dyn", ".rel.*"}
	for _, tc := range []struct {
		p    Patterns
		name string
		want bool
	}{
		{kbuild, ".modinfo", true},
		{kbuild, ".rela.text", true},
		{kbuild, ".rel.text", true},
		{kbuild, ".rela.dyn", false},
		{kbuild, ".rel.dyn", false},
		{kbuild, ".relr.dyn", false},
		{kbuild, ".rela.dyn.x", true},
		{kbuild, ".text", false},
		{kbuild, ".modinfo2", false},
		{Patterns{"!.rel*.dyn", ".rel*"}, ".rela.dyn", false}, // order does not matter
		{Patterns{"!*"}, ".text", false},
		{Patterns{"__mod_device_table__*"}, "__mod_device_table__pci__e1000", true},
		{Patterns{"__mod_device_table__*"}, "__mod_device_table_", false},
		{Patterns{"a", "b"}, "b", true},
		{nil, "a", false},
	} {
		if got := tc.p.Match(tc.name); got != tc.want {
			t.Errorf("%q.Match(%q) = %v, want %v", tc.p, tc.name, got, tc.want)
		}
	}
}

// TestFnmatchAgainstLibc compares fnmatch with the C library's on
// hand-picked and random patterns.
func TestFnmatchAgainstLibc(t *testing.T) {
	gcc := testfs.Tool(t, "gcc")
	bin := filepath.Join(t.TempDir(), "fnmatch")
	if out, err := exec.Command(gcc, "-O", "-o", bin, "testdata/fnmatch.c").CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	type pair struct{ pat, name string }
	var pairs []pair
	fixed := []string{
		"*", "?", ".rel*", ".rel*.dyn", ".rel.*", "[abc]", "[!abc]", "[^abc]", "[a-c]x",
		"[]]", "[]a]", "[!]]", "[", "[a", "a[", "\\*", "\\", "a\\", "*\\?", "[[:alpha:]]*",
		"[[:digit:][:upper:]]", "[a-]", "[-a]", "*.*", "**", "*a*b*", ".text", "[\\]]", "[a\\-z]",
		"[z-a]", "[[:bogus:]]", "[[:alpha:]", "a*[", "?*?", "\\[a]",
	}
	names := []string{
		"", "a", "b", "]", "-", ".rela.text", ".rel.dyn", ".rela.dyn", ".text", "*", "?",
		"\\", "[", "abc", "x.y", "ab", "ba", "aXb", "Z1", "[a]", "a[",
	}
	for _, p := range fixed {
		for _, n := range names {
			pairs = append(pairs, pair{p, n})
		}
	}
	rng := rand.New(rand.NewSource(1))
	const alpha = "ab.*?[]!^-\\:"
	gen := func(n int) string {
		var b strings.Builder
		for i := rng.Intn(n); i > 0; i-- {
			b.WriteByte(alpha[rng.Intn(len(alpha))])
		}
		return b.String()
	}
	for i := 0; i < 20000; i++ {
		pairs = append(pairs, pair{gen(8), strings.NewReplacer("*", "", "?", "").Replace(gen(8))})
	}
	var in bytes.Buffer
	for _, p := range pairs {
		in.WriteString(p.pat + "\t" + p.name + "\n")
	}
	cmd := exec.Command(bin)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	fails := 0
	for _, p := range pairs {
		if !sc.Scan() {
			t.Fatal("oracle output too short")
		}
		want := sc.Text() == "1"
		if got := fnmatch(p.pat, p.name); got != want {
			t.Errorf("fnmatch(%q, %q) = %v, libc says %v", p.pat, p.name, got, want)
			if fails++; fails > 20 {
				t.FailNow()
			}
		}
	}
}
