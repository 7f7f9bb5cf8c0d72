package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/modhashes/modhashes/tools/hashesroot"
	"github.com/modhashes/modhashes/tools/verify"
)

func init() {
	register("verify", "tell whether a kernel would load modules, and why not", runVerify)
}

// rootFlags are the ways to name the root a module must reach.
type rootFlags struct {
	vmlinux, rootBin, endian, rootC string
}

func (r *rootFlags) add(fs *pflag.FlagSet, what string) {
	fs.StringVar(&r.vmlinux, "vmlinux", "", "read the root from the .module_hashes section of this kernel image"+what)
	fs.StringVar(&r.rootBin, "root-bin", "", "read the root from these 36 raw bytes (needs --endian)"+what)
	fs.StringVar(&r.endian, "endian", "", "byte order of --root-bin: little or big")
	fs.StringVar(&r.rootC, "root-c", "", "read the root from the C source the tree stage writes"+what)
}

// load returns the root named, or nil when none was given.
func (r *rootFlags) load(fs *pflag.FlagSet) (*hashesroot.Root, error) {
	n := 0
	for _, s := range []string{r.vmlinux, r.rootBin, r.rootC} {
		if s != "" {
			n++
		}
	}
	if n > 1 {
		return nil, usageErrorf(fs, "--vmlinux, --root-bin and --root-c are exclusive")
	}
	if r.endian != "" && r.rootBin == "" {
		return nil, usageErrorf(fs, "--endian goes with --root-bin")
	}
	var root hashesroot.Root
	var err error
	switch {
	case r.vmlinux != "":
		root, _, err = hashesroot.ReadVmlinux(r.vmlinux)
	case r.rootBin != "":
		if r.endian == "" {
			return nil, usageErrorf(fs, "--root-bin needs --endian")
		}
		order, perr := hashesroot.ParseEndian(r.endian)
		if perr != nil {
			return nil, usageErrorf(fs, "--endian: %v", perr)
		}
		root, err = hashesroot.ReadBinaryFile(r.rootBin, order)
	case r.rootC != "":
		root, err = hashesroot.ReadCSourceFile(r.rootC)
	default:
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &root, nil
}

// moduleSuffixes are what verify looks for when given a directory.
var moduleSuffixes = []string{".ko", ".ko.gz", ".ko.xz", ".ko.zst"}

// expand replaces directories by the modules below them, sorted.
func expand(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			out = append(out, a)
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() {
				for _, s := range moduleSuffixes {
					if strings.HasSuffix(p, s) {
						found = append(found, p)
						break
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

func runVerify(args []string) error {
	fs := newFlags("verify", "verify (--vmlinux FILE | --root-bin FILE --endian E | --root-c FILE) [--json] MODULE|DIR...")
	var rf rootFlags
	rf.add(fs, "")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	jobs := fs.IntP("jobs", "j", 0, "modules checked in parallel (default: number of CPUs)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageErrorf(fs, "no modules given")
	}
	root, err := rf.load(fs)
	if err != nil {
		return err
	}
	if root == nil {
		return usageErrorf(fs, "give the kernel's root: --vmlinux, --root-bin with --endian, or --root-c")
	}
	files, err := expand(fs.Args())
	if err != nil {
		return err
	}
	results, err := verify.Files(files, *root, *jobs)
	if err != nil {
		return err
	}
	failed := 0
	for _, r := range results {
		if !r.OK() {
			failed++
		}
	}
	if *asJSON {
		out := struct {
			Root    map[string]any  `json:"root"`
			OK      bool            `json:"ok"`
			Failed  int             `json:"failed"`
			Modules []verify.Result `json:"modules"`
		}{map[string]any{"levels": root.Levels, "hash": root.Hash.String()}, failed == 0, failed, results}
		if out.Modules == nil {
			out.Modules = []verify.Result{}
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			fmt.Println(r.String())
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d modules would not load", failed, len(results))
	}
	return nil
}
