package elfedit

import (
	"fmt"
	"runtime/debug"
)

// guardMapped runs fn, which reads the mapping of the input name, and turns
// a memory fault into an error: a mapped file that shrinks (rewritten by
// another process while being read) raises SIGBUS on the pages past its new
// end, which would otherwise kill the process with a stack trace.
// SetPanicOnFault covers the calling goroutine only; the mapping is read
// on it.
func guardMapped(name string, fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if fault, ok := r.(interface{ Addr() uintptr }); ok {
			err = fmt.Errorf("%s: the file changed while being read (truncated by another process?): %v", name, fault)
			return
		}
		panic(r)
	}()
	return fn()
}
