package elfedit

import (
	"debug/elf"
	"fmt"
	"sort"
)

// inSegment is ELF_SECTION_IN_SEGMENT of binutils' include/elf/internal.h
// (VMAs checked, not strict): whether section s lies in segment p.
func inSegment(s *Section, p *Prog) bool {
	tls := s.Flags&uint64(elf.SHF_TLS) != 0
	alloc := s.Flags&uint64(elf.SHF_ALLOC) != 0
	nobits := s.Type == uint32(elf.SHT_NOBITS)
	pt := elf.ProgType(p.Type)
	if tls {
		if pt != elf.PT_TLS && pt != elf.PT_GNU_RELRO && pt != elf.PT_LOAD {
			return false
		}
	} else if pt == elf.PT_TLS || pt == elf.PT_PHDR {
		return false
	}
	if !alloc {
		switch pt {
		case elf.PT_LOAD, elf.PT_DYNAMIC, elf.PT_GNU_EH_FRAME, elf.PT_GNU_STACK, elf.PT_GNU_RELRO:
			return false
		}
		if pt == 0x6474e554 /* PT_GNU_SFRAME */ || pt >= 0x6474e555 && pt <= 0x6474f554 /* PT_GNU_MBIND */ {
			return false
		}
	}
	size := s.Size
	if tls && nobits && pt != elf.PT_TLS {
		size = 0 // .tbss takes no room outside PT_TLS
	}
	if !nobits {
		if s.Offset < p.Off || s.Offset-p.Off+size > p.Filesz || s.Offset-p.Off+size < size {
			return false
		}
	}
	if alloc {
		if s.Addr < p.Vaddr || s.Addr-p.Vaddr+size > p.Memsz || s.Addr-p.Vaddr+size < size {
			return false
		}
	}
	if (pt == elf.PT_DYNAMIC || pt == elf.PT_NOTE) && s.Size == 0 && p.Memsz != 0 {
		okOff := nobits || s.Offset > p.Off && s.Offset-p.Off < p.Filesz
		okAddr := !alloc || s.Addr > p.Vaddr && s.Addr-p.Vaddr < p.Memsz
		if !(okOff && okAddr) {
			return false
		}
	}
	return true
}

// maxPadding bounds the padding inserted between the sections placed after
// the segments, so that corrupt alignments cannot make the output huge.
// Real files pad each section by at most a page.
const maxPadding = 1 << 24

func alignUp(off, align uint64) (uint64, error) {
	if align <= 1 {
		return off, nil
	}
	r := (off + align - 1) &^ (align - 1)
	if r < off {
		return 0, fmt.Errorf("file offset overflows aligning %#x to %d", off, align)
	}
	return r, nil
}

