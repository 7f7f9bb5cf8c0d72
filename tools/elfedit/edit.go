package elfedit

import (
	"debug/elf"
	"fmt"
	"sort"
)

// Options says what Edit changes. The zero value copies the file the way
// "objcopy IN OUT" does.
type Options struct {
	// RemoveSections selects sections to remove by name, as objcopy's
	// --remove-section. A pattern starting with ".rel" or ".rela" also
	// removes the relocations of the sections the rest of it matches, as
	// objcopy does (".rel*" drops every relocation section).
	RemoveSections Patterns

	// StripUnneeded selects symbols to remove unless a relocation of a
	// kept section refers to them, as objcopy -w --strip-unneeded-symbol.
	// (objcopy ignores that option unless another one, such as a section
	// removal, makes it filter symbols; Edit always applies it.)
	StripUnneeded Patterns

	// Update replaces the contents of the named sections, as objcopy
	// --update-section. A section inside a segment keeps its size.
	Update map[string][]byte

	// Noload says the removed sections went through an earlier objcopy
	// run with --set-section-flags NAME=noload, as kbuild does: a
	// loadable segment they leave empty then comes out as that pair of
	// runs makes it.
	Noload bool

	// DropSectionSymbols makes the result that of one more objcopy run
	// over a file without relocations: for x86 executables, that run
	// drops the STT_SECTION symbols (BFD's other targets keep them).
	DropSectionSymbols bool
}

// Output is an edited file, ready to be written.
type Output struct {
	Header   Header
	Progs    []Prog
	Sections []Section // the new section headers, [0] included
	// Removed lists the input sections dropped, by input index.
	Removed []int

	c      codec
	chunks []chunk
	size   uint64
	in     *File // the input, whose unchanged data is copied from its file
}

// chunk is data at a file offset.
type chunk struct {
	off  uint64
	data []byte
}

// Size is the size of the output file.
func (o *Output) Size() int64 { return int64(o.size) }

// section kinds in the input, following how BFD reads a file.
const (
	kindNormal = iota
	kindNull
	kindSymtab // the symbol table and what BFD rebuilds with it
	kindStrtab
	kindShndx
	kindShstrtab
	kindReloc // relocations of another section, owned by it
)

type editor struct {
	f    *File
	opt  Options
	c    codec
	exec bool // ET_EXEC or ET_DYN

	kind    []int
	removed []bool
	target  []int // kindReloc: the section relocated

	syms    []Sym   // the input's, then those made up for sections
	symMap  []int32 // input symbol index -> output index, -1 if dropped
	outSyms []int32 // indices into syms in output order

	newIdx []uint32 // input section -> output index, 0 if none
	order  []int    // output order of kept input sections (normal + reloc)
	data   map[int][]byte

	symtabIdx, shndxIdx, strtabIdx, shstrtabIdx int
	nsec                                        int
	nlocals                                     int
}

// releaseWindow is how much of a mapped input is read before it is released
// (see File.release): it bounds the resident set whatever the file's size.
const releaseWindow = 4 << 20

// Edit computes the edited file. It never changes f.
func Edit(f *File, opt Options) (*Output, error) {
	e := &editor{f: f, opt: opt, c: f.c, data: map[int][]byte{}}
	t := elf.Type(f.Header.Type)
	e.exec = t == elf.ET_EXEC || t == elf.ET_DYN
	if len(f.Sections) == 0 {
		return nil, fmt.Errorf("no section headers: nothing objcopy could edit")
	}
	e.classify()
	if err := e.selectSections(); err != nil {
		return nil, err
	}
	if err := e.update(); err != nil {
		return nil, err
	}
	if err := e.symbols(); err != nil {
		return nil, err
	}
	e.number()
	o := &Output{c: f.c, in: f}
	if err := e.relocs(); err != nil {
		return nil, err
	}
	if err := e.layout(o); err != nil {
		return nil, err
	}
	for i, r := range e.removed {
		if r && e.kind[i] != kindNull {
			o.Removed = append(o.Removed, i)
		}
	}
	return o, nil
}

