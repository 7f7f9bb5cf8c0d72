// Package atomicfile writes files so that readers see either the old content
// or the complete new one, never a half-written file: data goes to a
// temporary file in the same directory, which is renamed over the target only
// after it was written and closed without error. There is no fsync: build
// outputs are regenerated after a crash, and a tree writes thousands of them.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// File is a pending replacement of a named file.
type File struct {
	*os.File
	name string
	perm os.FileMode
	done bool
}

// Create starts writing name. The caller must end with Commit or Abort
// (deferring Abort after a successful Commit is harmless).
//
// The temporary file is named .NAME.tmpPID-N. It is removed if the process
// is interrupted (see RemoveOnSignal), and temporaries of the same target
// left by processes that no longer exist (killed by SIGKILL, or by a power
// loss) are removed first.
func Create(name string, perm os.FileMode) (*File, error) {
	removeStale(name)
	var f *os.File
	var err error
	for try := 0; try < 100; try++ {
		f, err = os.OpenFile(tempName(name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if !errors.Is(err, fs.ErrExist) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	live.add(f.Name())
	return &File{File: f, name: name, perm: perm}, nil
}

// tempName is a new temporary name for name's replacement.
func tempName(name string) string {
	dir, base := filepath.Split(name)
	return filepath.Join(dir, "."+base+".tmp"+pid+"-"+strconv.FormatUint(seq.Add(1), 10))
}

var (
	seq atomic.Uint64
	pid = strconv.Itoa(os.Getpid())
)

// stale maps each directory Create wrote in to the temporaries found there
// of processes that are gone, by target name: each directory is read once,
// so that installing thousands of modules does not read a directory once
// per module.
var stale = struct {
	sync.Mutex
	dirs map[string]map[string][]string
}{dirs: map[string]map[string][]string{}}

// removeStale removes the temporaries of name left by processes that are
// gone.
func removeStale(name string) {
	dir, base := filepath.Split(name)
	dir = filepath.Clean(dir)
	stale.Lock()
	defer stale.Unlock()
	found, ok := stale.dirs[dir]
	if !ok {
		found = findStale(dir)
		stale.dirs[dir] = found
	}
	for _, t := range found[base] {
		os.Remove(filepath.Join(dir, t))
	}
	delete(found, base)
}

// findStale lists dir's .TARGET.tmpPID-N files whose PID is not running.
func findStale(dir string) map[string][]string {
	found := map[string][]string{}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return found
	}
	for _, e := range ents {
		n := e.Name()
		i := strings.LastIndex(n, ".tmp")
		if !strings.HasPrefix(n, ".") || i < 1 || !e.Type().IsRegular() {
			continue
		}
		p, _, ok := strings.Cut(n[i+len(".tmp"):], "-")
		if id, err := strconv.Atoi(p); ok && err == nil && p != pid && !processExists(id) {
			found[n[1:i]] = append(found[n[1:i]], n)
		}
	}
	return found
}

// live holds the temporaries being written, for RemoveOnSignal.
var live = liveSet{m: map[string]bool{}}

type liveSet struct {
	mu sync.Mutex
	m  map[string]bool
}

func (l *liveSet) add(n string) { l.mu.Lock(); l.m[n] = true; l.mu.Unlock() }

func (l *liveSet) remove(n string) { l.mu.Lock(); delete(l.m, n); l.mu.Unlock() }

// RemoveOnSignal makes SIGINT and SIGTERM (os.Interrupt elsewhere) remove
// the temporaries being written before the process exits with 128 plus the
// signal's number, as a shell reports it. Commands that write outputs call
// it once at start.
func RemoveOnSignal() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, terminating...)
	go func() {
		sig := <-c
		live.mu.Lock() // held until exit: no new temporary is recorded
		for n := range live.m {
			os.Remove(n)
		}
		os.Exit(128 + signalNumber(sig))
	}()
}

// Commit makes the written data visible under the target name.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("write %s: already committed or aborted", f.name)
	}
	f.done = true
	tmp := f.File.Name()
	err := f.File.Chmod(f.perm)
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, f.name)
	}
	if err != nil {
		os.Remove(tmp)
	}
	live.remove(tmp)
	if err != nil {
		return fmt.Errorf("write %s: %w", f.name, err)
	}
	return nil
}

// Abort discards the written data and leaves any existing file untouched.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.File.Name())
	live.remove(f.File.Name())
}
