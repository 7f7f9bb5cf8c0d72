package elfedit

import (
	"io"
	"os"
	"sort"
	"sync/atomic"
)

// An edit of an executable leaves most of the file where it was: sections
// in loadable segments keep their offsets (see layout), and the sections
// after the segments (a vmlinux's debug info, most of its size) follow at
// the offsets the linker gave them, unless something before them was
// removed or grew. So Rewrite copies the input file to the output, at the
// same offsets, while the edit is still being planned, and the write then
// seeks past every chunk that copy already put in place: planning (symbol
// and string tables) and copying overlap. Whatever the plan moved or
// changed is written over the copy afterwards; at worst the file is
// written twice.

// span is the file range [off, end).
type span struct{ off, end uint64 }

// prefetchPiece is how much is copied between checks for cancellation.
const prefetchPiece = 8 << 20

// prefetch copies f's file to dst (file to file: copy_file_range where the
// system has it) and returns the span copied, if it was whole. It stops early, with what it has, once
// stop is set or on any error: a span it leaves out is written in full by
// the write. f must be mapped and open; the caller must not use f's file or
// dst until it returns.
func (f *File) prefetch(dst *os.File, stop *atomic.Bool) []span {
	if f.src == nil {
		return nil
	}
	if _, err := f.src.Seek(0, io.SeekStart); err != nil {
		return nil
	}
	if _, err := dst.Seek(0, io.SeekStart); err != nil {
		return nil
	}
	size := uint64(len(f.Data))
	for off := uint64(0); off < size; {
		if stop != nil && stop.Load() {
			return nil
		}
		n := min(size-off, prefetchPiece)
		if got, err := io.Copy(dst, &io.LimitedReader{R: f.src, N: int64(n)}); err != nil || uint64(got) != n {
			return nil
		}
		off += n
	}
	return []span{{0, size}}
}

// inPlace tells whether ch is unchanged input data that prefetch already
// copied to the same offset.
func (o *Output) inPlace(ch chunk, done []span) bool {
	if len(done) == 0 || o.in == nil {
		return false
	}
	off, ok := offsetIn(o.in.Data, ch.data)
	if !ok || uint64(off) != ch.off {
		return false
	}
	end := ch.off + uint64(len(ch.data))
	k := sort.Search(len(done), func(k int) bool { return done[k].end >= end })
	return k < len(done) && done[k].off <= ch.off
}