func (e *editor) classify() {
	f := e.f
	n := len(f.Sections)
	e.kind = make([]int, n)
	e.target = make([]int, n)
	e.kind[0] = kindNull
	for i := 1; i < n; i++ {
		s := &f.Sections[i]
		switch {
		case i == f.Symtab:
			e.kind[i] = kindSymtab
		case i == f.Shndx:
			e.kind[i] = kindShndx
		case i == f.Shstrndx:
			e.kind[i] = kindShstrtab
		case f.Symtab != 0 && i == int(f.Sections[f.Symtab].Link):
			e.kind[i] = kindStrtab
		case e.isReloc(s):
			e.kind[i] = kindReloc
			e.target[i] = int(s.Info)
		}
	}
}

// isReloc tells whether BFD reads s as the relocations of another section
// rather than as a section of its own: it must refer to the symbol table
// (an allocated .rela.dyn refers to .dynsym) and to a section that is not
// itself relocations. (objcopy treats an allocated .rela.plt of a static
// executable this way too.)
func (e *editor) isReloc(s *Section) bool {
	t := elf.SectionType(s.Type)
	if t != elf.SHT_REL && t != elf.SHT_RELA {
		return false
	}
	f := e.f
	if s.Link == 0 || int(s.Link) != f.Symtab || s.Info == 0 || int(s.Info) >= len(f.Sections) {
		return false
	}
	tt := elf.SectionType(f.Sections[s.Info].Type)
	return tt != elf.SHT_REL && tt != elf.SHT_RELA
}

func (e *editor) selectSections() error {
	f := e.f
	e.removed = make([]bool, len(f.Sections))
	var relocPats Patterns
	for _, p := range e.opt.RemoveSections {
		if len(p) >= 4 && p[:4] == ".rel" {
			rest := p[4:]
			if len(rest) > 0 && rest[0] == 'a' {
				rest = rest[1:]
			}
			if rest != "" {
				relocPats = append(relocPats, rest)
			}
		}
	}
	for i := 1; i < len(f.Sections); i++ {
		if e.kind[i] == kindNormal && e.opt.RemoveSections.Match(f.Sections[i].Name) {
			e.removed[i] = true
		}
	}
	for i := 1; i < len(f.Sections); i++ {
		if e.kind[i] == kindReloc {
			t := e.target[i]
			if e.removed[t] || e.kind[t] != kindNormal || relocPats.Match(f.Sections[t].Name) {
				e.removed[i] = true
			}
		}
	}
	// Secondary relocation sections for one target are ignored by BFD
	// (with a warning); keep only the first of each type.
	seen := map[[2]int]bool{}
	for i := 1; i < len(f.Sections); i++ {
		if e.kind[i] == kindReloc && !e.removed[i] {
			k := [2]int{e.target[i], int(f.Sections[i].Type)}
			if seen[k] {
				e.removed[i] = true
			}
			seen[k] = true
		}
	}
	return nil
}

func (e *editor) update() error {
	f := e.f
	names := make([]string, 0, len(e.opt.Update))
	for n := range e.opt.Update {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		b := e.opt.Update[name]
		i := -1
		for j := 1; j < len(f.Sections); j++ {
			if f.Sections[j].Name == name && e.kind[j] == kindNormal {
				i = j
				break
			}
		}
		if i < 0 {
			return fmt.Errorf("cannot update section %s: no such section", name)
		}
		if e.removed[i] {
			return fmt.Errorf("cannot update section %s: it is being removed", name)
		}
		s := &f.Sections[i]
		if s.Type == uint32(elf.SHT_NOBITS) {
			return fmt.Errorf("cannot update section %s: it has no contents (SHT_NOBITS)", name)
		}
		if uint64(len(b)) != s.Size {
			for k := range f.Progs {
				if inSegment(s, &f.Progs[k]) {
					return fmt.Errorf("cannot update section %s: new contents are %d bytes, the section is %d bytes and lies in segment %d", name, len(b), s.Size, k)
				}
			}
		}
		e.data[i] = b
	}
	return nil
}

