//go:build linux

package pgid

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/sysproc"
)

// zombiesVisible is true on Linux: /proc shows a zombie's state, so a
// zombie member counts as dead without anyone reaping it.
const zombiesVisible = true

// handle is the container's own reference to one process: a pidfd when the
// kernel has them (5.3+), so that signals and liveness checks can never
// reach a process that merely reuses the pid.
type handle struct {
	pid int
	// fd is a pidfd owned by the container, or -1.
	fd int
	// groupSignal is true when the kernel accepts PIDFD_SIGNAL_PROCESS_GROUP
	// on fd (Linux 6.9+); only meaningful for the leader.
	groupSignal bool
	// startTicks is the process's start time, to tell the leader from a
	// later process that got the same pid; 0 if unknown.
	startTicks uint64
}

// leaderHandle takes the container's own pidfd for the group leader: a
// duplicate of the one os/exec holds, which os/exec closes at Wait, while
// the group may outlive the leader. The duplicate keeps the kernel's
// struct pid, and so the group, addressable until Close.
func leaderHandle(p *os.Process) *handle {
	h := &handle{pid: p.Pid, fd: -1}
	_ = p.WithHandle(func(fd uintptr) {
		if d, err := unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0); err == nil {
			h.fd = d
		}
	})
	if h.fd < 0 {
		// os/exec had no pidfd (seccomp, or it could not get one). Start
		// runs before the caller's Wait, so the pid is still our child's.
		if fd, err := unix.PidfdOpen(h.pid, 0); err == nil {
			h.fd = fd
		}
	}
	if h.fd >= 0 {
		// Signal 0 checks only existence and permission. Kernels before
		// 6.9 reject the flag with EINVAL; ESRCH means the flag is known
		// and the group already empty.
		err := unix.PidfdSendSignal(h.fd, 0, nil, unix.PIDFD_SIGNAL_PROCESS_GROUP)
		h.groupSignal = err == nil || errors.Is(err, unix.ESRCH)
	}
	if h.fd < 0 {
		// Without a pidfd a recycled id is told by the start time (see
		// scanGroups); with one, by asking the pidfd (see reaped), which
		// spares every run a read of /proc.
		if st, err := sysproc.ReadStat(h.pid); err == nil {
			h.startTicks = st.StartTicks
		}
	}
	return h
}

// reaped reports whether the process behind the handle's pidfd has been
// reaped, so that its pid may now name another process. A zombie has not
// been. Without a pidfd it says false: the caller must tell by the start
// time.
func (h *handle) reaped() bool {
	if h.fd < 0 {
		return false
	}
	return errors.Is(unix.PidfdSendSignal(h.fd, 0, nil, 0), unix.ESRCH)
}

// adoptHandle opens a pidfd for pid. Without pidfd_open (before Linux 5.3,
// or blocked by seccomp) it falls back to the bare pid.
func adoptHandle(pid int) (*handle, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	switch {
	case errors.Is(err, unix.ESRCH), errors.Is(err, unix.EINVAL):
		// EINVAL: pid is a thread, not a process.
		return nil, &contain.NoSuchProcessError{Pid: pid}
	case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM):
		if !sysproc.Alive(pid) {
			return nil, &contain.NoSuchProcessError{Pid: pid}
		}
		return &handle{pid: pid, fd: -1}, nil
	case err != nil:
		return nil, fmt.Errorf("pgid: Adopt: pidfd_open %d: %w", pid, err)
	}
	h := &handle{pid: pid, fd: fd}
	if h.exited() {
		h.close()
		return nil, &contain.NoSuchProcessError{Pid: pid}
	}
	return h, nil
}

