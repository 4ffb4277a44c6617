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
//
// A thread in uninterruptible sleep ('D') that waits for the child it
// made with vfork to exec or exit is reported as VforkWait instead: it
// cannot run the program's code until its child has, so it is as still
// as a stopped thread while that child is stopped, and it never reaches
// 'T' then (a shell such as dash starts its commands with vfork).
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
		state := st.State
		if state == 'D' && inVforkWait(dir+"/"+n+"/wchan") {
			state = VforkWait
		}
		states = append(states, state)
	}
	return states, nil
}

// VforkWait is the state ThreadStates gives a thread that waits for its
// vfork child (see ThreadStates); proc(5) has no such letter.
const VforkWait = 'V'

// inVforkWait reports whether the thread whose wchan file is path sleeps
// in the kernel's wait for a vfork child: wait_for_vfork_done, which the
// kernel inlines into kernel_clone (Linux 6.18 shows kernel_clone: a
// dash looping over /bin/true, its process group stopped 200 times, sat
// in 'D' with that wchan 8 times, its child stopped before exec). An
// unreadable wchan (another user's process, kallsyms hidden) says no.
func inVforkWait(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	switch string(b) {
	case "wait_for_vfork_done", "kernel_clone":
		return true
	}
	return false
}
