//go:build unix

package proc

// The platform's side of running a child, here for unix (exec_linux.go
// and exec_unix_nonlinux.go refine it); exec_windows.go has the same
// set for Windows, and the rest of proc knows only this set:
//
//   - envAllowsLeadingEquals, envKeyEqual: the environment's names;
//   - sysSpec.apply: the SysProcAttr a Cmd asks for, or ErrUnsupported;
//   - Cmd.checkAttrs, attrSpec.apply: the process attributes (attrs.go)
//     this platform can give a child, and giving them;
//   - startDetached: the start of a Detach;
//   - checkGrace, signalName, exitStatus, killLeavesNoSignal: signals,
//     and how a child ended;
//   - pendingBytes: the bytes queued in a pipe;
//   - batchCommandLine: running a batch file (cmd.exe; nothing here).

import (
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/internal/forker"
)

// envAllowsLeadingEquals: only Windows has "=C:"-style variables.
const envAllowsLeadingEquals = false

func envKeyEqual(a, b string) bool { return a == b }

// apply sets what the spec asks for in SysProcAttr, or fails with
// ErrUnsupported before anything is spawned.
func (s sysSpec) apply(program string, cmd *exec.Cmd) error {
	if s.winFlags != 0 {
		return unsupported(program, "Windows creation flags", "this is not Windows")
	}
	if s.pdeathsig != 0 && !pdeathsigSupported {
		return unsupported(program, "parent-death signal", "only Linux has PR_SET_PDEATHSIG")
	}
	attr := &syscall.SysProcAttr{Setsid: s.setsid}
	if s.cred != nil {
		attr.Credential = &syscall.Credential{Uid: s.cred.uid, Gid: s.cred.gid, Groups: s.cred.groups}
	}
	setPdeathsig(attr, s.pdeathsig)
	if s.foreground != nil {
		// Foreground implies a new group (Pgid 0: the child's pid) and
		// takes Ctty as a descriptor of the parent's.
		attr.Foreground, attr.Ctty = true, int(s.foreground.Fd())
	}
	cmd.SysProcAttr = attr
	return nil
}

// checkGrace accepts a real signal of this OS: a syscall.Signal from 1 to
// maxSignal. Signal 0 delivers nothing (it only checks a pid), and a
// custom os.Signal cannot be sent at all, so either would silently give
// no grace.
func checkGrace(program string, sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	switch {
	case !ok:
		return &InvalidError{Program: program, Reason: "the grace signal is not a syscall.Signal, so it cannot be sent"}
	case s < 1 || s > maxSignal:
		return &InvalidError{Program: program, Reason: "the grace signal is not a signal of this system (1 to " + strconv.Itoa(maxSignal) + ")"}
	}
	return nil
}

// signalName names a signal the way shells do ("SIGTERM").
func signalName(sig os.Signal) string {
	if s, ok := sig.(syscall.Signal); ok {
		if n := unix.SignalName(s); n != "" {
			return n
		}
	}
	return sig.String()
}

// exitStatus reads the code or the signal from a finished process.
func exitStatus(ps *os.ProcessState) (code int, signal string) {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -1, signalName(ws.Signal())
	}
	return ps.ExitCode(), ""
}

// startDetached starts cmd in a session of its own, through the forker,
// which applies the attributes bound to cmd (see startBound).
func startDetached(cmd *exec.Cmd) error {
	// sysSpec.apply always sets a SysProcAttr on unix.
	cmd.SysProcAttr.Setsid = true
	cmd.SysProcAttr.Setpgid = false
	return forker.Start(cmd)
}

// killLeavesNoSignal: a killed process's wait status names SIGKILL.
const killLeavesNoSignal = false

// pendingBytes reports how many bytes wait unread in the pipe behind f
// (FIONREAD; TIOCINQ on Linux); ok is false when that cannot be read.
func pendingBytes(f *os.File) (n int, ok bool) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, false
	}
	var ierr error
	if err := rc.Control(func(fd uintptr) { n, ierr = unix.IoctlGetInt(int(fd), fionread) }); err != nil || ierr != nil {
		return 0, false
	}
	return n, true
}

// batchCommandLine does nothing off Windows: only Windows runs a program
// (a .bat or .cmd file) through a shell behind the caller's back.
func batchCommandLine(string, *exec.Cmd) error { return nil }
