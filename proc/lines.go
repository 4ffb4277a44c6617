package proc

import (
	"cmp"
	"context"
	"iter"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/gotether/tether/encoding"
)

// Stream names one of a child's output streams.
type Stream int

// The output streams.
const (
	Stdout Stream = iota + 1
	Stderr
)

// String names the stream ("stdout"); an unknown value prints as
// Stream(n).
func (s Stream) String() string {
	switch s {
	case Stdout:
		return "stdout"
	case Stderr:
		return "stderr"
	}
	return "Stream(" + strconv.Itoa(int(s)) + ")"
}

// Line is one line of a child's output, decoded to UTF-8 (see
// Cmd.Encoding) and without its terminator.
type Line struct {
	Stream Stream
	Text   string
	// Seq numbers the lines of one stream from 1.
	Seq int64
	// Cut is set when the line was longer than the maximum line size
	// (Cmd.MaxLine) and was cut there; the rest follows as further lines.
	Cut bool
	// Partial is set on the last line of a stream that ended without a
	// terminator.
	Partial bool
}

// EventKind says what an Event reports.
type EventKind int

// The event kinds of RunningProcess.Events.
const (
	// EventStarted is the first event of every Events iteration.
	EventStarted EventKind = iota + 1
	// EventLine carries a line of stdout or stderr (see Line.Stream).
	EventLine
	// EventExited is the last event: the run has ended and Result is set.
	EventExited
)

