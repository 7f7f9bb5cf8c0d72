package verify

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/modhashes/modhashes/tools/compress"
	"github.com/modhashes/modhashes/tools/hashesroot"
	"github.com/modhashes/modhashes/tools/merkle"
	"github.com/modhashes/modhashes/tools/modorder"
	"github.com/modhashes/modhashes/tools/modsig"
)

const vectors = "../../examples/vectors"

// vector is a known-answer tree: modules as built, their proofs, the root.
type vector struct {
	bodies  [][]byte
	proofs  [][]byte
	root    hashesroot.Root
	entries []modorder.Entry
}

func loadVector(t testing.TB, name string) vector {
	t.Helper()
	dir := filepath.Join(vectors, name)
	entries, err := modorder.Read(filepath.Join(dir, "modules.order"))
	if err != nil {
		t.Fatal(err)
	}
	root, err := hashesroot.ReadBinaryFile(filepath.Join(dir, "expected", "root-le.bin"), binary.LittleEndian)
	if err != nil {
		t.Fatal(err)
	}
	v := vector{root: root, entries: entries}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.ModuleFile(".ko")))
		if err != nil {
			t.Fatal(err)
		}
		p, err := os.ReadFile(filepath.Join(dir, "expected", "proofs", e.ProofFile()))
		if err != nil {
			t.Fatal(err)
		}
		v.bodies = append(v.bodies, b)
		v.proofs = append(v.proofs, p)
	}
	return v
}

// installed is module i with its proof appended, as modules_install does.
func (v vector) installed(i int) []byte {
	return append(append([]byte(nil), v.bodies[i]...), v.proofs[i]...)
}

// trailer builds a trailer by hand from the spec's layout.
func trailer(sig []byte, algo, hash, idType, signerLen, keyIDLen byte, pad [3]byte, sigLen uint32) []byte {
	b := append([]byte(nil), sig...)
	b = append(b, algo, hash, idType, signerLen, keyIDLen, pad[0], pad[1], pad[2])
	b = binary.BigEndian.AppendUint32(b, sigLen)
	return append(b, "~Module signature appended~\n"...)
}

func TestVectorsAllOK(t *testing.T) {
	for _, name := range []string{"n01", "n02", "n03", "n04", "n05", "n06", "n07", "n08"} {
		v := loadVector(t, name)
		for i := range v.bodies {
			for _, f := range compress.Formats {
				data, err := compress.Encode(f, v.installed(i))
				if err != nil {
					t.Fatal(err)
				}
				r := File(data, v.root)
				if !r.OK() || r.Compression != f || r.Pos != uint32(i) || r.Levels != int(v.root.Levels) {
					t.Errorf("%s module %d %v: %+v", name, i, f, r)
				}
			}
		}
	}
}

