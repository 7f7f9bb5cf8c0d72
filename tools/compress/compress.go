// Package compress packs installed modules as kbuild's modules_install does
// (.ko.gz, .ko.xz, .ko.zst) and unpacks them as the kernel's
// CONFIG_MODULE_DECOMPRESS and kmod do.
//
// Output is deterministic and readable by the in-kernel decompressors:
//   - gzip: no file name, no modification time, no extra fields (the kernel
//     skips only the 10-byte header and an optional name; `gzip -n`);
//   - xz: one LZMA2 stream with a CRC32 check and a 1 MiB dictionary (the
//     kernel's xz decoder knows only the CRC32 and "none" checks;
//     `xz --check=crc32 --lzma2=dict=1MiB`);
//   - zstd: one frame with the content size, a content checksum and a window
//     of at most 2 MiB (`zstd -3`'s window log 21); the kernel limits the window to 1 GiB on 32-bit targets.
//
// Libraries: github.com/klauspost/compress for gzip and zstd (the most used
// pure-Go zstd implementation, maintained, fuzzed, faster than compress/gzip)
// and github.com/ulikunitz/xz for xz (the only maintained pure-Go xz writer).
// No cgo, so the tool stays one static binary. zstd is compressed in-process
// by default (level "better", within 1% of `zstd -3`'s size and far faster
// than one zstd process per module); gzip and xz run the system's programs
// as kbuild does where they are installed (byte for byte kbuild's; the
// pure-Go encoders write files 3% and 20% bigger), with the pure-Go encoders
// as the fallback. See DefaultEncoder.
package compress

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Format is a module compression.
type Format int

// The formats kbuild can install modules in.
const (
	None Format = iota
	Gzip
	XZ
	Zstd
)

// Formats lists every format, None first.
var Formats = []Format{None, Gzip, XZ, Zstd}

var names = [...]string{None: "none", Gzip: "gzip", XZ: "xz", Zstd: "zstd"}
var exts = [...]string{None: "", Gzip: ".gz", XZ: ".xz", Zstd: ".zst"}

func (f Format) String() string {
	if f < 0 || int(f) >= len(names) {
		return fmt.Sprintf("Format(%d)", int(f))
	}
	return names[f]
}

// Ext is the file name suffix kbuild appends after ".ko".
func (f Format) Ext() string {
	if f < 0 || int(f) >= len(exts) {
		return ""
	}
	return exts[f]
}

// ParseFormat maps the command line's none|gzip|xz|zstd (also gz, zst) to a
// Format.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "", "none":
		return None, nil
	case "gzip", "gz":
		return Gzip, nil
	case "xz":
		return XZ, nil
	case "zstd", "zst":
		return Zstd, nil
	}
	return None, fmt.Errorf("compression %q: want none, gzip, xz or zstd", s)
}

var (
	gzipMagic = []byte{0x1f, 0x8b}
	xzMagic   = []byte{0xfd, '7', 'z', 'X', 'Z', 0}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Detect tells the format from the first bytes, as kmod does; anything
// without a known magic number is None.
func Detect(b []byte) Format {
	switch {
	case bytes.HasPrefix(b, gzipMagic):
		return Gzip
	case bytes.HasPrefix(b, xzMagic):
		return XZ
	case bytes.HasPrefix(b, zstdMagic):
		return Zstd
	}
	return None
}

// Encode compresses data in format f; None returns data itself.
func Encode(f Format, data []byte) ([]byte, error) {
	var buf bytes.Buffer
	switch f {
	case None:
		return data, nil
	case Gzip:
		buf.Grow(len(data)/3 + 64)
		w, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
		if err != nil {
			return nil, err
		}
		// No name, comment or extra field, and time 0 (the zero
		// time.Time would encode as a wrapped year-1 timestamp): the header
		// of `gzip -n`, except the OS byte.
		w.ModTime = time.Unix(0, 0)
		if _, err := w.Write(data); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
	case XZ:
		buf.Grow(len(data)/4 + 64)
		cfg := xz.WriterConfig{DictCap: 1 << 20, CheckSum: xz.CRC32}
		w, err := cfg.NewWriter(&buf)
		if err != nil {
			return nil, err
		}
		if _, err := w.Write(data); err != nil {
			return nil, err
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
	case Zstd:
		enc, err := encoder()
		if err != nil {
			return nil, err
		}
		return enc.EncodeAll(data, make([]byte, 0, len(data)/3+64)), nil
	default:
		return nil, fmt.Errorf("unknown compression %v", f)
	}
	return buf.Bytes(), nil
}

var (
	encOnce sync.Once
	enc     *zstd.Encoder
	encErr  error
)

// encoder is shared: EncodeAll may be called concurrently, and its output
// does not depend on concurrency.
func encoder() (*zstd.Encoder, error) {
	encOnce.Do(func() {
		enc, encErr = zstd.NewWriter(nil, append(zstdOptions(), zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)))...)
	})
	return enc, encErr
}

