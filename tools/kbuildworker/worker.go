// Package kbuildworker runs rules/private/kbuild.sh as a Bazel persistent
// worker, so that the kbuild actions after vmlinux keep their tree between
// builds instead of making it again in every action. It speaks the protocol
// buffer protocol: JSON costs Bazel and the worker a second per request for
// a tree's 96,000 inputs.
//
// Each action (its working directory, arguments and environment) gets a
// warm directory of its own below Base. The worker records the digests of
// the inputs of the last successful run there and hands kbuild.sh the paths
// whose digest changed since (KBUILD_WARM_CHANGED); kbuild.sh decides whether
// the tree it left can be brought up to date by those alone, as make would
// in a tree it had built before, or builds in it from nothing. A failed run
// forgets the directory. Outputs do not depend on which path was taken:
// kbuild.sh builds the same bytes in any directory (rules/README.md).
package kbuildworker

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/modhashes/modhashes/tools/atomicfile"
)

// Input is a WorkRequest's input: a path below the working directory and
// Bazel's digest of its content (hexadecimal here).
type Input struct {
	Path   string
	Digest string
}

// Request is Bazel's WorkRequest (blaze.worker, worker_protocol.proto).
type Request struct {
	Arguments  []string
	Inputs     []Input
	RequestID  int32
	Cancel     bool
	SandboxDir string
}

// Response is Bazel's WorkResponse.
type Response struct {
	ExitCode  int32
	Output    string
	RequestID int32
}

// Worker serves requests by running Script.
type Worker struct {
	Script string   // kbuild.sh, relative to Dir
	Dir    string   // the working directory: Bazel's execroot
	Env    []string // kbuild.sh's environment
	Base   string   // the warm directories
	Keep   int      // how many warm directories Base keeps at most
}

// Serve answers requests from in on out until in ends.
func (w *Worker) Serve(in io.Reader, out io.Writer) error {
	r := bufio.NewReaderSize(in, 1<<20)
	for {
		req, err := ReadRequest(r)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("reading a work request: %w", err)
		}
		if req.Cancel {
			continue // cancellation is not supported: the request runs to its end
		}
		if _, err := out.Write(AppendResponse(nil, w.Handle(req))); err != nil {
			return fmt.Errorf("writing a work response: %w", err)
		}
	}
}

// Handle runs one request.
func (w *Worker) Handle(req Request) Response {
	var out bytes.Buffer
	code := w.run(req, &out)
	return Response{ExitCode: int32(code), Output: out.String(), RequestID: req.RequestID}
}

func (w *Worker) run(req Request, out *bytes.Buffer) int {
	if req.SandboxDir != "" {
		// A sandboxed worker's inputs live in a directory of the request's
		// own, which is gone afterwards: nothing to keep warm.
		return w.script(filepath.Join(w.Dir, req.SandboxDir), req.Arguments, nil, out)
	}
	if err := os.MkdirAll(w.Base, 0o755); err != nil {
		fmt.Fprintf(out, "kbuild-worker: %v\n", err)
		return 1
	}
	key := w.key(req.Arguments)
	stem := filepath.Join(w.Base, key)
	held, ok := lock(stem + ".lock")
	if !ok {
		// The same action in another worker (another build of this output
		// base), or what is left of a run whose worker was killed: build in
		// a directory of this run's own.
		return w.script(w.Dir, req.Arguments, nil, out)
	}
	defer held.Close()
	recordable := recordable(req.Inputs)
	env := []string{"KBUILD_WARM_DIR=" + stem}
	if old, err := readDigests(stem + ".inputs"); err == nil && recordable {
		if err := writeLines(stem+".changed", Changed(old, req.Inputs)); err != nil {
			fmt.Fprintf(out, "kbuild-worker: %v\n", err)
			return 1
		}
		env = append(env, "KBUILD_WARM_CHANGED="+stem+".changed")
	}
	// Whatever happens next, the recorded digests no longer describe the tree
	// until this run succeeds.
	if err := os.Remove(stem + ".inputs"); err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(out, "kbuild-worker: %v\n", err)
		return 1
	}
	code := w.script(w.Dir, req.Arguments, env, out, held)
	if code != 0 || !recordable {
		os.RemoveAll(stem)
		return code
	}
	if err := writeDigests(stem+".inputs", req.Inputs); err != nil {
		// The outputs stand; the next run builds from nothing.
		fmt.Fprintf(out, "kbuild-worker: %v\n", err)
		os.RemoveAll(stem)
	}
	w.evict(key)
	return 0
}

