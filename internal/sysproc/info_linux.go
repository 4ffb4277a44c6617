//go:build linux

package sysproc

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"sync"
	"time"
)

// ReadInfo reads pid's parent, command name and start time from /proc.
// It fails with an error wrapping os.ErrNotExist once the process is
// gone. A zombie is reported like a live process: callers that list
// members must check liveness themselves.
func ReadInfo(pid int) (Info, error) {
	st, err := ReadStat(pid)
	if err != nil {
		return Info{}, err
	}
	return Info{
		Pid:       pid,
		Ppid:      st.Ppid,
		Name:      st.Comm,
		StartTime: bootTime().Add(time.Duration(st.StartTicks) * ClockTick),
		Known:     true,
	}, nil
}

var bootTime = sync.OnceValue(func() time.Time {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return time.Time{}
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := bytes.CutPrefix(sc.Bytes(), []byte("btime ")); ok {
			if s, err := strconv.ParseInt(string(bytes.TrimSpace(v)), 10, 64); err == nil {
				return time.Unix(s, 0)
			}
		}
	}
	return time.Time{}
})
