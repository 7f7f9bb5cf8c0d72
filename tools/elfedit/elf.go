// Package elfedit edits linked ELF files the way GNU objcopy does: it removes
// sections (renumbering every index that refers to them), rewrites the
// symbol table (including SHT_SYMTAB_SHNDX for files with more than 65,279
// sections), replaces section contents, and writes the result with the file
// layout objcopy produces, keeping every byte a loader reads.
//
// The types mirror the ELF specification one to one, in their 64-bit form;
// the codec in this file is the only place that knows ELF32 from ELF64 and
// the byte order. Input is read into (or mapped as) one byte slice that is
// never modified.
//
// What objcopy (BFD) does, and Edit does the same way:
//   - Sections: kept in file order, except that a SHT_REL/SHT_RELA section
//     brings the section its sh_info names to its own place; relocation
//     sections BFD reads as such (they refer to .symtab) follow their
//     target and are named after it; .symtab, .symtab_shndx (made when
//     needed), .strtab and .shstrtab come last.
//   - File layout: sections in a PT_LOAD stay at their offset in the
//     segment; the others follow the last segment in section order, then
//     the symbol table and its strings, the relocations, the section
//     names and the section header table, each aligned.
//   - Program headers: copied, unless a removed section lay in a segment;
//     then each segment shrinks to the sections left in it, loadable
//     segments are laid out again (a shrunk one can pull later ones down),
//     PT_GNU_RELRO is dropped, and segments without sections get word
//     alignment (see Options.Noload for kbuild's extra run).
//   - Symbols: locals first, then globals, each in input order; symbols of
//     removed sections go; symbols that relocations of kept sections use
//     stay; section symbols follow BFD's per-target rule (x86 drops unused
//     ones in executables without relocations, others give every section
//     one); undefined ones are global, those in TLS sections STT_TLS.
//   - String tables: each string once, in first-use order, with strings
//     that end another one stored in it (BFD's tail merging).
//   - Bytes no section covers are zero.
//
// Not modelled, as no kernel needs it: section groups beyond numbering
// them first, and objcopy's handling of segments that overlap or of
// sections it moves to new addresses.
package elfedit

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// Header is the ELF file header (Elf32_Ehdr/Elf64_Ehdr) as stored. Shnum and
// Shstrndx hold the raw 16-bit fields; File.Sections and File.Shstrndx have
// the real values when extended section numbering is used.
type Header struct {
	Ident     [elf.EI_NIDENT]byte
	Type      uint16
	Machine   uint16
	Version   uint32
	Entry     uint64
	Phoff     uint64
	Shoff     uint64
	Flags     uint32
	Ehsize    uint16
	Phentsize uint16
	Phnum     uint16
	Shentsize uint16
	Shnum     uint16
	Shstrndx  uint16
}

// Prog is a program header (Elf32_Phdr/Elf64_Phdr).
type Prog struct {
	Type   uint32
	Flags  uint32
	Off    uint64
	Vaddr  uint64
	Paddr  uint64
	Filesz uint64
	Memsz  uint64
	Align  uint64
}

// Section is a section header (Elf32_Shdr/Elf64_Shdr) with its resolved name.
type Section struct {
	Name      string
	NameOff   uint32 // sh_name
	Type      uint32
	Flags     uint64
	Addr      uint64
	Offset    uint64
	Size      uint64
	Link      uint32
	Info      uint32
	Addralign uint64
	Entsize   uint64
}

// Sym is a symbol table entry (Elf32_Sym/Elf64_Sym). Shndx is the real
// section index: when the stored st_shndx is SHN_XINDEX it comes from the
// SHT_SYMTAB_SHNDX table, so it may be 0xff00 or more; Reserved tells a
// reserved index (SHN_ABS, SHN_COMMON, ...) stored as such from a real one.
type Sym struct {
	Name     string
	NameOff  uint32
	Info     uint8
	Other    uint8
	Shndx    uint32
	Reserved bool
	Value    uint64
	Size     uint64
}

// Bind is the symbol's binding (STB_*).
func (s *Sym) Bind() elf.SymBind { return elf.ST_BIND(s.Info) }

// Type is the symbol's type (STT_*).
func (s *Sym) Type() elf.SymType { return elf.ST_TYPE(s.Info) }

// FormatError reports malformed input: where in the file, and what is wrong.
type FormatError struct {
	Off int64  // file offset the problem was found at
	Msg string // what was expected
}

// Error prints the offset unsigned: a corrupt field can hold any 64-bit
// value, which is no negative offset.
func (e *FormatError) Error() string {
	return fmt.Sprintf("malformed ELF at offset %#x: %s", uint64(e.Off), e.Msg)
}

func formatErr(off uint64, format string, a ...any) error {
	return &FormatError{Off: int64(off), Msg: fmt.Sprintf(format, a...)}
}

// Reserved section indices (elf.SHN_* are of a 16-bit type).
const (
	shnLoreserve = 0xff00
	shnAbs       = 0xfff1
	shnCommon    = 0xfff2
	shnXindex    = 0xffff
	pnXnum       = 0xffff
)

