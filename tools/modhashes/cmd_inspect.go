package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/modhashes/modhashes/tools/inspect"
)

func init() {
	register("inspect", "show the root in a vmlinux, or the trailer of a module or .merkle file", runInspect)
}

func runInspect(args []string) error {
	fs := newFlags("inspect", "inspect [--json] FILE...")
	asJSON := fs.Bool("json", false, "print JSON (an array, one object per file)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageErrorf(fs, "no files given")
	}
	reports := make([]*inspect.Report, 0, fs.NArg())
	for _, name := range fs.Args() {
		r, err := inspect.File(name)
		if err != nil {
			return err
		}
		if !*asJSON {
			fmt.Print(r.Text())
		}
		reports = append(reports, r)
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(reports)
	}
	return nil
}
