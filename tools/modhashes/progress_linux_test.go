package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"unsafe"
)

// openPTY returns a pseudo-terminal's master and slave.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	var n, unlock uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Skipf("unlockpt: %v", e)
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Skipf("ptsname: %v", e)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("open the slave: %v", err)
	}
	return m, s
}

// On a terminal, install's progress line is erased before the summary is
// printed (both go to the same terminal).
func TestInstallProgressClearedBeforeSummary(t *testing.T) {
	objtree := copyVector(t, "n05")
	if r := modhashes(t, objtree, "tree", "--root-c", "root.c"); r.code != 0 {
		t.Fatalf("tree: %+v", r)
	}
	master, slave := openPTY(t)
	defer master.Close()
	cmd := exec.Command(os.Args[0], "install", "--dest", filepath.Join(t.TempDir(), "d"), "--kernel-release", "r", "--root-c", "root.c")
	cmd.Dir = objtree
	cmd.Env = append(os.Environ(), "MODHASHES_TEST_AS_MAIN=1")
	cmd.Stdout, cmd.Stderr = slave, slave
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var out bytes.Buffer
	io.Copy(&out, master) // ends with EIO once the child closed the slave
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v: %q", err, out.String())
	}
	b := out.Bytes()
	progress, clear, summary := bytes.Index(b, []byte("installing modules: 5 of 5")), bytes.LastIndex(b, []byte("\r\033[K")), bytes.Index(b, []byte("installed 5 modules"))
	if progress < 0 || summary < 0 || !(progress < clear && clear < summary) {
		t.Errorf("progress at %d, erased at %d, summary at %d: %q", progress, clear, summary, b)
	}
}
