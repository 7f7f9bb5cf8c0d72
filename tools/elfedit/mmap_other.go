//go:build !unix

package elfedit

import (
	"os"

	"github.com/modhashes/modhashes/tools/internal/input"
)

func mapFile(name string) ([]byte, *os.File, func() error, error) {
	data, err := input.ReadFile(name)
	return data, nil, nil, err
}

func dropPages(whole, b []byte) {}
