// Package testelf builds small ELF images for tests: an executable header
// and the named PROGBITS sections, laid out straight from the ELF
// specification, in either class and byte order.
package testelf

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
)

// Section is one section to put into the image.
type Section struct {
	Name string
	Data []byte
}

// Image returns an ET_EXEC image of the given class and byte order with
// the sections, followed by .shstrtab.
func Image(class elf.Class, order binary.ByteOrder, sections ...Section) []byte {
	is64 := class == elf.ELFCLASS64
	ehsize, shentsize := 52, 40
	if is64 {
		ehsize, shentsize = 64, 64
	}
	var strtab bytes.Buffer
	strtab.WriteByte(0)
	nameOff := make([]int, len(sections)+1)
	for i, s := range sections {
		nameOff[i] = strtab.Len()
		strtab.WriteString(s.Name)
		strtab.WriteByte(0)
	}
	nameOff[len(sections)] = strtab.Len()
	strtab.WriteString(".shstrtab\x00")

	var body bytes.Buffer
	body.Write(make([]byte, ehsize))
	offs := make([]int, len(sections)+1)
	for i, s := range sections {
		for body.Len()%8 != 0 {
			body.WriteByte(0)
		}
		offs[i] = body.Len()
		body.Write(s.Data)
	}
	offs[len(sections)] = body.Len()
	body.Write(strtab.Bytes())
	for body.Len()%8 != 0 {
		body.WriteByte(0)
	}
	shoff := body.Len()
	w := func(v any) { binary.Write(&body, order, v) }
	word := func(v int) { // Elf_Addr, Elf_Off, Elf_Xword-sized fields
		if is64 {
			w(uint64(v))
		} else {
			w(uint32(v))
		}
	}
	sh := func(name int, typ elf.SectionType, flags, off, size, align int) {
		w(uint32(name))
		w(uint32(typ))
		word(flags)
		word(0) // addr
		word(off)
		word(size)
		w(uint32(0)) // link
		w(uint32(0)) // info
		word(align)
		word(0) // entsize
	}
	sh(0, elf.SHT_NULL, 0, 0, 0, 0)
	for i, s := range sections {
		sh(nameOff[i], elf.SHT_PROGBITS, int(elf.SHF_ALLOC), offs[i], len(s.Data), 4)
	}
	sh(nameOff[len(sections)], elf.SHT_STRTAB, 0, offs[len(sections)], strtab.Len(), 1)

	img := body.Bytes()
	var hdr bytes.Buffer
	data := elf.ELFDATA2LSB
	if order == binary.BigEndian {
		data = elf.ELFDATA2MSB
	}
	hdr.Write([]byte{0x7f, 'E', 'L', 'F', byte(class), byte(data), byte(elf.EV_CURRENT)})
	hdr.Write(make([]byte, elf.EI_NIDENT-7))
	hw := func(v any) { binary.Write(&hdr, order, v) }
	hword := func(v int) {
		if is64 {
			hw(uint64(v))
		} else {
			hw(uint32(v))
		}
	}
	hw(uint16(elf.ET_EXEC))
	hw(uint16(elf.EM_X86_64))
	hw(uint32(elf.EV_CURRENT))
	hword(0) // entry
	hword(0) // phoff
	hword(shoff)
	hw(uint32(0)) // flags
	hw(uint16(ehsize))
	hw(uint16(0)) // phentsize
	hw(uint16(0)) // phnum
	hw(uint16(shentsize))
	hw(uint16(len(sections) + 2))
	hw(uint16(len(sections) + 1)) // shstrndx
	copy(img, hdr.Bytes())
	return img
}