// sectionSymbols is BFD's rule for STT_SECTION symbols in what objcopy
// writes: keep says whether the input's are kept; all says whether every
// output section gets one (made up where the input had none).
func (e *editor) sectionSymbols() (keep, all bool) {
	if !e.exec {
		return true, false
	}
	hasRelocs := false
	for _, k := range e.kind {
		if k == kindReloc {
			hasRelocs = true
		}
	}
	// While the input has relocations, the input's section symbols are
	// kept. Without (or in a further run, which never has them), BFD's
	// x86 targets drop them all (TARGET_KEEP_UNUSED_SECTION_SYMBOLS is
	// false there) and the others give every section one.
	if hasRelocs && !e.opt.DropSectionSymbols {
		return true, false
	}
	switch elf.Machine(e.f.Header.Machine) {
	case elf.EM_386, elf.EM_X86_64, 6 /* EM_IAMCU */ :
		return false, false
	}
	return true, true
}

// symbols chooses the output symbol table in BFD's order: the symbols
// kept (see keepSymbol) as locals first, then globals, each in input
// order, plus the section symbols BFD makes up.
func (e *editor) symbols() error {
	f := e.f
	if f.Symtab == 0 {
		return nil
	}
	syms, err := f.Symbols()
	if err != nil {
		return err
	}
	e.syms = syms
	used, err := e.usedByRelocs()
	if err != nil {
		return err
	}
	keepSect, allSect := e.sectionSymbols()
	e.symMap = make([]int32, len(syms))
	locals := make([]int32, 0, len(syms))
	var globals []int32
	hasSym := make([]bool, len(f.Sections)) // has a section symbol at its start
	for i := 1; i < len(syms); i++ {
		s := &e.syms[i]
		e.symMap[i] = -1
		e.asBFDReads(s)
		if !e.keepSymbol(s, used[i], keepSect) {
			continue
		}
		if isGlobal(s) {
			globals = append(globals, int32(i))
			continue
		}
		locals = append(locals, int32(i))
		if s.Type() == elf.STT_SECTION && s.Value == f.Sections[s.Shndx].Addr {
			hasSym[s.Shndx] = true
		}
	}
	if allSect && len(locals)+len(globals) > 0 {
		// BFD appends a symbol for each section that has none left
		// (unless no symbol is left: then it writes no symbol table).
		locals = e.addSectionSymbols(locals, hasSym)
	}
	e.nlocals = len(locals)
	e.outSyms = append(locals, globals...)
	for k, i := range e.outSyms {
		if int(i) < len(e.symMap) {
			e.symMap[i] = int32(k + 1)
		}
	}
	return nil
}

// usedByRelocs marks the symbols relocations refer to. objcopy keeps them,
// looking at the relocations of every section it keeps, even those whose
// relocations it drops.
func (e *editor) usedByRelocs() ([]bool, error) {
	f := e.f
	used := make([]bool, len(e.syms))
	mips64 := elf.Machine(f.Header.Machine) == elf.EM_MIPS && f.c.is64()
	for i, k := range e.kind {
		if k != kindReloc || e.removed[e.target[i]] {
			continue
		}
		s := &f.Sections[i]
		data := f.Contents(i)
		done := uint64(0) // released up to here: a mapped vmlinux has tens of MB of relocations
		for off := uint64(0); off+s.Entsize <= uint64(len(data)); off += s.Entsize {
			if off-done >= releaseWindow {
				f.release(data[done:off])
				done = off
			}
			si := e.c.relSym(data[off:])
			if si >= uint32(len(e.syms)) {
				return nil, formatErr(s.Offset+off, "relocation in section %d refers to symbol %d of %d", i, si, len(e.syms))
			}
			// BFD's 64-bit MIPS reader points relocations against
			// section symbols at its own section symbols, so the
			// file's are not kept for them.
			if mips64 && e.syms[si].Type() == elf.STT_SECTION {
				continue
			}
			used[si] = true
		}
		f.release(data[done:])
	}
	return used, nil
}

