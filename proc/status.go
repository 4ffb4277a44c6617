package proc

import (
	"slices"
	"time"

	"github.com/gotether/tether/contain"
)

// StatusTail is how many of a stream's last bytes Status keeps: 4 KiB.
const StatusTail = 4 << 10

// RunState is where a run is in its life.
type RunState int

// The states a run goes through, in this order.
const (
	// StateRunning: the direct child runs, and nothing is ending the run.
	StateRunning RunState = iota + 1
	// StateStopping: the run is ending. Its direct child has exited, or
	// the run's timeout, context, idle timeout, an overflow or a kill
	// request (Kill, its group, its pipeline) is stopping it; the rest of
	// the tree is being killed and its output drained.
	StateStopping
	// StateEnded: the run is over and its Result is ready (Wait returns
	// at once, Done is closed).
	StateEnded
)

func (s RunState) String() string {
	switch s {
	case StateRunning:
		return "running"
	case StateStopping:
		return "stopping"
	case StateEnded:
		return "ended"
	}
	return "unknown"
}

// Status is a snapshot of a run, as RunningProcess.Status takes it.
type Status struct {
	// Pid is the direct child's process id; Mechanism holds the tree.
	Pid       int
	Mechanism contain.Mechanism
	// State says whether the run is running, ending or over.
	State RunState
	// StartTime is when the child was spawned. Elapsed is the time since
	// then, or, once the direct child has exited, its lifetime (equal to
	// Result.Duration once the run has ended).
	StartTime time.Time
	Elapsed   time.Duration
	// Stdout and Stderr are what each stream carried so far. A stream
	// tether does not read (Inherit, Discard, a file) counts nothing;
	// with stderr sent to stdout (ToStdout) Stdout counts both.
	Stdout, Stderr StreamStatus
	// Result is the run's Result once State is StateEnded, else nil.
	Result *Result
}

// StreamStatus is what one stream carried so far.
type StreamStatus struct {
	// Bytes counts every byte the child wrote to the stream so far,
	// captured or not (Result.StdoutTotal once the run has ended).
	Bytes int64
	// Lines counts the lines so far (Result.Streams.Stdout.Lines once
	// the run has ended): a last line without a terminator counts only
	// once the stream has ended.
	Lines int64
	// Tail holds the stream's last bytes, at most StatusTail of them,
	// exactly as written (a copy: the caller may keep it). It may begin
	// in the middle of a line or of a character.
	Tail []byte
}

// Status returns a snapshot of the run: its pid, its state, how long it
// has run, and per stream the bytes and lines so far with the last
// StatusTail bytes. It is cheap (two short locks and a copy of at most
// 8 KiB), never blocks on the child or on readers, and may be called at
// any time from any goroutine. Its counts only grow, and once the run has
// ended they are the Result's: Stdout.Bytes is Result.StdoutTotal,
// Stdout.Lines is Result.Streams.Stdout.Lines, Elapsed is
// Result.Duration, and Status.Result is the Result itself.
func (p *RunningProcess) Status() Status {
	st := Status{Pid: p.child.pid, Mechanism: p.container.Mechanism(), StartTime: p.child.started, State: StateRunning}
	switch {
	case closed(p.done):
		st.State, st.Result = StateEnded, p.final.result
	case p.stopping.Load() || p.hasExited():
		st.State = StateStopping
	}
	if p.hasExited() {
		st.Elapsed = p.child.exitAt.Sub(p.child.started)
	} else {
		st.Elapsed = time.Since(p.child.started)
	}
	counts := p.streams.hub.snapshot()
	st.Stdout = p.streams.out.status(counts.Stdout.Lines)
	st.Stderr = p.streams.err.status(counts.Stderr.Lines)
	if r := st.Result; r != nil {
		// Nothing changes once the run has ended; these are the
		// Result's by construction, not by coincidence.
		st.Elapsed = r.Duration
		st.Stdout.Bytes, st.Stdout.Lines = r.StdoutTotal, r.Streams.Stdout.Lines
		st.Stderr.Bytes, st.Stderr.Lines = r.StderrTotal, r.Streams.Stderr.Lines
	}
	return st
}

// status is the capture's part of a StreamStatus; a nil capture (a
// stream tether does not read) counts nothing.
func (c *capture) status(lines int64) StreamStatus {
	if c == nil {
		return StreamStatus{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return StreamStatus{Bytes: c.total, Lines: lines, Tail: c.tail.bytes()}
}

// tailRing keeps a stream's last StatusTail bytes.
type tailRing struct {
	buf []byte
}

// add keeps the last bytes of p. A nil ring (a run whose handle is not
// handed out) keeps nothing. Called with the capture's lock held.
func (t *tailRing) add(p []byte) {
	if t == nil {
		return
	}
	if t.buf == nil {
		t.buf = make([]byte, 0, StatusTail)
	}
	if len(p) >= StatusTail {
		t.buf = append(t.buf[:0], p[len(p)-StatusTail:]...)
		return
	}
	if over := len(t.buf) + len(p) - StatusTail; over > 0 {
		t.buf = t.buf[:copy(t.buf, t.buf[over:])]
	}
	t.buf = append(t.buf, p...)
}

// bytes returns a copy of the kept bytes.
func (t *tailRing) bytes() []byte {
	if t == nil || len(t.buf) == 0 {
		return nil
	}
	return slices.Clone(t.buf)
}