// script runs kbuild.sh in dir with extra added to the environment, its
// output (stdout and stderr: stdout is the protocol's) going to out. The
// files (the warm directory's lock) are inherited by kbuild.sh and
// everything it starts, so that the lock outlives a worker killed while
// make still runs.
func (w *Worker) script(dir string, args, extra []string, out io.Writer, files ...*os.File) int {
	cmd := exec.Command(filepath.Join(dir, w.Script), args...)
	cmd.Dir = dir
	cmd.Env = append(append([]string{}, w.Env...), extra...)
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.ExtraFiles = files
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit) && exit.ExitCode() > 0:
		return exit.ExitCode()
	default:
		fmt.Fprintf(out, "kbuild-worker: %s: %v\n", w.Script, err)
		return 1
	}
}

// key names an action's warm directory: the same action of one execroot
// (the tree links into it) with the same arguments and environment.
func (w *Worker) key(args []string) string {
	h := sha256.New()
	for _, s := range append(append([]string{w.Dir, w.Script}, args...), w.Env...) {
		fmt.Fprintf(h, "%d:%s", len(s), s)
	}
	return hex.EncodeToString(h.Sum(nil))[:24]
}

// evict removes the least recently used warm directories beyond Keep, but
// for key and any another worker holds.
func (w *Worker) evict(key string) {
	names, _ := filepath.Glob(filepath.Join(w.Base, "*.inputs"))
	type entry struct {
		stem string
		used int64
	}
	var all []entry
	for _, n := range names {
		if fi, err := os.Stat(n); err == nil {
			all = append(all, entry{strings.TrimSuffix(n, ".inputs"), fi.ModTime().UnixNano()})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].used > all[j].used })
	for i := w.Keep; i < len(all); i++ {
		stem := all[i].stem
		if filepath.Base(stem) == key {
			continue
		}
		if held, ok := lock(stem + ".lock"); ok {
			os.Remove(stem + ".inputs")
			os.Remove(stem + ".changed")
			os.RemoveAll(stem)
			held.Close()
		}
	}
}

// Changed lists the paths whose digest differs between old and cur, or that
// only one of them has, sorted.
func Changed(old map[string]string, cur []Input) []string {
	var out []string
	seen := 0
	for _, in := range cur {
		d, ok := old[in.Path]
		if ok {
			seen++
		}
		if !ok || d != in.Digest {
			out = append(out, in.Path)
		}
	}
	if seen < len(old) {
		now := make(map[string]bool, len(cur))
		for _, in := range cur {
			now[in.Path] = true
		}
		for p := range old {
			if !now[p] {
				out = append(out, p)
			}
		}
	}
	sort.Strings(out)
	return out
}

// recordable: whether the inputs' paths and digests can be written one a
// line (if not, nothing is kept warm).
func recordable(inputs []Input) bool {
	for _, in := range inputs {
		if in.Path == "" || strings.ContainsAny(in.Path+in.Digest, "\n\t") {
			return false
		}
	}
	return true
}

// readDigests reads writeDigests' file: DIGEST<tab>PATH lines.
func readDigests(name string) (map[string]string, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		if line == "" {
			continue
		}
		d, p, ok := strings.Cut(line, "\t")
		if !ok {
			return nil, fmt.Errorf("%s: malformed line %q", name, line)
		}
		m[p] = d
	}
	return m, nil
}

func writeDigests(name string, inputs []Input) error {
	var b strings.Builder
	for _, in := range inputs {
		b.WriteString(in.Digest)
		b.WriteByte('\t')
		b.WriteString(in.Path)
		b.WriteByte('\n')
	}
	return atomicfile.WriteFile(name, []byte(b.String()), 0o644)
}

// writeLines writes lines to name, atomically.
func writeLines(name string, lines []string) error {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return atomicfile.WriteFile(name, []byte(b.String()), 0o644)
}

// lock takes an exclusive lock on name without waiting; it is held until
// every copy of the returned file (in this process and its children) is
// closed.
func lock(name string) (held *os.File, ok bool) {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, false
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, false
	}
	return f, true
}

