// Command benchfloor measures the floors tools/bench.sh compares modhashes
// with: the least time the machine needs for the work itself, whatever the
// tool. Each prints the nanoseconds of its timed part on stdout.
//
//	benchfloor hash OBJTREE LIST       SHA-256 of the listed files, read
//	                                   into memory first (not timed), all cores
//	benchfloor compress FORMAT OBJTREE LIST
//	                                   the listed files, read into memory
//	                                   first (not timed), compressed with
//	                                   install's default encoder, all cores
//	benchfloor create DIR LIST SIZE    a SIZE-byte file for each listed path
//	                                   below DIR (and its directories), the
//	                                   faster of one thread and all cores
//	benchfloor overwrite DIR LIST SIZE the same files overwritten in place
//
// LIST holds one path relative to OBJTREE (or DIR) a line.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"github.com/modhashes/modhashes/tools/compress"
	"github.com/modhashes/modhashes/tools/internal/parallel"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "benchfloor:", err)
		os.Exit(1)
	}
}

func readList(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var l []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if s.Text() != "" {
			l = append(l, s.Text())
		}
	}
	return l, s.Err()
}

// readAll reads the files into memory: the floors leave reading out.
func readAll(dir string, files []string) ([][]byte, error) {
	data := make([][]byte, len(files))
	for i, f := range files {
		var err error
		if data[i], err = os.ReadFile(filepath.Join(dir, f)); err != nil {
			return nil, err
		}
	}
	// The first pass over fresh memory is several times slower than the
	// next ones (page faults, huge pages): it is left out too.
	parallel.For(len(data), runtime.NumCPU(), func(_, i int) error {
		sha256.Sum256(data[i])
		return nil
	})
	return data, nil
}

func run(args []string) error {
	if len(args) < 3 {
		return fmt.Errorf("usage: see the package doc")
	}
	var dir, list string
	if args[0] == "compress" {
		if len(args) != 4 {
			return fmt.Errorf("usage: compress FORMAT OBJTREE LIST")
		}
		dir, list = args[2], args[3]
	} else {
		dir, list = args[1], args[2]
	}
	files, err := readList(list)
	if err != nil {
		return err
	}
	jobs := runtime.NumCPU()
	var d time.Duration
	switch args[0] {
	case "hash":
		data, err := readAll(dir, files)
		if err != nil {
			return err
		}
		t0 := time.Now()
		parallel.For(len(files), jobs, func(_, i int) error {
			sha256.Sum256(data[i])
			return nil
		})
		d = time.Since(t0)
	case "compress":
		fm, err := compress.ParseFormat(args[1])
		if err != nil {
			return err
		}
		enc, err := compress.ChooseEncoder(fm, compress.Auto)
		if err != nil {
			return err
		}
		data, err := readAll(dir, files)
		if err != nil {
			return err
		}
		// One output buffer per worker, grown once: the floor is the
		// encoder's work, not allocating and clearing memory.
		outs := make([]bytes.Buffer, jobs)
		t0 := time.Now()
		if err := parallel.First(parallel.For(len(files), jobs, func(w, i int) error {
			outs[w].Reset()
			return enc.Compress(&outs[w], bytes.NewReader(data[i]), int64(len(data[i])))
		})); err != nil {
			return err
		}
		d = time.Since(t0)
	case "create", "overwrite":
		if len(args) != 4 {
			return fmt.Errorf("usage: %s DIR LIST SIZE", args[0])
		}
		size, err := strconv.Atoi(args[3])
		if err != nil {
			return err
		}
		buf := bytes.Repeat([]byte{0x5a}, size)
		write := func(i int) error {
			name := filepath.Join(dir, files[i])
			flag := os.O_WRONLY
			if args[0] == "create" {
				if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
					return err
				}
				flag |= os.O_CREATE | os.O_EXCL
			}
			f, err := os.OpenFile(name, flag, 0o644)
			if err != nil {
				return err
			}
			if _, err := f.WriteAt(buf, 0); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		}
		// One thread, then all cores (creating: into a second tree).
		t0 := time.Now()
		for i := range files {
			if err := write(i); err != nil {
				return err
			}
		}
		d = time.Since(t0)
		if args[0] == "create" {
			dir += ".2"
		}
		t0 = time.Now()
		if err := parallel.First(parallel.For(len(files), jobs, func(_, i int) error { return write(i) })); err != nil {
			return err
		}
		d = min(d, time.Since(t0))
	default:
		return fmt.Errorf("unknown floor %q", args[0])
	}
	if err != nil {
		return err
	}
	fmt.Println(d.Nanoseconds())
	return nil
}
