// Command modhashes builds, installs and checks Linux module hashes
// (CONFIG_MODULE_HASHES): the Merkle tree over all in-tree modules, the
// final vmlinux carrying its root, and modules carrying their proofs.
//
// This package only parses flags; every subcommand lives in its own file and
// calls into the packages under tools/.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"

	"github.com/spf13/pflag"

	"github.com/modhashes/modhashes/tools/atomicfile"
	"github.com/modhashes/modhashes/tools/elfedit"
	"github.com/modhashes/modhashes/tools/install"
)

// command is one subcommand. run gets the arguments after the subcommand name.
type command struct {
	summary string
	run     func(args []string) error
}

var commands = map[string]command{}

// register is called from each subcommand file's init.
func register(name, summary string, run func(args []string) error) {
	commands[name] = command{summary: summary, run: run}
}

// errUsage makes main exit with status 2 without printing the error twice.
var errUsage = errors.New("usage")

// exitError exits with a status other than 1, printing err unless it is nil.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: modhashes COMMAND [flags] [args]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'modhashes help COMMAND' or 'modhashes COMMAND --help' for a command's flags;")
	fmt.Fprintln(w, "'modhashes --version' for the version.")
}

// newFlags returns a flag set that reports errors instead of exiting, and
// prints usage with the given synopsis: on stderr after a usage error, on
// stdout for --help.
func newFlags(name, synopsis string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.Usage = func() { printUsage(os.Stderr, fs, synopsis) }
	synopses[fs] = synopsis
	return fs
}

var synopses = map[*pflag.FlagSet]string{}

// abouts are the paragraphs a command's --help prints between its synopsis
// and its flags, for what the flags alone do not say.
var abouts = map[*pflag.FlagSet]string{}

func printUsage(w io.Writer, fs *pflag.FlagSet, synopsis string) {
	fmt.Fprintf(w, "usage: modhashes %s\n\n", synopsis)
	if a := abouts[fs]; a != "" {
		fmt.Fprintf(w, "%s\n\n", a)
	}
	fmt.Fprintf(w, "flags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(os.Stderr)
}

// errHelp makes main exit with status 0 after --help printed the usage.
var errHelp = errors.New("help")

// parse parses args and maps --help to errHelp, flag errors to errUsage.
func parse(fs *pflag.FlagSet, args []string) error {
	usage := fs.Usage
	fs.Usage = func() {} // pflag calls it on --help too; printed below
	err := fs.Parse(args)
	fs.Usage = usage
	if err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			printUsage(os.Stdout, fs, synopses[fs])
			return errHelp
		}
		fmt.Fprintf(os.Stderr, "modhashes %s: %v\n", fs.Name(), err)
		fs.Usage()
		return errUsage
	}
	return nil
}

// version is the module's version and the VCS revision it was built from,
// as the Go toolchain recorded them.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "modhashes (no build information)"
	}
	return formatVersion(bi)
}

func formatVersion(bi *debug.BuildInfo) string {
	v := "modhashes " + bi.Main.Version
	var rev, modified, when string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = ", modified"
			}
		case "vcs.time":
			when = ", " + s.Value
		}
	}
	if rev != "" {
		v += " (" + rev + when + modified + ")"
	}
	return v + " " + bi.GoVersion
}

// usageErrorf reports a wrong argument count or combination.
func usageErrorf(fs *pflag.FlagSet, format string, a ...any) error {
	fmt.Fprintf(os.Stderr, "modhashes %s: %s\n", fs.Name(), fmt.Sprintf(format, a...))
	fs.Usage()
	return errUsage
}

// hints are what the command line can do about the libraries' errors,
// which do not know the flags.
var hints = []struct {
	err  error
	hint string
}{
	{install.ErrHasTrailer, "--replace-signature drops a trailer appended after hashing"},
	{install.ErrNoMajority, "give the kernel's root (--vmlinux, --root-c or --root-bin) to name the changed modules"},
	{install.ErrStripAfterHashing, "strip at build time, hash with 'tree --suffix .ko.stripped' and install with --suffix .ko.stripped"},
	{install.ErrNoKernelRelease, "give --kernel-release"},
	{install.ErrNoDepmod, "install kmod, name depmod with DEPMOD, or leave out --depmod"},
	{elfedit.ErrOutputIsInput, "pass --in-place to replace it"},
}

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	name, args := os.Args[1], os.Args[2:]
	switch {
	case name == "--version" || name == "version":
		fmt.Println(version())
		return
	case name == "help" && len(args) == 1:
		name, args = args[0], []string{"--help"}
	case name == "help" && len(args) > 1:
		fmt.Fprintf(os.Stderr, "modhashes help: want one command, got %d arguments\n\n", len(args))
		usage(os.Stderr)
		os.Exit(2)
	case name == "-h" || name == "--help" || name == "help":
		usage(os.Stdout)
		return
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "modhashes: unknown command %q\n\n", name)
		usage(os.Stderr)
		os.Exit(2)
	}
	// An interrupted finalize or install leaves no temporary behind.
	atomicfile.RemoveOnSignal()
	if err := cmd.run(args); err != nil {
		if errors.Is(err, errHelp) {
			return
		}
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		code := 1
		var ee *exitError
		if errors.As(err, &ee) {
			if code = ee.code; ee.err == nil {
				os.Exit(code)
			}
		}
		fmt.Fprintf(os.Stderr, "modhashes %s: %v\n", name, err)
		for _, h := range hints {
			if errors.Is(err, h.err) {
				fmt.Fprintf(os.Stderr, "hint: %s\n", h.hint)
			}
		}
		os.Exit(code)
	}
}
