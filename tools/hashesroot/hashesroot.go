// Package hashesroot is the root the kernel keeps in its .module_hashes
// section: struct module_hashes_root { u32 levels; u8 hash[32]; }, with
// levels in the target's byte order. It reads and writes the raw 36 bytes
// and the C source kbuild's reference generator emits.
package hashesroot

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/modhashes/modhashes/tools/internal/input"
	"github.com/modhashes/modhashes/tools/merkle"
)

// Size is the size of the section contents.
const Size = 4 + merkle.HashSize

// Root is the tree height and the root hash.
type Root struct {
	Levels uint32
	Hash   merkle.Hash
}

// FromTree takes the root of a tree.
func FromTree(t *merkle.Tree) Root {
	return Root{Levels: uint32(t.Levels()), Hash: t.Root()}
}

// IsPlaceholder reports whether r is the all-zero root vmlinux is linked
// with before the modules are hashed (and the root of an empty tree).
func (r Root) IsPlaceholder() bool { return r == Root{} }

// Binary encodes the 36 section bytes for a target of the given byte order.
func (r Root) Binary(order binary.ByteOrder) []byte {
	b := make([]byte, Size)
	order.PutUint32(b, r.Levels)
	copy(b[4:], r.Hash[:])
	return b
}

// ParseBinary decodes section contents.
func ParseBinary(b []byte, order binary.ByteOrder) (Root, error) {
	if len(b) != Size {
		return Root{}, fmt.Errorf("module hashes root is %d bytes, want %d", len(b), Size)
	}
	r := Root{Levels: order.Uint32(b)}
	copy(r.Hash[:], b[4:])
	return r, nil
}

// CSource renders the root exactly as the reference generator writes
// .tmp_module_hashes.c, so kbuild can compile it unchanged.
func (r Root) CSource() []byte {
	var b bytes.Buffer
	b.WriteString("#include <linux/module_hashes.h>\n\n")
	b.WriteString("const struct module_hashes_root module_hashes_root __module_hashes_section = {\n")
	fmt.Fprintf(&b, "\t.levels = %d,\n", r.Levels)
	b.WriteString("\t.hash = {")
	for i, x := range r.Hash {
		if i%8 == 0 {
			b.WriteString("\n\t\t")
		}
		fmt.Fprintf(&b, "0x%02x,", x)
		if i%8 != 7 {
			b.WriteByte(' ')
		}
	}
	b.WriteString("\n\t},\n};\n")
	return b.Bytes()
}

var (
	cLevels = regexp.MustCompile(`\.levels\s*=\s*(0[xX][0-9a-fA-F]+|[0-9]+)[uU]?\s*,`)
	cHash   = regexp.MustCompile(`(?s)\.hash\s*=\s*\{([^}]*)\}`)
)

// ParseCSource reads the root back from C source in the generator's format
// (whitespace and a trailing comma may vary), so no compiler is needed.
func ParseCSource(src []byte) (Root, error) {
	var r Root
	if !bytes.Contains(src, []byte("module_hashes_root")) {
		return r, fmt.Errorf("no module_hashes_root definition")
	}
	m := cLevels.FindSubmatch(src)
	if m == nil {
		return r, fmt.Errorf("no .levels initializer")
	}
	lv, err := strconv.ParseUint(string(m[1]), 0, 32)
	if err != nil {
		return r, fmt.Errorf(".levels = %s: %w", m[1], err)
	}
	r.Levels = uint32(lv)
	m = cHash.FindSubmatch(src)
	if m == nil {
		return r, fmt.Errorf("no .hash initializer")
	}
	fields := strings.Split(string(m[1]), ",")
	if n := len(fields); n > 0 && strings.TrimSpace(fields[n-1]) == "" {
		fields = fields[:n-1]
	}
	if len(fields) != merkle.HashSize {
		return r, fmt.Errorf(".hash has %d bytes, want %d", len(fields), merkle.HashSize)
	}
	for i, f := range fields {
		v, err := strconv.ParseUint(strings.TrimSpace(f), 0, 8)
		if err != nil {
			return r, fmt.Errorf(".hash byte %d %q: not a byte value", i, strings.TrimSpace(f))
		}
		r.Hash[i] = byte(v)
	}
	return r, nil
}

// ReadCSourceFile is ParseCSource on a file, with the file named in errors.
func ReadCSourceFile(name string) (Root, error) {
	src, err := input.ReadFile(name)
	if err != nil {
		return Root{}, err
	}
	r, err := ParseCSource(src)
	if err != nil {
		return Root{}, fmt.Errorf("%s: %w", name, err)
	}
	return r, nil
}

// ReadBinaryFile is ParseBinary on a file, with the file named in errors.
func ReadBinaryFile(name string, order binary.ByteOrder) (Root, error) {
	b, err := input.ReadFile(name)
	if err != nil {
		return Root{}, err
	}
	r, err := ParseBinary(b, order)
	if err != nil {
		return Root{}, fmt.Errorf("%s: %w", name, err)
	}
	return r, nil
}

// ParseEndian maps the command line's "little"/"big" to a byte order.
func ParseEndian(s string) (binary.ByteOrder, error) {
	switch strings.ToLower(s) {
	case "little", "le":
		return binary.LittleEndian, nil
	case "big", "be":
		return binary.BigEndian, nil
	}
	return nil, fmt.Errorf("byte order %q: want little or big", s)
}

// TargetByteOrder reads the byte order of an ELF file from its identification
// bytes (EI_DATA), which is all it reads.
func TargetByteOrder(name string) (binary.ByteOrder, error) {
	f, err := input.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var ident [elf.EI_NIDENT]byte
	if _, err := io.ReadFull(f, ident[:]); err != nil {
		return nil, fmt.Errorf("%s: not an ELF file: too short", name)
	}
	if string(ident[:4]) != elf.ELFMAG {
		return nil, fmt.Errorf("%s: not an ELF file: bad magic", name)
	}
	switch elf.Data(ident[elf.EI_DATA]) {
	case elf.ELFDATA2LSB:
		return binary.LittleEndian, nil
	case elf.ELFDATA2MSB:
		return binary.BigEndian, nil
	}
	return nil, fmt.Errorf("%s: ELF byte order (EI_DATA) is %d, want 1 or 2", name, ident[elf.EI_DATA])
}
