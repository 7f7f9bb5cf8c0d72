// Package atomicfile writes files so that readers see either the old content
// or the complete new one, never a half-written file: data goes to a
// temporary file in the same directory, which is renamed over the target only
// after it was written and closed without error. There is no fsync: build
// outputs are regenerated after a crash, and a tree writes thousands of them.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
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
func Create(name string, perm os.FileMode) (*File, error) {
	dir, base := filepath.Split(name)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", name, err)
	}
	return &File{File: f, name: name, perm: perm}, nil
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
}
