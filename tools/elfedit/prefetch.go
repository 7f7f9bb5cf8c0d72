package elfedit

import (
	"io"
	"os"
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

// prefetchPiece is how much is copied between checks for cancellation.
const prefetchPiece = 8 << 20

// prefetch copies f's file to dst (file to file: copy_file_range where the
// system has it) and reports whether it copied all of it. It gives up once
// stop is set or on any error; the write then writes every chunk. f must be
// mapped and open; the caller must not use f's file or dst until it
// returns.
func (f *File) prefetch(dst *os.File, stop *atomic.Bool) bool {
	if f.src == nil {
		return false
	}
	if _, err := f.src.Seek(0, io.SeekStart); err != nil {
		return false
	}
	if _, err := dst.Seek(0, io.SeekStart); err != nil {
		return false
	}
	size := uint64(len(f.Data))
	for off := uint64(0); off < size; {
		if stop != nil && stop.Load() {
			return false
		}
		n := min(size-off, prefetchPiece)
		if got, err := io.Copy(dst, &io.LimitedReader{R: f.src, N: int64(n)}); err != nil || uint64(got) != n {
			return false
		}
		off += n
	}
	return true
}

// inPlace tells whether ch is unchanged input data at its input offset,
// which a whole prefetch already put there.
func (o *Output) inPlace(ch chunk, copied bool) bool {
	if !copied || o.in == nil {
		return false
	}
	off, ok := offsetIn(o.in.Data, ch.data)
	return ok && uint64(off) == ch.off
}
