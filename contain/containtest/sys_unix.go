//go:build unix

package containtest

import (
	"errors"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// escaped reports whether the escapee in role really left: its session
// (setsid) or its process group (setpgid) is its own.
func escaped(role string, pid int) (bool, error) {
	var id int
	var err error
	switch role {
	case "setsid":
		id, err = unix.Getsid(pid)
	default:
		id, err = unix.Getpgid(pid)
	}
	return err == nil && id == pid, err
}

// killedBy reports whether a child's Wait error says sig ended it.
func killedBy(err error, sig os.Signal) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == sig
}

// processGroups says whether the OS has process groups to check.
const processGroups = true

// groupOf returns pid's process group.
func groupOf(pid int) (int, error) { return unix.Getpgid(pid) }

// ownGroup is the test process's own process group.
func ownGroup() int { return unix.Getpgrp() }

// sessionLeader is a SysProcAttr that asks for a new session.
func sessionLeader() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// conflictingAttrs are settings no backend can honour while keeping its
// child contained and leading a group of its own: they must fail Start
// before anything is spawned.
func conflictingAttrs() map[string]func() *syscall.SysProcAttr {
	return map[string]func() *syscall.SysProcAttr{
		// Not the owner's own group: that is 0 for a child of the
		// kernel's init (measured in a VM whose /init runs the tests),
		// and Pgid 0 asks for a new group.
		"joins another process group": func() *syscall.SysProcAttr {
			return &syscall.SysProcAttr{Setpgid: true, Pgid: os.Getpid()}
		},
		"Setsid with Setpgid": func() *syscall.SysProcAttr {
			return &syscall.SysProcAttr{Setsid: true, Setpgid: true}
		},
	}
}
