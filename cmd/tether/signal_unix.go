//go:build unix

package main

import (
	"errors"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// notifySignals delivers the signals that stop a run to ch, and returns
// the function that stops the delivery. SIGPIPE is caught too (and
// dropped): with tether's stderr gone, a diagnostic written to it would
// otherwise kill tether before the tree is torn down.
func notifySignals(ch chan<- os.Signal) (stop func()) {
	signal.Notify(ch, unix.SIGINT, unix.SIGTERM, unix.SIGHUP)
	pipe := make(chan os.Signal, 1)
	signal.Notify(pipe, unix.SIGPIPE)
	return func() {
		signal.Stop(ch)
		signal.Stop(pipe)
	}
}

// parseSignal reads a signal name (TERM, SIGTERM, term) or number.
func parseSignal(name string) (os.Signal, error) {
	s := strings.ToUpper(strings.TrimSpace(name))
	if n, err := strconv.Atoi(s); err == nil {
		if n > 0 && unix.SignalName(syscall.Signal(n)) != "" {
			return syscall.Signal(n), nil
		}
		return nil, errors.New("unknown signal number")
	}
	if !strings.HasPrefix(s, "SIG") {
		s = "SIG" + s
	}
	if sig := unix.SignalNum(s); sig != 0 {
		return sig, nil
	}
	return nil, errors.New("unknown signal name (use TERM, INT, HUP, KILL, USR1, ... with or without the SIG prefix, or a number)")
}

// signalName names a signal as shells do ("SIGTERM").
func signalName(sig os.Signal) string {
	if s, ok := sig.(syscall.Signal); ok {
		if n := unix.SignalName(s); n != "" {
			return n
		}
	}
	return sig.String()
}

// signalNumber is the number of a signal named as proc names them
// ("SIGKILL"), or 0.
func signalNumber(name string) int { return int(unix.SignalNum(name)) }