// codec encodes and decodes the structures for one class and byte order.
type codec struct {
	class elf.Class
	bo    binary.ByteOrder
	// Sizes of the on-disk structures.
	ehdr, phdr, shdr, symsz, rel, rela int
	// mips64el: r_info is a little-endian 32-bit symbol index followed
	// by four type bytes, not a 64-bit little-endian number.
	mips64el bool
}

func newCodec(class elf.Class, bo binary.ByteOrder) codec {
	if class == elf.ELFCLASS64 {
		return codec{class: class, bo: bo, ehdr: 64, phdr: 56, shdr: 64, symsz: 24, rel: 16, rela: 24}
	}
	return codec{class: class, bo: bo, ehdr: 52, phdr: 32, shdr: 40, symsz: 16, rel: 8, rela: 12}
}

func (c codec) is64() bool { return c.class == elf.ELFCLASS64 }

// wordAlign is the file alignment BFD uses for .symtab and the section
// header table (1 << log_file_align).
func (c codec) wordAlign() uint64 {
	if c.is64() {
		return 8
	}
	return 4
}

func (c codec) header(b []byte) Header {
	var h Header
	copy(h.Ident[:], b)
	bo := c.bo
	h.Type = bo.Uint16(b[16:])
	h.Machine = bo.Uint16(b[18:])
	h.Version = bo.Uint32(b[20:])
	if c.is64() {
		h.Entry = bo.Uint64(b[24:])
		h.Phoff = bo.Uint64(b[32:])
		h.Shoff = bo.Uint64(b[40:])
		b = b[48:]
	} else {
		h.Entry = uint64(bo.Uint32(b[24:]))
		h.Phoff = uint64(bo.Uint32(b[28:]))
		h.Shoff = uint64(bo.Uint32(b[32:]))
		b = b[36:]
	}
	h.Flags = bo.Uint32(b)
	h.Ehsize = bo.Uint16(b[4:])
	h.Phentsize = bo.Uint16(b[6:])
	h.Phnum = bo.Uint16(b[8:])
	h.Shentsize = bo.Uint16(b[10:])
	h.Shnum = bo.Uint16(b[12:])
	h.Shstrndx = bo.Uint16(b[14:])
	return h
}

func (c codec) putHeader(b []byte, h *Header) {
	copy(b, h.Ident[:])
	bo := c.bo
	bo.PutUint16(b[16:], h.Type)
	bo.PutUint16(b[18:], h.Machine)
	bo.PutUint32(b[20:], h.Version)
	if c.is64() {
		bo.PutUint64(b[24:], h.Entry)
		bo.PutUint64(b[32:], h.Phoff)
		bo.PutUint64(b[40:], h.Shoff)
		b = b[48:]
	} else {
		bo.PutUint32(b[24:], uint32(h.Entry))
		bo.PutUint32(b[28:], uint32(h.Phoff))
		bo.PutUint32(b[32:], uint32(h.Shoff))
		b = b[36:]
	}
	bo.PutUint32(b, h.Flags)
	bo.PutUint16(b[4:], h.Ehsize)
	bo.PutUint16(b[6:], h.Phentsize)
	bo.PutUint16(b[8:], h.Phnum)
	bo.PutUint16(b[10:], h.Shentsize)
	bo.PutUint16(b[12:], h.Shnum)
	bo.PutUint16(b[14:], h.Shstrndx)
}

func (c codec) prog(b []byte) Prog {
	bo := c.bo
	if c.is64() {
		return Prog{
			Type: bo.Uint32(b), Flags: bo.Uint32(b[4:]),
			Off: bo.Uint64(b[8:]), Vaddr: bo.Uint64(b[16:]), Paddr: bo.Uint64(b[24:]),
			Filesz: bo.Uint64(b[32:]), Memsz: bo.Uint64(b[40:]), Align: bo.Uint64(b[48:]),
		}
	}
	return Prog{
		Type: bo.Uint32(b), Off: uint64(bo.Uint32(b[4:])),
		Vaddr: uint64(bo.Uint32(b[8:])), Paddr: uint64(bo.Uint32(b[12:])),
		Filesz: uint64(bo.Uint32(b[16:])), Memsz: uint64(bo.Uint32(b[20:])),
		Flags: bo.Uint32(b[24:]), Align: uint64(bo.Uint32(b[28:])),
	}
}

func (c codec) putProg(b []byte, p *Prog) {
	bo := c.bo
	if c.is64() {
		bo.PutUint32(b, p.Type)
		bo.PutUint32(b[4:], p.Flags)
		bo.PutUint64(b[8:], p.Off)
		bo.PutUint64(b[16:], p.Vaddr)
		bo.PutUint64(b[24:], p.Paddr)
		bo.PutUint64(b[32:], p.Filesz)
		bo.PutUint64(b[40:], p.Memsz)
		bo.PutUint64(b[48:], p.Align)
		return
	}
	bo.PutUint32(b, p.Type)
	bo.PutUint32(b[4:], uint32(p.Off))
	bo.PutUint32(b[8:], uint32(p.Vaddr))
	bo.PutUint32(b[12:], uint32(p.Paddr))
	bo.PutUint32(b[16:], uint32(p.Filesz))
	bo.PutUint32(b[20:], uint32(p.Memsz))
	bo.PutUint32(b[24:], p.Flags)
	bo.PutUint32(b[28:], uint32(p.Align))
}

