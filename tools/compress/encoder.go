package compress

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Encoder compresses modules in one format: with the system's gzip, xz or
// zstd run exactly as kbuild's modules_install runs them (same program, same
// options, so the same bytes), or with the built-in pure-Go encoder. The
// built-in encoders are deterministic too: zstd's files are within 1% of
// kbuild's size, gzip's about 3% and xz's about a fifth bigger.
type Encoder struct {
	Format Format
	Path   string // the system program; "" for the built-in encoder
}

// Pick says which encoder writes the files.
type Pick int

const (
	// Auto is the built-in encoder for zstd, and the system's program for
	// gzip and xz where it is installed (else the built-in encoder).
	Auto Pick = iota
	// Builtin is always the built-in encoder.
	Builtin
	// System is always the system's program, kbuild's bytes; an error where
	// it is missing.
	System
)

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

// ChooseEncoder is the encoder for f that pick says.
func ChooseEncoder(f Format, pick Pick) (Encoder, error) {
	switch {
	case f == None || pick == Builtin || (pick == Auto && f == Zstd):
		return Encoder{Format: f}, nil
	case pick == System:
		e := SystemEncoder(f, false)
		if e.Path == "" {
			return e, fmt.Errorf("%s: not found on PATH (the system's encoder was asked for)", programs[f])
		}
		return e, nil
	}
	return SystemEncoder(f, false), nil
}

// String says who writes the files, for install's summary.
func (e Encoder) String() string {
	switch {
	case e.Format == None:
		return "uncompressed"
	case e.Path == "" && e.Format == Zstd:
		return "built-in zstd encoder (klauspost/compress, level better, 2 MiB window, checksum)"
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
		return e.builtin(dst, src, size)
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

// Built-in encoders are reused (one per concurrent Compress call): a zstd
// encoder allocates its window and tables once, not once per module.
var zstdEncoders, gzipWriters sync.Pool

func (e Encoder) builtin(dst io.Writer, src io.Reader, size int64) error {
	switch e.Format {
	case Zstd:
		z, ok := zstdEncoders.Get().(*zstd.Encoder)
		if !ok {
			var err error
			if z, err = zstd.NewWriter(nil, zstdOptions()...); err != nil {
				return err
			}
		}
		// One frame with the content size in its header, as the zstd
		// program writes for a file.
		z.ResetContentSize(dst, size)
		// Read straight into the encoder's block buffer: io.Copy would
		// take a MultiReader's WriteTo, which allocates a buffer a call.
		_, err := z.ReadFrom(src)
		if cerr := z.Close(); err == nil {
			err = cerr
		}
		z.Reset(nil)
		if err == nil {
			zstdEncoders.Put(z)
		}
		return err
	case Gzip:
		z, ok := gzipWriters.Get().(*gzip.Writer)
		if !ok {
			var err error
			if z, err = gzip.NewWriterLevel(dst, gzip.DefaultCompression); err != nil {
				return err
			}
		} else {
			z.Reset(dst)
		}
		// No name, comment or extra field, and time 0 (the zero time.Time
		// would encode as a wrapped year-1 timestamp): the header of
		// `gzip -n`, except the OS byte.
		z.ModTime = time.Unix(0, 0)
		_, err := io.Copy(z, src)
		if cerr := z.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			z.Reset(io.Discard)
			gzipWriters.Put(z)
		}
		return err
	case XZ:
		z, err := xz.WriterConfig{DictCap: 1 << 20, CheckSum: xz.CRC32}.NewWriter(dst)
		if err != nil {
			return err
		}
		if _, err := io.Copy(z, src); err != nil {
			z.Close()
			return err
		}
		return z.Close()
	}
	return errors.New("unknown compression " + e.Format.String())
}
