package hashesroot

import (
	"encoding/binary"
	"errors"
)

// Source says where to read a root from: a final vmlinux, the 36 raw bytes
// with their byte order, or the C source the tree stage writes. At most one
// of Vmlinux, Bin and C is set; the byte order of Bin is named by Endian or
// taken from the ELF file Target, not both.
type Source struct {
	Vmlinux string
	Bin     string
	Endian  string // byte order of Bin: "little" or "big"
	Target  string // or: Bin is in this ELF file's byte order
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
	if n > 1 {
		return errors.New("a kernel image, raw root bytes and a root's C source exclude each other: name one root")
	}
	if err := s.CheckOrder(); err != nil {
		return err
	}
	if s.Bin != "" && s.Endian == "" && s.Target == "" {
		return ErrNoByteOrder
	}
	return nil
}

// ErrNoByteOrder is Check's error for raw bytes whose byte order is not
// named; finalize, which takes it from its input, accepts that.
var ErrNoByteOrder = errors.New("raw root bytes need their byte order")

// CheckOrder checks only the byte order: named once, for raw bytes, and
// valid. The tree stage, which writes the raw bytes and the C source side
// by side, checks no more than this.
func (s Source) CheckOrder() error {
	switch {
	case s.Endian != "" && s.Target != "":
		return errors.New("a byte order and a target ELF file exclude each other: name the byte order once")
	case (s.Endian != "" || s.Target != "") && s.Bin == "":
		return errors.New("a byte order goes with raw root bytes only")
	case s.Endian != "":
		if _, err := ParseEndian(s.Endian); err != nil {
			return err
		}
	}
	return nil
}

// ByteOrder is the byte order of Bin: from Endian, or read from Target;
// nil when neither is set.
func (s Source) ByteOrder() (binary.ByteOrder, error) {
	switch {
	case s.Endian != "":
		return ParseEndian(s.Endian)
	case s.Target != "":
		return TargetByteOrder(s.Target)
	}
	return nil, nil
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
		order, err := s.ByteOrder()
		if err != nil {
			return Root{}, err
		}
		return ReadBinaryFile(s.Bin, order)
	case s.C != "":
		return ReadCSourceFile(s.C)
	}
	return Root{}, errors.New("no root given")
}
