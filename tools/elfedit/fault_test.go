//go:build unix

package elfedit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A mapped input that shrinks while it is read gives an error naming the
// file, not a SIGBUS crash.
func TestShrunkMappingIsAnError(t *testing.T) {
	name := filepath.Join(t.TempDir(), "vmlinux.unstripped")
	if err := os.WriteFile(name, make([]byte, 4*os.Getpagesize()), 0o644); err != nil {
		t.Fatal(err)
	}
	data, _, unmap, err := mapFile(name)
	if err != nil {
		t.Fatal(err)
	}
	defer unmap()
	err = guardMapped(name, func() error {
		if err := os.Truncate(name, 0); err != nil {
			t.Fatal(err)
		}
		sum := 0
		for _, b := range data[len(data)-10:] {
			sum += int(b)
		}
		t.Errorf("read %d past the end without a fault", sum)
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "changed while being read") {
		t.Errorf("error %v", err)
	}
}
