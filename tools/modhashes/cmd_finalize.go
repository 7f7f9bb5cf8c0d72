package main

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/modhashes/modhashes/tools/finalize"
	"github.com/modhashes/modhashes/tools/hashesroot"
)

func init() {
	register("finalize", "vmlinux.unstripped -> vmlinux: strip as kbuild does, write the root", runFinalize)
}

func runFinalize(args []string) error {
	fs := newFlags("finalize", "finalize [--root-bin FILE | --root-c FILE] [--keep-modinfo] [--keep-relocs] [--strip-symbol GLOB]... [--in-place] [--allow-placeholder] IN OUT")
	rootBin := fs.String("root-bin", "", "write the 36-byte root from `FILE` (raw, in the target's byte order) into .module_hashes")
	rootC := fs.String("root-c", "", "write the root from the C source `FILE` 'tree --root-c' writes")
	keepModinfo := fs.Bool("keep-modinfo", false, "keep the .modinfo section")
	keepRelocs := fs.Bool("keep-relocs", false, "keep the .rel*/.rela* sections (other than .rel*.dyn)")
	strip := fs.StringArray("strip-symbol", nil, "also strip symbols matching `GLOB` unless a kept relocation needs them (repeatable; '!' excludes)")
	inPlace := fs.Bool("in-place", false, "allow OUT to be IN (replaced atomically)")
	allowPlaceholder := fs.Bool("allow-placeholder", false, "without --root-bin or --root-c, keep the placeholder root the build put into .module_hashes (such a kernel loads no module when enforcing)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usageErrorf(fs, "want IN and OUT, got %d arguments", fs.NArg())
	}
	if *rootBin != "" && *rootC != "" {
		return usageErrorf(fs, "--root-bin and --root-c exclude each other")
	}
	if *rootBin == "" && *rootC == "" && !*allowPlaceholder {
		// Every caller (kbuild, the Bazel rules) passes the root; one
		// that forgot it would build a kernel that loads no module.
		return usageErrorf(fs, "no root given (--root-bin or --root-c); --allow-placeholder keeps the build's placeholder")
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
		if err := plausibleOrder(r, order, *rootBin, in); err != nil {
			return err
		}
		opt.Root = &r
	}
	return finalize.File(in, out, opt, *inPlace)
}

// plausibleOrder refuses a raw root whose levels field reads as an
// impossible height in the target's byte order but as a possible one in the
// other: a root written for another target (tree --endian or --target).
// A tree has at most 32 levels (positions are 32-bit).
func plausibleOrder(r hashesroot.Root, order binary.ByteOrder, name, in string) error {
	if r.Levels <= 32 {
		return nil
	}
	if swapped := bits.ReverseBytes32(r.Levels); swapped <= 32 {
		return fmt.Errorf("%s: levels reads as %d in the byte order of %s (%v), but as %d in the other: "+
			"root written for a target of the other byte order (tree --endian or --target)", name, r.Levels, in, order, swapped)
	}
	return fmt.Errorf("%s: levels is %d, more than a tree of 32-bit positions can have", name, r.Levels)
}