func TestOutcomes(t *testing.T) {
	v := loadVector(t, "n05")
	other := loadVector(t, "n03") // 2 levels instead of 3
	var pkcs7 []byte
	pkcs7 = append(pkcs7, v.bodies[0]...)
	der := bytes.Repeat([]byte{0x30}, 300) // content is not looked at
	pkcs7 = append(pkcs7, trailer(der, 0, 0, modsig.IDTypePKCS7, 0, 0, [3]byte{}, uint32(len(der)))...)

	proof0 := v.proofs[0][:len(v.proofs[0])-modsig.InfoSize-len(modsig.Marker)]
	badPad := append(append([]byte(nil), v.bodies[0]...), trailer(proof0, 0, 0, modsig.IDTypeMerkle, 0, 0, [3]byte{0, 1, 0}, uint32(len(proof0)))...)
	badAlgo := append(append([]byte(nil), v.bodies[0]...), trailer(proof0, 1, 0, modsig.IDTypeMerkle, 0, 0, [3]byte{}, uint32(len(proof0)))...)
	x509 := append(append([]byte(nil), v.bodies[0]...), trailer(proof0, 0, 0, modsig.IDTypeX509, 0, 0, [3]byte{}, uint32(len(proof0)))...)
	huge := append(append([]byte(nil), v.bodies[0]...), trailer(proof0, 0, 0, modsig.IDTypeMerkle, 0, 0, [3]byte{}, uint32(len(v.bodies[0])+len(proof0)))...)
	fits := append(append([]byte(nil), v.bodies[0]...), trailer(proof0, 0, 0, modsig.IDTypeMerkle, 0, 0, [3]byte{}, uint32(len(v.bodies[0])+len(proof0)-1))...)
	short := append([]byte("0123456789a"), modsig.Marker...)
	corrupt := v.installed(1)
	corrupt[10] ^= 0x40
	inst := v.installed(2)
	cut := append(append([]byte(nil), inst[:len(v.bodies[2])]...), inst[len(v.bodies[2])+32:]...) // a sibling dropped

	tests := []struct {
		name     string
		mod      []byte
		root     hashesroot.Root
		want     Code
		enforced string
		reason   string
	}{
		{"ok", v.installed(0), v.root, OK, "OK", ""},
		{"plain module", v.bodies[0], v.root, Unsigned, "-EKEYREJECTED", "no signature marker"},
		{"empty file", nil, v.root, Unsigned, "-EKEYREJECTED", "no signature marker"},
		{"last byte cut", v.installed(0)[:len(v.installed(0))-1], v.root, Unsigned, "-EKEYREJECTED", "no signature marker"},
		// module_sig_check matches the marker only in files longer than it.
		{"marker only", []byte(modsig.Marker), v.root, Unsigned, "-EKEYREJECTED", "no signature marker"},
		{"1 byte and marker", []byte("x" + modsig.Marker), v.root, EBADMSG, "-EBADMSG", "only 1 bytes"},
		{"12 bytes and marker", append(make([]byte, 12), modsig.Marker...), v.root, EBADMSG, "-EBADMSG", "only 12 bytes"},
		{"11 bytes and marker", short, v.root, EBADMSG, "-EBADMSG", "only 11 bytes"},
		{"sig_len = all before", huge, v.root, EBADMSG, "-EBADMSG", "signature length"},
		{"sig_len = all before - 1", fits, v.root, ENOPKG, "-EKEYREJECTED", "proof is"},
		{"PKCS#7", pkcs7, v.root, ENOPKG, "-EKEYREJECTED", "PKCS#7"},
		{"X.509 type", x509, v.root, ENOPKG, "-EKEYREJECTED", "X.509"},
		{"non-zero pad", badPad, v.root, EBADMSG, "-EBADMSG", "non-zero"},
		{"non-zero algo", badAlgo, v.root, EBADMSG, "-EBADMSG", "non-zero"},
		{"proof for another height", other.installed(0), v.root, ENOPKG, "-EKEYREJECTED", "tree of 2 levels"},
		// sig_len still says 3 levels: the kernel takes 32 bytes of the module as the proof start.
		{"trailer lost a sibling", cut, v.root, ENOKEY, "-EKEYREJECTED", "root mismatch"},
		{"corrupt byte", corrupt, v.root, ENOKEY, "-EKEYREJECTED", "root mismatch"},
		{"placeholder root", v.installed(0), hashesroot.Root{}, ENOPKG, "-EKEYREJECTED", "placeholder"},
		{"root of another build", v.installed(0), loadVector(t, "n06").root, ENOKEY, "-EKEYREJECTED", "root mismatch"},
		{"not a whole level", append(append([]byte(nil), v.bodies[0]...), trailer(proof0[:50], 0, 0, modsig.IDTypeMerkle, 0, 0, [3]byte{}, 50)...), v.root, ENOPKG, "-EKEYREJECTED", "not a whole number"},
		{"bad gzip", []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3}, v.root, EINVAL, "-EINVAL", "decompress"},
	}
	for _, tc := range tests {
		r := File(tc.mod, tc.root)
		if r.Code != tc.want || r.Enforced != tc.enforced || !strings.Contains(r.Reason, tc.reason) {
			t.Errorf("%s: got %v (%s) %q, want %v (%s) containing %q", tc.name, r.Code, r.Enforced, r.Reason, tc.want, tc.enforced, tc.reason)
		}
		if got := r.Code.LoadsUnenforced(); got != (tc.want != EBADMSG && tc.want != EINVAL) {
			t.Errorf("%s: LoadsUnenforced = %v", tc.name, got)
		}
	}
}

