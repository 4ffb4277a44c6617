package proc

import (
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gotether/tether/encoding"
)

const (
	// drainTimeout bounds the wait for pipes to reach EOF once the tree
	// is confirmed dead. Only a process outside the container (a setsid
	// escapee under pgid) can hold a pipe that long.
	drainTimeout = 250 * time.Millisecond
	// drainLimit bounds the whole drain when bytes keep arriving in a
	// pipe after the tree is dead (a holder outside the container that
	// keeps writing).
	drainLimit = 5 * time.Second
)

// streams is a run's stdout and stderr as tether reads them: a capture
// per stream it reads, the goroutines draining them, the hub that fans
// their lines out to readers, the time of the last output byte (for
// IdleTimeout), the panics of OnLine callbacks, and the overflow signal
// (a cap under CapFail, or a reader under FailOverflow, was passed).
type streams struct {
	out, err *capture   // nil for a stream tether does not read
	reads    []*os.File // the pipes' read ends, closed if a drain overruns
	// draining counts the drains still running; the last one to end
	// closes drained. Both are set by drain, before any drain runs.
	draining atomic.Int32
	drained  chan struct{}
	hub      *hub
	liners   []*liner
	activity atomic.Int64 // unix nanoseconds of the last output byte
	panics   callbackPanics

	overflow     chan struct{} // closed once an overflow kills the run
	overflowOnce sync.Once

	// merged: stderr is on stdout's descriptor (ToStdout), so what a
	// fake run writes to stderr is stdout's, as the kernel would have it.
	merged bool
}

// callbackPanics collects the panics of OnLine callbacks, from the drain
// goroutines of both streams.
type callbackPanics struct {
	mu   sync.Mutex
	errs []error
}

func (cp *callbackPanics) add(err error) {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	cp.errs = append(cp.errs, err)
}

func (cp *callbackPanics) list() []error {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	return cp.errs
}

// newStreams makes the streams of a run of c, with no capture yet.
func newStreams(c *Cmd) *streams {
	s := &streams{overflow: make(chan struct{})}
	ls := c.lines.withDefaults()
	s.hub = newHub(ls.bufLines, ls.bufBytes, ls.policy, s.overflowed)
	return s
}

// overflowed signals, once, that output went over a limit whose policy
// kills the run.
func (s *streams) overflowed() {
	s.overflowOnce.Do(func() { close(s.overflow) })
}

// hasOverflowed reports whether output went over such a limit.
func (s *streams) hasOverflowed() bool { return closed(s.overflow) }

// wantsLines says whether a run of c splits its output into lines: when
// someone can read them, a started process (its streams may be read
// later) or OnLine callbacks. A plain Output without callbacks pays
// nothing for them.
func wantsLines(c *Cmd, viaStart bool) bool { return viaStart || len(c.lines.onLine) > 0 }

// add makes the capture of stream st of a run of c, reading r (nil for a
// fake run, which is written to instead). viaStart says the run's handle
// is handed out (Start): then its lines are split (see wantsLines), its
// tail is kept for Status and a ToReader stream gets its raw reader;
// otherwise nobody could read them. A stderr sent to stdout (ToStdout)
// has no capture of its own: its bytes are stdout's.
func (s *streams) add(c *Cmd, st Stream, r *os.File, viaStart bool) {
	spec := c.stdout
	if st == Stderr {
		spec = c.stderr
		if spec.mode == modeStdout || c.term.set {
			// A terminal merges the streams as 2>&1 does.
			s.merged = true
			return
		}
	}
	cp := &capture{r: r, limit: spec.limit, policy: spec.policy, tee: spec.w, over: s.overflowed, activity: &s.activity}
	if wantsLines(c, viaStart) {
		cp.lines = s.newLiner(c, st)
	}
	if viaStart {
		cp.tail = &tailRing{}
		cp.prompt = &promptWatch{}
		if spec.mode == modeReader {
			cp.tap = newByteTap(c.name, st)
		}
	}
	if cp.tee != nil {
		cp.teeMu = s.teeLock(cp.tee)
	}
	if r != nil {
		s.reads = append(s.reads, r)
	}
	if st == Stdout {
		s.out = cp
	} else {
		s.err = cp
	}
}

func (s *streams) newLiner(c *Cmd, st Stream) *liner {
	ls := c.lines.withDefaults()
	enc := ls.enc[st]
	if enc == (encoding.Encoding{}) {
		enc = encoding.UTF8
	}
	l := &liner{
		stream: st,
		r:      encoding.NewLineReader(enc, encoding.SplitterOptions{Terminators: ls.terms, MaxLine: ls.maxLine}),
		hub:    s.hub,
		cbs:    ls.onLine,
		dead:   make([]bool, len(ls.onLine)),
		panics: &s.panics,
	}
	if c.strip {
		l.strip = &stripper{}
	}
	s.liners = append(s.liners, l)
	return l
}