// exited reports whether the process has exited; a zombie has.
//
// A pidfd polls readable only once every thread has exited, but the main
// thread of a multi-threaded process shows Z in /proc while the others
// are still exiting; sysproc.Alive already calls that dead, and so must
// we, or Adopt and Pids would disagree with it. Asking /proc about the pid
// is safe after the poll: a pidfd that is not readable means the process
// has not been reaped, so its pid cannot have been reused yet.
func (h *handle) exited() bool {
	if h.fd >= 0 {
		fds := []unix.PollFd{{Fd: int32(h.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 0)
		for errors.Is(err, unix.EINTR) {
			n, err = unix.Poll(fds, 0)
		}
		if err == nil && n > 0 {
			return true
		}
	}
	return !sysproc.Alive(h.pid)
}

// signal sends sig to the process alone. A process that has already gone
// is not an error.
func (h *handle) signal(sig syscall.Signal) error {
	var err error
	if h.fd >= 0 {
		err = unix.PidfdSendSignal(h.fd, sig, nil, 0)
	} else if sysproc.Alive(h.pid) {
		err = unix.Kill(h.pid, sig)
	}
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	return err
}

// signalGroup signals the group the leader's pidfd names, if the kernel
// can; sent is false when it cannot and the caller must use killpg.
func (h *handle) signalGroup(sig syscall.Signal) (sent bool, err error) {
	if h == nil || h.fd < 0 || !h.groupSignal {
		return false, nil
	}
	return true, unix.PidfdSendSignal(h.fd, sig, nil, unix.PIDFD_SIGNAL_PROCESS_GROUP)
}

func (h *handle) close() {
	if h.fd >= 0 {
		_ = unix.Close(h.fd)
		h.fd = -1
	}
}

// listProcs lists every pid in /proc: one call per scan. A variable so
// that tests can count the scans.
var listProcs = sysproc.Pids

// groupTarget is what a scan needs to know about one container's group:
// its id and, to tell a recycled id, whether the leader has been reaped
// (known from its pidfd) or else its start time.
type groupTarget struct {
	pgid         int
	leaderReaped bool
	startTicks   uint64
}

// targetLocked describes c's group for scanGroups; c.pgid must be set.
func (c *container) targetLocked() groupTarget {
	return groupTarget{pgid: c.pgid, leaderReaped: c.leader.reaped(), startTicks: c.leader.startTicks}
}

// scanGroups looks at every target's group in one pass over /proc and
// returns a view per target, in order. A group with no process left at
// all, or whose leader's pid now belongs to a newer process (which the
// kernel allows only once the group has emptied, so the id may have been
// recycled for a stranger's group), is reported gone.
//
// A scan that follows a SIGKILL to a group cannot miss a member: a member
// with SIGKILL pending cannot complete a fork, so no process joins the
// group after the signal.
func scanGroups(ts []groupTarget) []groupView {
	out := make([]groupView, len(ts))
	if len(ts) == 0 {
		return out
	}
	pids, err := listProcs()
	if err != nil {
		err = fmt.Errorf("pgid: list processes: %w", err)
		for i := range out {
			out[i] = groupView{held: true, err: err}
		}
		return out
	}
	// Two targets share an id only when one of them is recycled; both are
	// looked at, and the recycled one is told apart by its start time.
	byGroup := make(map[int][]int, len(ts))
	for i, t := range ts {
		byGroup[t.pgid] = append(byGroup[t.pgid], i)
	}
	recycled := make([]bool, len(ts))
	for _, p := range pids {
		st, err := sysproc.ReadStat(p)
		if err != nil {
			continue // exited during the scan
		}
		for _, i := range byGroup[p] {
			// A process with the leader's pid that is not the leader.
			if ts[i].leaderReaped || ts[i].startTicks != 0 && st.StartTicks != ts[i].startTicks {
				recycled[i] = true
			}
		}
		for _, i := range byGroup[st.Pgrp] {
			out[i].held = true
			if st.State != 'Z' && st.State != 'X' {
				out[i].live = append(out[i].live, p)
			}
		}
	}
	for i := range out {
		if recycled[i] || !out[i].held {
			out[i] = groupView{gone: true}
		}
	}
	return out
}

// statsOf sums the live processes' CPU time and resident memory.
func statsOf(pids []int) contain.Stats {
	var s contain.Stats
	var user, system, rss uint64
	for _, p := range pids {
		st, err := sysproc.ReadStat(p)
		if err != nil || st.State == 'Z' || st.State == 'X' {
			continue
		}
		s.Processes++
		user += st.UserTicks
		system += st.SystemTicks
		if st.RSSPages > 0 {
			rss += uint64(st.RSSPages) * uint64(sysproc.PageSize)
		}
	}
	s.UserCPU = contain.Some(time.Duration(user) * sysproc.ClockTick)
	s.SystemCPU = contain.Some(time.Duration(system) * sysproc.ClockTick)
	s.CPU = contain.Some(time.Duration(user+system) * sysproc.ClockTick)
	s.Memory = contain.Some(rss)
	return s
}

// settledStop reports whether every thread of pid is stopped (stop) or
// none is in a group stop (!stop). A process that is gone is settled.
func settledStop(pid int, stop bool) bool {
	states, err := sysproc.ThreadStates(pid)
	if err != nil {
		return true
	}
	for _, s := range states {
		switch {
		case s == 'Z' || s == 'X':
		case stop && s == sysproc.VforkWait:
			// Waiting in the kernel for a vfork child that the same
			// stop holds before its exec: it runs nothing until the
			// child does, and would never reach 'T' (a Freeze hung
			// until its context ended on a dash running a command).
		case stop && s != 'T' && s != 't':
			return false
		case !stop && s == 'T':
			return false
		}
	}
	return true
}

// groupSignalMinKernel is the first kernel with PIDFD_SIGNAL_PROCESS_GROUP.
var groupSignalMinKernel = [2]int{6, 9}

func probeReason() string {
	rel := kernelRelease()
	const base = "process group led by the direct child (setpgid at fork)"
	if kernelAtLeast(rel, groupSignalMinKernel) {
		return base + "; Linux " + rel + " signals the group through the leader's pidfd " +
			"(PIDFD_SIGNAL_PROCESS_GROUP), so a recycled group id is never hit"
	}
	return base + "; Linux " + rel + " predates pidfd group signalling (6.9), " +
		"so the group is signalled with killpg, and only while it still has a member"
}

func platformNotes() []string {
	return []string{
		"members are found by scanning /proc for the group id; a zombie counts as dead",
		"Stats loses the CPU time of members that have exited and measures no memory peak or OOM kills",
	}
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "(unknown release)"
	}
	return unix.ByteSliceToString(u.Release[:])
}

// kernelAtLeast compares the "major.minor" prefix of a release string.
func kernelAtLeast(rel string, want [2]int) bool {
	f := strings.FieldsFunc(rel, func(r rune) bool { return r < '0' || r > '9' })
	if len(f) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(f[0])
	minor, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return false
	}
	return major > want[0] || major == want[0] && minor >= want[1]
}
