package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modhashes/modhashes/tools/internal/testfs"
)

// modhashesWithin runs the command like modhashes, but fails the test if it
// does not end within a few seconds: hanging on an input is a bug here.
func modhashesWithin(t *testing.T, dir string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MODHASHES_TEST_AS_MAIN=1")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("modhashes %v hung (killed after 20 s)", args)
	}
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

func mkfifo(t *testing.T, name string) string {
	t.Helper()
	os.Remove(name)
	if err := syscall.Mkfifo(name, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestHostileInputs: inputs that are not what they should be end the
// command with status 1 and a message naming the file and the problem,
// never with a hang, a crash or a silent success.
func TestHostileInputs(t *testing.T) {
	const fifoNote = "not a regular file but a named pipe (FIFO)"
	const devNote = "not a regular file but a character device"
	tests := []struct {
		name string
		// prep gets a copy of vector n05 (with its proofs next to the
		// modules) and returns the arguments.
		prep func(t *testing.T, d string) []string
		code int
		want []string
	}{
		{"FIFO as modules.order (tree)", func(t *testing.T, d string) []string {
			mkfifo(t, filepath.Join(d, "modules.order"))
			return []string{"tree", "--objtree", d, "--root-c", filepath.Join(d, "root.c")}
		}, 1, []string{"modules.order", fifoNote}},
		{"FIFO as modules.order (install)", func(t *testing.T, d string) []string {
			mkfifo(t, filepath.Join(d, "modules.order"))
			return []string{"install", "--objtree", d, "--dest", filepath.Join(d, "dest"), "--kernel-release", "1"}
		}, 1, []string{"modules.order", fifoNote}},
		{"FIFO as module (tree)", func(t *testing.T, d string) []string {
			mkfifo(t, filepath.Join(d, "lib/mod_2.ko"))
			return []string{"tree", "--objtree", d, "--root-c", filepath.Join(d, "root.c")}
		}, 1, []string{"lib/mod_2.ko", "modules.order:3", fifoNote}},
		{"FIFO as module (install)", func(t *testing.T, d string) []string {
			mkfifo(t, filepath.Join(d, "lib/mod_2.ko"))
			return []string{"install", "--objtree", d, "--dest", filepath.Join(d, "dest"), "--kernel-release", "1"}
		}, 1, []string{"lib/mod_2.ko", "modules.order:3", fifoNote}},
		{"FIFO as proof (install)", func(t *testing.T, d string) []string {
			mkfifo(t, filepath.Join(d, "lib/mod_2.merkle"))
			return []string{"install", "--objtree", d, "--dest", filepath.Join(d, "dest"), "--kernel-release", "1"}
		}, 1, []string{"lib/mod_2.merkle", fifoNote}},
		{"FIFO as module (verify)", func(t *testing.T, d string) []string {
			return []string{"verify", "--root-c", "expected/root.c", mkfifo(t, filepath.Join(d, "m.ko"))}
		}, 2, []string{"m.ko", fifoNote}},
		{"FIFO as --vmlinux (verify)", func(t *testing.T, d string) []string {
			return []string{"verify", "--vmlinux", mkfifo(t, filepath.Join(d, "vmlinux")), "lib/mod_2.ko"}
		}, 2, []string{"vmlinux", fifoNote}},
		{"FIFO as --root-c (verify)", func(t *testing.T, d string) []string {
			return []string{"verify", "--root-c", mkfifo(t, filepath.Join(d, "root.c")), "lib/mod_2.ko"}
		}, 2, []string{"root.c", fifoNote}},
		{"empty directory (verify)", func(t *testing.T, d string) []string {
			os.Mkdir(filepath.Join(d, "empty"), 0o755)
			return []string{"verify", "--root-c", "expected/root.c", "empty"}
		}, 2, []string{"no modules", "empty"}},
		{"truncated vmlinux (verify)", func(t *testing.T, d string) []string {
			os.WriteFile(filepath.Join(d, "vmlinux"), []byte("\x7fELF\x02\x01\x01\x00"), 0o644)
			return []string{"verify", "--vmlinux", "vmlinux", "lib/mod_2.ko"}
		}, 2, []string{"vmlinux: not a complete ELF file"}},
		{"vmlinux whose e_shoff lies past its end (verify)", func(t *testing.T, d string) []string {
			h := make([]byte, 200)
			copy(h, "\x7fELF\x02\x01\x01")
			binary.LittleEndian.PutUint64(h[40:], 0xffffffffffffc938)
			os.WriteFile(filepath.Join(d, "vmlinux"), h, 0o644)
			return []string{"verify", "--vmlinux", "vmlinux", "lib/mod_2.ko"}
		}, 2, []string{"vmlinux: malformed ELF header: e_shoff is 0xffffffffffffc938, past the end of the file (200 bytes"}},
		{"truncated vmlinux (inspect)", func(t *testing.T, d string) []string {
			os.WriteFile(filepath.Join(d, "vmlinux"), []byte("\x7fELF\x02\x01\x01\x00"), 0o644)
			return []string{"inspect", "vmlinux"}
		}, 1, []string{"vmlinux: not a complete ELF file"}},
		{"FIFO as finalize input", func(t *testing.T, d string) []string {
			return []string{"finalize", "--root-c", "expected/root.c", mkfifo(t, filepath.Join(d, "vmlinux.unstripped")), "vmlinux"}
		}, 1, []string{"vmlinux.unstripped", fifoNote}},
		{"FIFO as --root-bin (finalize)", func(t *testing.T, d string) []string {
			os.WriteFile(filepath.Join(d, "in"), []byte("\x7fELF\x02\x01\x01"+strings.Repeat("\x00", 57)), 0o644)
			return []string{"finalize", "--root-bin", mkfifo(t, filepath.Join(d, "root.bin")), "in", "out"}
		}, 1, []string{"root.bin", fifoNote}},
		{"/dev/zero as finalize input", func(t *testing.T, d string) []string {
			return []string{"finalize", "--root-c", "expected/root.c", "/dev/zero", "vmlinux"}
		}, 1, []string{"/dev/zero", devNote}},
		{"/dev/zero as --root-c (finalize)", func(t *testing.T, d string) []string {
			return []string{"finalize", "--root-c", "/dev/zero", "in", "out"}
		}, 1, []string{"/dev/zero", devNote}},
		{"/dev/zero as section update's FILE", func(t *testing.T, d string) []string {
			return []string{"section", "update", ".module_hashes", "/dev/zero", "in", "out"}
		}, 1, []string{"/dev/zero", devNote}},
		{"/dev/zero as module (inspect)", func(t *testing.T, d string) []string {
			return []string{"inspect", "/dev/zero"}
		}, 1, []string{"/dev/zero", devNote}},
		{"empty module (tree)", func(t *testing.T, d string) []string {
			os.WriteFile(filepath.Join(d, "lib/mod_2.ko"), nil, 0o644)
			return []string{"tree", "--objtree", d, "--root-c", filepath.Join(d, "root.c")}
		}, 1, []string{"lib/mod_2.ko", "modules.order:3", "empty file"}},
		{"empty module (install)", func(t *testing.T, d string) []string {
			os.WriteFile(filepath.Join(d, "lib/mod_2.ko"), nil, 0o644)
			return []string{"install", "--objtree", d, "--dest", filepath.Join(d, "dest"), "--kernel-release", "1"}
		}, 1, []string{"lib/mod_2.ko", "modules.order:3", "empty file"}},
		{"signed module (install): the hint names the flag", func(t *testing.T, d string) []string {
			appendFile(t, filepath.Join(d, "lib/mod_2.ko"), filepath.Join(d, "lib/mod_2.merkle"))
			return []string{"install", "--objtree", d, "--dest", filepath.Join(d, "dest"), "--kernel-release", "1"}
		}, 1, []string{"lib/mod_2.ko", "modules.order:3", "already carries a signature trailer (Merkle proof", "hint: --replace-signature"}},
		{"FIFO as modules.builtin (install): refused before any module is written", func(t *testing.T, d string) []string {
			mkfifo(t, filepath.Join(d, "modules.builtin"))
			return []string{"install", "--objtree", d, "--dest", filepath.Join(d, "dest"), "--kernel-release", "1"}
		}, 1, []string{"modules.builtin", fifoNote}},
		{"FIFO as --target (tree)", func(t *testing.T, d string) []string {
			return []string{"tree", "--objtree", d, "--root-bin", filepath.Join(d, "root.bin"), "--target", mkfifo(t, filepath.Join(d, "fifo"))}
		}, 1, []string{"fifo", fifoNote}},
		{"/dev/zero as --root-bin (verify)", func(t *testing.T, d string) []string {
			return []string{"verify", "--root-bin", "/dev/zero", "--endian", "little", filepath.Join(d, "lib")}
		}, 2, []string{"/dev/zero", devNote}},
		{"module already carrying its proof (tree)", func(t *testing.T, d string) []string {
			appendFile(t, filepath.Join(d, "lib/mod_2.ko"), filepath.Join(d, "lib/mod_2.merkle"))
			return []string{"tree", "--objtree", d, "--root-c", filepath.Join(d, "root.c")}
		}, 1, []string{"lib/mod_2.ko", "modules.order:3", "already ends with a module signature trailer"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := vectorWithProofs(t, "n05")
			args := tc.prep(t, d)
			r := modhashesWithin(t, d, args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", r.code, tc.code, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr %q\ndoes not contain %q", r.stderr, w)
				}
			}
			if strings.Contains(r.stderr, "goroutine ") || strings.Contains(r.stderr, "panic") {
				t.Errorf("crashed:\n%s", r.stderr)
			}
			if _, err := os.Stat(filepath.Join(d, "dest")); err == nil {
				t.Errorf("refused, but wrote into the destination")
			}
		})
	}
}