// zstdWindow is the built-in encoder's window: `zstd -3`'s (window log 21),
// so the kernel's decompressor needs no more memory than for kbuild's files.
const zstdWindow = 1 << 21

// zstdOptions are the built-in encoder's settings: klauspost's level
// "better" (on Debian's 4,229 modules 0.4% bigger in all than `zstd -3`'s
// files; its "default" level, twice as fast, 1.6% bigger), a content
// checksum as the zstd program writes, zstd -3's window, and one goroutine
// per encoder (install runs one encoder per job).
func zstdOptions() []zstd.EOption {
	return []zstd.EOption{
		zstd.WithEncoderLevel(zstd.SpeedBetterCompression),
		zstd.WithEncoderCRC(true),
		zstd.WithWindowSize(zstdWindow),
		zstd.WithZeroFrames(true),
		zstd.WithEncoderConcurrency(1),
	}
}

// decoders holds streaming zstd decoders; one stream each at a time.
var decoders sync.Pool

func getDecoder() (*zstd.Decoder, error) {
	if d, ok := decoders.Get().(*zstd.Decoder); ok {
		return d, nil
	}
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxZstdWindow))
}

// MaxModuleSize is the limit verify, inspect and install put on a
// decompressed module: far above the largest in-tree modules (tens of
// MiB), low enough that a decompression bomb costs little.
const MaxModuleSize = 1 << 30

// ErrTooLarge is returned by Decode when the output would exceed its limit.
var ErrTooLarge = errors.New("decompressed size exceeds the limit")

// Decode decompresses b by its magic number, producing at most max bytes
// (a guard against decompression bombs). Plain data is returned as is.
// It also applies the in-kernel decompressor's limits (see KernelCheck).
func Decode(b []byte, max int64) ([]byte, Format, error) {
	if Detect(b) == None {
		return b, None, nil
	}
	r, f, err := NewReader(bytes.NewReader(b), max)
	if err != nil {
		return nil, f, err
	}
	defer r.Close()
	var out bytes.Buffer
	if _, err := io.Copy(&out, r); err != nil {
		return nil, f, err
	}
	return out.Bytes(), f, nil
}

// headerPeek is enough of a file for Detect and KernelCheck (a zstd frame
// header is at most 18 bytes).
const headerPeek = 32

// NewReader decompresses r as a stream, by its magic number, producing at
// most max bytes: reading past that fails with ErrTooLarge as soon as the
// limit is crossed, so a decompression bomb costs neither memory nor much
// time. Plain data is passed through under the same limit. The header is
// checked against the kernel's limits first (KernelCheck). Errors name the
// format, not the file: callers add it.
//
// The stream is read as the kernel's module decompressors read it
// (kernel/module/decompress.c), which is laxer than the container formats
// in two places:
//   - gzip: the kernel skips the header and raw-inflates up to the end of
//     the last deflate block; it never reads the CRC32 and size trailer, so
//     a missing or garbled trailer still loads;
//   - zstd: the kernel stops when a frame is complete or when the input
//     runs out without an error, and loads what it decoded by then. A frame
//     cut short is refused here all the same: the prefix the kernel gets
//     lacks the module's trailer, so the kernel refuses it as unsigned,
//     except a frame missing only its 4-byte checksum, which the kernel
//     loads whole. The zstd decoder used here withholds the last block
//     until it read the checksum, so that one case is not modelled.
//
// xz must reach XZ_STREAM_END: the index and the footer are required.
// NewStrictReader also requires what the container formats require.
func NewReader(r io.Reader, max int64) (io.ReadCloser, Format, error) {
	return newReader(r, max, false)
}

