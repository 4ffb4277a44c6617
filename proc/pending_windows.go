//go:build windows

package proc

import (
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

var procPeekNamedPipe = windows.NewLazySystemDLL("kernel32.dll").NewProc("PeekNamedPipe")

// pendingBytes reports how many bytes wait unread in the anonymous pipe
// behind f (PeekNamedPipe); ok is false when that cannot be read.
func pendingBytes(f *os.File) (n int, ok bool) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, false
	}
	var avail uint32
	var r1 uintptr
	if err := rc.Control(func(h uintptr) {
		r1, _, _ = procPeekNamedPipe.Call(h, 0, 0, 0, uintptr(unsafe.Pointer(&avail)), 0)
	}); err != nil || r1 == 0 {
		return 0, false
	}
	return int(avail), true
}
