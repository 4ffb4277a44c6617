//go:build windows

package proc

// The platform's side of running a child, here for Windows; see
// exec_unix.go for the set and what each part is for. Batch files get a
// file of their own (batch_windows.go).

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/gotether/tether/internal/forker"
)

// envAllowsLeadingEquals: cmd.exe keeps per-drive directories in
// variables named like "=C:".
const envAllowsLeadingEquals = true

// envKeyEqual: Windows environment names are case-insensitive.
func envKeyEqual(a, b string) bool { return strings.EqualFold(a, b) }

// apply sets what the spec asks for in SysProcAttr, or fails with
// ErrUnsupported before anything is spawned.
func (s sysSpec) apply(program string, cmd *exec.Cmd) error {
	switch {
	case s.setsid:
		return unsupported(program, "setsid", "Windows has no sessions in the POSIX sense")
	case s.cred != nil:
		return unsupported(program, "uid/gid credentials", "Windows has no uid or gid; run under another token instead")
	case s.foreground != nil:
		return unsupported(program, "a terminal's foreground", "Windows consoles have no foreground process group")
	case s.pdeathsig != 0:
		return unsupported(program, "parent-death signal", "only Linux has PR_SET_PDEATHSIG; the job object kills the tree when its owner dies")
	}
	attr := &syscall.SysProcAttr{CreationFlags: s.winFlags}
	if s.hideWindow {
		attr.HideWindow = true
		attr.CreationFlags |= windows.CREATE_NO_WINDOW
	}
	cmd.SysProcAttr = attr
	return nil
}

// checkGrace refuses a graceful signal: Windows has none to send.
func checkGrace(program string, sig os.Signal) error {
	if sig == os.Kill {
		return nil
	}
	return unsupported(program, "graceful termination with "+sig.String(), "Windows has no signals; the tree is killed at the deadline instead")
}

// signalName gives shell-style names, as on unix, so a Result reads the
// same on every OS ("SIGKILL" for a tree tether killed).
func signalName(sig os.Signal) string {
	switch sig {
	case os.Kill:
		return "SIGKILL"
	case os.Interrupt:
		return "SIGINT"
	}
	return sig.String()
}

// exitStatus reads the code of a finished process: Windows reports no
// signal (a tree tether killed is named by the monitor).
func exitStatus(ps *os.ProcessState) (code int, signal string) { return ps.ExitCode(), "" }

// startDetached starts cmd without a console, in a process group of its
// own, breaking away from the owner's Job Object where the job allows it;
// where it does not (CreateProcess fails with access denied), the process
// stays in that outer job, as the doc of Detach says.
func startDetached(cmd *exec.Cmd) error {
	base := cmd.SysProcAttr.CreationFlags | windows.DETACHED_PROCESS | windows.CREATE_NEW_PROCESS_GROUP
	cmd.SysProcAttr.CreationFlags = base | windows.CREATE_BREAKAWAY_FROM_JOB
	err := cmd.Start()
	if err == nil || !errors.Is(err, windows.ERROR_ACCESS_DENIED) {
		return err
	}
	// An exec.Cmd is started at most once, even after a failed Start:
	// the second try needs a fresh one with the same fields.
	cmd.SysProcAttr.CreationFlags = base
	*cmd = exec.Cmd{Path: cmd.Path, Args: cmd.Args, Env: cmd.Env, Dir: cmd.Dir,
		Stdin: cmd.Stdin, Stdout: cmd.Stdout, Stderr: cmd.Stderr, SysProcAttr: cmd.SysProcAttr}
	return cmd.Start()
}

// killLeavesNoSignal: TerminateJobObject leaves only an exit code.
const killLeavesNoSignal = true

var procPeekNamedPipe = windows.NewLazySystemDLL("kernel32.dll").NewProc("PeekNamedPipe")

// pendingBytes reports how many bytes wait unread in the anonymous pipe
// behind f (PeekNamedPipe); ok is false when that cannot be read.
func pendingBytes(f *os.File) (n int, ok bool) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, false
	}
	var avail uint32
	var r1 uintptr
	if err := rc.Control(func(h uintptr) {
		r1, _, _ = procPeekNamedPipe.Call(h, 0, 0, 0, uintptr(unsafe.Pointer(&avail)), 0)
	}); err != nil || r1 == 0 {
		return 0, false
	}
	return int(avail), true
}

// priorityClasses are the CreateProcess flags of the priority classes.
const priorityClasses = windows.IDLE_PRIORITY_CLASS | windows.BELOW_NORMAL_PRIORITY_CLASS |
	windows.NORMAL_PRIORITY_CLASS | windows.ABOVE_NORMAL_PRIORITY_CLASS |
	windows.HIGH_PRIORITY_CLASS | windows.REALTIME_PRIORITY_CLASS

// checkAttrs refuses the attributes Windows does not have, and a nice
// value next to a priority class given as a creation flag.
func (c *Cmd) checkAttrs() error {
	a := c.attrs
	switch {
	case len(a.rlimits) > 0:
		return unsupported(c.name, "resource limits (Rlimit)", "Windows has no rlimits; a Job Object's limits (Cmd.Limits) bound the tree instead")
	case a.oomSet:
		return unsupported(c.name, "an OOM score adjustment", "only Linux has oom_score_adj")
	case a.umaskSet:
		return unsupported(c.name, "a umask", "Windows has no umask")
	case len(a.extraFiles) > 0:
		return unsupported(c.name, "extra files", "Windows has no numbered descriptors to hand on")
	case a.niceSet && c.sys.winFlags&priorityClasses != 0:
		return &InvalidError{Program: c.name, Reason: "Nice and a priority class in WindowsCreationFlags: choose one"}
	}
	return nil
}

// apply sets argv[0] and the priority class Nice chooses on ecmd; the
// forker has nothing to do here.
func (a attrSpec) apply(program string, ecmd *exec.Cmd) (*forker.Attrs, error) {
	if a.arg0Set && isBatchFile(ecmd.Path) {
		return nil, unsupported(program, "argv[0] (Arg0) for a batch file", "cmd.exe runs a batch file and names it itself")
	}
	a.applyCommon(ecmd)
	if a.niceSet {
		ecmd.SysProcAttr.CreationFlags |= priorityClass(a.nice)
	}
	return nil, nil
}

// priorityClass maps a nice value to the priority class that holds it
// (see Cmd.Nice). REALTIME is never chosen: it can starve the system's
// own threads.
func priorityClass(nice int) uint32 {
	switch {
	case nice >= MaxNice:
		return windows.IDLE_PRIORITY_CLASS
	case nice > 0:
		return windows.BELOW_NORMAL_PRIORITY_CLASS
	case nice == 0:
		return windows.NORMAL_PRIORITY_CLASS
	case nice >= -10:
		return windows.ABOVE_NORMAL_PRIORITY_CLASS
	}
	return windows.HIGH_PRIORITY_CLASS
}
