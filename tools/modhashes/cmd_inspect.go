package main

import (
	"fmt"
	"os"

	"github.com/modhashes/modhashes/tools/inspect"
)

func init() {
	register("inspect", "show the root in a vmlinux, or the trailer of a module or .merkle file", runInspect)
}

func runInspect(args []string) error {
	fs := newFlags("inspect", "inspect [-q | --json] FILE...")
	out := addReportFlags(fs, "print nothing: the exit status tells whether every file could be read")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageErrorf(fs, "no files given")
	}
	if err := out.check(); err != nil {
		return usageErrorf(fs, "%v", err)
	}
	reports := make([]*inspect.Report, 0, fs.NArg())
	for _, name := range fs.Args() {
		r, err := inspect.File(name)
		if err != nil {
			return err
		}
		if out.text() {
			fmt.Print(r.Text())
		}
		reports = append(reports, r)
	}
	if out.json {
		// An array, one object per file.
		return writeJSON(os.Stdout, reports)
	}
	return nil
}
