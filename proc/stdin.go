package proc

import (
	"errors"
	"io"
	"iter"
	"os"
	"slices"
	"sync/atomic"
	"time"
)

type stdinKind int

const (
	stdinNone stdinKind = iota
	stdinBytes
	stdinLines
	stdinFile
	stdinReader
	stdinInherit
	stdinInteractive
	// stdinPipe: the read end of a pipeline's OS pipe (Pipe only). The
	// run closes the parent's copy right after the spawn.
	stdinPipe
)

type stdinSpec struct {
	kind   stdinKind
	bytes  []byte
	lines  iter.Seq[string]
	path   string
	reader io.Reader
	pipe   *os.File
	// used is shared by every copy of a Cmd made after Stdin, so a
	// one-shot reader is consumed at most once across them.
	used *atomic.Bool
}

// readerUse says at which point checkReader looks at a Stdin reader.
type readerUse int

const (
	// readerGiven: the Cmd is validated.
	readerGiven readerUse = iota
	// readerReplayed: a verb may run the Cmd more than once (Retry).
	readerReplayed
	// readerClaimed: a run is about to read the reader.
	readerClaimed
)

// checkReader is the one-shot rule of a Stdin reader, in one place: its
// bytes can be read by one run only. A nil reader is invalid; a verb that
// may run the Cmd again (Retry) is refused before the first spawn, since
// the bytes could not be replayed; and the first run claims the reader,
// so a second run of the Cmd (or of any copy sharing the reader) is
// refused before it spawns.
func (s stdinSpec) checkReader(program string, use readerUse) error {
	if s.kind != stdinReader {
		return nil
	}
	switch {
	case use == readerReplayed:
		return &InvalidError{Program: program, Reason: "a one-shot stdin reader cannot be replayed by Retry; use StdinBytes, StdinLines or StdinFile"}
	case s.reader == nil || s.reader == io.Reader((*os.File)(nil)):
		return &InvalidError{Program: program, Reason: "nil stdin reader"}
	case use == readerClaimed && s.used.Swap(true):
		return &InvalidError{Program: program, Reason: "one-shot stdin reader already consumed by an earlier run; use StdinBytes, StdinLines or StdinFile for a command that runs more than once"}
	}
	return nil
}