// String names the kind ("line"); an unknown value prints as
// EventKind(n).
func (k EventKind) String() string {
	switch k {
	case EventStarted:
		return "started"
	case EventLine:
		return "line"
	case EventExited:
		return "exited"
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is one item of the merged event stream.
type Event struct {
	Kind   EventKind
	Time   time.Time
	Line   Line    // for EventLine
	Result *Result // for EventExited
}

// Overflow is what happens when a reader of a line stream falls behind
// and its buffer is full.
type Overflow int

// The overflow policies.
const (
	// Block stops reading the child's pipe until the reader catches up, so
	// the child blocks on its next write (backpressure). Nothing is lost
	// while the child runs; once the tree is dead, lines that still do
	// not fit are dropped and counted, so that Wait and Kill never stall.
	Block Overflow = iota + 1
	// DropOldest discards the oldest buffered line to make room.
	DropOldest
	// DropNewest discards the line that does not fit.
	DropNewest
	// FailOverflow kills the tree; the run fails with ErrOutputTooLarge.
	FailOverflow
)

// String names the policy ("drop oldest"); an unknown value prints as
// Overflow(n).
func (o Overflow) String() string {
	switch o {
	case Block:
		return "block"
	case DropOldest:
		return "drop oldest"
	case DropNewest:
		return "drop newest"
	case FailOverflow:
		return "fail"
	}
	return "Overflow(" + strconv.Itoa(int(o)) + ")"
}

// Defaults for line streams. The longest line delivered whole is
// encoding.DefaultMaxLine (1 MiB) unless Cmd.MaxLine says otherwise; a
// longer one is cut there (Line.Cut).
const (
	// DefaultBufferLines and DefaultBufferBytes bound each reader's
	// buffer.
	DefaultBufferLines = 10_000
	DefaultBufferBytes = 16 << 20
)

// StreamCounters counts what one stream carried.
type StreamCounters struct {
	// Bytes and Lines count what the child wrote (bytes before decoding).
	Bytes, Lines int64
	// Dropped counts lines a reader did not receive because its buffer
	// overflowed (summed over readers).
	Dropped int64
	// Replaced counts invalid byte sequences decoded as U+FFFD in the
	// line stream (set in Result.Streams once the run has ended).
	Replaced int64
}

// Counters are the per-stream counters of a run.
type Counters struct {
	Stdout, Stderr StreamCounters
}

// lineSpec is how a Cmd turns output into lines.
type lineSpec struct {
	enc      [3]encoding.Encoding // per stream; the zero value means UTF-8
	terms    encoding.Terminators
	maxLine  int
	bufLines int
	bufBytes int64
	policy   Overflow
	onLine   []func(Line)
	idle     time.Duration
}

// Encoding returns a copy whose stdout and stderr are decoded from e: for
// line streams, callbacks and readiness waits, and for Result.StdoutText and
// StderrText. The raw bytes (Result.Stdout, Tee) are never decoded. The
// default is UTF-8, with invalid bytes replaced by U+FFFD.
func (c *Cmd) Encoding(e encoding.Encoding) *Cmd {
	return c.with(func(n *Cmd) { n.lines.enc[Stdout], n.lines.enc[Stderr] = e, e })
}

// StdoutEncoding returns a copy whose stdout is decoded from e.
func (c *Cmd) StdoutEncoding(e encoding.Encoding) *Cmd {
	return c.with(func(n *Cmd) { n.lines.enc[Stdout] = e })
}

// StderrEncoding returns a copy whose stderr is decoded from e.
func (c *Cmd) StderrEncoding(e encoding.Encoding) *Cmd {
	return c.with(func(n *Cmd) { n.lines.enc[Stderr] = e })
}

// LineTerminators returns a copy that splits lines at t. The default
// splits at "\n" and "\r\n"; encoding.CR also splits at a lone "\r", which
// progress bars use to redraw a line.
func (c *Cmd) LineTerminators(t encoding.Terminators) *Cmd {
	return c.with(func(n *Cmd) { n.lines.terms = t })
}

// MaxLine returns a copy that cuts lines longer than n bytes (after
// decoding) into pieces of n, each flagged Line.Cut, so a flood without
// newlines cannot grow memory. The default is encoding.DefaultMaxLine (1 MiB).
func (c *Cmd) MaxLine(n int) *Cmd { return c.with(func(n2 *Cmd) { n2.lines.maxLine = n }) }

// LineBuffer returns a copy whose line-stream readers each buffer at most
// lines lines and bytes bytes, with policy deciding what happens when a
// reader falls behind (Block, DropOldest, DropNewest, FailOverflow). Drops
// are counted exactly (Counters, Result.Streams). The default is
// DefaultBufferLines, DefaultBufferBytes and Block.
func (c *Cmd) LineBuffer(lines int, bytes int64, policy Overflow) *Cmd {
	return c.with(func(n *Cmd) { n.lines.bufLines, n.lines.bufBytes, n.lines.policy = lines, bytes, policy })
}

// OnLine returns a copy that calls f for every line of stdout and stderr,
// in order per stream, from the drain goroutine of that stream (so a slow
// f slows the draining of that pipe, as Block does). Lines come only from
// streams tether reads (Capture, the default, Tee or ToReader); a stream
// sent to Inherit, Discard or a file yields none, and a stderr sent to
// stdout (ToStdout) yields its lines as stdout's. A callback that
// panics is recovered, disabled for the rest of the run and reported in
// Result.CallbackErrors as a *CallbackError; the other callbacks and the
// draining go on.
func (c *Cmd) OnLine(f func(Line)) *Cmd {
	return c.with(func(n *Cmd) { n.lines.onLine = append(append([]func(Line){}, n.lines.onLine...), f) })
}

// IdleTimeout returns a copy whose tree is killed when neither stdout nor
// stderr produced a byte for d; the Result's Outcome is then IdleTimedOut.
// Only captured (or streamed) output counts: use it with Capture, Tee or
// ToReader.
func (c *Cmd) IdleTimeout(d time.Duration) *Cmd { return c.with(func(n *Cmd) { n.lines.idle = d }) }

func (s lineSpec) validate(program string) error {
	switch {
	case s.maxLine < 0:
		return &InvalidError{Program: program, Reason: "negative maximum line size"}
	case s.bufLines < 0 || s.bufBytes < 0:
		return &InvalidError{Program: program, Reason: "negative line buffer bound"}
	case s.policy != 0 && (s.policy < Block || s.policy > FailOverflow):
		return &InvalidError{Program: program, Reason: "unknown overflow policy"}
	case s.idle < 0:
		return &InvalidError{Program: program, Reason: "negative idle timeout"}
	}
	for _, f := range s.onLine {
		if f == nil {
			return &InvalidError{Program: program, Reason: "nil OnLine callback"}
		}
	}
	return nil
}

// withDefaults fills in the options left at zero.
func (s lineSpec) withDefaults() lineSpec {
	s.maxLine = cmp.Or(s.maxLine, encoding.DefaultMaxLine)
	s.bufLines = cmp.Or(s.bufLines, DefaultBufferLines)
	s.bufBytes = cmp.Or(s.bufBytes, DefaultBufferBytes)
	s.policy = cmp.Or(s.policy, Block)
	return s
}

// liner turns one stream's chunks into lines: a persistent decoder and
// splitter, the callbacks, and the hub.
type liner struct {
	stream Stream
	r      *encoding.LineReader
	hub    *hub
	cbs    []func(Line)
	dead   []bool
	panics *callbackPanics // shared by both streams
	// strip, when not nil, removes control sequences from the lines
	// (StripControls); it follows a sequence from one line to the next.
	strip *stripper
}

func (l *liner) write(chunk []byte) {
	l.hub.addBytes(l.stream, len(chunk))
	l.r.Write(chunk, l.emit)
}

func (l *liner) flush() { l.r.Flush(l.emit) }

func (l *liner) emit(el encoding.Line) {
	text := el.Text()
	if l.strip != nil {
		text = string(l.strip.appendStripped(make([]byte, 0, len(text)), text))
	}
	line := Line{Stream: l.stream, Text: text, Cut: el.Cut, Partial: el.Partial}
	for i, f := range l.cbs {
		if !l.dead[i] {
			l.call(i, f, line)
		}
	}
	l.hub.publish(line)
}

func (l *liner) call(i int, f func(Line), line Line) {
	defer func() {
		if v := recover(); v != nil {
			l.dead[i] = true
			l.panics.add(&CallbackError{Index: i, Stream: l.stream, Value: v, Stack: debug.Stack()})
		}
	}()
	f(line)
}

// StdoutLines returns stdout as a sequence of lines. Each iteration is a
// reader of its own: every reader sees every line (none steals from
// another), starting with the recent lines printed before it began (up to
// the last 1000; use Cmd.OnLine to see every line from the start). The
// sequence ends when the run has ended and the reader has had every line.
// A reader that falls behind is handled by the Cmd's LineBuffer policy;
// stopping the iteration (break) stops the reader. A stream that tether
// does not read (Inherit, Discard, a file) has no lines: its iteration
// ends with the run.
func (p *RunningProcess) StdoutLines() iter.Seq[Line] { return p.lineSeq(Stdout) }

// StderrLines is StdoutLines for stderr.
func (p *RunningProcess) StderrLines() iter.Seq[Line] { return p.lineSeq(Stderr) }

// Lines returns the lines of both streams, each tagged with its Stream,
// in the order tether published them, the recent history included. Within
// a stream that is the order the child wrote them; across two pipes read
// by two goroutines it is not always (a stderr line written just after a
// stdout line may come first): use Stderr(ToStdout()) where that order
// matters.
func (p *RunningProcess) Lines() iter.Seq[Line] { return p.lineSeq(Stdout, Stderr) }

func (p *RunningProcess) lineSeq(streams ...Stream) iter.Seq[Line] {
	return func(yield func(Line) bool) {
		s := p.streams.hub.subscribe(streams, false, true)
		defer p.streams.hub.unsubscribe(s)
		for {
			ev, ok := p.streams.hub.next(context.Background(), s)
			if !ok || !yield(ev.Line) {
				return
			}
		}
	}
}

// Events returns the merged event stream: EventStarted, then every line
// of stdout and stderr as it arrives (the recent ones first, as with
// StdoutLines), then EventExited with the Result.
func (p *RunningProcess) Events() iter.Seq[Event] {
	return func(yield func(Event) bool) {
		s := p.streams.hub.subscribe([]Stream{Stdout, Stderr}, true, true)
		defer p.streams.hub.unsubscribe(s)
		for {
			ev, ok := p.streams.hub.next(context.Background(), s)
			if !ok || !yield(ev) {
				return
			}
		}
	}
}

// Counters returns the bytes and lines each stream carried so far, and
// the lines readers lost to overflow.
func (p *RunningProcess) Counters() Counters { return p.streams.hub.snapshot() }

// waitLine is the core of the line waits (WaitForLine, FirstLine, ...):
// the first line of streams (recent history included) for which match is
// true.
func (p *RunningProcess) waitLine(ctx context.Context, what string, streams []Stream, match func(Line) bool) (Line, error) {
	if ctx == nil {
		return Line{}, nilContext(p.cmd.name, what)
	}
	s := p.streams.hub.subscribe(streams, false, true)
	defer p.streams.hub.unsubscribe(s)
	for {
		ev, ok := p.streams.hub.next(ctx, s)
		if !ok {
			return Line{}, p.notReady(ctx, what)
		}
		if match(ev.Line) {
			return ev.Line, nil
		}
	}
}
