//go:build !unix

package treegen

import (
	"github.com/modhashes/modhashes/tools/internal/input"
	"github.com/modhashes/modhashes/tools/merkle"
	"github.com/modhashes/modhashes/tools/modsig"
)

func leafOfFile(pos uint32, name string, buf []byte, size int64) (merkle.Hash, bool, error) {
	f, err := input.Open(name)
	if err != nil {
		return merkle.Hash{}, false, err
	}
	defer f.Close()
	h, err := merkle.Leaf(pos, f, buf)
	if err != nil || size <= int64(len(modsig.Marker)) {
		return h, false, err
	}
	var tail [len(modsig.Marker)]byte
	_, err = f.ReadAt(tail[:], size-int64(len(tail)))
	return h, err == nil && modsig.HasMarker(tail[:]), nil
}