// segments computes the output program headers as BFD does. When a
// removed section lay in a segment, objcopy rebuilds the program headers
// (rewrite_elf_program_header): it shrinks each segment to the sections
// left in it, drops PT_GNU_RELRO, gives section-less non-loadable
// segments word alignment, and moves a loadable segment that lost all
// its sections. Otherwise the headers are copied unchanged.
func (e *editor) segments() ([]Prog, []bool, []uint64) {
	f := e.f
	inLoad := make([]bool, len(f.Sections))
	shift := make([]uint64, len(f.Sections)) // how far a section moves down
	kept := make([][]int, len(f.Progs))
	lost := make([]bool, len(f.Progs)) // had sections, all removed
	rewrite := false
	for k := range f.Progs {
		p := &f.Progs[k]
		removed := false
		for i := 1; i < len(f.Sections); i++ {
			s := &f.Sections[i]
			if !inSegment(s, p) {
				continue
			}
			if e.removed[i] {
				removed = true
				continue
			}
			if e.kind[i] == kindNormal && s.Flags&uint64(elf.SHF_ALLOC) != 0 {
				kept[k] = append(kept[k], i)
				if p.Type == uint32(elf.PT_LOAD) {
					inLoad[i] = true
				}
			}
		}
		if removed {
			rewrite = true
			lost[k] = len(kept[k]) == 0
		}
	}
	if !rewrite {
		return append([]Prog(nil), f.Progs...), inLoad, shift
	}

	anyPaddr := false
	for _, p := range f.Progs {
		anyPaddr = anyPaddr || p.Paddr != 0
	}
	var progs []Prog
	var from []int // input index of each output segment
	for k, p := range f.Progs {
		if p.Type != uint32(elf.PT_GNU_RELRO) {
			progs = append(progs, p)
			from = append(from, k)
		}
	}
	phdrEnd := f.Header.Phoff + uint64(len(progs)*f.c.phdr)
	headers := func(p *Prog) bool {
		return p.Off == 0 && p.Filesz >= uint64(f.c.ehdr) || p.Off <= f.Header.Phoff && p.Off+p.Filesz >= f.Header.Phoff+uint64(len(f.Progs)*f.c.phdr)
	}
	for n := range progs {
		k := from[n]
		p := &f.Progs[k]
		q := &progs[n]
		ks := kept[k]
		switch elf.ProgType(p.Type) {
		case elf.PT_LOAD:
			if len(ks) == 0 && !headers(p) {
				continue // placed below, once the others are known
			}
			fileEnd, memEnd := p.Off, p.Vaddr
			if headers(p) {
				fileEnd = max(fileEnd, phdrEnd, uint64(f.Header.Ehsize))
			}
			memEnd += fileEnd - p.Off
			for _, i := range ks {
				s := &f.Sections[i]
				if s.Type != uint32(elf.SHT_NOBITS) {
					fileEnd = max(fileEnd, s.Offset+s.Size)
				}
				if s.Flags&uint64(elf.SHF_TLS) == 0 || s.Type != uint32(elf.SHT_NOBITS) {
					memEnd = max(memEnd, s.Addr+s.Size)
				}
			}
			q.Filesz = fileEnd - p.Off
			q.Memsz = max(memEnd-p.Vaddr, q.Filesz)
		case elf.PT_PHDR:
			q.Filesz = uint64(len(progs) * f.c.phdr)
			q.Memsz = q.Filesz
		}
	}

	// Loadable segments are laid out again in file order: each starts at
	// the first offset after the one before that is congruent with its
	// address modulo its alignment, so a segment that shrank can pull
	// the following ones down.
	var loads []int
	for n := range progs {
		if progs[n].Type == uint32(elf.PT_LOAD) {
			loads = append(loads, n)
		}
	}
	sort.SliceStable(loads, func(a, b int) bool { return f.Progs[from[loads[a]]].Off < f.Progs[from[loads[b]]].Off })
	moved := make([]bool, len(f.Sections))
	cursor := phdrEnd
	for _, n := range loads {
		k := from[n]
		p := &f.Progs[k]
		q := &progs[n]
		if len(kept[k]) == 0 && !headers(p) {
			continue // placed below
		}
		newOff := p.Off
		if !headers(p) {
			align := max(p.Align, 1)
			if off := cursor + (p.Vaddr-cursor)%align; off < p.Off {
				newOff = off
			}
		}
		q.Off = newOff
		for _, i := range kept[k] {
			if !moved[i] {
				moved[i] = true
				shift[i] = p.Off - newOff
			}
		}
		if q.Filesz > 0 {
			cursor = max(cursor, newOff+q.Filesz)
		}
	}

	for n := range progs {
		k := from[n]
		p := &f.Progs[k]
		q := &progs[n]
		ks := kept[k]
		switch elf.ProgType(p.Type) {
		case elf.PT_LOAD, elf.PT_PHDR:
		default:
			if len(ks) == 0 {
				q.Align = e.c.wordAlign()
				if lost[k] {
					q.Off, q.Paddr, q.Filesz, q.Memsz = 0, 0, 0, 0
				}
				continue
			}
			first := &f.Sections[ks[0]]
			q.Off = first.Offset - shift[ks[0]]
			q.Vaddr += first.Addr - p.Vaddr
			q.Paddr += first.Addr - p.Vaddr
			var fileEnd, memEnd uint64 = q.Off, q.Vaddr
			for _, i := range ks {
				s := &f.Sections[i]
				if s.Type != uint32(elf.SHT_NOBITS) {
					fileEnd = max(fileEnd, s.Offset-shift[i]+s.Size)
				}
				memEnd = max(memEnd, s.Addr+s.Size)
			}
			q.Filesz = fileEnd - q.Off
			q.Memsz = memEnd - q.Vaddr
			if p.Type == uint32(elf.PT_NOTE) {
				q.Memsz = q.Filesz
			}
		}
	}
	// A loadable segment left without sections gets no contents.
	for n := range progs {
		k := from[n]
		p := &f.Progs[k]
		if p.Type != uint32(elf.PT_LOAD) || len(kept[k]) > 0 || headers(p) {
			continue
		}
		q := &progs[n]
		q.Filesz, q.Memsz = 0, 0
		if e.opt.Noload {
			// The earlier noload run already emptied it: the segment
			// starts where the contents of the loadable segments
			// before it end, at address 0.
			off := phdrEnd
			for m := range progs {
				o := &progs[m]
				if m != n && o.Type == uint32(elf.PT_LOAD) && o.Paddr <= p.Paddr && o.Filesz > 0 {
					off = max(off, o.Off+o.Filesz)
				}
			}
			q.Off, q.Vaddr = off, 0
			if !anyPaddr {
				q.Paddr = 0
			}
		} else {
			// Its physical address goes with its first section; it
			// sorts first and starts right after the headers.
			q.Off, q.Paddr = phdrEnd, 0
		}
	}
	return progs, inLoad, shift
}