// TestDivergence checks the level reported for failing proofs, derived
// from the tree shape: n05 has leaves 0..4, so leaf 1's sibling is leaf 0.
func TestDivergence(t *testing.T) {
	v := loadVector(t, "n05")
	tamper := func(f func(mods [][]byte)) []Result {
		mods := make([][]byte, len(v.bodies))
		for i := range mods {
			mods[i] = v.installed(i)
		}
		f(mods)
		rs := make([]Result, len(mods))
		for i, m := range mods {
			rs[i] = Module(m, v.root)
		}
		Explain(rs)
		return rs
	}

	rs := tamper(func(m [][]byte) { m[1][0] ^= 1 })
	for i, r := range rs {
		if want := i != 1; r.OK() != want {
			t.Errorf("corrupt module 1: module %d OK=%v", i, r.OK())
		}
	}
	if rs[1].Code != ENOKEY || rs[1].Level != 0 || !strings.Contains(rs[1].Reason, "level 0") {
		t.Errorf("corrupt module 1: %+v", rs[1])
	}

	// Swap the proofs of modules 1 and 2.
	rs = tamper(func(m [][]byte) {
		m[1] = append(append([]byte(nil), v.bodies[1]...), v.proofs[2]...)
		m[2] = append(append([]byte(nil), v.bodies[2]...), v.proofs[1]...)
	})
	for i, r := range rs {
		swapped := i == 1 || i == 2
		if r.OK() == swapped {
			t.Errorf("swap 1,2: module %d: %v", i, r)
		}
		if swapped && (r.Code != ENOKEY || r.Level != 0) {
			t.Errorf("swap 1,2: module %d: %+v", i, r)
		}
	}

	// Corrupt the level-1 sibling in module 0's proof (bytes 4+32..4+64).
	rs = tamper(func(m [][]byte) { m[0][len(v.bodies[0])+4+32+5] ^= 0x80 })
	if rs[0].Code != ENOKEY || rs[0].Level != 1 || !strings.Contains(rs[0].Reason, "sibling") {
		t.Errorf("corrupt sibling: %+v", rs[0])
	}

	// Everything signed for n05 checked against n08's root: nothing proves
	// a node, but all agree on one other root.
	rs = make([]Result, len(v.bodies))
	for i := range rs {
		rs[i] = Module(v.installed(i), loadVector(t, "n08").root)
	}
	Explain(rs)
	for i, r := range rs {
		if r.Code != ENOKEY || r.Level != -1 || !strings.Contains(r.Reason, "another build") {
			t.Errorf("n05 against n08's root: module %d: %+v", i, r)
		}
	}
}

