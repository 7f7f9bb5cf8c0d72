// Package modorder reads modules.order, the list of in-tree modules whose line
// numbers are the modules' positions in the hash tree.
package modorder

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/modhashes/modhashes/tools/internal/input"
)

// Entry is one module of modules.order.
type Entry struct {
	Pos  int    // 0-based position: the line number minus one
	Path string // the line as written, relative to the object tree
	Stem string // Path without its file name's last suffix (.o or .ko)
	// InTree: an in-tree module, named by its path below the object tree
	// (installed below kernel/); otherwise an out-of-tree module named by
	// its installed path ("updates/hello.ko"). See markInTree.
	InTree bool
}

// ModuleFile is the module's file for a given suffix (".ko", ".ko.stripped").
func (e Entry) ModuleFile(suffix string) string { return e.Stem + suffix }

// Where names a module in messages: its file and the modules.order line
// (pos + 1) that lists it, "module FILE (ORDER:LINE)".
func Where(file, order string, pos int) string {
	return fmt.Sprintf("module %s (%s:%d)", file, order, pos+1)
}

// ProofFile is where kbuild keeps the module's proof: <stem>.merkle.
func (e Entry) ProofFile() string { return e.Stem + ".merkle" }

// Read parses the named file.
func Read(name string) ([]Entry, error) {
	f, err := input.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f, name)
}

// maxLine bounds a line; PATH_MAX is 4096, so anything longer is not a path.
const maxLine = 4096

// Parse reads modules.order from r; name is used in errors ("name:line: ...").
// CRLF line ends are accepted. Blank lines, paths that are absolute or climb
// out of the tree, lines without a suffix and duplicates are errors.
func Parse(r io.Reader, name string) ([]Entry, error) {
	var entries []Entry
	seen := make(map[string]int)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxLine+2)
	for sc.Scan() {
		lineNo := len(entries) + 1
		line := string(bytes.TrimSuffix(sc.Bytes(), []byte{'\r'}))
		stem, err := stem(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, lineNo, err)
		}
		if first, dup := seen[stem]; dup {
			return nil, fmt.Errorf("%s:%d: module %q is listed twice (first on line %d)", name, lineNo, line, first)
		}
		seen[stem] = lineNo
		entries = append(entries, Entry{Pos: len(entries), Path: line, Stem: stem})
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return nil, fmt.Errorf("%s:%d: line longer than %d bytes", name, len(entries)+1, maxLine)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	markInTree(entries)
	return entries, nil
}

// markInTree tells in-tree modules from out-of-tree ones, the one place
// where kbuild versions differ. kbuild 6.2 and later list in-tree modules by
// object ("lib/x.o"), 6.1 and older by module ("lib/x.ko"). A set that adds
// out-of-tree modules lists them after the in-tree objects by installed
// path ("updates/x.ko"). So a ".ko" line is in-tree only in a file without
// ".o" lines (6.1's own), and never below updates/ or extra/, the
// INSTALL_MOD_DIR of out-of-tree builds, which are not kbuild source
// directories.
func markInTree(entries []Entry) {
	objects := false
	for _, e := range entries {
		if strings.HasSuffix(e.Path, ".o") {
			objects = true
			break
		}
	}
	for i := range entries {
		e := &entries[i]
		top, _, _ := strings.Cut(e.Path, "/")
		e.InTree = strings.HasSuffix(e.Path, ".o") ||
			!objects && top != "updates" && top != "extra"
	}
}

// stem checks one line and cuts the last suffix of its file name; dots in
// directory names are left alone.
func stem(line string) (string, error) {
	switch {
	case strings.TrimSpace(line) == "":
		return "", fmt.Errorf("blank line")
	case strings.TrimSpace(line) != line:
		return "", fmt.Errorf("%q: leading or trailing white space", line)
	case strings.ContainsRune(line, 0):
		return "", fmt.Errorf("%q: NUL byte in path", line)
	case strings.HasPrefix(line, "/"):
		return "", fmt.Errorf("%q: absolute path; want a path relative to the object tree", line)
	case strings.HasSuffix(line, "/"):
		return "", fmt.Errorf("%q: names a directory, not a module", line)
	}
	for _, c := range strings.Split(line, "/") {
		if c == ".." {
			return "", fmt.Errorf("%q: path leaves the object tree", line)
		}
	}
	base := path.Base(line)
	dot := strings.LastIndexByte(base, '.')
	if dot <= 0 || dot == len(base)-1 {
		return "", fmt.Errorf("%q: no file suffix (want e.g. .o or .ko)", line)
	}
	return line[:len(line)-len(base)+dot], nil
}
