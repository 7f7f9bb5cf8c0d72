//go:build !unix

package treegen

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/modhashes/modhashes/tools/atomicfile"
)

func writeProofFile(name string, data, _ []byte, mkdir bool) error {
	if mkdir {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	return atomicfile.WriteFile(name, data, 0o644)
}
