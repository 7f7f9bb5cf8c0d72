package main

import (
	"github.com/modhashes/modhashes/tools/finalize"
	"github.com/modhashes/modhashes/tools/hashesroot"
)

func init() {
	register("finalize", "vmlinux.unstripped -> vmlinux: strip as kbuild does, write the root", runFinalize)
}

func runFinalize(args []string) error {
	fs := newFlags("finalize", "finalize [--root-bin FILE | --root-c FILE] [--keep-modinfo] [--keep-relocs] [--strip-symbol GLOB]... [--in-place] IN OUT")
	rootBin := fs.String("root-bin", "", "write the 36-byte root from `FILE` (raw, in the target's byte order) into .module_hashes")
	rootC := fs.String("root-c", "", "write the root from the C source `FILE` 'tree --root-c' writes")
	keepModinfo := fs.Bool("keep-modinfo", false, "keep the .modinfo section")
	keepRelocs := fs.Bool("keep-relocs", false, "keep the .rel*/.rela* sections (other than .rel*.dyn)")
	strip := fs.StringArray("strip-symbol", nil, "also strip symbols matching `GLOB` unless a kept relocation needs them (repeatable; '!' excludes)")
	inPlace := fs.Bool("in-place", false, "allow OUT to be IN (replaced atomically)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usageErrorf(fs, "want IN and OUT, got %d arguments", fs.NArg())
	}
	if *rootBin != "" && *rootC != "" {
		return usageErrorf(fs, "--root-bin and --root-c exclude each other")
	}
	in, out := fs.Arg(0), fs.Arg(1)
	opt := finalize.Options{KeepModinfo: *keepModinfo, KeepRelocs: *keepRelocs, StripSymbols: *strip}
	switch {
	case *rootC != "":
		r, err := hashesroot.ReadCSourceFile(*rootC)
		if err != nil {
			return err
		}
		opt.Root = &r
	case *rootBin != "":
		order, err := hashesroot.TargetByteOrder(in)
		if err != nil {
			return err
		}
		r, err := hashesroot.ReadBinaryFile(*rootBin, order)
		if err != nil {
			return err
		}
		opt.Root = &r
	}
	return finalize.File(in, out, opt, *inPlace)
}
