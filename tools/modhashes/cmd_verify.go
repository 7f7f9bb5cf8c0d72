package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/modhashes/modhashes/tools/verify"
)

func init() {
	register("verify", "tell whether a kernel would load modules, and why not", runVerify)
}

func runVerify(args []string) error {
	fs := newFlags("verify", "verify (--vmlinux FILE | --root-bin FILE (--endian E | --target ELF) | --root-c FILE) [-q | --json] MODULE|DIR...")
	src := addRootFlags(fs, rootRead, "")
	out := addReportFlags(fs, "print nothing: the exit status tells (as cmp -s)")
	jobs := fs.IntP("jobs", "j", 0, "modules checked in parallel (default: number of CPUs)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageErrorf(fs, "no modules given")
	}
	if err := src.Check(); err != nil {
		return usageErrorf(fs, "%v", err)
	}
	if err := out.check(); err != nil {
		return usageErrorf(fs, "%v", err)
	}
	if !src.IsSet() {
		return usageErrorf(fs, "give the kernel's root: --vmlinux, --root-bin with --endian or --target, or --root-c")
	}
	// Exit status as cmp's: 0 every module loads, 1 some would be
	// refused, 2 they could not be checked.
	cannot := func(err error) error { return &exitError{2, err} }
	root, err := src.Load()
	if err != nil {
		return cannot(err)
	}
	files, err := verify.Expand(fs.Args())
	if err != nil {
		return cannot(err)
	}
	if len(files) == 0 {
		return cannot(fmt.Errorf("no modules (%s) found in %s", strings.Join(verify.ModuleSuffixes, ", "), strings.Join(fs.Args(), " ")))
	}
	results, err := verify.Files(files, root, *jobs)
	if err != nil {
		return cannot(err)
	}
	n := verify.Failed(results)
	switch {
	case out.json:
		if err := verify.WriteJSON(os.Stdout, root, results); err != nil {
			return cannot(err)
		}
	case out.text():
		for _, r := range results {
			fmt.Println(r.String())
		}
		if n == 0 {
			fmt.Printf("all %d modules would load\n", len(results))
		} else {
			fmt.Printf("%d of %d modules would be refused\n", n, len(results))
		}
	}
	if n > 0 {
		return &exitError{1, nil}
	}
	return nil
}
