package elfedit

// strtab builds a string table the way BFD does (elf-strtab.c): strings
// are kept once, in the order first added; a string that is the tail of a
// longer one is not stored but points into it. Matching this exactly is
// what makes .strtab and .shstrtab byte-identical to objcopy's.
type strtab struct {
	index map[string]int
	strs  []string
	offs  []uint32
	tail  []bool // stored as the tail of another string
	size  uint64
}

func newStrtab(hint int) *strtab {
	return &strtab{index: make(map[string]int, hint), strs: make([]string, 0, hint)}
}

// add registers s and returns a handle for offset; "" is always offset 0.
func (t *strtab) add(s string) int {
	if s == "" {
		return -1
	}
	if i, ok := t.index[s]; ok {
		return i
	}
	i := len(t.strs)
	t.index[s] = i
	t.strs = append(t.strs, s)
	return i
}

// finalize assigns the offsets.
func (t *strtab) finalize() {
	n := len(t.strs)
	t.offs = make([]uint32, n)
	order := make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	// Sort by the reversed strings: a string sorts right before the
	// strings it is a suffix of. The strings are distinct, so the order
	// is total and any sort gives BFD's result.
	revSort(order, 0, t.strs)
	suffixOf := make([]int, n)
	for i := range suffixOf {
		suffixOf[i] = -1
	}
	if n > 0 {
		e := order[n-1]
		for k := n - 2; k >= 0; k-- {
			c := order[k]
			if len(t.strs[e]) > len(t.strs[c]) && t.strs[e][len(t.strs[e])-len(t.strs[c]):] == t.strs[c] {
				suffixOf[c] = int(e)
			} else {
				e = c
			}
		}
	}
	t.tail = make([]bool, n)
	off := uint64(1)
	for i, s := range t.strs {
		if suffixOf[i] < 0 {
			t.offs[i] = uint32(off)
			off += uint64(len(s)) + 1
		}
	}
	for i, s := range t.strs {
		if e := suffixOf[i]; e >= 0 {
			t.offs[i] = t.offs[e] + uint32(len(t.strs[e])-len(s))
			t.tail[i] = true
		}
	}
	t.size = off
}

// offset returns the offset of a handle from add.
func (t *strtab) offset(h int) uint32 {
	if h < 0 {
		return 0
	}
	return t.offs[h]
}

// bytes returns the table's contents.
func (t *strtab) bytes() []byte {
	b := make([]byte, t.size)
	for i, s := range t.strs {
		if !t.tail[i] {
			copy(b[t.offs[i]:], s)
		}
	}
	return b
}

// revByte is s's byte at depth d from its end, -1 past its start.
func revByte(s string, d int) int {
	if d >= len(s) {
		return -1
	}
	return int(s[len(s)-1-d])
}

// revSort sorts a, whose strings agree on their last d bytes, as revCompare
// orders them: a multikey quicksort (Bentley and Sedgewick), which looks
// at each byte of a common suffix once per partition instead of once per
// comparison, several times faster than a comparison sort on a kernel's
// symbols, which share long suffixes. The strings must be distinct.
func revSort(a []int32, d int, strs []string) {
	for len(a) > 1 {
		if len(a) < 12 {
			for i := 1; i < len(a); i++ {
				for j := i; j > 0 && revCompare(strs[a[j-1]], strs[a[j]]) > 0; j-- {
					a[j-1], a[j] = a[j], a[j-1]
				}
			}
			return
		}
		pivot := revByte(strs[a[len(a)/2]], d)
		lt, i, gt := 0, 0, len(a)
		for i < gt {
			switch c := revByte(strs[a[i]], d); {
			case c < pivot:
				a[lt], a[i] = a[i], a[lt]
				lt++
				i++
			case c > pivot:
				gt--
				a[i], a[gt] = a[gt], a[i]
			default:
				i++
			}
		}
		revSort(a[:lt], d, strs)
		revSort(a[gt:], d, strs)
		if pivot < 0 {
			return // strings that end here: one, as they are distinct
		}
		a, d = a[lt:gt], d+1
	}
}

// revCompare compares a and b from their last byte backwards; a proper
// suffix sorts before the longer string (BFD's strrevcmp).
func revCompare(a, b string) int {
	i, j := len(a)-1, len(b)-1
	for i >= 0 && j >= 0 {
		if a[i] != b[j] {
			return int(a[i]) - int(b[j])
		}
		i--
		j--
	}
	return len(a) - len(b)
}