// began records that the child started at t: the hub's EventStarted
// time, and the idle clock's first activity.
func (s *streams) began(t time.Time) {
	s.hub.started = t
	s.activity.Store(t.UnixNano())
}

// lastActivity is when the child last wrote a byte (or started).
func (s *streams) lastActivity() time.Time { return time.Unix(0, s.activity.Load()) }

// drain starts draining every pipe, a goroutine each.
func (s *streams) drain() {
	var cps [2]*capture
	n := 0
	for _, cp := range [2]*capture{s.out, s.err} {
		if cp != nil && cp.r != nil {
			cps[n] = cp
			n++
		}
	}
	if n == 0 {
		return
	}
	s.drained = make(chan struct{})
	s.draining.Store(int32(n))
	for _, cp := range cps[:n] {
		go func() {
			cp.drain()
			if s.draining.Add(-1) == 0 {
				close(s.drained)
			}
		}()
	}
}

// settle waits, once the tree is dead, for the pipes to reach EOF. It
// reports whether reading had to be cut (see cut) instead.
func (s *streams) settle() (cut bool) {
	if s.drained == nil {
		return false // nothing was drained
	}
	select {
	case <-s.drained:
		return false // the common case: no timer needed
	default:
	}
	t := time.NewTimer(drainTimeout)
	defer t.Stop()
	select {
	case <-s.drained:
		return false
	case <-t.C:
		return s.cut(s.drained)
	}
}

// cut runs once the tree is dead but the drains have not reached EOF
// within drainTimeout. Either someone outside the container holds a
// pipe's write end (an escapee of a process group), and reading must stop
// rather than wait forever; or the host is so loaded that the readers
// have not caught up, and stopping would lose output. Bytes still queued
// in a pipe tell the two apart: reading stops only once every pipe is
// empty (nothing is lost then: an empty pipe whose writers are all dead
// would only give EOF), or after drainLimit whatever is queued, against a
// holder that keeps writing. It reports whether it stopped the reading.
func (s *streams) cut(drained <-chan struct{}) bool {
	deadline := time.Now().Add(drainLimit - drainTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		queued := 0
		for _, r := range s.reads {
			if n, ok := pendingBytes(r); ok {
				queued += n
			}
		}
		if queued == 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-drained:
			return false
		case <-tick.C:
		}
	}
	for _, r := range s.reads {
		r.Close()
	}
	<-drained
	return true
}

// closeReads closes the pipes' read ends of a run that never started.
func (s *streams) closeReads() {
	for _, r := range s.reads {
		r.Close()
	}
}

// feed delivers b to stream st as a drain delivers what it reads: the
// output of a fake run, whose captures no drain reads. With stderr sent
// to stdout, stderr's bytes are stdout's.
func (s *streams) feed(st Stream, b []byte) {
	cp := s.out
	if st == Stderr && !s.merged {
		cp = s.err
	}
	s.activity.Store(time.Now().UnixNano())
	cp.write(b)
	if cp.lines != nil {
		cp.lines.write(b)
	}
	cp.prompt.write(b)
}

// flush delivers the last, unterminated lines of a fake run, whose
// captures no drain reads to EOF, and ends its raw readers.
func (s *streams) flush() {
	for _, cp := range []*capture{s.out, s.err} {
		if cp != nil && cp.lines != nil {
			cp.lines.flush()
		}
		if cp != nil {
			cp.tap.end()
			cp.prompt.end()
		}
	}
}

// unblock runs once the tree is dead: neither a line reader under Block
// nor a raw reader (ToReader) holds the drains back from then on.
func (s *streams) unblock() {
	s.hub.unblock()
	for _, cp := range []*capture{s.out, s.err} {
		if cp != nil {
			cp.tap.unblock()
		}
	}
}

// report puts what the streams carried into r: the captured bytes and
// their counts, the line counters, the invalid sequences the decoders
// replaced, the callbacks' panics, and whether an overflow failed the
// run.
func (s *streams) report(r *Result) {
	if s.out != nil {
		r.Stdout = s.out.bytes()
		r.StdoutTotal, r.StdoutTruncated = s.out.stats()
	}
	if s.err != nil {
		r.Stderr = s.err.bytes()
		r.StderrTotal, r.StderrTruncated = s.err.stats()
	}
	r.Streams = s.hub.snapshot()
	for _, l := range s.liners {
		if l.stream == Stdout {
			r.Streams.Stdout.Replaced = l.r.Replaced()
		} else {
			r.Streams.Stderr.Replaced = l.r.Replaced()
		}
	}
	r.CallbackErrors = s.panics.list()
	r.tooLarge = s.hasOverflowed()
}
