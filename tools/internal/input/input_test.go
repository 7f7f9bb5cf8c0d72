package input

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "reg")
	os.WriteFile(reg, []byte("x"), 0o644)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	os.Symlink(reg, link)
	for _, tc := range []struct{ name, want string }{
		{reg, ""},
		{link, ""},
		{fifo, "not a regular file but a named pipe (FIFO)"},
		{"/dev/zero", "not a regular file but a character device"},
		{dir, "not a regular file but a directory"},
		{filepath.Join(dir, "missing"), "no such file"},
	} {
		// A FIFO opened for reading would block this test for good.
		_, err := ReadFile(tc.name)
		f, oerr := Open(tc.name)
		if oerr == nil {
			f.Close()
		}
		for _, e := range []error{err, oerr} {
			if tc.want == "" && e != nil {
				t.Errorf("%s: %v", tc.name, e)
			}
			if tc.want != "" && (e == nil || !strings.Contains(e.Error(), tc.want) || !strings.Contains(e.Error(), tc.name)) {
				t.Errorf("%s: error %v, want one naming it and saying %q", tc.name, e, tc.want)
			}
		}
	}
}