// open returns the file the child reads and, where tether must feed a
// pipe, its write end and the feeder that fills it.
func (s stdinSpec) open() (child, w *os.File, f *feeder, err error) {
	switch s.kind {
	case stdinNone:
		return nil, nil, nil, nil
	case stdinFile:
		f, err := os.Open(s.path)
		return f, nil, nil, err
	case stdinInherit:
		return os.Stdin, nil, nil, nil
	case stdinPipe:
		return s.pipe, nil, nil, nil
	case stdinInteractive:
		r, w, err := os.Pipe()
		return r, w, nil, err
	case stdinReader:
		if f, ok := s.reader.(*os.File); ok {
			// The child reads the file itself, as with os/exec. A closed
			// file has descriptor -1 (an invalid handle on Windows), which
			// exec would pass on: the child's stdin would be closed (its
			// next open would take descriptor 0) or invalid. Fd has
			// exec's own side effect (a blocking descriptor), no other.
			if f.Fd() == ^uintptr(0) {
				return nil, nil, nil, os.ErrClosed
			}
			return f, nil, nil, nil
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, nil, nil, err
	}
	return r, w, &feeder{spec: s, w: w, done: make(chan struct{})}, nil
}

// given returns the file the run passes to the child as it was given,
// which the run must not close: the owner's stdin for InheritStdin, the
// caller's *os.File for Stdin.
func (s stdinSpec) given() *os.File {
	if f, ok := s.reader.(*os.File); ok && s.kind == stdinReader {
		return f
	}
	return os.Stdin
}

// runStdin is a run's side of the child's stdin: the pipe tether fills
// from the Cmd's source (with a feeder), or the writer Start hands out
// for InteractiveStdin.
type runStdin struct {
	w      *os.File     // the write end a feeder fills; nil otherwise
	feeder *feeder      // nil unless tether feeds stdin from a source
	writer *StdinWriter // RunningProcess.Stdin: fails unless interactive
}

func newRunStdin() *runStdin { return &runStdin{writer: &StdinWriter{err: errNotInteractive}} }

// set takes what the Cmd's stdin opened (stdinSpec.open): the write end
// of the child's pipe and the feeder that fills it. An InteractiveStdin's
// write end becomes the writer, when Start hands it out; the other verbs
// have no handle, so nobody could write to it, and it is closed at once:
// the child reads EOF, as documented.
func (s *runStdin) set(kind stdinKind, w *os.File, f *feeder, viaStart bool) {
	switch {
	case kind == stdinInteractive && viaStart:
		s.writer = &StdinWriter{w: w}
	case kind == stdinInteractive:
		_ = w.Close()
	default:
		s.w, s.feeder = w, f
	}
}

// start starts feeding the pipe, once the child runs.
func (s *runStdin) start() {
	if s.feeder != nil {
		go s.feeder.run()
	}
}

// abandon closes the write end of a run whose child never started.
func (s *runStdin) abandon() {
	if s.w != nil {
		s.w.Close()
	}
	s.writer.shut()
}

// childGone runs once the child is dead: the writer fails from then on,
// a source failing from then on failed no one, and a feeder blocked in a
// write returns at once.
func (s *runStdin) childGone() {
	s.writer.shut()
	if s.feeder != nil {
		s.feeder.ended.Store(true)
	}
	if s.w != nil {
		s.w.Close()
	}
}

// stop ends the feeding at the run's end (see feeder.stop) and returns
// the source's failure, if it failed before the run ended.
func (s *runStdin) stop() error {
	if s.feeder != nil && s.feeder.stop() {
		return s.feeder.err
	}
	return nil
}

// feeder copies a Cmd's stdin source into the child's pipe, in a
// goroutine of its own (run), and closes the pipe when the source ends.
//
// Failures on the two sides mean different things. A failed write is the
// child's doing (it exited or closed its stdin: a broken pipe) or the
// run's end (the monitor closed the pipe): never an error, as with a
// shell pipeline. A failed read of a user's reader is the source's
// failure: the child saw a truncated input and took it for the end, so
// the run reports it (Result.StdinErr, a *StdinError).
type feeder struct {
	spec stdinSpec
	w    *os.File
	done chan struct{} // closed when the source is no longer used
	// ended is set by the monitor once the run is over: a read error
	// after that (the deadline stop sets) is not the source's failure.
	ended atomic.Bool
	err   error // the source's read error; valid once done is closed
}

// run feeds the pipe until the source ends or the pipe refuses more.
func (f *feeder) run() {
	// done closes before the pipe does, so by the time the child can
	// see the end of its input, err is there for the monitor to read.
	defer f.w.Close()
	defer close(f.done)
	switch f.spec.kind {
	case stdinBytes:
		_, _ = f.w.Write(f.spec.bytes)
	case stdinLines:
		for line := range f.spec.lines {
			if _, err := io.WriteString(f.w, line+"\n"); err != nil {
				return
			}
		}
	case stdinReader:
		f.err = f.copyReader()
	}
}

// copyReader copies the user's reader into the pipe and returns the
// reader's error, if it failed before the run ended. Not io.Copy, which
// cannot tell a failed read from a failed write.
func (f *feeder) copyReader() error {
	buf := make([]byte, 32<<10)
	for {
		n, rerr := f.spec.reader.Read(buf)
		if n > 0 {
			if _, werr := f.w.Write(buf[:n]); werr != nil {
				return nil
			}
		}
		switch {
		case rerr == nil:
		case errors.Is(rerr, io.EOF):
			return nil
		case f.ended.Load():
			return nil
		default:
			return rerr
		}
	}
}

// stopWait bounds how long the monitor waits, at the run's end, for a
// feeder whose reader it has told to stop through a read deadline.
const stopWait = time.Second

// stop ends the feeding at the run's end and reports whether the feeder
// has finished, so its goroutine is gone. The pipe is already closed, so
// a feeder blocked in a write has returned or will at once; one blocked
// in a user's Read can be interrupted only through the reader itself: a
// reader with SetReadDeadline (a net.Conn, say) gets a
// deadline in the past. Any other reader's Read cannot be interrupted in
// Go; its goroutine ends when that Read returns.
func (f *feeder) stop() bool {
	f.ended.Store(true)
	if f.spec.kind != stdinReader {
		<-f.done
		return true
	}
	select {
	case <-f.done:
		return true
	default:
	}
	d, ok := f.spec.reader.(interface{ SetReadDeadline(time.Time) error })
	if !ok || d.SetReadDeadline(time.Unix(1, 0)) != nil {
		return false
	}
	t := time.NewTimer(stopWait)
	defer t.Stop()
	select {
	case <-f.done:
		return true
	case <-t.C:
		return false
	}
}

// Stdin returns a copy that reads stdin from r. r is one-shot: a second
// run of this Cmd (or of any copy sharing r) fails with ErrInvalid before
// spawning, since the bytes were consumed by the first. Use StdinBytes,
// StdinString, StdinLines or StdinFile for a Cmd that runs more than once.
//
// An *os.File (a file, a pipe's read end, a terminal) is passed to the
// child as its stdin, as os/exec does: the child reads it itself, can
// stat and seek it, and no goroutine copies it; its descriptor is the
// caller's, and the run never closes it (as with os/exec, a pipe's
// descriptor is left in blocking mode). Nothing reads it on tether's
// side, so no failure of it is reported: the child sees what the file
// gives. A nil *os.File is invalid; a closed one fails the start with a
// *StartError.
//
// Any other reader is copied into a pipe by a goroutine. If r fails
// (returns an error other than io.EOF) before the run ends, the child
// sees its input end there, and the run reports the failure:
// Result.StdinErr, and a *StdinError matching ErrStdin from every verb
// (after the child's own failure, which a must-succeed verb reports
// first). A child that stops reading early is not an error. When the run
// ends while a Read is still blocked, tether stops it if r has a
// SetReadDeadline method (a net.Conn, say: it sets a deadline in the
// past) and waits up to a second for it; any other reader's blocked Read
// cannot be interrupted, and the goroutine feeding the child ends only
// when that Read returns. To have tether copy an *os.File through a
// pipe anyway, wrap it (struct{ io.Reader }{f}).
func (c *Cmd) Stdin(r io.Reader) *Cmd {
	return c.with(func(n *Cmd) { n.stdin = stdinSpec{kind: stdinReader, reader: r, used: new(atomic.Bool)} })
}

// StdinBytes returns a copy whose stdin is b (copied now).
func (c *Cmd) StdinBytes(b []byte) *Cmd {
	b = slices.Clone(b)
	return c.with(func(n *Cmd) { n.stdin = stdinSpec{kind: stdinBytes, bytes: b} })
}

// StdinString returns a copy whose stdin is s.
func (c *Cmd) StdinString(s string) *Cmd { return c.StdinBytes([]byte(s)) }

// StdinLines returns a copy whose stdin is each line of seq followed by
// "\n". seq is iterated afresh on every run.
func (c *Cmd) StdinLines(seq iter.Seq[string]) *Cmd {
	return c.with(func(n *Cmd) { n.stdin = stdinSpec{kind: stdinLines, lines: seq} })
}

// InheritStdin returns a copy whose child reads the owner's own stdin
// (a terminal, a pipe). The child and the owner then share it.
func (c *Cmd) InheritStdin() *Cmd {
	return c.with(func(n *Cmd) { n.stdin = stdinSpec{kind: stdinInherit} })
}

// StdinFile returns a copy whose stdin is the file at path, opened afresh
// on every run (so a retried run reads it from the start).
func (c *Cmd) StdinFile(path string) *Cmd {
	return c.with(func(n *Cmd) { n.stdin = stdinSpec{kind: stdinFile, path: path} })
}

// InteractiveStdin returns a copy whose stdin is fed over time through
// RunningProcess.Stdin (write, write a line, send a control character,
// close for EOF). Only Start gives access to it; the other verbs run with
// stdin closed at once.
func (c *Cmd) InteractiveStdin() *Cmd {
	return c.with(func(n *Cmd) { n.stdin = stdinSpec{kind: stdinInteractive} })
}
