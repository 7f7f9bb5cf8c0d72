//go:build unix

package treegen

import (
	"io"
	"syscall"

	"github.com/modhashes/modhashes/tools/merkle"
)

// leafOfFile hashes one module with plain read(2) calls into buf: os.File's
// poller setup costs several syscalls per file, which adds up over thousands
// of modules.
func leafOfFile(pos uint32, name string, buf []byte) (merkle.Hash, error) {
	fd, err := syscall.Open(name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return merkle.Hash{}, err
	}
	defer syscall.Close(fd)
	return merkle.Leaf(pos, fdReader(fd), buf)
}

type fdReader int

func (fd fdReader) Read(p []byte) (int, error) {
	for {
		n, err := syscall.Read(int(fd), p)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}
