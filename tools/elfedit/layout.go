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
// (rewrite_elf_program_header), in the steps below: it shrinks each
// segment to the sections left in it, drops PT_GNU_RELRO, lays the
// loadable segments out again, gives section-less non-loadable segments
// word alignment, and moves a loadable segment that lost all its
// sections. Otherwise the headers are copied unchanged.
//
// It returns the output segments, which sections lie in a kept PT_LOAD,
// and how far each section moves down in the file.
func (e *editor) segments() ([]Prog, []bool, []uint64) {
	r := e.sectionsInSegments()
	if !r.rewrite {
		return append([]Prog(nil), e.f.Progs...), r.inLoad, r.shift
	}
	r.dropRelro()
	r.shrinkLoads()
	r.placeLoads()
	r.fitOthers()
	r.emptyLoads()
	return r.progs, r.inLoad, r.shift
}

// phdrRewrite is the state of rewrite_elf_program_header's steps.
type phdrRewrite struct {
	e       *editor
	f       *File
	rewrite bool     // a removed section lay in a segment
	kept    [][]int  // per input segment: its kept allocated ordinary sections
	lost    []bool   // per input segment: it had sections, all removed
	inLoad  []bool   // per section: lies in a kept PT_LOAD
	shift   []uint64 // per section: how far it moves down
	progs   []Prog   // the output segments
	from    []int    // per output segment: its input index
	phdrEnd uint64   // where the output program headers end
}

// sectionsInSegments finds the sections each segment keeps and loses.
func (e *editor) sectionsInSegments() *phdrRewrite {
	f := e.f
	r := &phdrRewrite{
		e:      e,
		f:      f,
		kept:   make([][]int, len(f.Progs)),
		lost:   make([]bool, len(f.Progs)),
		inLoad: make([]bool, len(f.Sections)),
		shift:  make([]uint64, len(f.Sections)),
	}
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
				r.kept[k] = append(r.kept[k], i)
				if p.Type == uint32(elf.PT_LOAD) {
					r.inLoad[i] = true
				}
			}
		}
		if removed {
			r.rewrite = true
			r.lost[k] = len(r.kept[k]) == 0
		}
	}
	return r
}

// dropRelro starts the output segments: the input's without PT_GNU_RELRO.
func (r *phdrRewrite) dropRelro() {
	for k, p := range r.f.Progs {
		if p.Type != uint32(elf.PT_GNU_RELRO) {
			r.progs = append(r.progs, p)
			r.from = append(r.from, k)
		}
	}
	r.phdrEnd = r.f.Header.Phoff + uint64(len(r.progs)*r.f.c.phdr)
}

// headers reports whether input segment p holds the ELF or program headers.
func (r *phdrRewrite) headers(p *Prog) bool {
	f := r.f
	return p.Off == 0 && p.Filesz >= uint64(f.c.ehdr) || p.Off <= f.Header.Phoff && p.Off+p.Filesz >= f.Header.Phoff+uint64(len(f.Progs)*f.c.phdr)
}

// emptied reports whether input segment k is loadable and lost everything
// it held: emptyLoads places it once the others are placed.
func (r *phdrRewrite) emptied(k int) bool {
	p := &r.f.Progs[k]
	return p.Type == uint32(elf.PT_LOAD) && len(r.kept[k]) == 0 && !r.headers(p)
}

