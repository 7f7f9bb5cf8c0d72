package hashesroot

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/modhashes/modhashes/tools/internal/input"
)

// SectionName is the vmlinux section holding the root.
const SectionName = ".module_hashes"

// ReadVmlinux reads the root from the .module_hashes section of a kernel
// image (ELF32 or ELF64, either byte order) and returns it with the
// target's byte order.
func ReadVmlinux(name string) (Root, binary.ByteOrder, error) {
	in, err := input.Open(name)
	if err != nil {
		return Root{}, nil, err
	}
	defer in.Close()
	f, err := elf.NewFile(in)
	if err != nil {
		return Root{}, nil, fmt.Errorf("%s: %w", name, ELFError(err))
	}
	sec := f.Section(SectionName)
	if sec == nil {
		return Root{}, f.ByteOrder, fmt.Errorf("%s: no %s section (kernel built without CONFIG_MODULE_HASHES?)", name, SectionName)
	}
	if sec.Type == elf.SHT_NOBITS {
		return Root{}, f.ByteOrder, fmt.Errorf("%s: section %s has no contents (SHT_NOBITS)", name, SectionName)
	}
	if sec.Size != Size {
		return Root{}, f.ByteOrder, fmt.Errorf("%s: section %s is %d bytes, want %d", name, SectionName, sec.Size, Size)
	}
	b, err := sec.Data()
	if err != nil {
		return Root{}, f.ByteOrder, fmt.Errorf("%s: reading section %s: %w", name, SectionName, err)
	}
	r, err := ParseBinary(b, f.ByteOrder)
	if err != nil {
		return Root{}, f.ByteOrder, fmt.Errorf("%s: %w", name, err)
	}
	return r, f.ByteOrder, nil
}

// ELFError makes debug/elf's bare io.EOF, which it returns for a file cut
// inside its headers, say so.
func ELFError(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("not a complete ELF file: the ELF header, program or section headers reach past its end (truncated?)")
	}
	return err
}
