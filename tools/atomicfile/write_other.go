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
