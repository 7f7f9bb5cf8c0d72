package elfedit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"

	"github.com/modhashes/modhashes/tools/atomicfile"
)

// copyMin is the size from which unchanged input data is copied file to
// file (copy_file_range where the system has it) instead of through memory:
// several times faster for a vmlinux, and its pages never enter the
// process's resident set.
const copyMin = 64 << 10

// WriteTo writes the output file to w. Bytes no structure covers (gaps
// left by removed sections, alignment padding) are zero.
func (o *Output) WriteTo(w io.Writer) (int64, error) {
	return o.write(w, false)
}

// write is WriteTo into a file that, if copied, already holds the whole
// input (see prefetch): it seeks past the chunks in place.
func (o *Output) write(w io.Writer, copied bool) (int64, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	var pos uint64
	zeros := make([]byte, 64<<10)
	for _, ch := range o.chunks {
		for pos < ch.off {
			n := min(ch.off-pos, uint64(len(zeros)))
			if _, err := bw.Write(zeros[:n]); err != nil {
				return int64(pos), err
			}
			pos += n
		}
		if o.inPlace(ch, copied) {
			if err := bw.Flush(); err != nil {
				return int64(pos), err
			}
			pos += uint64(len(ch.data))
			if _, err := w.(io.Seeker).Seek(int64(pos), io.SeekStart); err != nil {
				return int64(pos), err
			}
			continue
		}
		if off, ok := o.fromInput(ch.data); ok {
			if err := bw.Flush(); err != nil {
				return int64(pos), err
			}
			if err := o.copyInput(w, off, int64(len(ch.data))); err != nil {
				return int64(pos), err
			}
			pos += uint64(len(ch.data))
			continue
		}
		// In pieces, each released once written (copied to the buffer
		// or the file): a mapped input then never is resident whole.
		for rest := ch.data; len(rest) > 0; {
			piece := rest[:min(len(rest), releaseWindow)]
			if _, err := bw.Write(piece); err != nil {
				return int64(pos), err
			}
			if o.in != nil {
				o.in.release(piece)
			}
			pos += uint64(len(piece))
			rest = rest[len(piece):]
		}
	}
	if err := bw.Flush(); err != nil {
		return int64(pos), err
	}
	return int64(pos), nil
}

// fromInput tells whether data is a big enough part of the open, mapped
// input to be copied from its file, and where it starts there.
func (o *Output) fromInput(data []byte) (int64, bool) {
	if o.in == nil || o.in.src == nil || len(data) < copyMin {
		return 0, false
	}
	off, ok := offsetIn(o.in.Data, data)
	return int64(off), ok
}

// copyInput copies n bytes at off of the input file to w. io.Copy hands
// an *os.File destination the source file itself, so the kernel copies.
func (o *Output) copyInput(w io.Writer, off, n int64) error {
	src := o.in.src
	if _, err := src.Seek(off, io.SeekStart); err != nil {
		return fmt.Errorf("read %s: %w", src.Name(), err)
	}
	got, err := io.Copy(w, &io.LimitedReader{R: src, N: n})
	if err == nil && got != n {
		err = fmt.Errorf("read %s: %d bytes at offset %#x, the file has changed", src.Name(), n, off)
	}
	return err
}

// WriteFile writes the output to name through a temporary file renamed
// into place, so name is either untouched or complete.
func (o *Output) WriteFile(name string, perm os.FileMode) error {
	af, err := atomicfile.Create(name, perm)
	if err != nil {
		return err
	}
	defer af.Abort()
	copied := o.in != nil && o.in.prefetch(af.File, nil)
	return o.commit(af, name, copied)
}

// commit writes the output over what prefetch put in af and renames it
// into place.
func (o *Output) commit(af *atomicfile.File, name string, copied bool) error {
	if _, err := af.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	n, err := o.write(af.File, copied)
	if err == nil {
		// Cuts what a copy, whole or not, put past the output's end.
		err = af.Truncate(n)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return af.Commit()
}

// CheckOutput refuses an output path that names the input file unless
// inPlace allows it (the output is still written to a temporary file and
// renamed over the input, so a failed run leaves the input intact).
func CheckOutput(in, out string, inPlace bool) error {
	if inPlace {
		return nil
	}
	si, err := os.Stat(in)
	if err != nil {
		return err
	}
	if so, err := os.Stat(out); err == nil && os.SameFile(si, so) {
		return fmt.Errorf("output %s: %w", out, ErrOutputIsInput)
	}
	return nil
}

// ErrOutputIsInput refuses to overwrite the input unless asked to.
var ErrOutputIsInput = errors.New("is the input file")

// Rewrite opens in, has plan work out the edited file and writes it to out
// atomically with in's permissions. in itself is never written to; out may
// name it only if inPlace is set.
func Rewrite(in, out string, inPlace bool, plan func(*File) (*Output, error)) error {
	if err := CheckOutput(in, out, inPlace); err != nil {
		return err
	}
	return guardMapped(in, func() error {
		f, err := Open(in)
		if err != nil {
			return err
		}
		defer f.Close()
		perm := os.FileMode(0o755)
		if st, err := os.Stat(in); err == nil {
			perm = st.Mode().Perm()
		}
		af, err := atomicfile.Create(out, perm)
		if err != nil {
			return err
		}
		defer af.Abort()
		// The segments are copied while plan works (see prefetch); plan
		// reads the mapping only, never f's file or af.
		var stop atomic.Bool
		copied := make(chan bool, 1)
		go func() { copied <- f.prefetch(af.File, &stop) }()
		o, err := plan(f)
		if err != nil {
			stop.Store(true)
			<-copied
			return fmt.Errorf("%s: %w", in, err)
		}
		return o.commit(af, out, <-copied)
	})
}
