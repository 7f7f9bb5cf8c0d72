// Command kbuild-worker runs rules/private/kbuild.sh for the kbuild actions
// after vmlinux:
//
//	kbuild-worker SCRIPT --persistent_worker   a Bazel persistent worker
//	kbuild-worker SCRIPT ARG... [@PARAMFILE]   one run, as any other action
//
// The arguments are Bazel's worker protocol, not flags of the tool's own:
// everything after SCRIPT belongs to kbuild.sh.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/modhashes/modhashes/tools/kbuildworker"
)

// keep is how many actions' trees the worker keeps (1.4 GB each for the
// example's x86_64 kernel; see rules/README.md).
const keep = 6

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kbuild-worker SCRIPT --persistent_worker | kbuild-worker SCRIPT ARG...")
		os.Exit(2)
	}
	script, rest := os.Args[1], os.Args[2:]
	if len(rest) == 1 && rest[0] == "--persistent_worker" {
		dir, err := os.Getwd()
		if err != nil {
			fatal(err)
		}
		w := &kbuildworker.Worker{
			Script: script,
			Dir:    dir,
			Env:    os.Environ(),
			Base:   filepath.Join(os.TempDir(), "modhashes-kbuild-warm"),
			Keep:   keep,
		}
		if err := w.Serve(os.Stdin, os.Stdout); err != nil {
			fatal(err)
		}
		return
	}
	args, err := kbuildworker.ExpandArgs(rest)
	if err != nil {
		fatal(err)
	}
	path, err := filepath.Abs(script)
	if err != nil {
		fatal(err)
	}
	fatal(syscall.Exec(path, append([]string{script}, args...), os.Environ()))
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "kbuild-worker: %v\n", err)
	os.Exit(1)
}
