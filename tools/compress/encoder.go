package compress

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Encoder compresses modules in one format: with the system's gzip, xz or
// zstd run exactly as kbuild's modules_install runs them (same program, same
// options, so the same bytes), or with the built-in pure-Go encoder, the
// fallback where the program is missing. The built-in encoders are
// deterministic too, but their files are bigger: the pure-Go xz by about
// a fifth.
type Encoder struct {
	Format Format
	Path   string // the system program; "" for the built-in encoder
}

// kbuildArgs are scripts/Makefile.modinst's options, writing to stdout.
// zstd gets the input's size, as it sees it when reading kbuild's file, so
// its frame header is the same.
var kbuildArgs = [...][]string{
	Gzip: {"-n", "-c"},
	XZ:   {"--check=crc32", "--lzma2=dict=1MiB", "-c"},
	Zstd: {"-T0", "-q", "-c"},
}

var programs = [...]string{Gzip: "gzip", XZ: "xz", Zstd: "zstd"}

// SystemEncoder is the system's program for f when it is on PATH and
// builtin is false, else the built-in encoder.
func SystemEncoder(f Format, builtin bool) Encoder {
	e := Encoder{Format: f}
	if f == None || builtin {
		return e
	}
	if p, err := exec.LookPath(programs[f]); err == nil {
		e.Path = p
	}
	return e
}

// String says who writes the files, for install's summary.
func (e Encoder) String() string {
	switch {
	case e.Format == None:
		return "uncompressed"
	case e.Path == "":
		return "built-in " + e.Format.String() + " encoder"
	}
	return e.Path + " " + strings.Join(kbuildArgs[e.Format], " ")
}

// Compress writes the size bytes of src, compressed, to dst.
func (e Encoder) Compress(dst io.Writer, src io.Reader, size int64) error {
	if e.Format == None {
		_, err := io.Copy(dst, src)
		return err
	}
	if e.Path == "" {
		return e.builtin(dst, src)
	}
	args := kbuildArgs[e.Format]
	if e.Format == Zstd {
		args = append(args[:len(args):len(args)], "--stream-size="+strconv.FormatInt(size, 10))
	}
	cmd := exec.Command(e.Path, args...)
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = src, dst, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", e.Path, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}

func (e Encoder) builtin(dst io.Writer, src io.Reader) error {
	var w io.WriteCloser
	switch e.Format {
	case Gzip:
		z, err := gzip.NewWriterLevel(dst, gzip.DefaultCompression)
		if err != nil {
			return err
		}
		// No name, comment or extra field, and time 0 (the zero time.Time
		// would encode as a wrapped year-1 timestamp): the header of
		// `gzip -n`, except the OS byte.
		z.ModTime = time.Unix(0, 0)
		w = z
	case XZ:
		z, err := xz.WriterConfig{DictCap: 1 << 20, CheckSum: xz.CRC32}.NewWriter(dst)
		if err != nil {
			return err
		}
		w = z
	case Zstd:
		z, err := zstd.NewWriter(dst, append(zstdOptions(), zstd.WithEncoderConcurrency(1))...)
		if err != nil {
			return err
		}
		w = z
	default:
		return fmt.Errorf("unknown compression %v", e.Format)
	}
	if _, err := io.Copy(w, src); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
