package install

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/modhashes/modhashes/tools/internal/testfs"
	"github.com/modhashes/modhashes/tools/modsig"
)

// A reinstall of the same release with another build leaves no module of
// the earlier build below kernel/ (kbuild deletes kernel/ first), removes
// out-of-tree modules whose proofs are for another tree, and keeps what is
// not its own: signed or unsigned out-of-tree modules, depmod's files.
func TestReinstallRemovesStale(t *testing.T) {
	dest := t.TempDir()
	first := opts(vectorTree(t, "n05"), dest)
	res1, err := Install(first)
	if err != nil {
		t.Fatal(err)
	}
	if len(res1.Removed) != 0 {
		t.Errorf("first install removed %v", res1.Removed)
	}
	moddir := res1.ModDir
	at := func(rel string) string { return filepath.Join(moddir, rel) }
	old := testfs.ReadFile(t, at("kernel/lib/mod_2.ko")) // carries the proof for n05's tree
	plant := map[string][]byte{
		"updates/old.ko":                  old,
		"updates/dkms/signed.ko":          append([]byte("\x7fELF module"), sigTrailer(modsig.IDTypePKCS7, 64)...),
		"updates/dkms/unsigned.ko":        []byte("\x7fELF module"),
		"kernel/misc/notes.txt":           []byte("not a module"),
		"kernel/fs/ext4/.mod_1.ko.tmp123": []byte("an interrupted run's temporary"),
		"modules.dep":                     []byte("depmod's\n"),
	}
	for rel, b := range plant {
		writeFile(t, at(rel), string(b))
	}
	os.Symlink("/usr/src/linux", at("build"))

	res2, err := Install(opts(vectorTree(t, "n02"), dest))
	if err != nil {
		t.Fatal(err)
	}
	gone := []string{
		"kernel/lib/mod_2.ko", "kernel/sound/core/mod_3.ko", "kernel/drivers/net/mod_4.ko", // n05's, not n02's
		"updates/old.ko", "kernel/misc/notes.txt", "kernel/fs/ext4/.mod_1.ko.tmp123",
	}
	kept := []string{"kernel/drivers/net/mod_0.ko", "kernel/fs/ext4/mod_1.ko", "updates/dkms/signed.ko",
		"updates/dkms/unsigned.ko", "modules.dep", "build", "kernel"}
	for _, rel := range gone {
		if _, err := os.Lstat(at(rel)); !os.IsNotExist(err) {
			t.Errorf("%s: still there (%v)", rel, err)
		}
	}
	for _, rel := range kept {
		if _, err := os.Lstat(at(rel)); err != nil {
			t.Errorf("%s: %v", rel, err)
		}
	}
	for _, dir := range []string{"kernel/lib", "kernel/sound", "kernel/misc"} {
		if _, err := os.Stat(at(dir)); !os.IsNotExist(err) {
			t.Errorf("emptied directory %s: still there (%v)", dir, err)
		}
	}
	want := make([]string, len(gone))
	for i, rel := range gone {
		want[i] = at(rel)
	}
	sort.Strings(want)
	got := append([]string(nil), res2.Removed...)
	sort.Strings(got)
	if len(got) != len(want) {
		t.Fatalf("Removed = %q, want %q", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("Removed[%d] = %s, want %s", i, got[i], want[i])
		}
	}
}
