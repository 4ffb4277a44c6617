//go:build unix

package retry

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// transientForTest is an error TransientStart retries on this platform.
var transientForTest error = syscall.EAGAIN

func TestTransientStartUnix(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{syscall.EINTR, true},
		{&os.SyscallError{Syscall: "fork/exec", Err: syscall.EAGAIN}, true},
		{&os.PathError{Op: "fork/exec", Path: "/bin/tool", Err: syscall.ETXTBSY}, true},
		{&wrapErr{&os.PathError{Op: "open", Path: "/x", Err: syscall.EBUSY}}, true},
		{&os.PathError{Op: "fork/exec", Path: "/bin/tool", Err: syscall.ENOENT}, false},
		{&os.PathError{Op: "fork/exec", Path: "/bin/tool", Err: syscall.EACCES}, false},
		{exec.ErrNotFound, false},
		{errors.New("resource temporarily unavailable"), false},
		{errors.Join(syscall.EAGAIN, errors.New("other")), true},
	}
	for _, tt := range tests {
		if got := TransientStart.Retryable(tt.err); got != tt.want {
			t.Errorf("TransientStart.Retryable(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
