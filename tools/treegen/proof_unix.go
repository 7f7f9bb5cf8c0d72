//go:build unix

package treegen

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/modhashes/modhashes/tools/atomicfile"
)

// writeProofFile writes one proof in place (see the package doc): an
// existing regular file with a single link is overwritten from offset 0 and
// cut to size, and left alone when it already holds data. Anything else (a
// link into another tree, a read-only file, a directory) is replaced
// atomically, so no other file is ever written through.
// With mkdir, missing directories are created first.
func writeProofFile(name string, data, scratch []byte, mkdir bool) error {
	const flags = syscall.O_RDWR | syscall.O_CREAT | syscall.O_NOFOLLOW | syscall.O_CLOEXEC | syscall.O_NONBLOCK
	fd, err := syscall.Open(name, flags, 0o644)
	if err == syscall.ENOENT && mkdir {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		fd, err = syscall.Open(name, flags, 0o644)
	}
	if err != nil {
		if err == syscall.EACCES || err == syscall.ELOOP || err == syscall.EISDIR || err == syscall.EPERM || err == syscall.ETXTBSY {
			return atomicfile.WriteFile(name, data, 0o644)
		}
		return fmt.Errorf("write %s: %w", name, err)
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		syscall.Close(fd)
		return fmt.Errorf("write %s: %w", name, err)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Nlink > 1 {
		syscall.Close(fd)
		return atomicfile.WriteFile(name, data, 0o644)
	}
	err = overwrite(fd, st.Size, data, scratch)
	if cerr := syscall.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func overwrite(fd int, size int64, data, scratch []byte) error {
	if size == int64(len(data)) && len(scratch) >= len(data) {
		old := scratch[:len(data)]
		if n, err := syscall.Pread(fd, old, 0); err == nil && n == len(data) && bytes.Equal(old, data) {
			return nil // unchanged: no write, no dirty page, same mtime
		}
	}
	for off := 0; off < len(data); {
		n, err := syscall.Pwrite(fd, data[off:], int64(off))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		off += n
	}
	if size > int64(len(data)) {
		return syscall.Ftruncate(fd, int64(len(data)))
	}
	return nil
}
