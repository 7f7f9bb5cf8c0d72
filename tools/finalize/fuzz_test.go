package finalize

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/modhashes/modhashes/tools/elfedit"
	"github.com/modhashes/modhashes/tools/elfedit/elftest"
)

// FuzzPlan runs the vmlinux step, with and without a root, on arbitrary
// input seeded with the miniature kernels: no panic, clear errors, and a
// written result that parses and holds the root.
func FuzzPlan(f *testing.F) {
	src, _ := filepath.Abs("../elfedit/testdata/mini.S")
	dir := f.TempDir()
	for _, tc := range elftest.Toolchains {
		if !haveTools(tc, "as", "ld") {
			continue
		}
		for _, layout := range []string{"text", "data"} {
			lds, _ := filepath.Abs("../elfedit/testdata/" + layout + ".lds")
			b, err := os.ReadFile(tc.Build(f, dir, src, lds, "--emit-relocs"))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	root := testRoot()
	f.Fuzz(func(t *testing.T, data []byte) {
		ef, err := elfedit.Parse(data)
		if err != nil {
			var fe *elfedit.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("Parse error %v is not a FormatError", err)
			}
			return
		}
		for _, opt := range []Options{{}, {Root: &root}} {
			o, err := Plan(ef, opt)
			if err != nil {
				continue
			}
			var buf bytes.Buffer
			if _, err := o.WriteTo(&buf); err != nil {
				t.Fatal(err)
			}
			g, err := elfedit.Parse(buf.Bytes())
			if err != nil {
				t.Fatalf("output does not parse: %v", err)
			}
			if opt.Root != nil {
				b, err := elfedit.Dump(g, Section)
				if err != nil || !bytes.Equal(b, root.Binary(g.ByteOrder())) {
					t.Fatalf("output %s = %x, %v; want the root", Section, b, err)
				}
			}
			for _, gone := range []string{".modinfo", ".rela.text", ".rel.text"} {
				if g.SectionByName(gone) >= 0 {
					t.Fatalf("output still has %s", gone)
				}
			}
		}
	})
}

func haveTools(tc elftest.Toolchain, tools ...string) bool {
	for _, tool := range tools {
		if _, err := lookPath(tc.Prefix + tool); err != nil {
			return false
		}
	}
	return true
}
