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
		size := int64(0)
		if fi, serr := in.Stat(); serr == nil {
			size = fi.Size()
		}
		return Root{}, nil, fmt.Errorf("%s: %w", name, ELFError(in, size, err))
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

// ELFError makes debug/elf's errors about a file of size bytes name the
// field at fault: its bare io.EOF for a file cut inside its headers, and
// its signed reading of header offsets past the end of the file.
func ELFError(r io.ReaderAt, size int64, err error) error {
	if herr := headerOffsets(r, size); herr != nil {
		return herr
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("not a complete ELF file: the ELF header, program or section headers reach past its end (truncated?)")
	}
	return err
}

// headerOffsets checks e_phoff and e_shoff against the file's size.
func headerOffsets(r io.ReaderAt, size int64) error {
	var h [64]byte
	if _, err := r.ReadAt(h[:], 0); err != nil || string(h[:4]) != elf.ELFMAG {
		return nil
	}
	var order binary.ByteOrder = binary.LittleEndian
	if elf.Data(h[elf.EI_DATA]) == elf.ELFDATA2MSB {
		order = binary.BigEndian
	}
	var phoff, shoff uint64
	switch elf.Class(h[elf.EI_CLASS]) {
	case elf.ELFCLASS64:
		phoff, shoff = order.Uint64(h[32:]), order.Uint64(h[40:])
	case elf.ELFCLASS32:
		phoff, shoff = uint64(order.Uint32(h[28:])), uint64(order.Uint32(h[32:]))
	default:
		return nil
	}
	for _, f := range []struct {
		name string
		off  uint64
	}{{"e_phoff", phoff}, {"e_shoff", shoff}} {
		if f.off > uint64(size) {
			return fmt.Errorf("malformed ELF header: %s is %#x, past the end of the file (%d bytes; truncated?)", f.name, f.off, size)
		}
	}
	return nil
}