func (c codec) section(b []byte) Section {
	bo := c.bo
	if c.is64() {
		return Section{
			NameOff: bo.Uint32(b), Type: bo.Uint32(b[4:]), Flags: bo.Uint64(b[8:]),
			Addr: bo.Uint64(b[16:]), Offset: bo.Uint64(b[24:]), Size: bo.Uint64(b[32:]),
			Link: bo.Uint32(b[40:]), Info: bo.Uint32(b[44:]),
			Addralign: bo.Uint64(b[48:]), Entsize: bo.Uint64(b[56:]),
		}
	}
	return Section{
		NameOff: bo.Uint32(b), Type: bo.Uint32(b[4:]), Flags: uint64(bo.Uint32(b[8:])),
		Addr: uint64(bo.Uint32(b[12:])), Offset: uint64(bo.Uint32(b[16:])),
		Size: uint64(bo.Uint32(b[20:])), Link: bo.Uint32(b[24:]), Info: bo.Uint32(b[28:]),
		Addralign: uint64(bo.Uint32(b[32:])), Entsize: uint64(bo.Uint32(b[36:])),
	}
}

func (c codec) putSection(b []byte, s *Section) {
	bo := c.bo
	if c.is64() {
		bo.PutUint32(b, s.NameOff)
		bo.PutUint32(b[4:], s.Type)
		bo.PutUint64(b[8:], s.Flags)
		bo.PutUint64(b[16:], s.Addr)
		bo.PutUint64(b[24:], s.Offset)
		bo.PutUint64(b[32:], s.Size)
		bo.PutUint32(b[40:], s.Link)
		bo.PutUint32(b[44:], s.Info)
		bo.PutUint64(b[48:], s.Addralign)
		bo.PutUint64(b[56:], s.Entsize)
		return
	}
	bo.PutUint32(b, s.NameOff)
	bo.PutUint32(b[4:], s.Type)
	bo.PutUint32(b[8:], uint32(s.Flags))
	bo.PutUint32(b[12:], uint32(s.Addr))
	bo.PutUint32(b[16:], uint32(s.Offset))
	bo.PutUint32(b[20:], uint32(s.Size))
	bo.PutUint32(b[24:], s.Link)
	bo.PutUint32(b[28:], s.Info)
	bo.PutUint32(b[32:], uint32(s.Addralign))
	bo.PutUint32(b[36:], uint32(s.Entsize))
}

// sym decodes a symbol without resolving its name or SHN_XINDEX.
func (c codec) sym(b []byte) Sym {
	bo := c.bo
	if c.is64() {
		return Sym{
			NameOff: bo.Uint32(b), Info: b[4], Other: b[5], Shndx: uint32(bo.Uint16(b[6:])),
			Value: bo.Uint64(b[8:]), Size: bo.Uint64(b[16:]),
		}
	}
	return Sym{
		NameOff: bo.Uint32(b), Value: uint64(bo.Uint32(b[4:])), Size: uint64(bo.Uint32(b[8:])),
		Info: b[12], Other: b[13], Shndx: uint32(bo.Uint16(b[14:])),
	}
}

// putSym encodes s with the 16-bit st_shndx given.
func (c codec) putSym(b []byte, s *Sym, shndx uint16) {
	bo := c.bo
	if c.is64() {
		bo.PutUint32(b, s.NameOff)
		b[4] = s.Info
		b[5] = s.Other
		bo.PutUint16(b[6:], shndx)
		bo.PutUint64(b[8:], s.Value)
		bo.PutUint64(b[16:], s.Size)
		return
	}
	bo.PutUint32(b, s.NameOff)
	bo.PutUint32(b[4:], uint32(s.Value))
	bo.PutUint32(b[8:], uint32(s.Size))
	b[12] = s.Info
	b[13] = s.Other
	bo.PutUint16(b[14:], shndx)
}

// relSym returns the symbol index of the relocation entry at b.
func (c codec) relSym(b []byte) uint32 {
	if c.mips64el {
		return c.bo.Uint32(b[8:])
	}
	if c.is64() {
		return uint32(c.bo.Uint64(b[8:]) >> 32)
	}
	return c.bo.Uint32(b[4:]) >> 8
}

// setRelSym replaces the symbol index of the relocation entry at b.
func (c codec) setRelSym(b []byte, sym uint32) {
	if c.mips64el {
		c.bo.PutUint32(b[8:], sym)
		return
	}
	if c.is64() {
		info := c.bo.Uint64(b[8:])
		c.bo.PutUint64(b[8:], uint64(sym)<<32|info&0xffffffff)
		return
	}
	info := c.bo.Uint32(b[4:])
	c.bo.PutUint32(b[4:], sym<<8|info&0xff)
}
