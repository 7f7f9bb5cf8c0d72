package elfedit

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/modhashes/modhashes/tools/atomicfile"
)

// WriteTo writes the output file to w. Bytes no structure covers (gaps
// left by removed sections, alignment padding) are zero.
func (o *Output) WriteTo(w io.Writer) (int64, error) {
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
		// In pieces, each released once written (copied to the buffer
		// or the file): a mapped input then never is resident whole.
		for rest := ch.data; len(rest) > 0; {
			piece := rest[:min(len(rest), releaseWindow)]
			if _, err := bw.Write(piece); err != nil {
				return int64(pos), err
			}
			if o.release != nil {
				o.release(piece)
			}
			pos += uint64(len(piece))
			rest = rest[len(piece):]
		}
	}
	return int64(pos), bw.Flush()
}

// WriteFile writes the output to name through a temporary file renamed
// into place, so name is either untouched or complete.
func (o *Output) WriteFile(name string, perm os.FileMode) error {
	af, err := atomicfile.Create(name, perm)
	if err != nil {
		return err
	}
	defer af.Abort()
	if _, err := o.WriteTo(af); err != nil {
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
		return fmt.Errorf("output %s is the input file; pass --in-place to replace it", out)
	}
	return nil
}

// Rewrite opens in, has plan work out the edited file and writes it to out
// atomically with in's permissions. in itself is never written to; out may
// name it only if inPlace is set.
func Rewrite(in, out string, inPlace bool, plan func(*File) (*Output, error)) error {
	if err := CheckOutput(in, out, inPlace); err != nil {
		return err
	}
	f, err := Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	o, err := plan(f)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	perm := os.FileMode(0o755)
	if st, err := os.Stat(in); err == nil {
		perm = st.Mode().Perm()
	}
	return o.WriteFile(out, perm)
}