// shrinkLoads cuts each loadable segment to the end of its headers and
// kept sections, in the file and in memory (where .tbss takes no room),
// and sizes PT_PHDR to the output program headers.
func (r *phdrRewrite) shrinkLoads() {
	f := r.f
	for n := range r.progs {
		k := r.from[n]
		p := &f.Progs[k]
		q := &r.progs[n]
		switch elf.ProgType(p.Type) {
		case elf.PT_LOAD:
			if r.emptied(k) {
				continue
			}
			fileEnd, memEnd := p.Off, p.Vaddr
			if r.headers(p) {
				fileEnd = max(fileEnd, r.phdrEnd, uint64(f.Header.Ehsize))
			}
			memEnd += fileEnd - p.Off
			for _, i := range r.kept[k] {
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
			q.Filesz = uint64(len(r.progs) * f.c.phdr)
			q.Memsz = q.Filesz
		}
	}
}

// placeLoads lays the loadable segments out again in file order: each
// starts at the first offset after the one before that is congruent with
// its address modulo its alignment, so a segment that shrank can pull the
// following ones down, and its sections with it (shift).
func (r *phdrRewrite) placeLoads() {
	f := r.f
	var loads []int
	for n := range r.progs {
		if r.progs[n].Type == uint32(elf.PT_LOAD) {
			loads = append(loads, n)
		}
	}
	sort.SliceStable(loads, func(a, b int) bool { return f.Progs[r.from[loads[a]]].Off < f.Progs[r.from[loads[b]]].Off })
	moved := make([]bool, len(f.Sections))
	cursor := r.phdrEnd
	for _, n := range loads {
		k := r.from[n]
		p := &f.Progs[k]
		q := &r.progs[n]
		if r.emptied(k) {
			continue
		}
		newOff := p.Off
		if !r.headers(p) {
			align := max(p.Align, 1)
			if off := cursor + (p.Vaddr-cursor)%align; off < p.Off {
				newOff = off
			}
		}
		q.Off = newOff
		for _, i := range r.kept[k] {
			if !moved[i] {
				moved[i] = true
				r.shift[i] = p.Off - newOff
			}
		}
		if q.Filesz > 0 {
			cursor = max(cursor, newOff+q.Filesz)
		}
	}
}

// fitOthers fits each non-loadable segment (other than PT_PHDR) to its
// kept sections where they now lie; one without sections gets word
// alignment, and is zeroed if it lost them all.
func (r *phdrRewrite) fitOthers() {
	f := r.f
	for n := range r.progs {
		k := r.from[n]
		p := &f.Progs[k]
		q := &r.progs[n]
		ks := r.kept[k]
		switch elf.ProgType(p.Type) {
		case elf.PT_LOAD, elf.PT_PHDR:
			continue
		}
		if len(ks) == 0 {
			q.Align = r.e.c.wordAlign()
			if r.lost[k] {
				q.Off, q.Paddr, q.Filesz, q.Memsz = 0, 0, 0, 0
			}
			continue
		}
		first := &f.Sections[ks[0]]
		q.Off = first.Offset - r.shift[ks[0]]
		q.Vaddr += first.Addr - p.Vaddr
		q.Paddr += first.Addr - p.Vaddr
		var fileEnd, memEnd uint64 = q.Off, q.Vaddr
		for _, i := range ks {
			s := &f.Sections[i]
			if s.Type != uint32(elf.SHT_NOBITS) {
				fileEnd = max(fileEnd, s.Offset-r.shift[i]+s.Size)
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

// emptyLoads gives a loadable segment left without sections no contents,
// and places it.
func (r *phdrRewrite) emptyLoads() {
	f := r.f
	anyPaddr := false
	for _, p := range f.Progs {
		anyPaddr = anyPaddr || p.Paddr != 0
	}
	for n := range r.progs {
		k := r.from[n]
		p := &f.Progs[k]
		if !r.emptied(k) {
			continue
		}
		q := &r.progs[n]
		q.Filesz, q.Memsz = 0, 0
		if r.e.opt.Noload {
			// The earlier noload run already emptied it: the segment
			// starts where the contents of the loadable segments
			// before it end, at address 0.
			off := r.phdrEnd
			for m := range r.progs {
				o := &r.progs[m]
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
			q.Off, q.Paddr = r.phdrEnd, 0
		}
	}
}

// layout places everything in the output file as BFD does: sections in
// loadable segments stay where they are; the other sections follow the
// last segment in section order, then the symbol table and its strings,
// then the relocations, the section names and the section header table.
func (e *editor) layout(o *Output) error {
	progs, inLoad, shift := e.segments()
	o.Progs = progs
	names := e.sectionNames()
	secs := e.sectionHeaders(names)
	tabs, err := e.symbolTable(secs, names)
	if err != nil {
		return err
	}
	shstr := names.tab.bytes()
	secs[e.shstrtabIdx] = Section{
		Name: ".shstrtab", NameOff: names.tab.offset(names.shstrtab), Type: uint32(elf.SHT_STRTAB),
		Size: uint64(len(shstr)), Addralign: 1,
	}
	end, err := e.placeSections(secs, progs, inLoad, shift)
	if err != nil {
		return err
	}
	o.Header, o.Sections = e.header(secs, progs, end), secs
	if !e.c.is64() && end+uint64(e.nsec*e.c.shdr) > 1<<32 {
		return fmt.Errorf("output of %d bytes is too large for ELF32", end+uint64(e.nsec*e.c.shdr))
	}
	o.addChunks(e, tabs, shstr)
	return o.checkChunks()
}

// names is the section name table and each name's handle in it.
type names struct {
	tab                             *strtab
	symtab, strtab, shstrtab, shndx int         // -1 when there is no such section
	of                              map[int]int // by input section
	rel                             map[int]string
}

// sectionNames enters the section names in the order BFD does: its own
// three, then each section's, a relocation section's (made from its
// target's name) right after its target's.
func (e *editor) sectionNames() *names {
	f := e.f
	n := &names{tab: newStrtab(len(e.order) + 4), symtab: -1, strtab: -1, shndx: -1,
		of: make(map[int]int, len(e.order)), rel: map[int]string{}}
	if e.symtabIdx != 0 {
		n.symtab = n.tab.add(".symtab")
		n.strtab = n.tab.add(".strtab")
	}
	n.shstrtab = n.tab.add(".shstrtab")
	for _, i := range e.order {
		if e.kind[i] == kindReloc {
			prefix := ".rel"
			if f.Sections[i].Type == uint32(elf.SHT_RELA) {
				prefix = ".rela"
			}
			n.rel[i] = prefix + f.Sections[e.target[i]].Name
			n.of[i] = n.tab.add(n.rel[i])
		} else {
			n.of[i] = n.tab.add(f.Sections[i].Name)
		}
	}
	if e.shndxIdx != 0 {
		n.shndx = n.tab.add(".symtab_shndx")
	}
	n.tab.finalize()
	return n
}

// sectionHeaders makes the output section headers of the kept input
// sections, with indices renumbered; offsets are placed later.
func (e *editor) sectionHeaders(n *names) []Section {
	f := e.f
	secs := make([]Section, e.nsec)
	secs[0] = Section{Info: f.Sections[0].Info} // sh_info may hold e_phnum
	for _, i := range e.order {
		in := &f.Sections[i]
		s := *in
		s.NameOff = n.tab.offset(n.of[i])
		if e.kind[i] == kindReloc {
			s.Name = n.rel[i]
			s.Link = uint32(e.symtabIdx)
			s.Info = e.newIdx[e.target[i]]
			s.Addralign = e.c.wordAlign()
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
	return secs
}

// symTables are the contents of .symtab, .symtab_shndx and .strtab.
type symTables struct {
	symtab, shndx, strs []byte
}

// symbolTable encodes the chosen symbols and fills in the headers of the
// symbol table sections.
func (e *editor) symbolTable(secs []Section, n *names) (symTables, error) {
	var t symTables
	if e.symtabIdx == 0 {
		return t, nil
	}
	c := e.c
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
	count := len(e.outSyms) + 1
	t.symtab = make([]byte, count*c.symsz)
	if e.shndxIdx != 0 {
		t.shndx = make([]byte, 4*count)
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
			if t.shndx == nil {
				return t, fmt.Errorf("symbol %q needs an extended section index", s.Name)
			}
			c.bo.PutUint32(t.shndx[4*(k+1):], idx)
		}
		c.putSym(t.symtab[(k+1)*c.symsz:], &s, raw)
	}
	t.strs = st.bytes()
	secs[e.symtabIdx] = Section{
		Name: ".symtab", NameOff: n.tab.offset(n.symtab), Type: uint32(elf.SHT_SYMTAB),
		Size: uint64(len(t.symtab)), Link: uint32(e.strtabIdx), Info: uint32(e.nlocals + 1),
		Addralign: c.wordAlign(), Entsize: uint64(c.symsz),
	}
	secs[e.strtabIdx] = Section{
		Name: ".strtab", NameOff: n.tab.offset(n.strtab), Type: uint32(elf.SHT_STRTAB),
		Size: uint64(len(t.strs)), Addralign: 1,
	}
	if e.shndxIdx != 0 {
		secs[e.shndxIdx] = Section{
			Name: ".symtab_shndx", NameOff: n.tab.offset(n.shndx), Type: uint32(elf.SHT_SYMTAB_SHNDX),
			Size: uint64(len(t.shndx)), Link: uint32(e.symtabIdx), Addralign: 4, Entsize: 4,
		}
	}
	return t, nil
}

// placeSections sets each section's file offset, in BFD's order (see
// layout), and returns where the section header table goes.
func (e *editor) placeSections(secs []Section, progs []Prog, inLoad []bool, shift []uint64) (uint64, error) {
	f, c := e.f, e.c
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
					return 0, fmt.Errorf("section %s: placing it at its page offset brings the padding in the file to %#x bytes", s.Name, padding)
				}
				off += bias
			}
			if err := place(s, 1); err != nil {
				return 0, err
			}
		default:
			if err := place(s, s.Addralign); err != nil {
				return 0, err
			}
		}
	}
	if e.symtabIdx != 0 {
		if err := place(&secs[e.symtabIdx], secs[e.symtabIdx].Addralign); err != nil {
			return 0, err
		}
		if e.shndxIdx != 0 {
			if err := place(&secs[e.shndxIdx], 4); err != nil {
				return 0, err
			}
		}
		if err := place(&secs[e.strtabIdx], 1); err != nil {
			return 0, err
		}
	}
	for _, i := range e.order {
		if e.kind[i] == kindReloc {
			s := &secs[e.newIdx[i]]
			if err := place(s, s.Addralign); err != nil {
				return 0, err
			}
		}
	}
	if err := place(&secs[e.shstrtabIdx], 1); err != nil {
		return 0, err
	}
	return alignUp(off, c.wordAlign())
}

// header is the output ELF header, with extended numbering (in section
// header 0) where the counts do not fit.
func (e *editor) header(secs []Section, progs []Prog, shoff uint64) Header {
	h := e.f.Header
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
	return h
}

// addChunks lists what is written where: the headers, each section's
// contents (new or the input's), the tables made here, the section headers.
func (o *Output) addChunks(e *editor, tabs symTables, shstr []byte) {
	c, secs := e.c, o.Sections
	eh := make([]byte, c.ehdr)
	c.putHeader(eh, &o.Header)
	o.chunks = append(o.chunks, chunk{0, eh})
	if len(o.Progs) > 0 {
		ph := make([]byte, len(o.Progs)*c.phdr)
		for k := range o.Progs {
			c.putProg(ph[k*c.phdr:], &o.Progs[k])
		}
		o.chunks = append(o.chunks, chunk{o.Header.Phoff, ph})
	}
	for _, i := range e.order {
		s := &secs[e.newIdx[i]]
		if s.Type == uint32(elf.SHT_NOBITS) || s.Size == 0 {
			continue
		}
		data, ok := e.data[i]
		if !ok {
			data = e.f.Contents(i)
		}
		o.chunks = append(o.chunks, chunk{s.Offset, data})
	}
	if e.symtabIdx != 0 {
		o.chunks = append(o.chunks, chunk{secs[e.symtabIdx].Offset, tabs.symtab}, chunk{secs[e.strtabIdx].Offset, tabs.strs})
		if e.shndxIdx != 0 {
			o.chunks = append(o.chunks, chunk{secs[e.shndxIdx].Offset, tabs.shndx})
		}
	}
	o.chunks = append(o.chunks, chunk{secs[e.shstrtabIdx].Offset, shstr})
	sh := make([]byte, e.nsec*c.shdr)
	for k := range secs {
		c.putSection(sh[k*c.shdr:], &secs[k])
	}
	o.chunks = append(o.chunks, chunk{o.Header.Shoff, sh})
}

// checkChunks sorts the chunks by offset, refuses overlaps and sets the
// file's size.
func (o *Output) checkChunks() error {
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
