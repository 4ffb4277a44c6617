//go:build unix

package main

import (
	"errors"
	"os"
	"os/signal"
	"runtime"
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

// realtimeSignals is the range of real-time signals a program may send
// on this OS, as its C library numbers them (SIGRTMIN to SIGRTMAX), and
// 0, 0 where there are none. On Linux the kernel's range starts at 32,
// but glibc and musl keep 32 and 33 for their threads and number
// SIGRTMIN 34, as bash and kill(1) do; FreeBSD has 65 to 126, NetBSD 33
// to 63; macOS, OpenBSD, DragonFly, Solaris and AIX have none that tether
// accepts.
func realtimeSignals() (lo, hi int) {
	switch runtime.GOOS {
	case "linux", "android":
		return 34, 64
	case "freebsd":
		return 65, 126
	case "netbsd":
		return 33, 63
	}
	return 0, 0
}

// realtime reads the name of a real-time signal, without its SIG prefix:
// RTMIN, RTMIN+N, RTMAX, RTMAX-N. ok is false for any other name; err is
// set for one of these forms that is out of range here.
func realtime(name string) (sig syscall.Signal, ok bool, err error) {
	var base, dir int
	var rest string
	lo, hi := realtimeSignals()
	switch {
	case strings.HasPrefix(name, "RTMIN"):
		base, dir, rest = lo, 1, name[len("RTMIN"):]
		if rest != "" && rest[0] != '+' {
			return 0, false, nil
		}
	case strings.HasPrefix(name, "RTMAX"):
		base, dir, rest = hi, -1, name[len("RTMAX"):]
		if rest != "" && rest[0] != '-' {
			return 0, false, nil
		}
	default:
		return 0, false, nil
	}
	off := 0
	if rest != "" {
		digits := rest[1:]
		if digits == "" || len(digits) > 3 || strings.Trim(digits, "0123456789") != "" {
			return 0, false, nil
		}
		off, _ = strconv.Atoi(digits)
	}
	if lo == 0 {
		return 0, true, errors.New("this OS has no real-time signals")
	}
	n := base + dir*off
	if n < lo || n > hi {
		return 0, true, errors.New("real-time signal out of range (RTMIN is " + strconv.Itoa(lo) + ", RTMAX " + strconv.Itoa(hi) + " here)")
	}
	return syscall.Signal(n), true, nil
}

// parseSignal reads a signal name (TERM, SIGTERM, term), a real-time
// signal (RTMIN, RTMIN+N, RTMAX-N, with or without SIG, where the OS has
// them) or a number.
func parseSignal(name string) (os.Signal, error) {
	s := strings.ToUpper(strings.TrimSpace(name))
	if n, err := strconv.Atoi(s); err == nil {
		if lo, hi := realtimeSignals(); n > 0 && (unix.SignalName(syscall.Signal(n)) != "" || lo > 0 && n >= lo && n <= hi) {
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
	if sig, ok, err := realtime(s[len("SIG"):]); ok {
		if err != nil {
			return nil, err
		}
		return sig, nil
	}
	return nil, errors.New("unknown signal name (use TERM, INT, HUP, KILL, USR1, ... with or without the SIG prefix, RTMIN+N or RTMAX-N, or a number)")
}

// signalName names a signal as shells do ("SIGTERM"); a real-time one as
// bash does, from the nearer end of the range ("SIGRTMIN+2",
// "SIGRTMAX-3").
func signalName(sig os.Signal) string {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return sig.String()
	}
	if n := unix.SignalName(s); n != "" {
		return n
	}
	lo, hi := realtimeSignals()
	switch n := int(s); {
	case lo == 0 || n < lo || n > hi:
	case n == lo:
		return "SIGRTMIN"
	case n == hi:
		return "SIGRTMAX"
	case n <= lo+(hi-lo)/2:
		return "SIGRTMIN+" + strconv.Itoa(n-lo)
	default:
		return "SIGRTMAX-" + strconv.Itoa(hi-n)
	}
	return sig.String()
}

// signalNumber is the number of a signal as proc names them ("SIGKILL";
// "signal 40" for one without a name, as Go prints it), or 0.
func signalNumber(name string) int {
	if s := unix.SignalNum(name); s != 0 {
		return int(s)
	}
	if num, ok := strings.CutPrefix(name, "signal "); ok {
		if n, err := strconv.Atoi(num); err == nil && n > 0 {
			return n
		}
	}
	if rest, ok := strings.CutPrefix(name, "SIG"); ok {
		if s, ok, err := realtime(rest); ok && err == nil {
			return int(s)
		}
	}
	return 0
}
