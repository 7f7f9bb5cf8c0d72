//go:build unix

package elfedit

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

// mapFile maps name read-only. Empty files are returned as an empty slice.
func mapFile(name string) ([]byte, func() error, error) {
	fd, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := st.Size()
	if !st.Mode().IsRegular() || size == 0 || int64(int(size)) != size {
		data, err := os.ReadFile(name)
		return data, nil, err
	}
	data, err := syscall.Mmap(int(fd.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("map %s: %w", name, err)
	}
	return data, func() error { return syscall.Munmap(data) }, nil
}

// dropPages tells the kernel that the pages of b, a part of the mapping
// whole, are not needed any more: they stay in the page cache but leave the
// process's resident set, so that reading a big file once through the
// mapping does not grow it by the file's size. Pages only partly inside b
// and slices outside whole are left alone.
func dropPages(whole, b []byte) {
	if len(b) == 0 || len(whole) == 0 {
		return
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(whole)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if p < base || p+uintptr(len(b)) > base+uintptr(len(whole)) {
		return
	}
	page := uintptr(os.Getpagesize())
	start := (p - base + page - 1) &^ (page - 1)
	end := (p - base + uintptr(len(b))) &^ (page - 1)
	if end > start {
		syscall.Madvise(whole[start:end], syscall.MADV_DONTNEED)
	}
}
