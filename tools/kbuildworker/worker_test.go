package kbuildworker

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// script stands in for kbuild.sh: it prints its arguments, its warm
// directory and the changed paths it was given, makes a file in the warm
// directory, and exits with the status in the file "status" if there is one.
const script = `#!/bin/sh
echo "args: $*"
echo "warm: ${KBUILD_WARM_DIR:-none}"
if [ -n "${KBUILD_WARM_CHANGED:-}" ]; then echo "changed: $(tr '\n' ' ' <"$KBUILD_WARM_CHANGED")"; else echo "changed: unknown"; fi
[ -z "${KBUILD_WARM_DIR:-}" ] || { mkdir -p "$KBUILD_WARM_DIR" && touch "$KBUILD_WARM_DIR/tree"; }
[ ! -f linger ] || sleep "$(cat linger)" >/dev/null 2>&1 &
[ ! -f status ] || exit "$(cat status)"
`

func newWorker(t *testing.T) *Worker {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kbuild.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return &Worker{Script: "kbuild.sh", Dir: dir, Env: []string{"PATH=/usr/bin:/bin"}, Base: t.TempDir(), Keep: 8}
}

func request(id int32, args []string, digests ...string) Request {
	req := Request{Arguments: args, RequestID: id}
	for i := 0; i+1 < len(digests); i += 2 {
		req.Inputs = append(req.Inputs, Input{Path: digests[i], Digest: digests[i+1]})
	}
	return req
}

// line returns the line of out that starts with prefix.
func line(t *testing.T, out, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return strings.TrimSpace(strings.TrimPrefix(l, prefix))
		}
	}
	t.Fatalf("no %q line in %q", prefix, out)
	return ""
}

