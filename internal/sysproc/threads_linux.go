//go:build linux

package sysproc

import (
	"os"
	"strconv"
)

// ThreadStates returns the scheduler state (field 3 of proc(5)) of every
// thread of process pid, read from /proc/<pid>/task/*/stat. A process's
// own /proc/<pid>/stat shows only its main thread, which can be stopped
// while another thread still runs; a confirmed freeze needs every thread.
// It returns an error wrapping os.ErrNotExist when the process is gone.
// Threads that exit during the scan are skipped.
func ThreadStates(pid int) ([]byte, error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	names, err := dirNames(dir)
	if err != nil {
		return nil, err
	}
	states := make([]byte, 0, len(names))
	for _, n := range names {
		b, err := os.ReadFile(dir + "/" + n + "/stat")
		if err != nil {
			continue
		}
		st, err := parseStat(b)
		if err != nil {
			return nil, err
		}
		states = append(states, st.State)
	}
	return states, nil
}
