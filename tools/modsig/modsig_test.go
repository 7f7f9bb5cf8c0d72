package modsig_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/modhashes/modhashes/tools/merkle"
	"github.com/modhashes/modhashes/tools/modsig"
)

func proof(levels int) merkle.Proof {
	p := merkle.Proof{Pos: 5, Siblings: make([]merkle.Hash, levels)}
	for i := range p.Siblings {
		p.Siblings[i][0] = byte(i + 1)
	}
	return p
}

// The trailer layout, spelled out from docs/format.md.
func TestMerkleTrailerLayout(t *testing.T) {
	for _, levels := range []int{1, 2, 13} {
		b := modsig.MerkleTrailer(proof(levels))
		n := 4 + 32*levels
		if len(b) != n+12+28 || len(b) != modsig.TrailerSize(levels) {
			t.Fatalf("levels %d: %d bytes", levels, len(b))
		}
		if binary.BigEndian.Uint32(b) != 5 || b[4] != 1 {
			t.Errorf("proof bytes wrong: %x", b[:8])
		}
		info := b[n : n+12]
		if !bytes.Equal(info[:8], []byte{0, 0, 3, 0, 0, 0, 0, 0}) || binary.BigEndian.Uint32(info[8:]) != uint32(n) {
			t.Errorf("descriptor %x", info)
		}
		if string(b[n+12:]) != "~Module signature appended~\n" {
			t.Errorf("marker %q", b[n+12:])
		}
		p, err := modsig.ParseMerkleTrailer(b)
		if err != nil || p.Pos != 5 || len(p.Siblings) != levels {
			t.Errorf("ParseMerkleTrailer: %+v, %v", p, err)
		}
	}
}

func TestSplit(t *testing.T) {
	module := []byte("\x7fELF module body")
	trailer := modsig.MerkleTrailer(proof(2))
	body, sig, info, err := modsig.Split(append(append([]byte(nil), module...), trailer...))
	if err != nil || !bytes.Equal(body, module) || len(sig) != 4+64 || info.IDType != modsig.IDTypeMerkle {
		t.Fatalf("Split = %q, %d sig bytes, %+v, %v", body, len(sig), info, err)
	}
	if _, _, _, err := modsig.Split(module); !errors.Is(err, modsig.ErrUnsigned) {
		t.Errorf("unsigned module: %v", err)
	}
	if _, _, _, err := modsig.Split([]byte(modsig.Marker)); !errors.Is(err, modsig.ErrUnsigned) {
		t.Errorf("file that is only the marker: %v, want unsigned as the kernel has it", err)
	}
	// A proof with nothing before it: sig_len equals what precedes it.
	if _, _, _, err := modsig.Split(trailer); !errors.Is(err, modsig.ErrBadInfo) {
		t.Errorf("trailer alone: %v", err)
	}
	if _, _, _, err := modsig.Split([]byte("x" + modsig.Marker)); !errors.Is(err, modsig.ErrBadInfo) {
		t.Errorf("marker alone: %v", err)
	}
}

func TestParseMerkleTrailerErrors(t *testing.T) {
	good := modsig.MerkleTrailer(proof(3))
	n := 4 + 32*3
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	for name, b := range map[string][]byte{
		"pkcs7 type":  mut(func(b []byte) []byte { b[n+2] = 2; return b }),
		"nonzero pad": mut(func(b []byte) []byte { b[n+6] = 1; return b }),
		"wrong len":   mut(func(b []byte) []byte { b[n+11]++; return b }),
		"no marker":   good[:len(good)-1],
		"truncated":   good[10:],
	} {
		if _, err := modsig.ParseMerkleTrailer(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzSplit(f *testing.F) {
	f.Add(append([]byte("module"), modsig.MerkleTrailer(proof(2))...))
	f.Add([]byte(modsig.Marker))
	f.Fuzz(func(t *testing.T, b []byte) {
		body, sig, info, err := modsig.Split(b)
		if err != nil {
			return
		}
		if len(body)+len(sig)+modsig.InfoSize+len(modsig.Marker) != len(b) || len(body) == 0 ||
			uint32(len(sig)) != info.SigLen {
			t.Fatalf("inconsistent split of %d bytes: body %d sig %d info %+v", len(b), len(body), len(sig), info)
		}
	})
}

func FuzzParseMerkleTrailer(f *testing.F) {
	f.Add(modsig.MerkleTrailer(proof(1)))
	f.Add(modsig.MerkleTrailer(proof(13)))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := modsig.ParseMerkleTrailer(b)
		if err != nil {
			return
		}
		if !bytes.Equal(modsig.MerkleTrailer(p), b) {
			t.Fatalf("re-encoding differs")
		}
	})
}
