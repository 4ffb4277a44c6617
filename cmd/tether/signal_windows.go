//go:build windows

package main

import (
	"errors"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// notifySignals delivers the events that stop a run to ch: Ctrl+C and
// Ctrl+Break arrive as os.Interrupt, closing the console, logoff and
// shutdown as SIGTERM. It returns the function that stops the delivery.
func notifySignals(ch chan<- os.Signal) (stop func()) {
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	return func() { signal.Stop(ch) }
}

// parseSignal accepts only KILL: Windows has no signals to send, and the
// Job Object can only terminate the tree.
func parseSignal(name string) (os.Signal, error) {
	switch strings.ToUpper(strings.TrimSpace(name)) {
	case "KILL", "SIGKILL", "9":
		return os.Kill, nil
	}
	return nil, errors.New("no signal can be sent on Windows: only KILL is accepted (the tree is terminated at once)")
}

// signalName names the events Go reports as signals on Windows.
func signalName(sig os.Signal) string {
	switch sig {
	case os.Interrupt:
		return "Ctrl+C"
	case syscall.SIGTERM:
		return "a close event"
	}
	return sig.String()
}

// signalNumber is 0: no Windows process dies of a signal.
func signalNumber(string) int { return 0 }
