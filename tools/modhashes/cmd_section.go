package main

import (
	"fmt"

	"github.com/modhashes/modhashes/tools/atomicfile"
	"github.com/modhashes/modhashes/tools/elfedit"
	"github.com/modhashes/modhashes/tools/internal/input"
)

func init() {
	register("section", "dump or replace one ELF section's contents (objcopy --dump-section/--update-section)", runSection)
}

const sectionSynopsis = "section dump NAME IN OUT | section update [--in-place] NAME FILE IN OUT"

func runSection(args []string) error {
	fs := newFlags("section", sectionSynopsis)
	inPlace := fs.Bool("in-place", false, "update: allow OUT to be IN (replaced atomically)")
	if err := parse(fs, args); err != nil {
		return err
	}
	a := fs.Args()
	if len(a) == 0 {
		return usageErrorf(fs, "want dump or update")
	}
	switch a[0] {
	case "dump":
		if len(a) != 4 {
			return usageErrorf(fs, "dump wants NAME IN OUT")
		}
		return sectionDump(a[1], a[2], a[3])
	case "update":
		if len(a) != 5 {
			return usageErrorf(fs, "update wants NAME FILE IN OUT")
		}
		return sectionUpdate(a[1], a[2], a[3], a[4], *inPlace)
	}
	return usageErrorf(fs, "unknown action %q: want dump or update", a[0])
}

func sectionDump(name, in, out string) error {
	f, err := elfedit.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	b, err := elfedit.Dump(f, name)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	return atomicfile.WriteFile(out, b, 0o644)
}

func sectionUpdate(name, file, in, out string, inPlace bool) error {
	data, err := input.ReadFile(file)
	if err != nil {
		return err
	}
	return editFile(in, out, inPlace, elfedit.Options{Update: map[string][]byte{name: data}})
}

// editFile applies an edit to IN and writes OUT atomically.
func editFile(in, out string, inPlace bool, opt elfedit.Options) error {
	return elfedit.Rewrite(in, out, inPlace, func(f *elfedit.File) (*elfedit.Output, error) {
		return elfedit.Edit(f, opt)
	})
}
