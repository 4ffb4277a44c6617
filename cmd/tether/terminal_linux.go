//go:build linux

package main

import (
	"encoding/binary"
	"errors"
	"os"
	"os/signal"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/internal/sysproc"
	"github.com/gotether/tether/proc"
)

// terminal is tether's hold on the terminal it was started in the
// foreground of, run as a job-control shell runs a foreground job:
//
//   - the program's group (it leads one, its pid) takes the terminal's
//     foreground at fork, before it executes (proc.Cmd.Foreground), so it
//     can read the terminal and gets the keys' signals (Ctrl-C, Ctrl-Z,
//     Ctrl-\) while tether, in the background, gets none of them;
//   - tether ignores SIGTTOU from then on, so that writing its
//     diagnostics (with the terminal's tostop set) and taking the
//     foreground back from the background never stop it (ignoring it
//     only after the spawn keeps the program from inheriting that);
//   - when the program is stopped (Ctrl-Z: SIGTSTP; SIGTTIN, SIGTTOU,
//     SIGSTOP), tether takes the foreground and the terminal's modes back
//     and stops its own process group with the same signal (SIGTSTP for
//     SIGSTOP and SIGTTOU), so the user's shell sees the job stopped; when
//     it is continued (fg), it gives the foreground back to the program's
//     group with the program's modes and continues the tree (bg: the tree
//     continues in the background, the terminal stays the shell's);
//   - when the run ends, however it ends, tether takes the foreground
//     back, and the modes it started with too unless the program exited
//     by itself (a program killed in raw mode would leave the terminal
//     raw; one that exits by itself may have changed the modes on
//     purpose: stty).
//
// The stops are seen with waitid(WSTOPPED|WCONTINUED|WNOHANG) on the
// program's pid at each SIGCHLD. That reports stops and continues only
// and never reaps, so it does not disturb os/exec's Wait (which waits for
// WEXITED only) in proc's monitor.
type terminal struct {
	fd    int // stdin's
	own   int // tether's process group
	child int // the program's group: its pid; 0 until it started
	// given says the program's group holds the foreground because tether
	// gave it: while it does, the user's shell waits for tether and
	// only the tree can move the foreground, so tether takes it back at
	// the end whatever group holds it then.
	given  bool
	start  *unix.Termios // the modes tether started with
	saved  *unix.Termios // the program's modes while it is stopped
	events chan os.Signal
}

// foregroundTerminal returns the terminal on stdin if tether is in its
// foreground, or nil: then stdin is not a terminal, not tether's
// controlling terminal, or tether was started in the background (&), and
// nothing changes.
func foregroundTerminal() *terminal {
	fg, err := unix.IoctlGetInt(0, unix.TIOCGPGRP)
	if err != nil || fg != unix.Getpgrp() {
		return nil
	}
	modes, err := unix.IoctlGetTermios(0, unix.TCGETS)
	if err != nil {
		return nil
	}
	return &terminal{fd: 0, own: fg, start: modes}
}

// prepare makes cmd's child take the terminal's foreground at fork.
func (t *terminal) prepare(cmd *proc.Cmd) *proc.Cmd {
	if t == nil {
		return cmd
	}
	return cmd.Foreground(os.Stdin)
}

// started is called once the program runs with pid: from now on tether
// is in the background of the terminal.
func (t *terminal) started(pid int) {
	if t == nil {
		return
	}
	t.child, t.given = pid, true
	t.background()
	t.events = make(chan os.Signal, 4)
	signal.Notify(t.events, unix.SIGCHLD, unix.SIGCONT)
	holdUntilExit(func() { signal.Stop(t.events) })
	// A stop before the Notify (Ctrl-Z at once) sent its SIGCHLD to
	// nobody: look once now.
	t.events <- unix.SIGCHLD
}

// startFailed is called when the start failed: the child may have taken
// the foreground before it failed.
func (t *terminal) startFailed() {
	if t == nil {
		return
	}
	t.background()
	t.given = true
	t.end(false)
}

// background ignores SIGTTOU, for as long as tether lives (see
// terminal).
func (t *terminal) background() {
	signal.Ignore(unix.SIGTTOU)
	holdUntilExit(func() { signal.Reset(unix.SIGTTOU) })
}

// changes delivers SIGCHLD and SIGCONT; nil (never ready) without a
// terminal.
func (t *terminal) changes() <-chan os.Signal {
	if t == nil {
		return nil
	}
	return t.events
}

// foreground is the terminal's foreground process group, or -1.
func (t *terminal) foreground() int {
	fg, err := unix.IoctlGetInt(t.fd, unix.TIOCGPGRP)
	if err != nil {
		return -1
	}
	return fg
}

// changed handles a SIGCHLD or a SIGCONT: a stop of the program is
// mirrored on tether's group, and a continue of tether gives the
// foreground back to the program's group if tether has it.
func (t *terminal) changed(p *proc.RunningProcess, sig os.Signal) {
	if sig == unix.SIGCONT {
		t.resume(p, false)
		return
	}
	for {
		stopped, ok := t.childStopped()
		if !ok {
			return
		}
		if stopped != 0 {
			t.suspend(p, stopped)
		}
	}
}

// cldStopped is the si_code of waitid's report of a stop (CLD_STOPPED;
// a continue is CLD_CONTINUED, 6).
const cldStopped = 5

