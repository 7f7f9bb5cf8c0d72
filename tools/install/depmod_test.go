package install

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/modhashes/modhashes/tools/internal/testfs"
	"github.com/modhashes/modhashes/tools/treegen"
)

// Depmod runs the real kmod depmod as make modules_install does: with
// -e -F System.map it resolves a dependency between two modules the host
// compiler built, and names the one symbol neither the modules nor
// System.map provide.
func TestDepmodRealKmod(t *testing.T) {
	testfs.Tool(t, "depmod")
	gcc := testfs.Tool(t, "gcc")
	objtree := t.TempDir()
	for name, src := range map[string]string{
		"lib/mod_a": `int modhashes_test_export(void) { return 42; }
__attribute__((section("__ksymtab_strings"), used)) static const char ks[] = "modhashes_test_export";
__attribute__((section(".modinfo"), used)) static const char mi[] = "license=GPL";
`,
		"drivers/mod_b": `extern int modhashes_test_export(void), printk(const char *), modhashes_nowhere(void);
int use(void) { return modhashes_test_export() + printk("") + modhashes_nowhere(); }
__attribute__((section(".modinfo"), used)) static const char mi[] = "license=GPL";
`,
	} {
		writeFile(t, filepath.Join(objtree, name+".c"), src)
		if out, err := exec.Command(gcc, "-c", "-o", filepath.Join(objtree, name+".ko"), filepath.Join(objtree, name+".c")).CombinedOutput(); err != nil {
			t.Fatalf("gcc: %v\n%s", err, out)
		}
	}
	writeFile(t, filepath.Join(objtree, "modules.order"), "lib/mod_a.o\ndrivers/mod_b.o\n")
	writeFile(t, filepath.Join(objtree, "System.map"), "ffffffff81000000 T printk\nffffffff82000000 r __ksymtab_printk\n")
	tr, err := treegen.Hash(treegen.Options{ObjTree: objtree})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.WriteProofs(""); err != nil {
		t.Fatal(err)
	}
	o := opts(objtree, filepath.Join(t.TempDir(), "dest"))
	o.KernelRelease = "6.99.0-depmod"
	res, err := Install(o)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if err := Depmod(res, o, &stdout, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.Bytes())
	}
	dep, err := os.ReadFile(filepath.Join(res.ModDir, "modules.dep"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "kernel/drivers/mod_b.ko: kernel/lib/mod_a.ko\n"; !strings.Contains(string(dep), want) {
		t.Errorf("modules.dep:\n%s\nwant the line %q", dep, want)
	}
	if s := stderr.String(); !strings.Contains(s, "modhashes_nowhere") || strings.Contains(s, "printk") {
		t.Errorf("depmod -e -F System.map should name modhashes_nowhere only:\n%s", s)
	}
}

func TestDepmodArgsAndLookup(t *testing.T) {
	for _, tc := range []struct {
		systemMap string
		want      string
	}{
		{"/o/System.map", "-ae -F /o/System.map -b /d 6.1"},
		{"", "-a -b /d 6.1"},
	} {
		if got := strings.Join(depmodArgs("/d", "6.1", tc.systemMap), " "); got != tc.want {
			t.Errorf("depmodArgs(%q) = %q, want %q", tc.systemMap, got, tc.want)
		}
	}
	// DEPMOD names the program, as for kbuild; a missing one is an error
	// that says so, not a warning.
	bin := t.TempDir()
	fake := filepath.Join(bin, "my-depmod")
	writeFile(t, fake, "#!/bin/sh\necho \"$@\" > \"$0.args\"\n")
	os.Chmod(fake, 0o755)
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "DEPMOD" {
				return v
			}
			return ""
		}
	}
	if p, err := findDepmod(env(fake)); err != nil || p != fake {
		t.Errorf("DEPMOD=%s: %q, %v", fake, p, err)
	}
	if _, err := findDepmod(env("no-such-depmod")); !errors.Is(err, ErrNoDepmod) || !strings.Contains(err.Error(), "no-such-depmod") {
		t.Errorf("missing depmod: %v", err)
	}
	// The fake gets the installation root as an absolute path.
	o := opts("obj", "rel/dest")
	o.Getenv = env(fake)
	if err := Depmod(&Result{Release: "6.1"}, o, nil, nil); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("rel/dest")
	if got := strings.TrimSpace(string(testfs.ReadFile(t, fake+".args"))); got != "-a -b "+abs+" 6.1" {
		t.Errorf("depmod ran with %q", got)
	}
}
