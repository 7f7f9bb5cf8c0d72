package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/modhashes/modhashes/tools/finalize"
	"github.com/modhashes/modhashes/tools/hashesroot"
)

func init() {
	register("finalize", "vmlinux.unstripped -> vmlinux: strip as kbuild does, write the root", runFinalize)
}

func runFinalize(args []string) error {
	fs := newFlags("finalize", "finalize [--root-bin FILE [--endian E | --target ELF] | --root-c FILE] [--keep-modinfo] [--keep-relocs] [--strip-symbol GLOB]... [--in-place] [--allow-placeholder] IN OUT")
	src := addRootFlags(fs, rootFinalize, ", and write it into IN's .module_hashes")
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
	if err := src.Check(); err != nil && !errors.Is(err, hashesroot.ErrNoByteOrder) {
		return usageErrorf(fs, "%v", err)
	}
	if !src.IsSet() && !*allowPlaceholder {
		// Every caller (kbuild, the Bazel rules) passes the root; one
		// that forgot it would build a kernel that loads no module.
		return usageErrorf(fs, "no root given (--root-bin or --root-c); --allow-placeholder keeps the build's placeholder")
	}
	in, out := fs.Arg(0), fs.Arg(1)
	opt := finalize.Options{KeepModinfo: *keepModinfo, KeepRelocs: *keepRelocs, StripSymbols: *strip}
	if src.IsSet() {
		r, err := finalRoot(*src, in)
		if err != nil {
			return err
		}
		opt.Root = &r
	}
	return finalize.File(in, out, opt, *inPlace)
}

// finalRoot reads the root finalize writes into in: raw bytes are in in's
// byte order, which a byte order given on the command line must match.
func finalRoot(src hashesroot.Source, in string) (hashesroot.Root, error) {
	if src.C != "" {
		return hashesroot.ReadCSourceFile(src.C)
	}
	order, err := hashesroot.TargetByteOrder(in)
	if err != nil {
		return hashesroot.Root{}, err
	}
	named, err := src.ByteOrder()
	if err != nil {
		return hashesroot.Root{}, err
	}
	if named != nil && named != order {
		return hashesroot.Root{}, fmt.Errorf("%s: the root is named %v, but %s is %v: root written for another target", src.Bin, named, in, order)
	}
	r, err := hashesroot.ReadBinaryFile(src.Bin, order)
	if err != nil {
		return hashesroot.Root{}, err
	}
	return r, plausibleOrder(r, order, src.Bin, in)
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
