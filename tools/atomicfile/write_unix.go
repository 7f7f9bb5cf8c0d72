//go:build unix

package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// WriteFile is os.WriteFile done atomically. It talks to the kernel directly:
// a tree writes thousands of small proofs, and os.File's poller bookkeeping
// costs more syscalls than the write itself.
func WriteFile(name string, data []byte, perm os.FileMode) error {
	dir, base := filepath.Split(name)
	var tmp string
	var fd int
	var err error
	for try := 0; try < 100; try++ {
		tmp = filepath.Join(dir, "."+base+".tmp"+pid+"-"+strconv.FormatUint(seq.Add(1), 10))
		fd, err = syscall.Open(tmp, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_CLOEXEC, uint32(perm.Perm()))
		if err != syscall.EEXIST {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", name, err)
	}
	for rest := data; len(rest) > 0 && err == nil; {
		var n int
		n, err = syscall.Write(fd, rest)
		if err == syscall.EINTR {
			err = nil
		}
		rest = rest[max(n, 0):]
	}
	if cerr := syscall.Close(fd); err == nil {
		err = cerr
	}
	if err == nil {
		err = syscall.Rename(tmp, name)
	}
	if err != nil {
		syscall.Unlink(tmp)
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

var terminating = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

func signalNumber(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return int(n)
	}
	return 0
}

// processExists: signal 0 checks for a process without signalling it;
// EPERM means it exists under another user.
func processExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || err == syscall.EPERM
}
