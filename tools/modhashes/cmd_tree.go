package main

import (
	"fmt"
	"os"
	"time"

	"github.com/modhashes/modhashes/tools/atomicfile"
	"github.com/modhashes/modhashes/tools/treegen"
)

func init() {
	register("tree", "hash the modules of modules.order; write the root and each module's proof", runTree)
}

func runTree(args []string) error {
	fs := newFlags("tree", "tree [flags] [ROOT_C SUFFIX]")
	var opts treegen.Options
	fs.StringVar(&opts.ObjTree, "objtree", ".", "object tree holding modules.order and the modules")
	fs.StringVar(&opts.Order, "order", "", "modules.order to read (default OBJTREE/modules.order)")
	fs.StringVar(&opts.Suffix, "suffix", ".ko", "module file suffix replacing each line's .o/.ko (.ko.stripped when stripping at build time)")
	dst := addRootFlags(fs, rootWrite, "")
	proofDir := fs.String("proof-dir", "", "write proofs as DIR/<module path without suffix>.merkle (default: next to each module)")
	fs.IntVarP(&opts.Jobs, "jobs", "j", 0, "modules hashed in parallel (default: number of CPUs)")
	out := addReportFlags(fs, "print nothing but errors (without --root-c or --root-bin the root is printed)")
	out.addVerbose(fs, "report what was hashed and written, with timings, on stderr")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch fs.NArg() {
	case 0:
	case 2:
		if dst.C != "" {
			return usageErrorf(fs, "ROOT_C given both as argument and as --root-c")
		}
		dst.C = fs.Arg(0)
		if fs.Changed("suffix") {
			return usageErrorf(fs, "SUFFIX given both as argument and as --suffix")
		}
		opts.Suffix = fs.Arg(1)
	default:
		return usageErrorf(fs, "want no arguments or ROOT_C SUFFIX, got %d", fs.NArg())
	}
	if err := dst.CheckOrder(); err != nil {
		return usageErrorf(fs, "%v", err)
	}
	if dst.Bin != "" && dst.Endian == "" && dst.Target == "" {
		return usageErrorf(fs, "--root-bin needs --endian or --target")
	}
	if err := out.check(); err != nil {
		return usageErrorf(fs, "%v", err)
	}
	order, err := dst.ByteOrder()
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := treegen.Hash(opts)
	if err != nil {
		return err
	}
	hashed := time.Now()
	if err := treegen.RemoveRoots(dst.C, dst.Bin); err != nil {
		return err
	}
	if err := res.WriteProofs(*proofDir); err != nil {
		return err
	}
	if out.verbose {
		fmt.Fprintf(os.Stderr, "hashed %d modules in %.3fs, wrote %d proofs in %.3fs\n",
			len(res.Modules), hashed.Sub(start).Seconds(), len(res.Modules), time.Since(hashed).Seconds())
	}
	// The root comes last: it is what kbuild tracks, so an interrupted run
	// leaves no root, and the next run redoes every proof.
	root := res.Root()
	if dst.Bin != "" {
		if err := atomicfile.WriteFile(dst.Bin, root.Binary(order), 0o644); err != nil {
			return err
		}
	}
	if dst.C != "" {
		if err := atomicfile.WriteFile(dst.C, root.CSource(), 0o644); err != nil {
			return err
		}
	}
	switch {
	case out.json:
		return writeJSON(os.Stdout, struct {
			Modules int    `json:"modules"`
			Levels  uint32 `json:"levels"`
			Root    string `json:"root"`
		}{len(res.Modules), root.Levels, root.Hash.String()})
	case out.text() && dst.C == "" && dst.Bin == "":
		fmt.Printf("levels %d root %s\n", root.Levels, root.Hash)
	}
	return nil
}