// layout places everything in the output file as BFD does: sections in
// loadable segments stay where they are; the other sections follow the
// last segment in section order, then the symbol table and its strings,
// then the relocations, the section names and the section header table.
func (e *editor) layout(o *Output) error {
	f := e.f
	c := e.c
	progs, inLoad, shift := e.segments()
	o.Progs = progs

	// Section names, in the order BFD enters them: its own three, then
	// each section's, a relocation section's (made from its target's
	// name) right after its target's.
	names := newStrtab(len(e.order) + 4)
	hSymtab, hStrtab := -1, -1
	if e.symtabIdx != 0 {
		hSymtab = names.add(".symtab")
		hStrtab = names.add(".strtab")
	}
	hShstrtab := names.add(".shstrtab")
	nameH := make(map[int]int, len(e.order))
	relName := map[int]string{}
	for _, i := range e.order {
		if e.kind[i] == kindReloc {
			prefix := ".rel"
			if f.Sections[i].Type == uint32(elf.SHT_RELA) {
				prefix = ".rela"
			}
			relName[i] = prefix + f.Sections[e.target[i]].Name
			nameH[i] = names.add(relName[i])
		} else {
			nameH[i] = names.add(f.Sections[i].Name)
		}
	}
	hShndx := -1
	if e.shndxIdx != 0 {
		hShndx = names.add(".symtab_shndx")
	}
	names.finalize()

	secs := make([]Section, e.nsec)
	secs[0] = Section{Info: f.Sections[0].Info} // sh_info may hold e_phnum
	for _, i := range e.order {
		in := &f.Sections[i]
		s := *in
		s.NameOff = names.offset(nameH[i])
		if e.kind[i] == kindReloc {
			s.Name = relName[i]
			s.Link = uint32(e.symtabIdx)
			s.Info = e.newIdx[e.target[i]]
			s.Addralign = c.wordAlign()
		} else {
			if linkIsSection(in) && int(in.Link) < len(e.newIdx) {
				s.Link = e.newIdx[in.Link]
			}
			if (in.Flags&uint64(elf.SHF_INFO_LINK) != 0 || in.Type == uint32(elf.SHT_REL) || in.Type == uint32(elf.SHT_RELA)) && int(in.Info) < len(e.newIdx) {
				s.Info = e.newIdx[in.Info]
			}
		}
		if b, ok := e.data[i]; ok {
			s.Size = uint64(len(b))
		}
		secs[e.newIdx[i]] = s
	}

	// Symbol table contents.
	var symtab, shndx, strs []byte
	if e.symtabIdx != 0 {
		st := newStrtab(len(e.outSyms))
		hs := make([]int, len(e.outSyms))
		for k, i := range e.outSyms {
			s := &e.syms[i]
			if s.Type() == elf.STT_SECTION && !isGlobal(s) {
				hs[k] = -1
			} else {
				hs[k] = st.add(s.Name)
			}
		}
		st.finalize()
		n := len(e.outSyms) + 1
		symtab = make([]byte, n*c.symsz)
		if e.shndxIdx != 0 {
			shndx = make([]byte, 4*n)
		}
		for k, i := range e.outSyms {
			s := e.syms[i]
			s.NameOff = st.offset(hs[k])
			idx := uint32(0)
			if s.Reserved {
				idx = s.Shndx
			} else if s.Shndx != 0 {
				idx = e.newIdx[s.Shndx]
			}
			raw := uint16(idx)
			if !s.Reserved && idx >= shnLoreserve {
				raw = shnXindex
				if shndx == nil {
					return fmt.Errorf("symbol %q needs an extended section index", s.Name)
				}
				c.bo.PutUint32(shndx[4*(k+1):], idx)
			}
			c.putSym(symtab[(k+1)*c.symsz:], &s, raw)
		}
		strs = st.bytes()
		secs[e.symtabIdx] = Section{
			Name: ".symtab", NameOff: names.offset(hSymtab), Type: uint32(elf.SHT_SYMTAB),
			Size: uint64(len(symtab)), Link: uint32(e.strtabIdx), Info: uint32(e.nlocals + 1),
			Addralign: c.wordAlign(), Entsize: uint64(c.symsz),
		}
		secs[e.strtabIdx] = Section{
			Name: ".strtab", NameOff: names.offset(hStrtab), Type: uint32(elf.SHT_STRTAB),
			Size: uint64(len(strs)), Addralign: 1,
		}
		if e.shndxIdx != 0 {
			secs[e.shndxIdx] = Section{
				Name: ".symtab_shndx", NameOff: names.offset(hShndx), Type: uint32(elf.SHT_SYMTAB_SHNDX),
				Size: uint64(len(shndx)), Link: uint32(e.symtabIdx), Addralign: 4, Entsize: 4,
			}
		}
	}
	shstr := names.bytes()
	secs[e.shstrtabIdx] = Section{
		Name: ".shstrtab", NameOff: names.offset(hShstrtab), Type: uint32(elf.SHT_STRTAB),
		Size: uint64(len(shstr)), Addralign: 1,
	}

	// File offsets.
	// After the headers and the last segment's contents (only PT_LOAD
	// ones in files that are not broken; objects have no segments).
	off := uint64(c.ehdr)
	if len(progs) > 0 {
		off = max(off, f.Header.Phoff+uint64(len(progs)*c.phdr))
	}
	for _, p := range progs {
		if p.Type != uint32(elf.PT_NULL) && p.Filesz > 0 {
			off = max(off, p.Off+p.Filesz)
		}
	}
	var maxPage uint64 = 1
	for _, p := range progs {
		if p.Type == uint32(elf.PT_LOAD) {
			maxPage = max(maxPage, p.Align)
		}
	}
	var err error
	var padding uint64
	place := func(s *Section, align uint64) error {
		start := off
		if off, err = alignUp(off, align); err != nil {
			return err
		}
		if padding += off - start; padding > maxPadding {
			return fmt.Errorf("section %s: aligning to %#x brings the padding in the file to %#x bytes", s.Name, align, padding)
		}
		s.Offset = off
		if s.Type != uint32(elf.SHT_NOBITS) {
			off += s.Size
			if off < s.Size {
				return fmt.Errorf("file offset overflows placing section %s", s.Name)
			}
		}
		return nil
	}
	for _, i := range e.order {
		s := &secs[e.newIdx[i]]
		switch {
		case e.exec && inLoad[i]:
			// Keeps its place in its segment.
			s.Offset -= shift[i]
		case e.kind[i] == kindReloc:
			// Placed after the symbol table.
		case e.exec && s.Flags&uint64(elf.SHF_ALLOC) != 0:
			// An allocated section outside every segment.
			align := s.Addralign
			if s.Size != 0 && len(progs) > 0 {
				align = maxPage
			}
			if align > 1 {
				bias := (s.Addr - off) % align
				if padding += bias; padding > maxPadding {
					return fmt.Errorf("section %s: placing it at its page offset brings the padding in the file to %#x bytes", s.Name, padding)
				}
				off += bias
			}
			if err := place(s, 1); err != nil {
				return err
			}
		default:
			if err := place(s, s.Addralign); err != nil {
				return err
			}
		}
	}
	if e.symtabIdx != 0 {
		if err := place(&secs[e.symtabIdx], secs[e.symtabIdx].Addralign); err != nil {
			return err
		}
		if e.shndxIdx != 0 {
			if err := place(&secs[e.shndxIdx], 4); err != nil {
				return err
			}
		}
		if err := place(&secs[e.strtabIdx], 1); err != nil {
			return err
		}
	}
	for _, i := range e.order {
		if e.kind[i] == kindReloc {
			s := &secs[e.newIdx[i]]
			if err := place(s, s.Addralign); err != nil {
				return err
			}
		}
	}
	if err := place(&secs[e.shstrtabIdx], 1); err != nil {
		return err
	}
	if off, err = alignUp(off, c.wordAlign()); err != nil {
		return err
	}
	shoff := off
	off += uint64(e.nsec * c.shdr)

	// Header.
	h := f.Header
	h.Shoff = shoff
	if len(progs) < pnXnum {
		h.Phnum = uint16(len(progs))
	}
	if e.nsec < shnLoreserve {
		h.Shnum = uint16(e.nsec)
	} else {
		h.Shnum = 0
		secs[0].Size = uint64(e.nsec)
	}
	if e.shstrtabIdx < shnLoreserve {
		h.Shstrndx = uint16(e.shstrtabIdx)
	} else {
		h.Shstrndx = shnXindex
		secs[0].Link = uint32(e.shstrtabIdx)
	}
	o.Header = h
	o.Sections = secs
	if !c.is64() && off > 1<<32 {
		return fmt.Errorf("output of %d bytes is too large for ELF32", off)
	}

	// Chunks to write.
	eh := make([]byte, c.ehdr)
	c.putHeader(eh, &h)
	o.chunks = append(o.chunks, chunk{0, eh})
	if len(progs) > 0 {
		ph := make([]byte, len(progs)*c.phdr)
		for k := range progs {
			c.putProg(ph[k*c.phdr:], &progs[k])
		}
		o.chunks = append(o.chunks, chunk{h.Phoff, ph})
	}
	for _, i := range e.order {
		s := &secs[e.newIdx[i]]
		if s.Type == uint32(elf.SHT_NOBITS) || s.Size == 0 {
			continue
		}
		data, ok := e.data[i]
		if !ok {
			data = f.Contents(i)
		}
		o.chunks = append(o.chunks, chunk{s.Offset, data})
	}
	if e.symtabIdx != 0 {
		o.chunks = append(o.chunks, chunk{secs[e.symtabIdx].Offset, symtab}, chunk{secs[e.strtabIdx].Offset, strs})
		if e.shndxIdx != 0 {
			o.chunks = append(o.chunks, chunk{secs[e.shndxIdx].Offset, shndx})
		}
	}
	o.chunks = append(o.chunks, chunk{secs[e.shstrtabIdx].Offset, shstr})
	sh := make([]byte, e.nsec*c.shdr)
	for k := range secs {
		c.putSection(sh[k*c.shdr:], &secs[k])
	}
	o.chunks = append(o.chunks, chunk{shoff, sh})
	sort.SliceStable(o.chunks, func(a, b int) bool { return o.chunks[a].off < o.chunks[b].off })
	var end uint64
	for _, ch := range o.chunks {
		if ch.off < end {
			return fmt.Errorf("output data overlaps at offset %#x (sections overlap in the input)", ch.off)
		}
		end = ch.off + uint64(len(ch.data))
	}
	o.size = end
	return nil
}
