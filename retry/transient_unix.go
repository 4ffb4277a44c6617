//go:build unix

package retry

import "syscall"

// transientErrnos are the start errors TransientStart retries on Unix.
var transientErrnos = []error{syscall.EINTR, syscall.EAGAIN, syscall.ETXTBSY, syscall.EBUSY}
