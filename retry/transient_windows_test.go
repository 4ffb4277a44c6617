//go:build windows

package retry

import (
	"os"
	"syscall"
	"testing"
)

// transientForTest is an error TransientStart retries on this platform.
var transientForTest error = syscall.Errno(32)

func TestTransientStartWindows(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		// ERROR_SHARING_VIOLATION: another process holds the .exe open.
		{&os.PathError{Op: "CreateProcess", Path: `C:\tool.exe`, Err: syscall.Errno(32)}, true},
		// ERROR_LOCK_VIOLATION.
		{&wrapErr{&os.SyscallError{Syscall: "CreateProcess", Err: syscall.Errno(33)}}, true},
		{syscall.ERROR_FILE_NOT_FOUND, false},
		{syscall.ERROR_ACCESS_DENIED, false},
		{&os.PathError{Op: "CreateProcess", Path: `C:\tool.exe`, Err: syscall.Errno(5)}, false},
	}
	for _, tt := range tests {
		if got := TransientStart.Retryable(tt.err); got != tt.want {
			t.Errorf("TransientStart.Retryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
