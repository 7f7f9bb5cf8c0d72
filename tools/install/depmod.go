package install

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNoDepmod is Depmod's error when kmod's depmod is not installed.
var ErrNoDepmod = errors.New("depmod not found")

// findDepmod locates kmod's depmod as kbuild's scripts/depmod.sh does: the
// program named by DEPMOD (default "depmod"), searched in PATH and then in
// /sbin and /usr/sbin, where it lives but which a user's PATH may lack.
func findDepmod(getenv func(string) string) (string, error) {
	name := getenv("DEPMOD")
	if name == "" {
		name = "depmod"
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	if !strings.Contains(name, "/") {
		for _, dir := range []string{"/sbin", "/usr/sbin"} {
			p := filepath.Join(dir, name)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%w: no %q in PATH, /sbin or /usr/sbin (it is in kmod's package)", ErrNoDepmod, name)
}

// depmodArgs are the arguments make modules_install gives depmod
// (scripts/depmod.sh): all modules (-a) of the release below the
// installation root (-b), and with the kernel's System.map the symbols no
// module or the kernel provides reported (-e -F). Without a System.map
// kbuild skips depmod; here, asked for explicitly, it runs without -e -F.
func depmodArgs(dest, release, systemMap string) []string {
	args := []string{"-a"}
	if systemMap != "" {
		args = []string{"-ae", "-F", systemMap}
	}
	return append(args, "-b", dest, release)
}

// Depmod runs depmod on what Install wrote: OBJTREE/System.map is used when
// it exists. depmod's own output goes to stdout and stderr.
func Depmod(res *Result, opts Options, stdout, stderr io.Writer) error {
	opts = opts.withDefaults()
	prog, err := findDepmod(opts.Getenv)
	if err != nil {
		return err
	}
	dest, err := filepath.Abs(opts.Dest)
	if err != nil {
		return err
	}
	systemMap := filepath.Join(opts.ObjTree, "System.map")
	if fi, err := os.Stat(systemMap); err != nil || !fi.Mode().IsRegular() {
		systemMap = ""
	} else if systemMap, err = filepath.Abs(systemMap); err != nil {
		return err
	}
	args := depmodArgs(dest, res.Release, systemMap)
	cmd := exec.Command(prog, args...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w", prog, strings.Join(args, " "), err)
	}
	return nil
}
