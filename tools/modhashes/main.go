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
	fmt.Fprintln(w, "\nRun 'modhashes COMMAND --help' for a command's flags.")
}

// newFlags returns a flag set that reports errors instead of exiting, and
// prints usage with the given synopsis.
func newFlags(name, synopsis string) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: modhashes %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args and maps --help and flag errors to errUsage.
func parse(fs *pflag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return errUsage
		}
		fmt.Fprintf(os.Stderr, "modhashes %s: %v\n", fs.Name(), err)
		fs.Usage()
		return errUsage
	}
	return nil
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
	{elfedit.ErrOutputIsInput, "pass --in-place to replace it"},
}

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	name := os.Args[1]
	if name == "-h" || name == "--help" || name == "help" {
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
	if err := cmd.run(os.Args[2:]); err != nil {
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
