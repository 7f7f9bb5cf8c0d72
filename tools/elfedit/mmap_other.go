//go:build !unix

package elfedit

import "os"

func mapFile(name string) ([]byte, *os.File, func() error, error) {
	data, err := os.ReadFile(name)
	return data, nil, nil, err
}

func dropPages(whole, b []byte) {}
