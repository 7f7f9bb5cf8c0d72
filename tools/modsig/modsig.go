// Package modsig reads and writes the signature a module carries at its end:
// the signature data, a 12-byte struct module_signature describing it, and
// the marker string, as the kernel's module loader parses them.
package modsig

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/modhashes/modhashes/tools/merkle"
)

// Marker ends every signed module (no terminating NUL).
const Marker = "~Module signature appended~\n"

// InfoSize is the size of struct module_signature.
const InfoSize = 12

// Signature types (struct module_signature.id_type).
const (
	IDTypePGP    = 0
	IDTypeX509   = 1
	IDTypePKCS7  = 2
	IDTypeMerkle = 3
)

// Info is struct module_signature: the descriptor just before the marker.
type Info struct {
	Algo      uint8 // public-key algorithm; 0 for PKCS#7 and Merkle
	Hash      uint8 // digest algorithm; 0 for PKCS#7 and Merkle
	IDType    uint8 // what the signature data is: IDTypePKCS7, IDTypeMerkle, ...
	SignerLen uint8 // 0 for PKCS#7 and Merkle
	KeyIDLen  uint8 // 0 for PKCS#7 and Merkle
	Pad       [3]uint8
	SigLen    uint32 // big endian on disk
}

// MarshalBinary encodes the 12 bytes.
func (i Info) MarshalBinary() ([]byte, error) {
	b := []byte{i.Algo, i.Hash, i.IDType, i.SignerLen, i.KeyIDLen, i.Pad[0], i.Pad[1], i.Pad[2]}
	return binary.BigEndian.AppendUint32(b, i.SigLen), nil
}

// ParseInfo decodes the 12 bytes of a struct module_signature.
func ParseInfo(b []byte) Info { return parseInfo(b) }

func parseInfo(b []byte) Info {
	return Info{
		Algo: b[0], Hash: b[1], IDType: b[2], SignerLen: b[3], KeyIDLen: b[4],
		Pad:    [3]uint8{b[5], b[6], b[7]},
		SigLen: binary.BigEndian.Uint32(b[8:]),
	}
}

// TypeName names a signature type for messages.
func TypeName(idType uint8) string {
	switch idType {
	case IDTypePGP:
		return "PGP"
	case IDTypeX509:
		return "X.509"
	case IDTypePKCS7:
		return "PKCS#7"
	case IDTypeMerkle:
		return "Merkle proof"
	}
	return fmt.Sprintf("unknown type %d", idType)
}

// Errors of Split; the kernel treats a missing marker as an unsigned module
// and a bad descriptor as -EBADMSG.
var (
	ErrUnsigned = errors.New("no signature marker at the end")
	ErrBadInfo  = errors.New("malformed signature descriptor")
)

// HasMarker reports whether file ends with the marker.
func HasMarker(file []byte) bool { return bytes.HasSuffix(file, []byte(Marker)) }

// Trailer is where a module's appended signature lies, as the loader finds
// it.
type Trailer struct {
	Info    Info
	BodyLen int64  // bytes before the signature data: the module as built
	Sig     []byte // the signature data, or nil when tail does not hold it
}

