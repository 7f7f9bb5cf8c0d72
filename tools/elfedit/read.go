package elfedit

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"unsafe"
)

// File is a parsed ELF file. Its section contents are sub-slices of Data,
// which is never written to.
type File struct {
	Data     []byte
	Header   Header
	Progs    []Prog
	Sections []Section // index i is section header i; [0] is the null section
	Shstrndx int       // real index of the section name table
	Symtab   int       // index of the SHT_SYMTAB section, 0 if none
	Shndx    int       // index of its SHT_SYMTAB_SHNDX section, 0 if none

	c     codec
	src   *os.File // the mapped file, open; nil when Data was read
	unmap func() error
}

// release drops b, a part of a mapped file's Data read for the last time or
// to be read again only rarely, from the resident set (see dropPages). Data
// read into memory, not mapped, is left alone.
func (f *File) release(b []byte) {
	if f.unmap != nil {
		dropPages(f.Data, b)
	}
}

// offsetIn returns where b starts in whole, if b is a sub-slice of whole.
func offsetIn(whole, b []byte) (int, bool) {
	if len(whole) == 0 {
		return 0, false
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(whole)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if p < base || p-base > uintptr(len(whole)) || uintptr(len(b)) > uintptr(len(whole))-(p-base) {
		return 0, false
	}
	return int(p - base), true
}

// Class is ELFCLASS32 or ELFCLASS64.
func (f *File) Class() elf.Class { return f.c.class }

// ByteOrder is the file's byte order (from EI_DATA).
func (f *File) ByteOrder() binary.ByteOrder { return f.c.bo }

// Open maps (or reads) the named file and parses it. Close releases it.
func Open(name string) (*File, error) {
	data, src, unmap, err := mapFile(name)
	if err != nil {
		return nil, err
	}
	f, err := Parse(data)
	if err != nil {
		if unmap != nil {
			unmap()
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	f.src, f.unmap = src, unmap
	return f, nil
}

// Close releases the file's memory. Slices of Data must not be used after.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap()
	f.unmap, f.src = nil, nil
	f.Data = nil
	return err
}

// Parse reads the headers of the ELF file in data and checks that every
// structure lies inside it, so later steps can slice without checks.
func Parse(data []byte) (*File, error) {
	if len(data) < 4 || !bytes.Equal(data[:4], []byte(elf.ELFMAG)) {
		return nil, formatErr(0, "not an ELF file (bad magic)")
	}
	if len(data) < elf.EI_NIDENT {
		return nil, formatErr(0, "file of %d bytes is shorter than the ELF identification (%d)", len(data), elf.EI_NIDENT)
	}
	var bo binary.ByteOrder
	switch elf.Data(data[elf.EI_DATA]) {
	case elf.ELFDATA2LSB:
		bo = binary.LittleEndian
	case elf.ELFDATA2MSB:
		bo = binary.BigEndian
	default:
		return nil, formatErr(elf.EI_DATA, "unknown data encoding %d", data[elf.EI_DATA])
	}
	class := elf.Class(data[elf.EI_CLASS])
	if class != elf.ELFCLASS32 && class != elf.ELFCLASS64 {
		return nil, formatErr(elf.EI_CLASS, "unknown class %d", data[elf.EI_CLASS])
	}
	c := newCodec(class, bo)
	if len(data) < c.ehdr {
		return nil, formatErr(0, "file of %d bytes is shorter than the ELF header (%d)", len(data), c.ehdr)
	}
	f := &File{Data: data, c: c, Header: c.header(data)}
	h := &f.Header
	f.c.mips64el = class == elf.ELFCLASS64 && bo == binary.LittleEndian && elf.Machine(h.Machine) == elf.EM_MIPS
	if h.Ehsize != 0 && int(h.Ehsize) < c.ehdr {
		return nil, formatErr(0, "e_ehsize %d, want %d", h.Ehsize, c.ehdr)
	}
	if err := f.readSections(); err != nil {
		return nil, err
	}
	if err := f.readProgs(); err != nil {
		return nil, err
	}
	return f, nil
}

// span checks that [off, off+size) lies inside the file.
func (f *File) span(off, size uint64, what string) error {
	end := off + size
	if end < off || end > uint64(len(f.Data)) {
		return formatErr(off, "%s of %d bytes extends past the end of the file (%d bytes)", what, size, len(f.Data))
	}
	return nil
}

// table checks a table of n entries of entsize bytes at off and returns
// its total size.
func (f *File) table(off uint64, n uint64, entsize int, what string) error {
	if n > uint64(len(f.Data))/uint64(entsize)+1 {
		return formatErr(off, "%s: %d entries cannot fit in the file", what, n)
	}
	return f.span(off, n*uint64(entsize), what)
}

func (f *File) readProgs() error {
	h := &f.Header
	if h.Phoff == 0 && h.Phnum == 0 {
		return nil
	}
	n := uint64(h.Phnum)
	if h.Phnum == pnXnum && len(f.Sections) > 0 {
		n = uint64(f.Sections[0].Info)
	}
	if n == 0 {
		return nil
	}
	if int(h.Phentsize) != f.c.phdr {
		return formatErr(0, "e_phentsize %d, want %d", h.Phentsize, f.c.phdr)
	}
	if err := f.table(h.Phoff, n, f.c.phdr, "program header table (e_phoff, e_phnum)"); err != nil {
		return err
	}
	f.Progs = make([]Prog, n)
	for i := range f.Progs {
		f.Progs[i] = f.c.prog(f.Data[h.Phoff+uint64(i*f.c.phdr):])
	}
	for i, p := range f.Progs {
		if p.Type == uint32(elf.PT_NULL) || p.Filesz == 0 {
			continue // a segment without file contents may point anywhere
		}
		if err := f.span(p.Off, p.Filesz, fmt.Sprintf("segment %d (p_offset, p_filesz)", i)); err != nil {
			return err
		}
		if p.Memsz < p.Filesz && p.Type == uint32(elf.PT_LOAD) {
			return formatErr(h.Phoff+uint64(i*f.c.phdr), "segment %d: p_memsz %#x < p_filesz %#x", i, p.Memsz, p.Filesz)
		}
	}
	return nil
}

func (f *File) readSections() error {
	h := &f.Header
	if h.Shoff == 0 {
		if h.Shnum != 0 {
			return formatErr(0, "e_shnum %d without a section header table", h.Shnum)
		}
		return nil
	}
	if int(h.Shentsize) != f.c.shdr {
		return formatErr(0, "e_shentsize %d, want %d", h.Shentsize, f.c.shdr)
	}
	if err := f.span(h.Shoff, uint64(f.c.shdr), "section header 0 (e_shoff)"); err != nil {
		return err
	}
	s0 := f.c.section(f.Data[h.Shoff:])
	n := uint64(h.Shnum)
	if n == 0 {
		n = s0.Size // extended numbering
	}
	if n == 0 {
		return nil
	}
	if err := f.table(h.Shoff, n, f.c.shdr, "section header table (e_shoff, e_shnum)"); err != nil {
		return err
	}
	f.Sections = make([]Section, n)
	for i := range f.Sections {
		f.Sections[i] = f.c.section(f.Data[h.Shoff+uint64(i*f.c.shdr):])
	}
	shstrndx := uint64(h.Shstrndx)
	if h.Shstrndx == shnXindex {
		shstrndx = uint64(s0.Link)
	}
	if shstrndx >= n || shstrndx == 0 && h.Shstrndx != 0 {
		return formatErr(0, "e_shstrndx %d out of range (%d sections)", shstrndx, n)
	}
	f.Shstrndx = int(shstrndx)
	for i := 1; i < len(f.Sections); i++ {
		s := &f.Sections[i]
		where := h.Shoff + uint64(i*f.c.shdr)
		if s.Type != uint32(elf.SHT_NOBITS) && s.Size > 0 {
			if err := f.span(s.Offset, s.Size, fmt.Sprintf("section %d (sh_offset, sh_size)", i)); err != nil {
				return err
			}
		}
		if s.Addralign > 1 && s.Addralign&(s.Addralign-1) != 0 {
			return formatErr(where, "section %d: sh_addralign %d is not a power of two", i, s.Addralign)
		}
		if uint64(s.Link) >= n && linkIsSection(s) {
			return formatErr(where, "section %d: sh_link %d out of range", i, s.Link)
		}
	}
	if f.Shstrndx != 0 {
		strs := &f.Sections[f.Shstrndx]
		if strs.Type == uint32(elf.SHT_NOBITS) {
			return formatErr(h.Shoff+uint64(f.Shstrndx*f.c.shdr), "section name table has no contents")
		}
		tab := f.Contents(f.Shstrndx)
		for i := 1; i < len(f.Sections); i++ {
			name, ok := cstring(tab, f.Sections[i].NameOff)
			if !ok {
				return formatErr(h.Shoff+uint64(i*f.c.shdr), "section %d: name offset %d outside the section name table (%d bytes)", i, f.Sections[i].NameOff, len(tab))
			}
			f.Sections[i].Name = name
		}
	}
	for i := 1; i < len(f.Sections); i++ {
		s := &f.Sections[i]
		where := h.Shoff + uint64(i*f.c.shdr)
		switch elf.SectionType(s.Type) {
		case elf.SHT_SYMTAB:
			if f.Symtab != 0 {
				return formatErr(where, "section %d: second symbol table (first is %d)", i, f.Symtab)
			}
			if s.Entsize != uint64(f.c.symsz) {
				return formatErr(where, "symbol table entry size %d, want %d", s.Entsize, f.c.symsz)
			}
			if s.Size%uint64(f.c.symsz) != 0 {
				return formatErr(where, "symbol table size %d is not a multiple of %d", s.Size, f.c.symsz)
			}
			if s.Link == 0 || f.Sections[s.Link].Type != uint32(elf.SHT_STRTAB) {
				return formatErr(where, "symbol table's sh_link %d is not a string table", s.Link)
			}
			f.Symtab = i
		case elf.SHT_SYMTAB_SHNDX:
			if f.Shndx != 0 {
				return formatErr(where, "section %d: second SHT_SYMTAB_SHNDX", i)
			}
			f.Shndx = i
		case elf.SHT_REL, elf.SHT_RELA:
			want := uint64(f.c.rel)
			if s.Type == uint32(elf.SHT_RELA) {
				want = uint64(f.c.rela)
			}
			if s.Entsize != want || s.Size%want != 0 {
				return formatErr(where, "relocation section %d: entry size %d or size %d does not fit %d-byte entries", i, s.Entsize, s.Size, want)
			}
		}
	}
	if f.Shndx != 0 {
		x := &f.Sections[f.Shndx]
		if f.Symtab == 0 || int(x.Link) != f.Symtab {
			return formatErr(h.Shoff+uint64(f.Shndx*f.c.shdr), "SHT_SYMTAB_SHNDX sh_link %d is not the symbol table", x.Link)
		}
		if x.Size/4 < f.Sections[f.Symtab].Size/uint64(f.c.symsz) {
			return formatErr(h.Shoff+uint64(f.Shndx*f.c.shdr), "SHT_SYMTAB_SHNDX has %d entries for %d symbols", x.Size/4, f.Sections[f.Symtab].Size/uint64(f.c.symsz))
		}
	}
	return nil
}

// linkIsSection tells whether sh_link names a section for this type.
func linkIsSection(s *Section) bool {
	switch elf.SectionType(s.Type) {
	case elf.SHT_SYMTAB, elf.SHT_DYNSYM, elf.SHT_REL, elf.SHT_RELA, elf.SHT_HASH,
		elf.SHT_DYNAMIC, elf.SHT_GNU_HASH, elf.SHT_SYMTAB_SHNDX, elf.SHT_GROUP,
		elf.SHT_GNU_VERSYM, elf.SHT_GNU_VERDEF, elf.SHT_GNU_VERNEED:
		return true
	}
	return s.Flags&uint64(elf.SHF_LINK_ORDER) != 0
}

// cstring returns the NUL-terminated string at off in tab.
func cstring(tab []byte, off uint32) (string, bool) {
	if uint64(off) >= uint64(len(tab)) {
		return "", off == 0 && len(tab) == 0
	}
	end := bytes.IndexByte(tab[off:], 0)
	if end < 0 {
		return "", false
	}
	return string(tab[off : off+uint32(end)]), true
}

// Contents returns the bytes of section i (nil for SHT_NOBITS).
func (f *File) Contents(i int) []byte {
	s := &f.Sections[i]
	if s.Type == uint32(elf.SHT_NOBITS) || s.Size == 0 {
		return nil
	}
	return f.Data[s.Offset : s.Offset+s.Size]
}

// SectionByName returns the index of the first section called name, or -1.
func (f *File) SectionByName(name string) int {
	for i := 1; i < len(f.Sections); i++ {
		if f.Sections[i].Name == name {
			return i
		}
	}
	return -1
}

// Symbols decodes the symbol table, entry 0 included. It returns nil if the
// file has none.
func (f *File) Symbols() ([]Sym, error) {
	if f.Symtab == 0 {
		return nil, nil
	}
	st := &f.Sections[f.Symtab]
	strs := f.Contents(int(st.Link))
	var shndx []byte
	if f.Shndx != 0 {
		shndx = f.Contents(f.Shndx)
	}
	tab := f.Contents(f.Symtab)
	n := len(tab) / f.c.symsz
	syms := make([]Sym, n)
	for i := range syms {
		where := st.Offset + uint64(i*f.c.symsz)
		s := f.c.sym(tab[i*f.c.symsz:])
		name, ok := cstring(strs, s.NameOff)
		if !ok {
			return nil, formatErr(where, "symbol %d: name offset %d outside the string table (%d bytes)", i, s.NameOff, len(strs))
		}
		s.Name = name
		switch {
		case s.Shndx == shnXindex:
			if shndx == nil {
				return nil, formatErr(where, "symbol %d: SHN_XINDEX without a SHT_SYMTAB_SHNDX section", i)
			}
			s.Shndx = f.c.bo.Uint32(shndx[4*i:])
			if s.Shndx >= uint32(len(f.Sections)) {
				return nil, formatErr(where, "symbol %d: extended section index %d out of range", i, s.Shndx)
			}
		case s.Shndx >= shnLoreserve:
			s.Reserved = true
		case s.Shndx >= uint32(len(f.Sections)):
			return nil, formatErr(where, "symbol %d: section index %d out of range (%d sections)", i, s.Shndx, len(f.Sections))
		}
		syms[i] = s
	}
	f.release(tab)
	f.release(strs)
	f.release(shndx)
	return syms, nil
}
