//go:build unix

package elfedit

import (
	"fmt"
	"os"
	"syscall"

	"github.com/modhashes/modhashes/tools/internal/input"
)

// mapFile maps name read-only and keeps it open as src, from which
// unchanged parts are copied file to file (see Output.WriteTo). Files that
// cannot be mapped (empty, not regular) are read into memory; src is nil
// then. unmap releases the mapping and src.
func mapFile(name string) (data []byte, src *os.File, unmap func() error, err error) {
	fd, err := input.Open(name)
	if err != nil {
		return nil, nil, nil, err
	}
	st, err := fd.Stat()
	if err != nil {
		fd.Close()
		return nil, nil, nil, err
	}
	size := st.Size()
	if size == 0 || int64(int(size)) != size {
		fd.Close()
		data, err := os.ReadFile(name)
		return data, nil, nil, err
	}
	data, err = syscall.Mmap(int(fd.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		fd.Close()
		return nil, nil, nil, fmt.Errorf("map %s: %w", name, err)
	}
	return data, fd, func() error {
		err := syscall.Munmap(data)
		if cerr := fd.Close(); err == nil {
			err = cerr
		}
		return err
	}, nil
}

// dropPages tells the kernel that the pages of b, a part of the mapping
// whole, are not needed any more: they stay in the page cache but leave the
// process's resident set, so that reading a big file once through the
// mapping does not grow it by the file's size. Pages only partly inside b
// and slices outside whole are left alone.
func dropPages(whole, b []byte) {
	off, ok := offsetIn(whole, b)
	if !ok || len(b) == 0 {
		return
	}
	page := os.Getpagesize()
	start := (off + page - 1) &^ (page - 1)
	end := (off + len(b)) &^ (page - 1)
	if end > start {
		syscall.Madvise(whole[start:end], syscall.MADV_DONTNEED)
	}
}