func TestFilesAndJSON(t *testing.T) {
	v := loadVector(t, "n04")
	dir := t.TempDir()
	var names []string
	for i := range v.bodies {
		f := compress.Formats[i%len(compress.Formats)]
		data, err := compress.Encode(f, v.installed(i))
		if err != nil {
			t.Fatal(err)
		}
		if i == 3 {
			data = v.bodies[i]
		}
		name := filepath.Join(dir, filepath.Base(v.entries[i].Stem)+".ko"+f.Ext())
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	rs, err := Files(names, v.root, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if r.File != names[i] || r.OK() != (i != 3) {
			t.Errorf("%d: %v", i, r)
		}
	}
	if !strings.HasPrefix(rs[3].String(), names[3]+": unsigned (-EKEYREJECTED when enforced): ") {
		t.Errorf("String() = %q", rs[3].String())
	}
	b, err := json.Marshal(rs[1])
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back["outcome"] != "OK" || back["compression"] != "gzip" || back["pos"] != float64(1) || back["file"] != names[1] {
		t.Errorf("JSON %s", b)
	}
	if _, err := Files([]string{filepath.Join(dir, "missing.ko")}, v.root, 1); err == nil {
		t.Error("missing file: no error")
	}
}

// kernelDecision restates the kernel's check independently of check(),
// for the fuzzer: marker, descriptor bounds, type, fields, size, fold.
func kernelDecision(mod []byte, root hashesroot.Root) Code {
	const marker = "~Module signature appended~\n"
	if len(mod) <= len(marker) || !bytes.HasSuffix(mod, []byte(marker)) {
		return Unsigned
	}
	n := len(mod) - len(marker)
	if n <= 12 {
		return EBADMSG
	}
	ms := mod[n-12 : n]
	sigLen := uint64(binary.BigEndian.Uint32(ms[8:]))
	if sigLen >= uint64(n-12) {
		return EBADMSG
	}
	if ms[2] != 3 {
		return ENOPKG
	}
	for _, i := range []int{0, 1, 3, 4, 5, 6, 7} {
		if ms[i] != 0 {
			return EBADMSG
		}
	}
	if sigLen != 4+32*uint64(root.Levels) {
		return ENOPKG
	}
	bodyLen := n - 12 - int(sigLen)
	sig := mod[bodyLen : n-12]
	pos := binary.BigEndian.Uint32(sig)
	cur := merkle.LeafBytes(pos, mod[:bodyLen])
	for i := 0; i < int(root.Levels); i++ {
		var sib merkle.Hash
		copy(sib[:], sig[4+32*i:])
		if pos>>uint(i)&1 == 0 {
			cur = merkle.Node(cur, sib)
		} else {
			cur = merkle.Node(sib, cur)
		}
	}
	if cur != root.Hash {
		return ENOKEY
	}
	return OK
}

func FuzzModule(f *testing.F) {
	v := loadVector(f, "n05")
	for i := range v.bodies {
		f.Add(v.installed(i))
	}
	f.Add(v.bodies[0])
	f.Add([]byte(modsig.Marker))
	f.Add(append(make([]byte, 13), modsig.Marker...))
	f.Fuzz(func(t *testing.T, mod []byte) {
		r := Module(mod, v.root)
		if want := kernelDecision(mod, v.root); r.Code != want {
			t.Fatalf("Module = %v (%s), the restated kernel check says %v", r.Code, r.Reason, want)
		}
		if r.Code != OK && r.Reason == "" {
			t.Fatalf("%v without a reason", r.Code)
		}
		rs := []Result{r, Module(v.installed(0), v.root)}
		Explain(rs)
	})
}

func FuzzFile(f *testing.F) {
	v := loadVector(f, "n02")
	for _, c := range compress.Formats {
		b, err := compress.Encode(c, v.installed(0))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := File(b, v.root)
		if r.Code == OK {
			plain, _, err := compress.Decode(b, MaxModuleSize)
			if err != nil || kernelDecision(plain, v.root) != OK {
				t.Fatalf("OK but decode %v / kernel check disagrees", err)
			}
		}
	})
}

// The check of a big module, from its size, its last bytes and a leaf
// callback, decides as the check of the module held whole.
func FuzzStreamedCheck(f *testing.F) {
	v := loadVector(f, "n05")
	for i := range v.bodies {
		f.Add(v.installed(i), uint16(200))
	}
	f.Add([]byte(modsig.Marker), uint16(0))
	f.Add(append(make([]byte, 13), modsig.Marker...), uint16(5))
	f.Fuzz(func(t *testing.T, mod []byte, keep uint16) {
		if n := len(mod) - len(modsig.Marker) - modsig.InfoSize; n >= 0 && binary.BigEndian.Uint32(mod[n+8:]) > uint32(keep) {
			t.Skip("the tail does not hold the signature: real tails hold 64 KiB")
		}
		tail := mod[max(0, len(mod)-len(modsig.Marker)-modsig.InfoSize-int(keep)):]
		r := check(view{size: int64(len(mod)), tail: tail, leaf: func(pos uint32, n int64) (merkle.Hash, error) {
			return merkle.LeafBytes(pos, mod[:n]), nil
		}}, v.root)
		want := Module(mod, v.root)
		if r.Code != want.Code {
			t.Fatalf("with %d bytes of tail: %v (%s), whole: %v (%s)", len(tail), r.Code, r.Reason, want.Code, want.Reason)
		}
	})
}

// TestExpandFollowsLinks: a directory of links to modules, as Bazel's tree
// artifacts and runfiles are, is a directory of modules; a dangling link
// and a link to a directory are not modules.
func TestExpandFollowsLinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real.ko")
	if err := os.WriteFile(target, []byte("module"), 0o644); err != nil {
		t.Fatal(err)
	}
	tree := filepath.Join(dir, "tree")
	for name, to := range map[string]string{
		"a.ko":        target,
		"dangling.ko": filepath.Join(dir, "missing.ko"),
		"dir.ko":      dir,
	} {
		if err := os.MkdirAll(tree, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(to, filepath.Join(tree, name)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Expand([]string{tree})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(tree, "a.ko")}; !slices.Equal(got, want) {
		t.Errorf("Expand = %q, want %q", got, want)
	}
}
