package proc

import (
	"io"
	"sync"
)

// ToStdout sends stderr where stdout goes, on the very same descriptor,
// as a shell's 2>&1: give it to Cmd.Stderr. The child's two streams are
// then one, and the kernel keeps its writes in the order the child made
// them, which two pipes read by two goroutines cannot promise. It is
// os/exec's CombinedOutput for a contained run:
//
//	r, err := cmd.Stderr(proc.ToStdout()).Output(ctx)
//	// r.Stdout holds stdout and stderr, interleaved exactly as written
//
// With stdout captured (the default), Result.Stdout holds both streams
// under stdout's cap and policy (CapStdout; CapStderr is then invalid),
// and Result.Stderr is empty. Lines, OnLine callbacks, Counters, Status
// and a raw reader (ToReader) see one stream, Stdout: which bytes the
// child meant for stderr is lost, as in a terminal. An *ExitError's
// message shows the tail of the combined stream (its StderrTail is
// empty, its StdoutTail holds it). Exec keeps stdout captured when
// stderr goes to it, so that a failure still shows its output.
//
// With any other stdout, stderr follows it: Inherit (the owner's
// stdout), Discard, ToFile or AppendFile (one open file, so the writes
// interleave as they do after `>file 2>&1`), and in a pipeline the pipe
// to the next stage (a shell's `2>&1 |`). Given to Cmd.Stdout, ToStdout
// is invalid (ErrInvalid).
func ToStdout() Sink { return Sink{mode: modeStdout} }

// teeLock returns the lock that serialises the writes to w: the one the
// run's other stream already uses when it tees to the same writer (as
// os/exec serialises Stdout == Stderr), else a lock of w's own.
func (s *streams) teeLock(w io.Writer) *sync.Mutex {
	if s.out != nil && s.out.tee != nil && sameWriter(s.out.tee, w) {
		return s.out.teeMu
	}
	return new(sync.Mutex)
}

// sameWriter reports whether a and b are the same writer. Interface
// values whose dynamic type cannot be compared (a func, a slice, a map
// behind the interface) panic on ==; such writers are taken to be
// different, as os/exec does.
func sameWriter(a, b io.Writer) (same bool) {
	defer func() {
		if recover() != nil {
			same = false
		}
	}()
	return a == b
}

// checkCombined refuses what ToStdout cannot mean: stdout sent to
// itself, and a cap on a stderr that has no capture of its own.
func (c *Cmd) checkCombined() error {
	switch {
	case c.stdout.mode == modeStdout:
		return &InvalidError{Program: c.name, Reason: "ToStdout is for Stderr; stdout cannot be sent to itself"}
	case c.stderr.mode == modeStdout && c.stderr.capSet:
		return &InvalidError{Program: c.name, Reason: "CapStderr with stderr sent to stdout (ToStdout): the combined stream is stdout's, capped by CapStdout"}
	}
	return nil
}
