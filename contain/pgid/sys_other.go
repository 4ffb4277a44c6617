//go:build unix && !linux

package pgid

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/sysproc"
)

// zombiesVisible is false off Linux: without /proc, kill(pid, 0) and
// kill(-pgid, 0) succeed for a zombie just as for a live process.
const zombiesVisible = false

// handle is the container's reference to one process. Off Linux there is
// no pidfd (FreeBSD's process descriptors exist only for pdfork children),
// so it is the bare pid, which the OS may reuse once the process is reaped.
type handle struct {
	pid int
	// groupSignal is always false: no pidfd, no group signal through it.
	groupSignal bool
}

// leaderHandle remembers the leader's pid.
func leaderHandle(p *os.Process) *handle { return &handle{pid: p.Pid} }

// adoptHandle checks that pid exists and remembers it.
func adoptHandle(pid int) (*handle, error) {
	switch err := unix.Kill(pid, 0); {
	case errors.Is(err, unix.ESRCH):
		return nil, &contain.NoSuchProcessError{Pid: pid}
	case err != nil && !errors.Is(err, unix.EPERM):
		return nil, fmt.Errorf("pgid: Adopt: kill(%d, 0): %w", pid, err)
	}
	return &handle{pid: pid}, nil
}

// exited reports whether the pid is gone; a zombie still counts as alive.
func (h *handle) exited() bool { return !sysproc.Alive(h.pid) }

// signal sends sig to the pid. A process that has already gone is not an
// error.
func (h *handle) signal(sig syscall.Signal) error {
	if err := unix.Kill(h.pid, sig); err != nil && !errors.Is(err, unix.ESRCH) {
		return err
	}
	return nil
}

// signalGroup never sends: the caller uses killpg.
func (h *handle) signalGroup(syscall.Signal) (sent bool, err error) { return false, nil }

func (h *handle) close() {}

// groupTarget is what a look at one container's group needs: its id and
// the members known by pid (the leader and later commands).
type groupTarget struct {
	pgid  int
	known []int
}

// targetLocked describes c's group for scanGroups; c.pgid must be set.
func (c *container) targetLocked() groupTarget {
	return groupTarget{pgid: c.pgid, known: append([]int{c.pgid}, c.joined...)}
}

// scanGroups looks at each target's group in turn: kill(-pgid, 0) says
// whether the group still has a member (zombies included), and the known
// members still in it are listed. A group that is empty is reported gone.
// There is no process table to scan once for all, so this costs a few
// system calls per group.
func scanGroups(ts []groupTarget) []groupView {
	out := make([]groupView, len(ts))
	for i, t := range ts {
		switch err := unix.Kill(-t.pgid, 0); {
		case errors.Is(err, unix.ESRCH):
			out[i] = groupView{gone: true}
			continue
		case err != nil && !errors.Is(err, unix.EPERM):
			out[i] = groupView{held: true, err: fmt.Errorf("pgid: kill(-%d, 0): %w", t.pgid, err)}
			continue
		}
		v := groupView{held: true}
		for _, p := range t.known {
			if pg, err := unix.Getpgid(p); err == nil && pg == t.pgid {
				v.live = append(v.live, p)
			}
		}
		out[i] = v
	}
	return out
}

// statsOf counts the processes; nothing else can be measured without
// /proc.
func statsOf(pids []int) contain.Stats {
	return contain.Stats{Processes: len(pids)}
}

// settledStop cannot observe a process's state here: delivery of the
// signal is all Freeze and Thaw confirm.
func settledStop(int, bool) bool { return true }

func probeReason() string {
	return "process group led by the direct child (setpgid at fork); " + runtime.GOOS +
		" has no pidfd, so the group is signalled with killpg, and only while it still has a member"
}

func platformNotes() []string {
	return []string{
		"without /proc, Pids and Stats know only the commands started and the processes adopted, not their descendants",
		"a zombie counts as a member: Kill confirms once kill(-pgid, 0) fails with ESRCH, so the caller must reap its direct children with cmd.Wait",
		"Freeze and Thaw confirm that SIGSTOP and SIGCONT were delivered, not the members' state",
		"an adopted process is held by pid, which the OS may reuse once it has exited and been reaped",
	}
}
