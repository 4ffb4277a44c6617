//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package proc

// The terminal of a terminal run (terminal.go) on the systems
// github.com/creack/pty opens pseudo-terminals on: /dev/ptmx and its
// ioctls on Linux and macOS, posix_openpt on FreeBSD, /dev/ptm on NetBSD
// and OpenBSD.

import (
	"math"
	"os"
	"os/exec"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// maxTerminalSide is the largest number of rows or columns: a window
// size is two 16-bit numbers.
const maxTerminalSide = math.MaxUint16

// terminalSupported: this system has pseudo-terminals.
func terminalSupported(*Cmd) error { return nil }

// terminal is a terminal run's terminal on tether's side: the master,
// read as stdout (RunningProcess.term).
type terminal = os.File

// wireTerminal makes a new pseudo-terminal the child's stdin, stdout and
// stderr and its controlling terminal, and gives the run its side: the
// terminal read as stdout (the end of its output is the end of stdout),
// and a second descriptor of it to write to, as the interactive stdin
// writer on Start or the feeder of StdinBytes or StdinLines.
func (p *RunningProcess) wireTerminal(ecmd *exec.Cmd, files *childFiles, viaStart bool) error {
	c := p.cmd
	master, slave, err := openTerminal(c.term.rows, c.term.cols)
	if err != nil {
		return &StartError{Program: c.name, Err: err}
	}
	files.keep(slave, nil)
	ecmd.Stdin, ecmd.Stdout, ecmd.Stderr = slave, slave, slave
	controlTerminal(ecmd)
	w, err := dupNonblock(master)
	if err != nil {
		master.Close()
		return &StartError{Program: c.name, Err: err}
	}
	p.terminalSides(w, master, viaStart)
	p.term = master
	return nil
}

// openTerminal opens a new pseudo-terminal of rows by cols and returns
// its two sides: master, which tether reads and writes, non-blocking and
// in the runtime's poller, and slave, the child's stdio.
//
// pty.Open hands back a blocking master (it calls Fd, which switches the
// file to blocking mode), on which neither a deadline nor a Close from
// another goroutine releases a blocked Read or Write: a run whose
// terminal a process outside the tree still holds could never stop
// reading it. A duplicate set non-blocking and wrapped anew by
// os.NewFile goes through the poller, where Close does release them.
func openTerminal(rows, cols uint16) (master, slave *os.File, err error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, nil, err
	}
	master, err = dupNonblock(m)
	m.Close()
	if err == nil {
		err = setTerminalSize(master, rows, cols)
	}
	if err != nil {
		if master != nil {
			master.Close()
		}
		s.Close()
		return nil, nil, err
	}
	return master, s, nil
}

// dupNonblock returns a second descriptor of f, close-on-exec and
// non-blocking, registered with the runtime's poller.
func dupNonblock(f *os.File) (*os.File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	fd, derr := -1, error(nil)
	if err := rc.Control(func(h uintptr) { fd, derr = unix.FcntlInt(h, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, &os.SyscallError{Syscall: "fcntl", Err: derr}
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, &os.SyscallError{Syscall: "fcntl", Err: err}
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// setTerminalSize sets the window size of the terminal behind master
// (TIOCSWINSZ); the kernel signals SIGWINCH to its foreground group when
// the size changes.
func setTerminalSize(master *os.File, rows, cols uint16) error {
	rc, err := master.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		ierr = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols})
	}); err != nil {
		// Control fails only on a closed file, and says so with the
		// poller's own error, which os.ErrClosed does not match.
		return &os.PathError{Op: "resize", Path: master.Name(), Err: os.ErrClosed}
	}
	if ierr != nil {
		return &os.SyscallError{Syscall: "ioctl TIOCSWINSZ", Err: ierr}
	}
	return nil
}

// controlTerminal makes the child a session leader whose controlling
// terminal is its stdin (descriptor 0 in the child: the terminal).
// Setsid also makes it lead a process group of its own, which the
// backends keep (see contain's Start: a caller's Setsid is honoured).
func controlTerminal(ecmd *exec.Cmd) {
	attr := ecmd.SysProcAttr
	attr.Setsid, attr.Setpgid = true, false
	attr.Setctty, attr.Ctty = true, 0
}