// asBFDReads rewrites a symbol as BFD reads it, which is how objcopy
// writes it back.
func (e *editor) asBFDReads(s *Sym) {
	if !s.Reserved && s.Shndx == 0 && s.Bind() != elf.STB_WEAK {
		// Undefined symbols are global (or weak).
		s.Info = byte(elf.STB_GLOBAL)<<4 | s.Info&0xf
	}
	if s.Reserved || s.Shndx == 0 {
		return
	}
	switch sec := &e.f.Sections[s.Shndx]; {
	case e.kind[s.Shndx] == kindReloc:
		// BFD has no section for it: the symbol becomes absolute.
		s.Reserved, s.Shndx = true, shnAbs
	case sec.Flags&uint64(elf.SHF_TLS) != 0 && s.Type() != elf.STT_SECTION:
		s.Info = s.Info&0xf0 | byte(elf.STT_TLS)
	}
}

// keepSymbol is objcopy's filter: symbols of removed sections go, section
// symbols only of kept ordinary sections and only if the target keeps
// them (keepSect), and the symbols StripUnneeded matches unless a
// relocation uses them.
func (e *editor) keepSymbol(s *Sym, used, keepSect bool) bool {
	name := s.Name
	if s.Type() == elf.STT_SECTION {
		if s.Reserved || s.Shndx == 0 || e.kind[s.Shndx] != kindNormal || !keepSect {
			return false
		}
		name = e.f.Sections[s.Shndx].Name
	}
	if !s.Reserved && s.Shndx != 0 && e.removed[s.Shndx] {
		return false
	}
	return used || !e.opt.StripUnneeded.Match(name)
}

// addSectionSymbols appends to locals a new section symbol for each kept
// ordinary section without one.
func (e *editor) addSectionSymbols(locals []int32, hasSym []bool) []int32 {
	f := e.f
	for i := 1; i < len(f.Sections); i++ {
		if e.kind[i] == kindNormal && !e.removed[i] && !hasSym[i] {
			locals = append(locals, int32(len(e.syms)))
			e.syms = append(e.syms, Sym{Info: byte(elf.STB_LOCAL)<<4 | byte(elf.STT_SECTION), Shndx: uint32(i), Value: f.Sections[i].Addr})
		}
	}
	return locals
}

// isGlobal is BFD's sym_is_global: what goes after the local symbols.
func isGlobal(s *Sym) bool {
	switch s.Bind() {
	case elf.STB_GLOBAL, elf.STB_WEAK, 10 /* STB_GNU_UNIQUE */ :
		return true
	}
	if s.Reserved {
		return s.Shndx == shnCommon
	}
	return s.Shndx == 0
}

