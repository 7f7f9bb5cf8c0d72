//go:build !unix

package elfedit

import "os"

func mapFile(name string) ([]byte, func() error, error) {
	data, err := os.ReadFile(name)
	return data, nil, err
}

func dropPages(whole, b []byte) {}