func TestWarmRuns(t *testing.T) {
	w := newWorker(t)
	args := []string{"modules", "out"}
	steps := []struct {
		name    string
		req     Request
		status  string // the script's exit status; "" is 0
		code    int32
		changed string
	}{
		{"first run: nothing known", request(1, args, "a.c", "1", "b.c", "1"), "", 0, "unknown"},
		{"one input changed", request(2, args, "a.c", "2", "b.c", "1"), "", 0, "a.c"},
		{"nothing changed", request(3, args, "a.c", "2", "b.c", "1"), "", 0, ""},
		{"an input went, one came", request(4, args, "a.c", "2", "c.c", "1"), "", 0, "b.c c.c"},
		{"a failed run", request(5, args, "a.c", "3", "c.c", "1"), "3", 3, "a.c"},
		{"after a failure: nothing known", request(6, args, "a.c", "3", "c.c", "1"), "", 0, "unknown"},
	}
	for _, s := range steps {
		os.Remove(filepath.Join(w.Dir, "status"))
		if s.status != "" {
			if err := os.WriteFile(filepath.Join(w.Dir, "status"), []byte(s.status), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		resp := w.Handle(s.req)
		if resp.ExitCode != s.code || resp.RequestID != s.req.RequestID {
			t.Fatalf("%s: exit %d, request %d; want %d, %d (output %q)", s.name, resp.ExitCode, resp.RequestID, s.code, s.req.RequestID, resp.Output)
		}
		if got := line(t, resp.Output, "changed:"); got != s.changed {
			t.Errorf("%s: changed %q, want %q", s.name, got, s.changed)
		}
		warm := line(t, resp.Output, "warm:")
		if filepath.Dir(warm) != w.Base {
			t.Errorf("%s: warm directory %q is not below %s", s.name, warm, w.Base)
		}
		_, err := os.Stat(filepath.Join(warm, "tree"))
		if kept := err == nil; kept != (s.code == 0) {
			t.Errorf("%s: exit %d, tree kept: %v", s.name, s.code, kept)
		}
	}
}

func TestKeys(t *testing.T) {
	w := newWorker(t)
	warm := func(args ...string) string {
		return line(t, w.Handle(request(0, args, "a.c", "1")).Output, "warm:")
	}
	a, b := warm("image", "x"), warm("image", "y")
	if a == b {
		t.Errorf("two actions share the warm directory %s", a)
	}
	if again := warm("image", "x"); again != a {
		t.Errorf("the same action got %s, then %s", a, again)
	}
	other := *w
	other.Env = append(other.Env, "KBUILD_MAKE_ARGS=ARCH=arm64")
	if c := line(t, other.Handle(request(0, []string{"image", "x"}, "a.c", "1")).Output, "warm:"); c == a {
		t.Errorf("another environment shares the warm directory %s", a)
	}
}

func TestBusy(t *testing.T) {
	w := newWorker(t)
	req := request(0, []string{"image"}, "a.c", "1")
	warm := line(t, w.Handle(req).Output, "warm:")
	held, ok := lock(warm + ".lock")
	if !ok {
		t.Fatal("cannot lock")
	}
	defer held.Close()
	if got := line(t, w.Handle(req).Output, "warm:"); got != "none" {
		t.Errorf("with the warm directory busy the run used %s", got)
	}
}

// A process the run left behind (make, when the worker is killed) holds the
// warm directory: the next run builds elsewhere.
func TestLockOutlivesRun(t *testing.T) {
	w := newWorker(t)
	if err := os.WriteFile(filepath.Join(w.Dir, "linger"), []byte("2"), 0o644); err != nil {
		t.Fatal(err)
	}
	req := request(0, []string{"image"}, "a.c", "1")
	if got := line(t, w.Handle(req).Output, "warm:"); got == "none" {
		t.Fatal("the first run had no warm directory")
	}
	os.Remove(filepath.Join(w.Dir, "linger"))
	if got := line(t, w.Handle(req).Output, "warm:"); got != "none" {
		t.Errorf("with the last run's process still running the run used %s", got)
	}
}

func TestSandboxed(t *testing.T) {
	w := newWorker(t)
	sandbox := filepath.Join(w.Dir, "sandbox")
	if err := os.MkdirAll(sandbox, 0o755); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(w.Dir, "kbuild.sh"))
	if err := os.WriteFile(filepath.Join(sandbox, "kbuild.sh"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	req := request(0, []string{"image"}, "a.c", "1")
	req.SandboxDir = "sandbox"
	if got := line(t, w.Handle(req).Output, "warm:"); got != "none" {
		t.Errorf("a sandboxed request used the warm directory %s", got)
	}
}

func TestEvict(t *testing.T) {
	w := newWorker(t)
	w.Keep = 2
	var dirs []string
	for _, a := range []string{"a", "b", "c"} {
		dirs = append(dirs, line(t, w.Handle(request(0, []string{a}, "a.c", "1")).Output, "warm:"))
		// Distinct mtimes in the past, whatever the file system's resolution.
		old := filepath.Join(dirs[len(dirs)-1] + ".inputs")
		tm, _ := os.Stat(old)
		os.Chtimes(old, tm.ModTime().AddDate(0, 0, len(dirs)-10), tm.ModTime().AddDate(0, 0, len(dirs)-10))
	}
	for i, d := range dirs {
		_, err := os.Stat(d)
		if kept := err == nil; kept != (i > 0) {
			t.Errorf("warm directory %d of 3 kept: %v (Keep 2, least recently used goes)", i+1, kept)
		}
	}
}

// appendRequest encodes req as Bazel does, varint-delimited; digests are
// hexadecimal.
func appendRequest(b []byte, req Request) []byte {
	str := func(m []byte, num int, s []byte) []byte {
		return append(binary.AppendUvarint(binary.AppendUvarint(m, uint64(num)<<3|wireBytes), uint64(len(s))), s...)
	}
	var m []byte
	for _, a := range req.Arguments {
		m = str(m, 1, []byte(a))
	}
	for _, in := range req.Inputs {
		d, _ := hex.DecodeString(in.Digest)
		m = str(m, 2, str(str(nil, 1, []byte(in.Path)), 2, d))
	}
	if req.RequestID != 0 {
		m = appendVarint(m, 3, uint64(int64(req.RequestID)))
	}
	if req.Cancel {
		m = appendVarint(m, 4, 1)
	}
	m = appendVarint(m, 5, 2)                   // verbosity: skipped
	m = append(m, 7<<3|wireFixed32, 1, 2, 3, 4) // unknown: skipped
	if req.SandboxDir != "" {
		m = str(m, 6, []byte(req.SandboxDir))
	}
	return append(binary.AppendUvarint(b, uint64(len(m))), m...)
}

func TestServe(t *testing.T) {
	w := newWorker(t)
	var in []byte
	in = appendRequest(in, request(7, []string{"image", "a"}, "a.c", "01"))
	in = appendRequest(in, Request{RequestID: 8, Cancel: true})
	in = appendRequest(in, request(-9, []string{"image", "a"}, "a.c", "02"))
	var out bytes.Buffer
	if err := w.Serve(bytes.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(&out)
	var got []Response
	for {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			break
		}
		b := make([]byte, n)
		io.ReadFull(r, b)
		var resp Response
		if err := fields(b, func(num int, v uint64, data []byte) error {
			switch num {
			case 1:
				resp.ExitCode = int32(v)
			case 2:
				resp.Output = string(data)
			case 3:
				resp.RequestID = int32(v)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		got = append(got, resp)
	}
	if len(got) != 2 || got[0].RequestID != 7 || got[1].RequestID != -9 {
		t.Fatalf("responses %+v, want to 7 and -9 (8 is a cancellation)", got)
	}
	if c := line(t, got[1].Output, "changed:"); c != "a.c" {
		t.Errorf("the second request changed %q, want a.c", c)
	}
	for _, bad := range []struct{ name, in string }{
		{"a request cut short", "\x05\x0a\x01"},
		{"a length beyond the message", "\x02\x0a\x05"},
		{"wire type 7", "\x01\x0f"},
		{"field number 0", "\x02\x00\x00"},
	} {
		if err := w.Serve(strings.NewReader(bad.in), &out); err == nil {
			t.Errorf("%s: no error", bad.name)
		}
	}
}

func TestParseRequest(t *testing.T) {
	want := Request{Arguments: []string{"modules", ""}, Inputs: []Input{{"a.c", "00ff"}, {"b", ""}}, RequestID: 3, SandboxDir: "sb"}
	b := appendRequest(nil, want)
	got, err := ReadRequest(bufio.NewReader(bytes.NewReader(b)))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ReadRequest = %+v, %v; want %+v", got, err, want)
	}
}

func TestChanged(t *testing.T) {
	in := func(kv ...string) []Input {
		var out []Input
		for i := 0; i < len(kv); i += 2 {
			out = append(out, Input{kv[i], kv[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		old  map[string]string
		cur  []Input
		want []string
	}{
		{map[string]string{}, nil, nil},
		{map[string]string{"a": "1"}, in("a", "1"), nil},
		{map[string]string{"a": "1"}, in("a", "2"), []string{"a"}},
		{map[string]string{"a": "1", "b": "1"}, in("c", "1", "b", "1"), []string{"a", "c"}},
		{map[string]string{"a": "1", "b": "1"}, in("b", "2"), []string{"a", "b"}},
	} {
		if got := Changed(tc.old, tc.cur); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Changed(%v, %v) = %v, want %v", tc.old, tc.cur, got, tc.want)
		}
	}
}

func TestDigestsRoundTrip(t *testing.T) {
	name := filepath.Join(t.TempDir(), "inputs")
	inputs := []Input{{"external/tree/a b.c", "ab01"}, {"bazel-out/x", ""}}
	if err := writeDigests(name, inputs); err != nil {
		t.Fatal(err)
	}
	got, err := readDigests(name)
	if want := map[string]string{"external/tree/a b.c": "ab01", "bazel-out/x": ""}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("read %v, %v; wrote %v", got, err, inputs)
	}
	if recordable([]Input{{Path: "a\nb", Digest: "1"}}) {
		t.Error("a path with a newline is recorded")
	}
	os.WriteFile(name, []byte("no tab\n"), 0o644)
	if _, err := readDigests(name); err == nil || !strings.Contains(err.Error(), name) {
		t.Errorf("a malformed file: %v", err)
	}
}

func TestExpandArgs(t *testing.T) {
	params := filepath.Join(t.TempDir(), "params")
	os.WriteFile(params, []byte("modules\nout dir\n"), 0o644)
	got, err := ExpandArgs([]string{"first", "@" + params})
	if want := []string{"first", "modules", "out dir"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ExpandArgs = %q, %v; want %q", got, err, want)
	}
	if _, err := ExpandArgs([]string{"@/nonexistent/params"}); err == nil {
		t.Error("a missing parameter file is not an error")
	}
}

func FuzzParseRequest(f *testing.F) {
	f.Add(appendRequest(nil, request(1, []string{"image"}, "a.c", "01"))[1:])
	f.Add([]byte{0x20, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := ParseRequest(data)
		if err != nil {
			return
		}
		// What parses, encoded again, reads back the same.
		again, err := ReadRequest(bufio.NewReader(bytes.NewReader(appendRequest(nil, req))))
		if err != nil || !reflect.DeepEqual(again, req) {
			t.Fatalf("%+v encoded again reads as %+v, %v", req, again, err)
		}
	})
}

func FuzzReadDigests(f *testing.F) {
	f.Add([]byte("AQ==\tpath/a.c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		name := filepath.Join(t.TempDir(), "inputs")
		os.WriteFile(name, data, 0o644)
		if m, err := readDigests(name); err == nil {
			for p, d := range m {
				if strings.Contains(p+d, "\n") {
					t.Fatalf("a line break in %q %q", p, d)
				}
			}
		}
	})
}

// BenchmarkServe: one request of a kernel tree's size (96,000 inputs, one
// changed), what the worker adds to each kbuild action.
func BenchmarkServe(b *testing.B) {
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "kbuild.sh"), []byte("#!/bin/sh\n"), 0o755)
	w := &Worker{Script: "kbuild.sh", Dir: dir, Base: b.TempDir(), Keep: 8}
	var data []byte
	req := Request{Arguments: []string{"modules"}}
	for i := 0; i < 96000; i++ {
		req.Inputs = append(req.Inputs, Input{Path: fmt.Sprintf("external/linux/dir%03d/file%05d.c", i%500, i), Digest: "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"})
	}
	first := 0
	for i := 0; i < b.N+1; i++ {
		req.Inputs[i%len(req.Inputs)].Digest = fmt.Sprintf("%064x", i)
		data = appendRequest(data, req)
		if i == 0 {
			first = len(data)
		}
	}
	w.Serve(bytes.NewReader(data[:first]), io.Discard)
	b.SetBytes(int64(first))
	b.ResetTimer()
	w.Serve(bytes.NewReader(data[first:]), io.Discard)
}
