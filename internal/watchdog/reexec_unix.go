//go:build unix

package watchdog

import (
	"errors"
	"os"
	"runtime/debug"
)

// How a process knows it was started as a watchdog (see serve): all three
// must hold, so no program, tether's own children included, is taken for
// one by accident.
const (
	// marker is argv[0] of a watchdog. A child tether starts gets its
	// program's name as argv[0] and descriptors 0, 1 and 2 only, never a
	// pipe as fd 3.
	marker = "tether-watchdog"
	// protocolEnv carries the protocol version; it is set in the
	// watchdog's environment only, never in the owner's, so it cannot
	// reach a child of the owner.
	protocolEnv = "TETHER_WATCHDOG_PROTOCOL"
	// protocol is the version of the protocol (see serve): 2 is the
	// registration table; 1 was a line per message on the pipe. Owner
	// and watchdog are the same binary on Linux (/proc/self/exe); the
	// version guards the platforms that re-execute the binary by path,
	// which may have been replaced by another build meanwhile.
	protocol = "2"
	// pipeFd is the watchdog's end of the pipe: the first descriptor
	// after the standard streams. Its EOF is the owner's death.
	pipeFd = 3
	// tableFd is the registration table (see watchdog_unix.go).
	tableFd = 4
	// ownerEnv names the owner's pid, for anyone listing processes.
	ownerEnv = "TETHER_WATCHDOG_OWNER"
)

// Describe says which watchdog this process gets: the binary it would
// re-execute, or why none can start (ok false). It spawns nothing: it
// checks what starting one needs (the executable, the null device).
func Describe() (how string, ok bool) {
	exe, err := executable()
	if err != nil {
		return "not available: " + err.Error(), false
	}
	f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return "not available: " + err.Error(), false
	}
	_ = f.Close()
	return "re-executes " + describeExe(exe) + " as " + marker + " (one process per owner, started on the first registration)", true
}

// errNotExecutable is the build modes whose binary is not a Go program
// of its own: the executable is the C program that loaded the Go code,
// and re-executing it would run that program instead of a watchdog.
var errNotExecutable = errors.New("the owner is Go code inside a program of another language (build mode c-shared or c-archive): its executable cannot run as the watchdog")

// checkBuildMode refuses the build modes whose executable is not this Go
// program.
func checkBuildMode() error {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	for _, s := range bi.Settings {
		if s.Key == "-buildmode" && s.Value != "exe" && s.Value != "pie" && s.Value != "default" {
			return errNotExecutable
		}
	}
	return nil
}
