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

// viewLocked asks kill(-pgid, 0) whether the group still has a member
// (zombies included) and lists the known members still in it. It latches
// c.gone when the group is empty.
func (c *Container) viewLocked() groupView {
	if c.pgid == 0 || c.gone {
		return groupView{}
	}
	switch err := unix.Kill(-c.pgid, 0); {
	case errors.Is(err, unix.ESRCH):
		c.gone = true
		return groupView{}
	case err != nil && !errors.Is(err, unix.EPERM):
		return groupView{held: true, err: fmt.Errorf("pgid: kill(-%d, 0): %w", c.pgid, err)}
	}
	v := groupView{held: true}
	for _, p := range append([]int{c.pgid}, c.joined...) {
		if pg, err := unix.Getpgid(p); err == nil && pg == c.pgid {
			v.live = append(v.live, p)
		}
	}
	return v
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
