//go:build windows

package sysproc

import (
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
)

// ReadInfo reads pid's parent and executable name from a toolhelp
// snapshot and its creation time from a process handle.
func ReadInfo(pid int) (Info, error) {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return Info{}, err
	}
	defer func() { _ = windows.CloseHandle(snap) }()
	var e windows.ProcessEntry32
	e.Size = uint32(unsafe.Sizeof(e))
	info := Info{Pid: pid}
	found := false
	for err = windows.Process32First(snap, &e); err == nil; err = windows.Process32Next(snap, &e) {
		if int(e.ProcessID) == pid {
			info.Ppid = int(e.ParentProcessID)
			info.Name = windows.UTF16ToString(e.ExeFile[:])
			found = true
			break
		}
	}
	if !found {
		return Info{}, errNoProcess
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return Info{}, errNoProcess
	}
	defer func() { _ = windows.CloseHandle(h) }()
	var created, exited, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(h, &created, &exited, &kernel, &user); err == nil {
		info.StartTime = time.Unix(0, created.Nanoseconds())
	}
	info.Known = true
	return info, nil
}
