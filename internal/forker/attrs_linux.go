//go:build linux

package forker

// Attributes a child gets before its program runs, on Linux.
//
// Go's fork runs no caller code between fork and exec, so nothing can be
// set in the child there. Two ways remain that leave no moment in which
// the program runs without its attributes:
//
//   - The child is stopped at its exec. With SysProcAttr.Ptrace the child
//     calls ptrace(PTRACE_TRACEME) just before execve, and a traced
//     process that execs receives SIGTRAP, which stops it before it
//     returns to user space: not one instruction of the new program has
//     run. The forking thread (the tracer: ptrace requests must come from
//     it, hence a worker locked to its thread) then sets the limits, the
//     nice value and the OOM score adjustment on the stopped child, and
//     detaches, discarding the SIGTRAP. Setting them from outside needs
//     the same permission as from inside, except that the owner's
//     privilege counts, not the child's (a child switched to another
//     uid by Credential can be given a lower nice value by a root owner).
//   - The umask lives in the filesystem attributes a Go process's threads
//     share (CLONE_FS). A worker thread that unshares them has a umask of
//     its own, and a child forked there copies that thread's. The worker
//     sets its working directory to the owner's before every fork (the
//     child of a command without Dir starts there), and refuses to fork
//     if the owner's root directory is no longer the one the worker has
//     (a chroot(2) after the worker began).
//
// Being traced, even for those microseconds, has costs the docs of
// proc's Cmd.Rlimit, Nice and OOMScoreAdj repeat: an owner without
// CAP_SYS_PTRACE cannot give a set-user-ID, set-group-ID or
// file-capability program its privilege (the kernel does not raise the
// privilege of a process exec'd under a tracer that lacks it), an owner
// traced by strace -f or a debugger that follows forks cannot start such
// a child (the child is already traced, so PTRACE_TRACEME fails with
// EPERM), and a system that forbids ptrace (Yama ptrace_scope 3, or 2
// without CAP_SYS_PTRACE; a seccomp filter) makes the fork fail.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// AttrsSupported reports whether Start can apply Attrs here.
const AttrsSupported = true

// fsJobs serve forks with a umask: their threads do not share the
// process's filesystem attributes (see unshareFS).
var fsJobs = pool{setup: unshareFS}

// stopsAtExec reports whether a child with a must be stopped at its exec
// to be given them.
func (a *Attrs) stopsAtExec() bool {
	return len(a.Rlimits) > 0 || a.SetNice || a.SetOOMScoreAdj
}

// startWith starts cmd on a worker that can apply a: one whose umask is
// its own when a sets one.
func startWith(cmd *exec.Cmd, a *Attrs) error {
	if a.SetUmask {
		return onPool(cmd, a, &fsJobs)
	}
	return onPool(cmd, a, &jobs)
}

// unshareFS gives the calling thread filesystem attributes (working
// directory, root, umask) of its own.
func unshareFS() error {
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fmt.Errorf("forker: unshare(CLONE_FS) for a umask of the fork's own: %w", err)
	}
	return nil
}

// onMainThread reports whether the caller runs on the process's main
// thread (whose thread id is the process id).
func onMainThread() bool { return unix.Gettid() == unix.Getpid() }

// ownerFS holds the owner's working and root directories, opened by the
// caller of Start (whose thread shares them), for a worker whose own are
// not shared.
type ownerFS struct{ cwd, root int }

func openOwnerFS() (*ownerFS, error) {
	cwd, err := unix.Open(".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("forker: opening the working directory: %w", err)
	}
	root, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = unix.Close(cwd)
		return nil, fmt.Errorf("forker: opening the root directory: %w", err)
	}
	return &ownerFS{cwd: cwd, root: root}, nil
}

func (fs *ownerFS) close() {
	_ = unix.Close(fs.cwd)
	_ = unix.Close(fs.root)
}

// enter makes the calling worker thread's working directory the owner's,
// and checks that its root still is the owner's.
func (fs *ownerFS) enter() error {
	var want, got unix.Stat_t
	if err := unix.Fstat(fs.root, &want); err != nil {
		return fmt.Errorf("forker: reading the owner's root directory: %w", err)
	}
	if err := unix.Stat("/", &got); err != nil {
		return fmt.Errorf("forker: reading the worker's root directory: %w", err)
	}
	if want.Dev != got.Dev || want.Ino != got.Ino {
		return errors.New("forker: the owner changed its root directory (chroot) after the umask worker began, so a child with a umask would start under the old one")
	}
	if err := unix.Fchdir(fs.cwd); err != nil {
		return fmt.Errorf("forker: entering the owner's working directory: %w", err)
	}
	return nil
}