// NewStrictReader is NewReader that also requires the gzip trailer (CRC32
// and size) and complete zstd frames: what a compressor must write, and
// what kmod requires where it decompresses in user space.
func NewStrictReader(r io.Reader, max int64) (io.ReadCloser, Format, error) {
	return newReader(r, max, true)
}

// bufReaders are newReader's input buffers, reused: install checks every
// module it writes, and a fresh 64 KiB buffer each time is memory to clear
// and collect.
var bufReaders sync.Pool

func newReader(r io.Reader, max int64, strict bool) (io.ReadCloser, Format, error) {
	br, ok := bufReaders.Get().(*bufio.Reader)
	if ok {
		br.Reset(r)
	} else {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	dec, f, done, err := decoderFor(br, strict)
	if err != nil {
		br.Reset(nil)
		bufReaders.Put(br)
		return nil, f, err
	}
	return &limited{r: dec, left: max, f: f, done: func() {
		done()
		br.Reset(nil)
		bufReaders.Put(br)
	}}, f, nil
}

// decoderFor detects br's format and returns its decoder, and what to do
// once it is no longer read.
func decoderFor(br *bufio.Reader, strict bool) (io.Reader, Format, func(), error) {
	head, err := br.Peek(headerPeek)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, None, nil, err
	}
	f := Detect(head)
	if err := KernelCheck(f, head); err != nil {
		return nil, f, nil, err
	}
	var dec io.Reader
	done := func() {}
	switch f {
	case None:
		dec = br
	case Gzip:
		if !strict {
			fr, err := rawDeflate(br)
			if err != nil {
				return nil, f, nil, fmt.Errorf("gzip: %w", err)
			}
			dec = fr
			break
		}
		z, err := gzip.NewReader(br)
		if err != nil {
			return nil, f, nil, fmt.Errorf("gzip: %w", err)
		}
		z.Multistream(false) // the kernel inflates the first member only
		dec = z
	case XZ:
		end := &lastBytes{r: br}
		z, err := xz.ReaderConfig{SingleStream: true}.NewReader(end)
		if err != nil {
			return nil, f, nil, fmt.Errorf("xz: %w", err)
		}
		dec = &xzEnd{r: z, in: end}
	case Zstd:
		d, err := getDecoder()
		if err != nil {
			return nil, f, nil, fmt.Errorf("zstd: %w", err)
		}
		if err := d.Reset(br); err != nil {
			decoders.Put(d)
			return nil, f, nil, fmt.Errorf("zstd: %w", err)
		}
		dec = d
		done = func() { d.Reset(nil); decoders.Put(d) }
	}
	return dec, f, done, nil
}

// rawDeflate skips the gzip header as the kernel does (10 bytes, then a
// NUL-terminated name if FNAME is set; KernelCheck refused the other
// optional fields) and returns the raw deflate stream after it.
func rawDeflate(br *bufio.Reader) (io.Reader, error) {
	var h [10]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return nil, errors.New("header truncated")
	}
	if h[3]&0x08 != 0 { // FNAME
		if _, err := br.ReadBytes(0); err != nil {
			return nil, errors.New("header: file name without its terminating NUL")
		}
	}
	return flate.NewReader(br), nil
}

// lastBytes remembers the last bytes read through it: an xz stream's
// footer.
type lastBytes struct {
	r    io.Reader
	last [xzFooterLen]byte
	n    int64
}

