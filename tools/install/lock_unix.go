//go:build unix

package install

import (
	"fmt"
	"os"
	"syscall"
)

// lockDir takes an exclusive flock on the directory itself, waiting for
// another install into it to finish: two installs interleaved could each
// remove the other's modules as stale copies in another compression. The
// directory is locked rather than a lock file in it so that the installed
// tree holds exactly kbuild's files.
func lockDir(dir string) (unlock func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	return func() { f.Close() }, nil
}
