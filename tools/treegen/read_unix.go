//go:build unix

package treegen

import (
	"io"
	"syscall"

	"github.com/modhashes/modhashes/tools/merkle"
	"github.com/modhashes/modhashes/tools/modsig"
)

// leafOfFile hashes one module with plain read(2) calls into buf: os.File's
// poller setup costs several syscalls per file, which adds up over thousands
// of modules. It also tells whether the module (size bytes) ends with the
// signature marker: such a module was signed or installed already.
func leafOfFile(pos uint32, name string, buf []byte, size int64) (merkle.Hash, bool, error) {
	fd, err := syscall.Open(name, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return merkle.Hash{}, false, err
	}
	defer syscall.Close(fd)
	h, err := merkle.Leaf(pos, fdReader(fd), buf)
	if err != nil || size <= int64(len(modsig.Marker)) {
		return h, false, err
	}
	var tail [len(modsig.Marker)]byte
	n, err := syscall.Pread(fd, tail[:], size-int64(len(tail)))
	return h, err == nil && n == len(tail) && modsig.HasMarker(tail[:]), nil
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