const xzFooterLen = 12

func (l *lastBytes) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if n >= xzFooterLen {
		copy(l.last[:], p[n-xzFooterLen:n])
	} else if n > 0 {
		copy(l.last[:], l.last[n:])
		copy(l.last[xzFooterLen-n:], p[:n])
	}
	l.n += int64(n)
	return n, err
}

// xzEnd refuses an xz stream that ends without its index and footer:
// github.com/ulikunitz/xz takes the end of input where the next block
// header would be for the end of the stream, while the kernel's decoder
// returns XZ_STREAM_END only after a valid footer.
type xzEnd struct {
	r  io.Reader
	in *lastBytes
}

func (x *xzEnd) Read(p []byte) (int, error) {
	n, err := x.r.Read(p)
	if err == io.EOF && !xzFooter(x.in) {
		err = errors.New("stream ends without its index and footer (truncated)")
	}
	return n, err
}

// xzFooter reports whether the input ended with a stream footer: CRC32 of
// backward size and flags, then them, then "YZ".
func xzFooter(l *lastBytes) bool {
	b := l.last
	return l.n >= 12+xzFooterLen && b[10] == 'Y' && b[11] == 'Z' &&
		crc32.ChecksumIEEE(b[4:10]) == binary.LittleEndian.Uint32(b[:4])
}

// limited stops a decompressor at the size limit and names the format in
// its errors.
type limited struct {
	r    io.Reader
	left int64
	f    Format
	done func()
	err  error
}

func (l *limited) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	if int64(n) > l.left {
		n = int(l.left)
		err = fmt.Errorf("%v: %w", l.f, ErrTooLarge)
	}
	l.left -= int64(n)
	if err != nil && err != io.EOF {
		if !errors.Is(err, ErrTooLarge) && l.f != None {
			err = fmt.Errorf("%v: %w", l.f, err)
		}
		l.err = err
	}
	return n, err
}

// Close returns the decoder and its buffer to their pools; reading after
// it is an error, not a read from a decoder another stream now uses.
func (l *limited) Close() error {
	if l.done != nil {
		l.done()
		l.done = nil
		l.r = nil
		if l.err == nil {
			l.err = errClosed
		}
	}
	return nil
}

var errClosed = errors.New("read after Close")

func zstdHeader(b []byte) (zstd.Header, error) {
	var h zstd.Header
	if err := h.Decode(b); err != nil {
		return h, fmt.Errorf("zstd: frame header: %w", err)
	}
	return h, nil
}

// maxZstdWindow is the smallest window limit of the kernel's zstd
// decompressor (ZSTD_WINDOWLOG_MAX on 32-bit targets).
const maxZstdWindow = 1 << 30

// KernelCheck reports header features that the kernel's own decompressors
// (CONFIG_MODULE_DECOMPRESS) reject although userspace tools accept them.
func KernelCheck(f Format, b []byte) error {
	switch f {
	case Gzip:
		// ID1 ID2 CM FLG MTIME(4) XFL OS; the kernel skips 10 bytes and a
		// name, then inflates: an extra field, comment or header CRC would
		// be taken for deflate data.
		if len(b) < 10 {
			return fmt.Errorf("gzip: header truncated")
		}
		if b[2] != 8 {
			return fmt.Errorf("gzip: compression method %d, want 8 (deflate)", b[2])
		}
		if flg := b[3]; flg&^0x09 != 0 { // FTEXT and FNAME are harmless
			return fmt.Errorf("gzip: header flags %#02x (extra field, comment or header CRC): the kernel's decompressor cannot skip them", flg)
		}
	case XZ:
		// Stream header: magic(6), flags(2), CRC32(4). The check type is the
		// low nibble of the second flag byte.
		if len(b) < 12 {
			return fmt.Errorf("xz: stream header truncated")
		}
		if check := b[7] & 0x0f; check > 1 {
			return fmt.Errorf("xz: integrity check type %d (%s); the kernel's decoder accepts only CRC32 or none (xz --check=crc32)", check, xzCheckName(check))
		}
	case Zstd:
		h, err := zstdHeader(b)
		if err != nil {
			return err
		}
		if !h.SingleSegment && h.WindowSize > maxZstdWindow {
			return fmt.Errorf("zstd: window of %d bytes exceeds the kernel's limit of %d", h.WindowSize, maxZstdWindow)
		}
		if h.DictionaryID != 0 {
			return fmt.Errorf("zstd: frame needs dictionary %d, which the kernel does not have", h.DictionaryID)
		}
	}
	return nil
}