// childStopped reads one pending stop or continue of the program without
// waiting: ok is false when there is none (or the program was reaped),
// stopped the signal that stopped it, 0 for a continue.
func (t *terminal) childStopped() (stopped unix.Signal, ok bool) {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_PID, t.child, &info, unix.WSTOPPED|unix.WCONTINUED|unix.WNOHANG, nil)
	if err != nil || info.Signo == 0 {
		return 0, false
	}
	if info.Code != cldStopped {
		return 0, true
	}
	// si_status follows si_pid and si_uid in the union, which is aligned
	// for a pointer.
	off := 12
	if unsafe.Sizeof(uintptr(0)) == 8 {
		off = 16
	}
	raw := (*[unsafe.Sizeof(info)]byte)(unsafe.Pointer(&info))
	return unix.Signal(int32(binary.NativeEndian.Uint32(raw[off+8:]))), true
}

// suspend mirrors a stop of the program: take the terminal back, stop
// tether's own group, and resume once continued.
//
// The group is stopped with the program's signal, but SIGSTOP becomes
// SIGTSTP (SIGSTOP would stop tether where nobody may continue it, in an
// orphaned group) and so does SIGTTOU (tether ignores it). If tether
// cannot stop (an orphaned group, SIGTSTP ignored), a program stopped by
// SIGTTIN or SIGTTOU while another group has the terminal is left
// stopped: continued, it would only stop again at once, round after
// round.
func (t *terminal) suspend(p *proc.RunningProcess, by unix.Signal) {
	if t.given {
		t.saved, _ = unix.IoctlGetTermios(t.fd, unix.TCGETS)
		_ = unix.IoctlSetPointerInt(t.fd, unix.TIOCSPGRP, t.own)
		_ = unix.IoctlSetTermios(t.fd, unix.TCSETS, t.start)
		t.given = false
	}
	mirror := by
	if by == unix.SIGSTOP || by == unix.SIGTTOU {
		mirror = unix.SIGTSTP
	}
	if !stopGroup(t.own, mirror) && (by == unix.SIGTTIN || by == unix.SIGTTOU) && t.foreground() != t.own {
		return
	}
	t.resume(p, true)
}

// resume runs once tether is continued: if its group has the foreground
// (fg), the program's group gets it back, with the modes it had; if not
// (bg, or a continue from kill), the terminal is left alone. cont also
// continues the tree.
func (t *terminal) resume(p *proc.RunningProcess, cont bool) {
	switch t.foreground() {
	case t.own:
		if t.saved != nil {
			_ = unix.IoctlSetTermios(t.fd, unix.TCSETS, t.saved)
			t.saved = nil
		}
		t.given = unix.IoctlSetPointerInt(t.fd, unix.TIOCSPGRP, t.child) == nil
	case t.child:
		t.given = true
	default:
		t.given = false
	}
	if cont {
		_ = p.Signal(unix.SIGCONT)
	}
}

// end takes the foreground back if tether gave it away, and the modes
// tether started with unless the program exited by itself.
func (t *terminal) end(exitedItself bool) {
	if t == nil || !t.given {
		return
	}
	_ = unix.IoctlSetPointerInt(t.fd, unix.TIOCSPGRP, t.own)
	if !exitedItself {
		_ = unix.IoctlSetTermios(t.fd, unix.TCSETS, t.start)
	}
	t.given = false
}

// stopPatience bounds how long stopGroup waits for tether's own stop to
// take effect. The kernel stops the group within microseconds, or never
// (see stopGroup); whether the wait ends by SIGCONT or by this timer
// after a real stop, what follows is the same.
const stopPatience = 2 * time.Second

// stopGroup stops tether's process group own with sig, as the stop key
// would have if the program were not in a group of its own, and returns
// once tether is continued, true. The kernel discards SIGTSTP, SIGTTIN
// and SIGTTOU for an orphaned group (no member has a parent in another
// group of the session: nobody could continue it), so then, or if tether
// ignores sig, it returns false at once and the program is continued:
// Ctrl-Z does nothing there, as for any job in an orphaned group.
func stopGroup(own int, sig unix.Signal) bool {
	if signal.Ignored(sig) || orphaned(own) {
		return false
	}
	cont := make(chan os.Signal, 1)
	signal.Notify(cont, unix.SIGCONT)
	defer signal.Stop(cont)
	if unix.Kill(-own, sig) != nil {
		return false
	}
	timer := time.NewTimer(stopPatience)
	defer timer.Stop()
	select {
	case <-cont:
	case <-timer.C:
	}
	return true
}

// orphaned reports whether process group pgrp is orphaned, as the kernel
// decides it: no member, other than one whose parent is init, has a
// parent in another group of the same session. Unreadable /proc counts
// as not orphaned (stopGroup's timer covers a wrong guess).
func orphaned(pgrp int) bool {
	sid, err := unix.Getsid(0)
	if err != nil {
		return false
	}
	pids, err := sysproc.Pids()
	if err != nil {
		return false
	}
	for _, pid := range pids {
		st, err := sysproc.ReadStat(pid)
		if err != nil || st.Pgrp != pgrp || st.State == 'Z' || st.Ppid <= 1 {
			continue
		}
		parent, err := sysproc.ReadStat(st.Ppid)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil || parent.Pgrp != pgrp && parent.Session == sid {
			return false
		}
	}
	return true
}
