//go:build unix && !linux

package watchdog

import (
	"fmt"
	"os"
	"syscall"
)

// executable returns the path to re-execute, or why there is none. Off
// Linux there is no /proc/self/exe: the path is looked up when the
// watchdog starts, so a binary replaced at that path since the owner
// started is what runs (the protocol version in the environment makes a
// different build refuse to serve).
func executable() (string, error) {
	if err := checkBuildMode(); err != nil {
		return "", err
	}
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("cannot find the owner's binary to re-execute: %w", err)
	}
	if _, err := os.Stat(exe); err != nil {
		return "", fmt.Errorf("cannot re-execute the owner's binary: %w", plain(err))
	}
	return exe, nil
}

func describeExe(exe string) string { return exe }

// spawn starts exe as the watchdog in a session of its own and returns
// its pid and a channel closed once it has exited and been reaped. The
// owner reaps it with a goroutine blocked in wait4 (one OS thread per
// owner): these systems offer nothing to poll for a child's exit.
func spawn(exe string, attr *os.ProcAttr) (int, <-chan struct{}, error) {
	attr.Sys = &syscall.SysProcAttr{Setsid: true}
	p, err := os.StartProcess(exe, []string{marker}, attr)
	if err != nil {
		return 0, nil, err
	}
	reaped := make(chan struct{})
	go func() { _, _ = p.Wait(); close(reaped) }()
	return p.Pid, reaped, nil
}

func setName() {}
