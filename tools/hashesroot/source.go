package hashesroot

import "errors"

// Source says where to read a root from: a final vmlinux, the 36 raw bytes
// with their byte order, or the C source the tree stage writes. At most one
// of Vmlinux, Bin and C is set.
type Source struct {
	Vmlinux string
	Bin     string
	Endian  string // byte order of Bin: "little" or "big"
	C       string
}

// IsSet reports whether a source was named at all.
func (s Source) IsSet() bool { return s.Vmlinux != "" || s.Bin != "" || s.C != "" }

// Check reports a combination that names no single root. Its errors name
// the fields, not the command's flags: the command prints its usage after.
func (s Source) Check() error {
	n := 0
	for _, f := range []string{s.Vmlinux, s.Bin, s.C} {
		if f != "" {
			n++
		}
	}
	switch {
	case n > 1:
		return errors.New("a kernel image, raw root bytes and a root's C source exclude each other: name one root")
	case s.Endian != "" && s.Bin == "":
		return errors.New("a byte order goes with raw root bytes only")
	case s.Bin != "" && s.Endian == "":
		return errors.New("raw root bytes need their byte order")
	case s.Endian != "":
		if _, err := ParseEndian(s.Endian); err != nil {
			return err
		}
	}
	return nil
}

// Load reads the root the source names.
func (s Source) Load() (Root, error) {
	if err := s.Check(); err != nil {
		return Root{}, err
	}
	switch {
	case s.Vmlinux != "":
		r, _, err := ReadVmlinux(s.Vmlinux)
		return r, err
	case s.Bin != "":
		order, _ := ParseEndian(s.Endian)
		return ReadBinaryFile(s.Bin, order)
	case s.C != "":
		return ReadCSourceFile(s.C)
	}
	return Root{}, errors.New("no root given")
}
