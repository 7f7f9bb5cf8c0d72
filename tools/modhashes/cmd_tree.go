package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"time"

	"github.com/modhashes/modhashes/tools/atomicfile"
	"github.com/modhashes/modhashes/tools/hashesroot"
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
	rootC := fs.String("root-c", "", "write the root as C source, as kbuild's reference generator does")
	rootBin := fs.String("root-bin", "", "write the 36 raw bytes of .module_hashes")
	endian := fs.String("endian", "", "byte order for --root-bin: little or big")
	target := fs.String("target", "", "take the byte order for --root-bin from this ELF file (e.g. vmlinux.unstripped)")
	proofDir := fs.String("proof-dir", "", "write proofs as DIR/<module path without suffix>.merkle (default: next to each module)")
	fs.IntVarP(&opts.Jobs, "jobs", "j", 0, "modules hashed in parallel (default: number of CPUs)")
	verbose := fs.BoolP("verbose", "v", false, "report what was hashed and written, with timings, on stderr")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch fs.NArg() {
	case 0:
	case 2:
		if *rootC != "" {
			return usageErrorf(fs, "ROOT_C given both as argument and as --root-c")
		}
		*rootC = fs.Arg(0)
		if fs.Changed("suffix") {
			return usageErrorf(fs, "SUFFIX given both as argument and as --suffix")
		}
		opts.Suffix = fs.Arg(1)
	default:
		return usageErrorf(fs, "want no arguments or ROOT_C SUFFIX, got %d", fs.NArg())
	}
	var order binary.ByteOrder
	switch {
	case *endian != "" && *target != "":
		return usageErrorf(fs, "--endian and --target are exclusive")
	case *endian != "":
		var err error
		if order, err = hashesroot.ParseEndian(*endian); err != nil {
			return usageErrorf(fs, "--endian: %v", err)
		}
	case *target != "":
		var err error
		if order, err = hashesroot.TargetByteOrder(*target); err != nil {
			return err
		}
	case *rootBin != "":
		return usageErrorf(fs, "--root-bin needs --endian or --target")
	}

	start := time.Now()
	res, err := treegen.Hash(opts)
	if err != nil {
		return err
	}
	hashed := time.Now()
	if err := treegen.RemoveRoots(*rootC, *rootBin); err != nil {
		return err
	}
	if err := res.WriteProofs(*proofDir); err != nil {
		return err
	}
	if *verbose {
		fmt.Fprintf(os.Stderr, "hashed %d modules in %.3fs, wrote %d proofs in %.3fs\n",
			len(res.Modules), hashed.Sub(start).Seconds(), len(res.Modules), time.Since(hashed).Seconds())
	}
	// The root comes last: it is what kbuild tracks, so an interrupted run
	// leaves no root, and the next run redoes every proof.
	root := res.Root()
	if *rootBin != "" {
		if err := atomicfile.WriteFile(*rootBin, root.Binary(order), 0o644); err != nil {
			return err
		}
	}
	if *rootC != "" {
		if err := atomicfile.WriteFile(*rootC, root.CSource(), 0o644); err != nil {
			return err
		}
	}
	if *rootC == "" && *rootBin == "" {
		fmt.Printf("levels %d root %s\n", root.Levels, root.Hash)
	}
	return nil
}
