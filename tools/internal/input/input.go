// Package input opens the files the commands read. Every input must be a
// regular file: opening a FIFO for reading blocks until a writer comes, and
// reading a device such as /dev/zero never ends, so both are refused before
// the file is opened, with the file's name and what it is.
package input

import (
	"fmt"
	"io/fs"
	"os"
)

// Check refuses name unless it is a regular file (after symbolic links).
func Check(name string) error {
	fi, err := os.Stat(name)
	if err != nil {
		return err
	}
	return regular(name, fi)
}

func regular(name string, fi fs.FileInfo) error {
	if fi.Mode().IsRegular() {
		return nil
	}
	return fmt.Errorf("%s: not a regular file but %s", name, Kind(fi.Mode()))
}

// Kind names a file type in errors.
func Kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "a special file"
}

// Open opens name for reading if it is a regular file. The type is checked
// again on the open file, in case name was replaced in between.
func Open(name string) (*os.File, error) {
	if err := Check(name); err != nil {
		return nil, err
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err == nil {
		err = regular(name, fi)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// ReadFile is os.ReadFile of a regular file.
func ReadFile(name string) ([]byte, error) {
	if err := Check(name); err != nil {
		return nil, err
	}
	return os.ReadFile(name)
}