// number assigns the output section indices, in BFD's order: sections as
// in the input, each followed by its relocations, then the symbol table,
// its SHT_SYMTAB_SHNDX if needed, the string table and the name table.
func (e *editor) number() {
	f := e.f
	n := len(f.Sections)
	e.newIdx = make([]uint32, n)
	relocsOf := map[int][]int{}
	for i := 1; i < n; i++ {
		if e.kind[i] == kindReloc && !e.removed[i] {
			relocsOf[e.target[i]] = append(relocsOf[e.target[i]], i)
		}
	}
	next := uint32(1)
	add := func(i int) {
		e.newIdx[i] = next
		e.order = append(e.order, i)
		next++
	}
	for i := 1; i < n; i++ {
		if e.kind[i] == kindNormal && !e.removed[i] && f.Sections[i].Type == uint32(elf.SHT_GROUP) {
			add(i)
		}
	}
	for _, i := range e.bfdOrder() {
		if e.removed[i] {
			continue
		}
		if f.Sections[i].Type != uint32(elf.SHT_GROUP) {
			add(i)
		}
		rels := relocsOf[i]
		// BFD keeps SHT_REL before SHT_RELA.
		sort.SliceStable(rels, func(a, b int) bool { return f.Sections[rels[a]].Type < f.Sections[rels[b]].Type })
		for _, r := range rels {
			add(r)
		}
	}
	e.symtabIdx, e.shndxIdx, e.strtabIdx = 0, 0, 0
	if len(e.outSyms) > 0 || (!e.exec && e.hasRelocs()) {
		e.symtabIdx = int(next)
		next++
		if next > 0xfefe {
			e.shndxIdx = int(next)
			next++
		}
		e.strtabIdx = int(next)
		next++
	}
	e.shstrtabIdx = int(next)
	next++
	e.nsec = int(next)
	if f.Symtab != 0 {
		e.newIdx[f.Symtab] = uint32(e.symtabIdx)
		if e.kind[f.Sections[f.Symtab].Link] == kindStrtab {
			e.newIdx[f.Sections[f.Symtab].Link] = uint32(e.strtabIdx)
		}
	}
	if f.Shndx != 0 {
		e.newIdx[f.Shndx] = uint32(e.shndxIdx)
	}
	if f.Shstrndx != 0 {
		e.newIdx[f.Shstrndx] = uint32(e.shstrtabIdx)
	}
}

// bfdOrder lists the sections in the order objcopy makes them: in file
// order, except that a relocation section (SHT_REL/SHT_RELA, whether BFD
// reads it as relocations or not) brings the section its sh_info names
// forward to its own place.
func (e *editor) bfdOrder() []int {
	f := e.f
	made := make([]bool, len(e.kind))
	var order []int
	mk := func(i int) {
		if e.kind[i] == kindNormal && !made[i] {
			made[i] = true
			order = append(order, i)
		}
	}
	for i := 1; i < len(f.Sections); i++ {
		s := &f.Sections[i]
		if s.Type == uint32(elf.SHT_REL) || s.Type == uint32(elf.SHT_RELA) {
			if t := int(s.Info); t > 0 && t < len(f.Sections) {
				if e.kind[i] == kindReloc {
					mk(t)
				} else {
					mk(i)
					mk(t)
				}
			}
		}
		mk(i)
	}
	return order
}

func (e *editor) hasRelocs() bool {
	for i, k := range e.kind {
		if k == kindReloc && !e.removed[i] {
			return true
		}
	}
	return false
}

// relocs rewrites the symbol indices of the relocations that are kept.
func (e *editor) relocs() error {
	for _, i := range e.order {
		if e.kind[i] != kindReloc {
			continue
		}
		s := &e.f.Sections[i]
		in := e.f.Contents(i)
		out := make([]byte, len(in))
		copy(out, in)
		for off := uint64(0); off+s.Entsize <= uint64(len(out)); off += s.Entsize {
			si := e.c.relSym(out[off:])
			ni := int32(0)
			if si != 0 {
				ni = e.symMap[si]
			}
			if ni < 0 {
				sym := &e.syms[si]
				what := fmt.Sprintf("symbol %q", sym.Name)
				if sym.Type() == elf.STT_SECTION && !sym.Reserved && int(sym.Shndx) < len(e.f.Sections) {
					what = "the section symbol of " + e.f.Sections[sym.Shndx].Name
				}
				return fmt.Errorf("relocation section %s refers to %s, which is removed", s.Name, what)
			}
			e.c.setRelSym(out[off:], uint32(ni))
		}
		e.data[i] = out
	}
	return nil
}

// Dump returns the contents of the first section called name, as objcopy
// --dump-section writes them.
func Dump(f *File, name string) ([]byte, error) {
	i := f.SectionByName(name)
	if i < 0 {
		return nil, fmt.Errorf("no section %s", name)
	}
	if f.Sections[i].Type == uint32(elf.SHT_NOBITS) {
		return nil, fmt.Errorf("section %s has no contents (SHT_NOBITS)", name)
	}
	return f.Contents(i), nil
}
