// Package finalize turns vmlinux.unstripped into vmlinux in one pass: what
// kbuild's scripts/Makefile.vmlinux does with GNU objcopy (drop .modinfo and
// the linker-emitted relocations, strip the unneeded __mod_device_table__*
// symbols) plus writing the module hashes root into .module_hashes, with
// the output objcopy would produce.
package finalize

import (
	"errors"
	"fmt"

	"github.com/modhashes/modhashes/tools/elfedit"
	"github.com/modhashes/modhashes/tools/hashesroot"
)

// Section is where the kernel keeps the root.
const Section = hashesroot.SectionName

// kbuild's lists (scripts/Makefile.vmlinux): .modinfo always; '.rel*' but
// not '.rel*.dyn' where the arch links with relocations ('.rel.*' for old
// binutils, which changes nothing here).
var (
	modinfoSections = []string{".modinfo"}
	relocSections   = []string{".rel*", "!.rel*.dyn", ".rel.*"}
	// DeviceTableSymbols are stripped unless a kept relocation needs them.
	DeviceTableSymbols = "__mod_device_table__*"
)

// Options are the knobs of the vmlinux step.
type Options struct {
	// Root is written into .module_hashes; nil only strips, as kbuild
	// without CONFIG_MODULE_HASHES.
	Root *hashesroot.Root
	// KeepModinfo keeps .modinfo; KeepRelocs keeps the .rel* sections.
	KeepModinfo, KeepRelocs bool
	// StripSymbols are more globs of symbols to strip when unneeded.
	StripSymbols []string
}

// ErrNoRootSection is returned when a root is to be written but the input
// has no .module_hashes section.
var ErrNoRootSection = errors.New("no " + Section + " section (kernel built without CONFIG_MODULE_HASHES?)")

// Plan computes the final vmlinux from a parsed vmlinux.unstripped.
//
// With a root, the result is what kbuild's three objcopy runs give
// (--set-section-flags ...=noload; --remove-section ... -w
// --strip-unneeded-symbol=...; --update-section .module_hashes=...): the
// last run drops the section symbols the second one still keeps. Without
// a root it is the two-run result.
func Plan(f *elfedit.File, opt Options) (*elfedit.Output, error) {
	var eo elfedit.Options
	if !opt.KeepModinfo {
		eo.RemoveSections = append(eo.RemoveSections, modinfoSections...)
		eo.Noload = true
	}
	if !opt.KeepRelocs {
		eo.RemoveSections = append(eo.RemoveSections, relocSections...)
	}
	eo.StripUnneeded = append(elfedit.Patterns{DeviceTableSymbols}, opt.StripSymbols...)
	if opt.Root != nil {
		i := f.SectionByName(Section)
		if i < 0 {
			return nil, ErrNoRootSection
		}
		if s := f.Sections[i]; s.Size != hashesroot.Size {
			return nil, fmt.Errorf("section %s is %d bytes, want %d (struct module_hashes_root)", Section, s.Size, hashesroot.Size)
		}
		eo.Update = map[string][]byte{Section: opt.Root.Binary(f.ByteOrder())}
		// The root's run sees no relocations unless they were kept; with
		// them, objcopy keeps the section symbols, which they refer to.
		eo.DropSectionSymbols = !opt.KeepRelocs
	}
	return elfedit.Edit(f, eo)
}

// File reads in and writes the final vmlinux to out (through a temporary
// file and a rename; in itself is never written). out may name in only if
// inPlace is set.
func File(in, out string, opt Options, inPlace bool) error {
	return elfedit.Rewrite(in, out, inPlace, func(f *elfedit.File) (*elfedit.Output, error) {
		return Plan(f, opt)
	})
}
