//go:build windows

package containtest

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows"
)

// alive reports whether pid is a process that has not exited. An exited
// process whose handle is still held (the Windows zombie) counts as dead.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION|windows.SYNCHRONIZE, false, uint32(pid))
	if err != nil {
		return errors.Is(err, windows.ERROR_ACCESS_DENIED)
	}
	defer func() { _ = windows.CloseHandle(h) }()
	ev, err := windows.WaitForSingleObject(h, 0)
	return err == nil && ev == uint32(windows.WAIT_TIMEOUT)
}

// zombiesVisible says whether alive tells an exited process whose handle
// is held from a live one.
const zombiesVisible = true

// openDescriptors cannot count handles: Wine's GetProcessHandleCount is
// a stub that reports 0, and a backend's own tests can count its handles
// through the system handle table if they must.
func openDescriptors() (int, error) {
	return 0, fmt.Errorf("no descriptors on this OS, and no reliable count of its handles everywhere (Wine's GetProcessHandleCount is a stub): %w", errors.ErrUnsupported)
}
