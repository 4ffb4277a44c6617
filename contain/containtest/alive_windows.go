//go:build windows

package containtest

import (
	"errors"

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

func openDescriptors() (int, error) { return 0, errors.ErrUnsupported }
