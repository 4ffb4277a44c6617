package watchdog

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// selfExe names the running binary. The kernel resolves it to the file
// the owner runs even if that file was replaced or deleted since, so the
// watchdog is always the owner's own code.
const selfExe = "/proc/self/exe"

// executable returns the path to re-execute, or why there is none.
func executable() (string, error) {
	if err := checkBuildMode(); err != nil {
		return "", err
	}
	if _, err := os.Readlink(selfExe); err != nil {
		return "", fmt.Errorf("cannot re-execute the owner's binary: %w (is /proc mounted?)", plain(err))
	}
	return selfExe, nil
}

func describeExe(exe string) string {
	target, err := os.Readlink(exe)
	if err != nil {
		return exe
	}
	return exe + " (" + target + ")"
}

// spawn starts exe as the watchdog in a session of its own and returns
// its pid and a channel closed once it has exited and been reaped.
//
// The watchdog is the owner's child, so the owner reaps it: a goroutine
// waits for its pidfd to become readable in the runtime's poller (no OS
// thread is blocked) and then collects it. StartProcess returns once the
// kernel has executed the binary, without waiting for the watchdog's Go
// runtime to start.
func spawn(exe string, attr *os.ProcAttr) (int, <-chan struct{}, error) {
	pidfd := -1
	attr.Sys = &syscall.SysProcAttr{Setsid: true, PidFD: &pidfd}
	p, err := os.StartProcess(exe, []string{marker}, attr)
	if err != nil {
		return 0, nil, err
	}
	pid := p.Pid
	reaped := make(chan struct{})
	if pidfd < 0 {
		// No pidfd (a kernel before 5.4, or seccomp refusing it): wait by
		// pid, which blocks a thread.
		go func() { _, _ = p.Wait(); close(reaped) }()
		return pid, reaped, nil
	}
	_ = p.Release()
	go reap(pidfd, reaped)
	return pid, reaped, nil
}

// reap collects the child behind pidfd once it has exited, then closes
// pidfd and reaped. A pidfd polls readable when its process exits.
func reap(pidfd int, reaped chan<- struct{}) {
	defer close(reaped)
	exited := func(fd int) bool {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PIDFD, fd, &info, unix.WEXITED|unix.WNOHANG, nil)
		// ECHILD: someone else reaped it (an owner that waits for any
		// child). Signo 0: not exited yet.
		return err != nil || info.Signo != 0
	}
	if err := unix.SetNonblock(pidfd, true); err == nil {
		f := os.NewFile(uintptr(pidfd), "watchdog-pidfd")
		defer f.Close()
		if rc, err := f.SyscallConn(); err == nil {
			done := false
			if err := rc.Read(func(fd uintptr) bool { done = exited(int(fd)); return done }); err == nil && done {
				return
			}
		}
		// The poller refused the pidfd: wait for it, blocking a thread.
		if rc, err := f.SyscallConn(); err == nil {
			_ = rc.Control(func(fd uintptr) { blockingWait(int(fd)) })
		}
		return
	}
	defer unix.Close(pidfd)
	blockingWait(pidfd)
}

func blockingWait(pidfd int) {
	_ = unix.SetNonblock(pidfd, false)
	for {
		var info unix.Siginfo
		if err := unix.Waitid(unix.P_PIDFD, pidfd, &info, unix.WEXITED, nil); err != unix.EINTR {
			return
		}
	}
}

// setName makes the watchdog show as tether-watchdog in ps and top,
// which read the kernel's name for the process (comm), not argv[0]: it
// would otherwise be "exe", after /proc/self/exe.
func setName() {
	if name, err := unix.BytePtrFromString(marker); err == nil {
		_ = unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(name)), 0, 0, 0)
	}
}
