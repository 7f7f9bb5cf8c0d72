package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/modhashes/modhashes/tools/compress"
	"github.com/modhashes/modhashes/tools/install"
)

func init() {
	register("install", "install modules with their proofs appended, as modules_install does", runInstall)
}

func runInstall(args []string) error {
	fs := newFlags("install", "install [flags] --dest DIR")
	abouts[fs] = `Installs every module of modules.order with its proof appended into
DIR/lib/modules/RELEASE (kernel/ for in-tree modules, the line's own path
for out-of-tree ones), and modules.order and modules.builtin* beside them.
Nothing is written unless every module passes its checks.

As make modules_install, which deletes lib/modules/RELEASE/kernel first, it
leaves no module of an earlier build there: once the new modules are
written, everything below kernel/ that it did not write is removed. Outside
kernel/ (updates/, extra/) only modules carrying a proof for another tree
are removed; signed or unsigned modules installed by others (DKMS) stay.
With --depmod it then runs kmod's depmod as make modules_install does.`
	var opts install.Options
	fs.StringVar(&opts.ObjTree, "objtree", ".", "object tree holding modules.order, the modules and include/config/kernel.release")
	fs.StringVar(&opts.Order, "order", "", "modules.order to read (default OBJTREE/modules.order)")
	fs.StringVar(&opts.Suffix, "suffix", ".ko", "suffix of the hashed module files (.ko.stripped when stripped at build time)")
	fs.StringVar(&opts.ProofDir, "proof-dir", "", "where the tree stage wrote the .merkle proofs (default: next to each module)")
	fs.StringVar(&opts.Dest, "dest", "", "install below DIR/lib/modules/RELEASE (INSTALL_MOD_PATH)")
	fs.StringVar(&opts.KernelRelease, "kernel-release", "", "kernel release (default: OBJTREE/include/config/kernel.release)")
	comp := fs.String("compress", "none", "compress modules: none, gzip, xz or zstd")
	fs.IntVarP(&opts.Jobs, "jobs", "j", 0, "modules installed in parallel (default: number of CPUs)")
	fs.BoolVar(&opts.ReplaceSignature, "replace-signature", false, "drop a trailer a module already carries instead of refusing it")
	src := addRootFlags(fs, rootRead, " and require every proof to reach it (default: all modules must agree)")
	fs.BoolVar(&opts.BuiltinEncoder, "builtin-encoder", false, "compress gzip and xz too with the built-in pure-Go encoders even where the system's gzip and xz are installed (kbuild's; smaller files)")
	fs.BoolVar(&opts.SystemEncoder, "system-encoder", false, "compress zstd too with the system's zstd, one process per module as kbuild does (kbuild's bytes; many times slower than the default built-in zstd encoder)")
	depmod := fs.Bool("depmod", false, "then run kmod's depmod as make modules_install does: depmod -ae -F OBJTREE/System.map -b DIR RELEASE (without -e -F when there is no System.map; DEPMOD names another program)")
	out := addReportFlags(fs, "print nothing but errors: no progress, no summary")
	out.addVerbose(fs, "print each installed file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErrorf(fs, "unexpected arguments %q", fs.Args())
	}
	if opts.Dest == "" {
		return usageErrorf(fs, "--dest is required")
	}
	var err error
	if opts.Compression, err = compress.ParseFormat(*comp); err != nil {
		return usageErrorf(fs, "--compress: %v", err)
	}
	if err := src.Check(); err != nil {
		return usageErrorf(fs, "%v", err)
	}
	if err := out.check(); err != nil {
		return usageErrorf(fs, "%v", err)
	}
	if src.IsSet() {
		root, err := src.Load()
		if err != nil {
			return err
		}
		opts.Root = &root
	}
	finish := func() {}
	if !out.quiet && isTerminal(os.Stderr) {
		p := newProgress(os.Stderr)
		opts.Progress = p.update
		finish = p.finish
	}
	res, err := install.Install(opts)
	// The progress line goes before anything else is printed.
	finish()
	if err != nil {
		return err
	}
	// depmod's warnings (-e) are for the user, but stdout may be JSON.
	if *depmod {
		if err := install.Depmod(res, opts, os.Stderr, os.Stderr); err != nil {
			return err
		}
	}
	if out.json {
		return writeJSON(os.Stdout, installJSON(res))
	}
	if out.quiet {
		return nil
	}
	if out.verbose {
		for _, m := range res.Modules {
			fmt.Printf("INSTALL %s\n", m.Dst)
		}
		for _, c := range res.Copied {
			fmt.Printf("INSTALL %s\n", c)
		}
		for _, r := range res.Removed {
			fmt.Printf("REMOVE  %s\n", r)
		}
	}
	removed := ""
	if len(res.Removed) > 0 {
		removed = fmt.Sprintf("; removed %d stale files", len(res.Removed))
	}
	fmt.Printf("installed %d modules in %s (root %s, %d levels), %s%s\n", len(res.Modules), res.ModDir, res.Root.Hash, res.Root.Levels, res.Encoder, removed)
	return nil
}

// installJSON is install --json's output.
func installJSON(res *install.Result) any {
	type module struct {
		Module    string `json:"module"`
		Installed string `json:"installed"`
	}
	mods := make([]module, len(res.Modules))
	for i, m := range res.Modules {
		mods[i] = module{m.Src, m.Dst}
	}
	return struct {
		Release string   `json:"release"`
		ModDir  string   `json:"moddir"`
		Levels  uint32   `json:"levels"`
		Root    string   `json:"root"`
		Encoder string   `json:"encoder"`
		Modules []module `json:"modules"`
		Copied  []string `json:"copied"`
		Removed []string `json:"removed"`
	}{res.Release, res.ModDir, res.Root.Levels, res.Root.Hash.String(), res.Encoder.String(), mods, res.Copied, res.Removed}
}

// isTerminal: progress is for people watching, not for logs.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress redraws one line, at most every 100 ms.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	last  time.Time
	shown bool
}

func newProgress(w io.Writer) *progress { return &progress{w: w} }

func (p *progress) update(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if now := time.Now(); done == total || now.Sub(p.last) >= 100*time.Millisecond {
		p.last = now
		p.shown = true
		fmt.Fprintf(p.w, "\rinstalling modules: %d of %d", done, total)
	}
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
