//go:build linux

package main

import (
	"errors"

	"golang.org/x/sys/unix"
)

// programExited reports whether the program (pid, tether's child) has
// exited, a zombie or already reaped, without reaping it (WNOWAIT), so
// proc's own wait is undisturbed. A multithreaded program whose leader
// has exited while other threads still run is not waitable yet, and
// counts as running.
func programExited(pid int) bool {
	var info unix.Siginfo
	err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT|unix.WNOHANG, nil)
	return errors.Is(err, unix.ECHILD) || err == nil && info.Signo != 0
}