func xzCheckName(c byte) string {
	switch c {
	case 4:
		return "CRC64"
	case 10:
		return "SHA-256"
	}
	return "unknown"
}

// Content is what Scan keeps of a module's decompressed bytes.
type Content struct {
	Format Format
	Size   int64  // decompressed size
	Whole  []byte // all of it, when it is at most Scan's keep bytes; else nil
	Head   []byte // its first bytes (up to 64)
	Tail   []byte // its last bytes (all of Whole when that is set)
	buf    *[]byte
}

// Release hands Whole's memory to the next Scan; c's slices must not be
// used after it. Callers that keep them need not call it.
func (c *Content) Release() {
	if c.buf != nil {
		putScanBuf(c.buf, c.Whole)
	}
	*c = Content{Format: c.Format, Size: c.Size}
}

// scanBufs are Scan's buffers (up to keep bytes), reused through Release:
// checking thousands of modules would otherwise allocate and clear up to
// keep bytes for each, most of the time a check takes.
var scanBufs sync.Pool

func getScanBuf(n int) *[]byte {
	if p, ok := scanBufs.Get().(*[]byte); ok && cap(*p) >= n {
		*p = (*p)[:0]
		return p
	}
	b := make([]byte, 0, n)
	return &b
}

func putScanBuf(p *[]byte, b []byte) {
	*p = b[:0]
	scanBufs.Put(p)
}

// Scan decompresses r (see NewReader) in one pass and keeps the whole
// content when it is at most keep bytes, else only its first bytes are
// dropped and the last tail bytes kept: memory stays bounded by keep and
// tail whatever the module's size.
func Scan(r io.Reader, limit int64, keep, tail int) (Content, error) {
	return scan(r, limit, keep, tail, false)
}

// ScanStrict is Scan with NewStrictReader's checks.
func ScanStrict(r io.Reader, limit int64, keep, tail int) (Content, error) {
	return scan(r, limit, keep, tail, true)
}

func scan(r io.Reader, limit int64, keep, tail int, strict bool) (Content, error) {
	dec, f, err := newReader(r, limit, strict)
	if err != nil {
		return Content{Format: f}, err
	}
	defer dec.Close()
	c := Content{Format: f}
	bp := getScanBuf(min(keep, 1<<20) + 1)
	buf := *bp
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := dec.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		c.Size += int64(n)
		if len(buf) > keep {
			break
		}
		if err == io.EOF {
			c.Whole, c.Head, c.Tail, c.buf = buf, buf, buf, bp
			return c, nil
		}
		if err != nil {
			putScanBuf(bp, buf)
			return c, err
		}
	}
	// Too big to keep: a ring of twice the tail, slid when full.
	c.Head = append([]byte(nil), buf[:min(len(buf), 64)]...)
	ring := make([]byte, 0, 2*tail+64<<10)
	ring = append(ring, buf[max(0, len(buf)-tail):]...)
	putScanBuf(bp, buf)
	buf = nil
	for {
		if len(ring) == cap(ring) {
			ring = append(ring[:0], ring[len(ring)-tail:]...)
		}
		n, err := dec.Read(ring[len(ring):cap(ring)])
		ring = ring[:len(ring)+n]
		c.Size += int64(n)
		if err == io.EOF {
			c.Tail = ring[max(0, len(ring)-tail):]
			return c, nil
		}
		if err != nil {
			return c, err
		}
	}
}