// ParseTrailer finds the trailer of a module of size bytes from its last
// bytes (tail), with the kernel's bounds checks (mod_check_sig): the marker
// counts only in a file longer than it (else ErrUnsigned), the descriptor
// must fit before it and its sig_len must be smaller than what precedes the
// descriptor (else ErrBadInfo, with the descriptor when it was read). A
// tail of at least MaxTrailerSize bytes holds every plausible trailer.
func ParseTrailer(size int64, tail []byte) (Trailer, error) {
	marker := int64(len(Marker))
	if size <= marker || !HasMarker(tail) {
		return Trailer{}, ErrUnsigned
	}
	rest := size - marker
	if rest <= InfoSize || len(tail) < len(Marker)+InfoSize {
		return Trailer{}, fmt.Errorf("%w: only %d bytes before the marker, no room for the %d-byte signature descriptor",
			ErrBadInfo, rest, InfoSize)
	}
	t := tail[:len(tail)-len(Marker)]
	info := parseInfo(t[len(t)-InfoSize:])
	t = t[:len(t)-InfoSize]
	if int64(info.SigLen) >= rest-InfoSize {
		return Trailer{Info: info}, fmt.Errorf("%w: signature length %d in the descriptor, but only %d bytes precede it (truncated or corrupt trailer)",
			ErrBadInfo, info.SigLen, rest-InfoSize)
	}
	tr := Trailer{Info: info, BodyLen: rest - InfoSize - int64(info.SigLen)}
	if int64(info.SigLen) <= int64(len(t)) {
		tr.Sig = t[len(t)-int(info.SigLen):]
	}
	return tr, nil
}

// MaxTrailerSize is how much of a module's end holds any trailer it
// carries: more than a PKCS#7 signature or the proof of any plausible tree
// (32 levels take about 1 KiB). Readers keep this much of a module's end.
const MaxTrailerSize = 64 << 10

// Split separates a signed module into the module as built (body), the
// signature data and its descriptor (see ParseTrailer).
func Split(file []byte) (body, sig []byte, info Info, err error) {
	t, err := ParseTrailer(int64(len(file)), file)
	if err != nil {
		return nil, nil, t.Info, err
	}
	return file[:t.BodyLen], t.Sig, t.Info, nil
}

// TrailerSize is the size of a Merkle trailer for a tree of the given height.
func TrailerSize(levels int) int { return merkle.Size(levels) + InfoSize + len(Marker) }

// MerkleTrailer encodes a proof as the bytes appended to a module (and
// stored as <module>.merkle): proof, descriptor, marker.
func MerkleTrailer(p merkle.Proof) []byte {
	b := make([]byte, 0, TrailerSize(len(p.Siblings)))
	b, _ = p.AppendBinary(b)
	info, _ := Info{IDType: IDTypeMerkle, SigLen: uint32(merkle.Size(len(p.Siblings)))}.MarshalBinary()
	b = append(b, info...)
	return append(b, Marker...)
}

// ParseMerkleTrailer decodes a whole .merkle file (a trailer with nothing
// before it), checking that it is exactly a Merkle proof and its descriptor.
func ParseMerkleTrailer(b []byte) (merkle.Proof, error) {
	if !HasMarker(b) {
		return merkle.Proof{}, ErrUnsigned
	}
	if len(b) < InfoSize+len(Marker) {
		return merkle.Proof{}, fmt.Errorf("%w: %d bytes, too short", ErrBadInfo, len(b))
	}
	info := parseInfo(b[len(b)-len(Marker)-InfoSize:])
	payload := b[:len(b)-len(Marker)-InfoSize]
	if err := CheckMerkleInfo(info); err != nil {
		return merkle.Proof{}, err
	}
	if uint64(info.SigLen) != uint64(len(payload)) {
		return merkle.Proof{}, fmt.Errorf("%w: signature length %d, but the proof is %d bytes",
			ErrBadInfo, info.SigLen, len(payload))
	}
	return merkle.ParseProof(payload)
}

// CheckMerkleInfo checks that a descriptor is a Merkle proof's: type 3 and
// every other field but the length zero, as the kernel requires.
func CheckMerkleInfo(info Info) error {
	if info.IDType != IDTypeMerkle {
		return fmt.Errorf("signature type is %s, not Merkle proof", TypeName(info.IDType))
	}
	if info.Algo != 0 || info.Hash != 0 || info.SignerLen != 0 || info.KeyIDLen != 0 || info.Pad != [3]uint8{} {
		return fmt.Errorf("%w: Merkle proof descriptor has non-zero algo/hash/signer/key id/pad fields", ErrBadInfo)
	}
	return nil
}
