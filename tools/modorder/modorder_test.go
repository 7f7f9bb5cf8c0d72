package modorder_test

import (
	"strings"
	"testing"

	"github.com/modhashes/modhashes/tools/modorder"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		stems    []string
	}{
		{"empty", "", nil},
		{"objects", "drivers/net/a.o\nfs/b.o\n", []string{"drivers/net/a", "fs/b"}},
		{"old .ko lines", "a.ko\n", []string{"a"}},
		{"no final newline", "a.o\nb.o", []string{"a", "b"}},
		{"CRLF", "a.o\r\nb.o\r\n", []string{"a", "b"}},
		{"dot in directory", "drivers/net/v1.2/mod.o\n", []string{"drivers/net/v1.2/mod"}},
		{"only last suffix", "lib/x.y.o\n", []string{"lib/x.y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := modorder.Parse(strings.NewReader(tc.in), "modules.order")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.stems) {
				t.Fatalf("got %d entries, want %d", len(got), len(tc.stems))
			}
			for i, e := range got {
				if e.Pos != i || e.Stem != tc.stems[i] {
					t.Errorf("entry %d = %+v, want pos %d stem %q", i, e, i, tc.stems[i])
				}
			}
		})
	}
}

func TestFiles(t *testing.T) {
	es, err := modorder.Parse(strings.NewReader("drivers/v1.0/nic.o\n"), "m")
	if err != nil {
		t.Fatal(err)
	}
	e := es[0]
	for _, c := range [][2]string{
		{e.ModuleFile(".ko"), "drivers/v1.0/nic.ko"},
		{e.ModuleFile(".ko.stripped"), "drivers/v1.0/nic.ko.stripped"},
		{e.ProofFile(), "drivers/v1.0/nic.merkle"},
	} {
		if c[0] != c[1] {
			t.Errorf("got %q, want %q", c[0], c[1])
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"blank line", "a.o\n\nb.o\n", "order:2: blank line"},
		{"spaces only", "a.o\n  \n", "order:2: blank line"},
		{"no suffix", "a.o\ndrivers/net/foo\n", `order:2: "drivers/net/foo": no file suffix`},
		{"suffix in directory only", "drivers.x/foo\n", "order:1: \"drivers.x/foo\": no file suffix"},
		{"empty suffix", "foo.\n", "no file suffix"},
		{"dot file", "dir/.o\n", "no file suffix"},
		{"duplicate", "a.o\nb.o\na.o\n", `order:3: module "a.o" is listed twice (first on line 1)`},
		{"duplicate with other suffix", "a.o\na.ko\n", "listed twice"},
		{"absolute", "/lib/a.o\n", "order:1: \"/lib/a.o\": absolute path"},
		{"escapes tree", "../a.o\n", "leaves the object tree"},
		{"trailing space", "a.o \n", "white space"},
		{"directory", "drivers/\n", "names a directory"},
		{"overlong line", strings.Repeat("x", 5000) + ".o\n", "order:1: line longer than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := modorder.Parse(strings.NewReader(tc.in), "order")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestReadMissingFile(t *testing.T) {
	_, err := modorder.Read(t.TempDir() + "/modules.order")
	if err == nil || !strings.Contains(err.Error(), "modules.order") {
		t.Fatalf("error %v, want one naming the file", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("drivers/net/a.o\nfs/b.o\n")
	f.Add("a.o\r\n\r\n")
	f.Add("x/../y.o\n/abs.o\n")
	f.Fuzz(func(t *testing.T, in string) {
		es, err := modorder.Parse(strings.NewReader(in), "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz:") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		seen := map[string]bool{}
		for i, e := range es {
			if e.Pos != i || seen[e.Stem] || e.Stem == "" || !strings.HasPrefix(e.Path, e.Stem+".") {
				t.Fatalf("bad entry %d: %+v", i, e)
			}
			seen[e.Stem] = true
		}
	})
}