// startOnThread starts j's command on the calling worker thread and
// gives the child j's attributes.
func startOnThread(j job) error {
	a := j.attrs
	if a == nil {
		return j.cmd.Start()
	}
	if a.SetUmask {
		if err := j.fs.enter(); err != nil {
			return err
		}
		unix.Umask(int(a.Umask))
	}
	stop := a.stopsAtExec()
	if stop {
		// A copy: the caller's SysProcAttr may be shared.
		attr := syscall.SysProcAttr{}
		if j.cmd.SysProcAttr != nil {
			attr = *j.cmd.SysProcAttr
		}
		attr.Ptrace = true
		j.cmd.SysProcAttr = &attr
	}
	if err := j.cmd.Start(); err != nil {
		if stop && errors.Is(err, unix.EPERM) {
			return fmt.Errorf("%w (the child could not be traced to be given its attributes before its program ran: is the owner traced, or ptrace forbidden here?)", err)
		}
		return err
	}
	if !stop {
		return nil
	}
	if err := atExec(j.cmd.Process.Pid, a); err != nil {
		// It is stopped before its program's first instruction: it
		// dies having run nothing.
		_ = j.cmd.Process.Kill()
		_ = j.cmd.Wait()
		return err
	}
	return nil
}

// The si_code values of SIGCHLD (asm-generic/siginfo.h, the same on
// every architecture).
const (
	cldTrapped = 4
	cldStopped = 5
)

// atExec waits for the traced child pid to stop at its exec, gives it a's
// attributes and lets it run. A child that dies first (killed meanwhile)
// is left unreaped for its Wait, and nil is returned: it ran nothing.
func atExec(pid int, a *Attrs) error {
	for {
		var info unix.Siginfo
		// WNOWAIT: an exit must stay for the caller's Wait to reap.
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WSTOPPED|unix.WEXITED|unix.WNOWAIT, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("forker: waiting for the child to stop at its exec: %w", err)
		}
		if info.Code != cldTrapped && info.Code != cldStopped {
			return nil
		}
		sig := syscall.Signal(siginfoStatus(&info))
		if sig != unix.SIGTRAP {
			// A signal sent to the new child before the exec's SIGTRAP
			// was delivered: let it take effect. The SIGTRAP is still
			// pending, so the child stops again before its program runs.
			if err := unix.PtraceCont(pid, int(sig)); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("forker: passing on signal %d to the stopped child: %w", sig, err)
			}
			continue
		}
		if err := apply(pid, a); err != nil {
			return err
		}
		// Detaching with no signal discards the SIGTRAP, and the
		// program starts.
		if err := unix.PtraceDetach(pid); err != nil {
			return fmt.Errorf("forker: letting the child run: %w", err)
		}
		return nil
	}
}

// siginfoStatus reads si_status, the signal of a stop, from a SIGCHLD
// siginfo: the third field of its union, which follows si_signo,
// si_errno and si_code aligned to a pointer (offset 16 on 64-bit
// systems, 12 on 32-bit ones), after si_pid and si_uid.
func siginfoStatus(info *unix.Siginfo) int32 {
	const ptr = unsafe.Sizeof(uintptr(0))
	union := (3*unsafe.Sizeof(int32(0)) + ptr - 1) &^ (ptr - 1)
	return *(*int32)(unsafe.Add(unsafe.Pointer(info), union+2*unsafe.Sizeof(int32(0))))
}

// apply gives the stopped child pid the attributes a asks for.
func apply(pid int, a *Attrs) error {
	for _, r := range a.Rlimits {
		lim := unix.Rlimit{Cur: r.Cur, Max: r.Max}
		if err := unix.Prlimit(pid, r.Resource, &lim, nil); err != nil {
			return &AttrError{What: "resource limit " + r.Name, Err: err}
		}
	}
	if a.SetNice {
		if err := unix.Setpriority(unix.PRIO_PROCESS, pid, a.Nice); err != nil {
			return &AttrError{What: "nice value " + strconv.Itoa(a.Nice), Err: err}
		}
	}
	if a.SetOOMScoreAdj {
		path := "/proc/" + strconv.Itoa(pid) + "/oom_score_adj"
		if err := os.WriteFile(path, []byte(strconv.Itoa(a.OOMScoreAdj)), 0); err != nil {
			return &AttrError{What: "OOM score adjustment " + strconv.Itoa(a.OOMScoreAdj), Err: err}
		}
	}
	return nil
}
