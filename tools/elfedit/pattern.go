package elfedit

// Patterns is a list of objcopy name patterns, as given to --remove-section
// or to --strip-unneeded-symbol with -w: shell wildcards as fnmatch(3)
// matches them without flags, where a leading '!' makes a pattern exclude
// names. A name is selected when some plain pattern matches it and no '!'
// pattern does, whatever the order of the patterns (objcopy's rule for
// both section and symbol lists).
type Patterns []string

// Match reports whether name is selected.
func (p Patterns) Match(name string) bool {
	found := false
	for _, pat := range p {
		if len(pat) > 0 && pat[0] == '!' {
			if fnmatch(pat[1:], name) {
				return false
			}
			continue
		}
		if !found && fnmatch(pat, name) {
			found = true
		}
	}
	return found
}

// fnmatch is fnmatch(3) with flags 0 in the C locale: '*' and '?' match
// any byte ('/' and a leading '.' included), '[...]' is a bracket
// expression with '!' or '^' negation, ranges and [:class:] names, and a
// backslash quotes the next byte.
func fnmatch(pat, name string) bool {
	// Iterative matching with one backtrack point for the last '*'.
	p, n := 0, 0
	starP, starN := -1, 0
	for n < len(name) || p < len(pat) {
		if p < len(pat) {
			switch c := pat[p]; c {
			case '*':
				for p < len(pat) && pat[p] == '*' {
					p++
				}
				starP, starN = p, n
				continue
			case '?':
				if n < len(name) {
					p++
					n++
					continue
				}
			case '[':
				if n < len(name) {
					if ok, width := matchBracket(pat[p:], name[n]); width > 0 {
						if ok {
							p += width
							n++
							continue
						}
					} else if name[n] == '[' {
						// No closing ']': the '[' is an ordinary byte.
						p++
						n++
						continue
					}
				}
			case '\\':
				if p+1 < len(pat) {
					c = pat[p+1]
					if n < len(name) && name[n] == c {
						p += 2
						n++
						continue
					}
					break
				}
				return false // a trailing backslash matches nothing
			default:
				if n < len(name) && name[n] == c {
					p++
					n++
					continue
				}
			}
		}
		if starP >= 0 && starN < len(name) {
			starN++
			p, n = starP, starN
			continue
		}
		return false
	}
	return true
}

// matchBracket matches byte c against the bracket expression at the start
// of pat. width is the length of the expression, 0 if it is not closed.
func matchBracket(pat string, c byte) (ok bool, width int) {
	i := 1
	negate := false
	if i < len(pat) && (pat[i] == '!' || pat[i] == '^') {
		negate = true
		i++
	}
	first := true
	for i < len(pat) {
		if pat[i] == ']' && !first {
			return ok != negate, i + 1
		}
		first = false
		if pat[i] == '[' && i+1 < len(pat) && pat[i+1] == ':' {
			if end := indexFrom(pat, ":]", i+2); end >= 0 {
				if classMatch(pat[i+2:end], c) {
					ok = true
				}
				i = end + 2
				continue
			}
		}
		lo := pat[i]
		if lo == '\\' && i+1 < len(pat) {
			i++
			lo = pat[i]
		}
		i++
		hi := lo
		if i+1 < len(pat) && pat[i] == '-' && pat[i+1] != ']' {
			hi = pat[i+1]
			i += 2
			if hi == '\\' && i < len(pat) {
				hi = pat[i]
				i++
			}
		}
		if lo <= c && c <= hi {
			ok = true
		}
	}
	return false, 0
}

func indexFrom(s, sub string, from int) int {
	for i := from; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func classMatch(class string, c byte) bool {
	switch class {
	case "alpha":
		return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
	case "digit":
		return '0' <= c && c <= '9'
	case "alnum":
		return classMatch("alpha", c) || classMatch("digit", c)
	case "upper":
		return 'A' <= c && c <= 'Z'
	case "lower":
		return 'a' <= c && c <= 'z'
	case "space":
		return c == ' ' || '\t' <= c && c <= '\r'
	case "blank":
		return c == ' ' || c == '\t'
	case "punct":
		return c > ' ' && c < 0x7f && !classMatch("alnum", c)
	case "print":
		return c >= ' ' && c < 0x7f
	case "graph":
		return c > ' ' && c < 0x7f
	case "cntrl":
		return c < ' ' || c == 0x7f
	case "xdigit":
		return classMatch("digit", c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
	}
	return false
}
