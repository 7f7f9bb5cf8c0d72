//go:build !unix

package treegen

import (
	"os"

	"github.com/modhashes/modhashes/tools/merkle"
)

func leafOfFile(pos uint32, name string, buf []byte) (merkle.Hash, error) {
	f, err := os.Open(name)
	if err != nil {
		return merkle.Hash{}, err
	}
	defer f.Close()
	return merkle.Leaf(pos, f, buf)
}