// ExpandArgs replaces an argument @FILE by FILE's lines (Bazel's multiline
// parameter file), for runs outside a worker.
func ExpandArgs(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		name, ok := strings.CutPrefix(a, "@")
		if !ok {
			out = append(out, a)
			continue
		}
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("parameter file: %w", err)
		}
		if s := strings.TrimSuffix(string(data), "\n"); s != "" {
			out = append(out, strings.Split(s, "\n")...)
		}
	}
	return out, nil
}

// Protocol buffer wire types.
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// maxRequest bounds a request's size: a distribution's tree is ~30 MB.
const maxRequest = 1 << 30

// ReadRequest reads one varint-delimited WorkRequest. It returns io.EOF
// at the end of r before a request, and an error for a request cut short
// or malformed.
func ReadRequest(r *bufio.Reader) (Request, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return Request{}, io.EOF
		}
		return Request{}, err
	}
	if n > maxRequest {
		return Request{}, fmt.Errorf("a request of %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return Request{}, fmt.Errorf("a request cut short: %w", io.ErrUnexpectedEOF)
	}
	return ParseRequest(b)
}

// ParseRequest decodes a WorkRequest's bytes. Unknown fields are skipped.
func ParseRequest(b []byte) (Request, error) {
	var req Request
	err := fields(b, func(num int, v uint64, data []byte) error {
		switch num {
		case 1:
			req.Arguments = append(req.Arguments, string(data))
		case 2:
			var in Input
			if err := fields(data, func(num int, _ uint64, data []byte) error {
				switch num {
				case 1:
					in.Path = string(data)
				case 2:
					in.Digest = hex.EncodeToString(data)
				}
				return nil
			}); err != nil {
				return fmt.Errorf("input: %w", err)
			}
			req.Inputs = append(req.Inputs, in)
		case 3:
			req.RequestID = int32(v)
		case 4:
			req.Cancel = v != 0
		case 6:
			req.SandboxDir = string(data)
		}
		return nil
	})
	return req, err
}

// fields calls f with each field of a message: its number, and its value
// (a varint or fixed number's in v, a length-delimited one's in data).
func fields(b []byte, f func(num int, v uint64, data []byte) error) error {
	for len(b) > 0 {
		tag, n := binary.Uvarint(b)
		if n <= 0 {
			return errors.New("malformed field tag")
		}
		b = b[n:]
		num, wire := int(tag>>3), tag&7
		if num == 0 {
			return errors.New("field number 0")
		}
		var v uint64
		var data []byte
		switch wire {
		case wireVarint:
			if v, n = binary.Uvarint(b); n <= 0 {
				return fmt.Errorf("field %d: malformed varint", num)
			}
			b = b[n:]
		case wireFixed64, wireFixed32:
			size := 8
			if wire == wireFixed32 {
				size = 4
			}
			if len(b) < size {
				return fmt.Errorf("field %d: cut short", num)
			}
			b = b[size:]
		case wireBytes:
			l, n := binary.Uvarint(b)
			if n <= 0 || l > uint64(len(b)-n) {
				return fmt.Errorf("field %d: malformed length", num)
			}
			data, b = b[n:n+int(l)], b[n+int(l):]
		default:
			return fmt.Errorf("field %d: wire type %d", num, wire)
		}
		if err := f(num, v, data); err != nil {
			return err
		}
	}
	return nil
}

// AppendResponse appends resp, varint-delimited, to b.
func AppendResponse(b []byte, resp Response) []byte {
	var m []byte
	if resp.ExitCode != 0 {
		m = appendVarint(m, 1, uint64(int64(resp.ExitCode)))
	}
	if resp.Output != "" {
		m = binary.AppendUvarint(append(m, 2<<3|wireBytes), uint64(len(resp.Output)))
		m = append(m, resp.Output...)
	}
	if resp.RequestID != 0 {
		m = appendVarint(m, 3, uint64(int64(resp.RequestID)))
	}
	return append(binary.AppendUvarint(b, uint64(len(m))), m...)
}

func appendVarint(b []byte, num int, v uint64) []byte {
	return binary.AppendUvarint(binary.AppendUvarint(b, uint64(num)<<3|wireVarint), v)
}
