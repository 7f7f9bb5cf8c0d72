//go:build unix

package elfedit

import (
	"fmt"
	"os"
	"syscall"
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
