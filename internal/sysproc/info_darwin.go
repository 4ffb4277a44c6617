//go:build darwin

package sysproc

import (
	"bytes"
	"time"

	"golang.org/x/sys/unix"
)

// ReadInfo reads pid's parent, command name (at most 16 bytes, as the
// kernel keeps it) and start time with sysctl kern.proc.pid.
func ReadInfo(pid int) (Info, error) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		return Info{}, err
	}
	if int(kp.Proc.P_pid) != pid {
		return Info{}, errNoProcess
	}
	name := kp.Proc.P_comm[:]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	tv := kp.Proc.P_starttime
	return Info{
		Pid:       pid,
		Ppid:      int(kp.Eproc.Ppid),
		Name:      string(name),
		StartTime: time.Unix(int64(tv.Sec), int64(tv.Usec)*1000),
		Known:     true,
	}, nil
}