// vectorWithProofs copies a vector with the expected proofs next to its
// modules, as kbuild leaves them.
func vectorWithProofs(t *testing.T, name string) string {
	d := copyVector(t, name)
	filepath.WalkDir(filepath.Join(d, "expected/proofs"), func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(filepath.Join(d, "expected/proofs"), p)
		return os.WriteFile(filepath.Join(d, rel), testfs.ReadFile(t, p), 0o644)
	})
	return d
}

func appendFile(t *testing.T, name, from string) {
	t.Helper()
	f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(testfs.ReadFile(t, from)); err != nil {
		t.Fatal(err)
	}
}

// SIGTERM or SIGINT during install removes the temporaries being written.
func TestSignalRemovesTemporaries(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			d := vectorWithProofs(t, "n05")
			bin := t.TempDir()
			// A compressor that writes a little, then hangs.
			os.WriteFile(filepath.Join(bin, "xz"), []byte("#!/bin/sh\nhead -c 100\nexec sleep 60\n"), 0o755)
			dest := filepath.Join(d, "dest")
			cmd := exec.Command(os.Args[0], "install", "--objtree", d, "--dest", dest, "--kernel-release", "1", "--compress", "xz", "-j", "1")
			cmd.Env = append(os.Environ(), "MODHASHES_TEST_AS_MAIN=1", "PATH="+bin+":"+os.Getenv("PATH"))
			// Its own process group, so that the hanging compressor goes too.
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			deadline := time.Now().Add(20 * time.Second)
			for len(temporaries(dest)) == 0 {
				if time.Now().After(deadline) {
					t.Fatal("no temporary file appeared")
				}
				time.Sleep(10 * time.Millisecond)
			}
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 128+int(sig) {
				t.Errorf("exit: %v, want status %d", err, 128+int(sig))
			}
			if tmp := temporaries(dest); len(tmp) != 0 {
				t.Errorf("left behind: %v", tmp)
			}
		})
	}
}

