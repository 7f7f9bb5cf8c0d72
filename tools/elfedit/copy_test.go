package elfedit_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/modhashes/modhashes/tools/elfedit"
	"github.com/modhashes/modhashes/tools/elfedit/elftest"
)

// bigSrc has sections far above the size from which WriteFile copies
// unchanged input file to file, each word different so that a misplaced
// copy shows.
const bigSrc = `
	.section .text,"ax"
	.globl _start
_start:
	.rept 40000
	.long . - _start
	.endr
	.section .data,"aw"
data_start:
	.rept 30000
	.long 0x5a000000 + (. - data_start)
	.endr
	.section .modinfo,"a"
	.asciz "license=GPL"
	.section .module_hashes,"a"
	.fill 36, 1, 0
	.section .debug_big
big_start:
	.rept 30000
	.long 0x3c000000 + (. - big_start)
	.endr
	.section .debug_tail
	.asciz "after the big one"
`

// TestFileCopyMatchesMemory edits files whose sections are copied from the
// input file (Open: mapped, kept open; WriteFile, and Rewrite, which copies
// the file while it plans) and wants the bytes of the same edit of the file
// read into memory (Parse), and objcopy's. The edits leave most sections in
// place, change one inside a segment, and move the ones after a removed
// section and shorten the file.
func TestFileCopyMatchesMemory(t *testing.T) {
	lds, _ := filepath.Abs("testdata/text.lds")
	opts := []elfedit.Options{
		{RemoveSections: elfedit.Patterns{".modinfo", ".rel*"}},
		{Update: map[string][]byte{".module_hashes": bytes.Repeat([]byte{0xa5}, 36)}},
		{RemoveSections: elfedit.Patterns{".debug_big"}},
		{RemoveSections: elfedit.Patterns{".debug_tail"}, Update: map[string][]byte{".module_hashes": bytes.Repeat([]byte{0x5a}, 36)}},
	}
	for _, tc := range elftest.Toolchains {
		t.Run(tc.Name, func(t *testing.T) {
			dir := t.TempDir()
			src := filepath.Join(dir, "big.S")
			if err := os.WriteFile(src, []byte(bigSrc), 0o644); err != nil {
				t.Fatal(err)
			}
			in := tc.Build(t, dir, src, lds, "--emit-relocs")
			objcopy := tc.Tool(t, "objcopy")
			for k, opt := range opts {
				got := filepath.Join(dir, "got")
				if err := edit(in, got, opt); err != nil {
					t.Fatalf("case %d: %v", k, err)
				}
				o, err := elfedit.Edit(elftest.Parse(t, in), opt)
				if err != nil {
					t.Fatalf("case %d: %v", k, err)
				}
				var mem bytes.Buffer
				if _, err := o.WriteTo(&mem); err != nil {
					t.Fatal(err)
				}
				if b, _ := os.ReadFile(got); !bytes.Equal(b, mem.Bytes()) {
					t.Errorf("case %d: file copy gives other bytes than the edit in memory", k)
				}
				rewritten := filepath.Join(dir, "rewritten")
				err = elfedit.Rewrite(in, rewritten, false, func(f *elfedit.File) (*elfedit.Output, error) {
					return elfedit.Edit(f, opt)
				})
				if err != nil {
					t.Fatalf("case %d: %v", k, err)
				}
				if b, _ := os.ReadFile(rewritten); !bytes.Equal(b, mem.Bytes()) {
					t.Errorf("case %d: Rewrite gives other bytes than the edit in memory", k)
				}
				want := filepath.Join(dir, "want")
				elftest.Run(t, objcopy, append(objcopyArgs(opt, dir), in, want)...)
				if !elftest.Compare(t, got, want) {
					t.Errorf("case %d: not byte-identical with objcopy", k)
				}
			}
		})
	}
}
