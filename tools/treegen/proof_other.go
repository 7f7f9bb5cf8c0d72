//go:build !unix

package treegen

import (
	"github.com/modhashes/modhashes/tools/atomicfile"
)

func writeProofFile(name string, data, _ []byte) error {
	return atomicfile.WriteFile(name, data, 0o644)
}