func temporaries(dir string) []string {
	var found []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp") {
			found = append(found, p)
		}
		return nil
	})
	return found
}

// verify's exit status is cmp's: 0 all load, 1 some would be refused (here
// an xz module without its index and footer, which the kernel's decoder
// refuses), 2 could not check.
func TestVerifyExitStatus(t *testing.T) {
	objtree, moddir := installVector(t, "n05", "xz")
	r := modhashes(t, objtree, "verify", "--root-c", "root.c", moddir)
	if r.code != 0 || !strings.HasSuffix(r.stdout, "\nall 5 modules would load\n") {
		t.Fatalf("intact: %+v", r)
	}
	victim := filepath.Join(moddir, "kernel/lib/mod_2.ko.xz")
	b := testfs.ReadFile(t, victim)
	os.WriteFile(victim, b[:len(b)-24], 0o644)
	r = modhashes(t, objtree, "verify", "--root-c", "root.c", moddir)
	if r.code != 1 || !strings.Contains(r.stdout, victim+": -EINVAL") || !strings.Contains(r.stdout, "index and footer") ||
		!strings.HasSuffix(r.stdout, "\n1 of 5 modules would be refused\n") {
		t.Fatalf("truncated xz: %+v", r)
	}
	r = modhashes(t, objtree, "verify", "--root-c", "missing.c", moddir)
	if r.code != 2 || !strings.Contains(r.stderr, "missing.c") {
		t.Fatalf("missing root: %+v", r)
	}
}
