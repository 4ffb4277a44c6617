//go:build windows

package retry

import "syscall"

// The Win32 error codes for a file another process holds open. Written as
// numbers because package syscall does not name them.
const (
	errorSharingViolation syscall.Errno = 32 // ERROR_SHARING_VIOLATION
	errorLockViolation    syscall.Errno = 33 // ERROR_LOCK_VIOLATION
)

// transientErrnos are the start errors TransientStart retries on Windows.
var transientErrnos = []error{errorSharingViolation, errorLockViolation}
