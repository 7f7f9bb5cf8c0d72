package main

import (
	"encoding/json"
	"errors"
	"io"

	"github.com/spf13/pflag"

	"github.com/modhashes/modhashes/tools/hashesroot"
)

// rootUse is what a command does with the root its root flags name.
type rootUse int

const (
	rootRead     rootUse = iota // verify, install: also from a vmlinux
	rootWrite                   // tree: where the root goes
	rootFinalize                // finalize: the byte order is IN's unless named
)

// addRootFlags adds the flags every command names a root with, the same
// names and meanings everywhere: --vmlinux (for reading), --root-bin with
// its byte order from --endian or --target, --root-c. what ends the help
// of the flags that name a root.
func addRootFlags(fs *pflag.FlagSet, use rootUse, what string) *hashesroot.Source {
	src := new(hashesroot.Source)
	verb := "read the root from"
	if use == rootWrite {
		verb = "write the root to"
	}
	if use == rootRead {
		fs.StringVar(&src.Vmlinux, "vmlinux", "", verb+" the .module_hashes section of the kernel image `FILE`"+what)
	}
	order := "needs --endian or --target"
	if use == rootFinalize {
		order = "in IN's byte order"
	}
	fs.StringVar(&src.Bin, "root-bin", "", verb+" `FILE`, the 36 raw bytes of .module_hashes ("+order+")"+what)
	fs.StringVar(&src.C, "root-c", "", verb+" the C source `FILE` (kbuild's .tmp_module_hashes.c)"+what)
	fs.StringVar(&src.Endian, "endian", "", "byte order of --root-bin, `ORDER`: little or big")
	fs.StringVar(&src.Target, "target", "", "byte order of --root-bin: that of the ELF `FILE` (e.g. vmlinux.unstripped)")
	return src
}

// report is how a command that reports prints: normally text, with -q
// nothing, with --json one JSON value on stdout.
type report struct {
	quiet, json, verbose bool
}

func addReportFlags(fs *pflag.FlagSet, quietHelp string) *report {
	r := new(report)
	fs.BoolVarP(&r.quiet, "quiet", "q", false, quietHelp)
	fs.BoolVar(&r.json, "json", false, "print the result as JSON on stdout")
	return r
}

// addVerbose adds -v to a command that can say more.
func (r *report) addVerbose(fs *pflag.FlagSet, help string) {
	fs.BoolVarP(&r.verbose, "verbose", "v", false, help)
}

// check reports -q with --json or -v: one says print nothing, the others what.
func (r *report) check() error {
	switch {
	case r.quiet && r.json:
		return errors.New("-q and --json exclude each other")
	case r.quiet && r.verbose:
		return errors.New("-q and -v exclude each other")
	}
	return nil
}

// text reports whether plain text is printed.
func (r *report) text() bool { return !r.quiet && !r.json }

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
