package main

import "github.com/modhashes/modhashes/tools/elfedit"

func init() {
	register("strip", "remove sections and unneeded symbols with objcopy's pattern rules", runStrip)
}

func runStrip(args []string) error {
	fs := newFlags("strip", "strip [--remove-section PATTERN]... [--strip-unneeded-symbol GLOB]... [--in-place] IN OUT")
	remove := fs.StringArray("remove-section", nil, "remove sections matching `PATTERN` (shell glob; a leading '!' excludes; '.rel*' patterns also drop relocations, as objcopy)")
	unneeded := fs.StringArray("strip-unneeded-symbol", nil, "remove symbols matching `GLOB` unless a kept relocation needs them (objcopy -w rules)")
	inPlace := fs.Bool("in-place", false, "allow OUT to be IN (replaced atomically)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usageErrorf(fs, "want IN and OUT, got %d arguments", fs.NArg())
	}
	return editFile(fs.Arg(0), fs.Arg(1), *inPlace, elfedit.Options{
		RemoveSections: *remove,
		StripUnneeded:  *unneeded,
	})
}
