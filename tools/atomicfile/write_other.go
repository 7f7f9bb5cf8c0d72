//go:build !unix

package atomicfile

import (
	"fmt"
	"os"
)

// WriteFile is os.WriteFile done atomically.
func WriteFile(name string, data []byte, perm os.FileMode) error {
	f, err := Create(name, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return f.Commit()
}

var terminating = []os.Signal{os.Interrupt}

func signalNumber(os.Signal) int { return 2 }

// processExists cannot tell here: stale temporaries are kept.
func processExists(int) bool { return true }
