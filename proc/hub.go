package proc

import (
	"context"
	"sync"
	"time"
)

// historyLines and historyBytes bound the recent lines a stream keeps
// so that a readiness wait started late still sees a line printed
// early.
const (
	historyLines = 1000
	historyBytes = 1 << 20
)

// hub fans the lines of both streams out to every reader. Each reader has
// its own bounded queue; the policy decides what happens when one is full.
// One mutex and one condition variable serve producers (the drain
// goroutines) and consumers (iterators, readiness waits): lines are rare events
// next to the system calls that produce them.
type hub struct {
	mu   sync.Mutex
	cond *sync.Cond

	subs     map[*sub]struct{}
	maxLines int
	maxBytes int64
	policy   Overflow
	// over is called (once, by the caller's Once) on FailOverflow.
	over func()

	history  [3][]histLine // per stream, oldest first
	histSize [3]int64
	// published numbers the lines of both streams in the order they were
	// published, so a reader of both gets the history in that order.
	published uint64
	counters  [3]StreamCounters
	started   time.Time

	unblocked bool // the tree is dead: producers never block again
	closed    bool // no more events
	final     *Event
}

// sub is one reader.
type sub struct {
	mask   [3]bool // which streams
	events bool    // also lifecycle events (Events)
	queue  []Event
	head   int
	bytes  int64
	gone   bool // the reader stopped (break, or its context ended)
}

func newHub(maxLines int, maxBytes int64, policy Overflow, over func()) *hub {
	h := &hub{subs: map[*sub]struct{}{}, maxLines: maxLines, maxBytes: maxBytes, policy: policy, over: over}
	h.cond = sync.NewCond(&h.mu)
	return h
}

func lineSize(l Line) int64 { return int64(len(l.Text)) + 64 }

// histLine is a line kept in the history, with its place in the order
// in which the lines of both streams were published.
type histLine struct {
	line Line
	n    uint64
}

// publish delivers a line to every reader of its stream, and keeps it in
// the stream's history.
func (h *hub) publish(l Line) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := &h.counters[l.Stream]
	c.Lines++
	l.Seq = c.Lines
	h.published++
	hist := append(h.history[l.Stream], histLine{line: l, n: h.published})
	h.histSize[l.Stream] += lineSize(l)
	for len(hist) > historyLines || (h.histSize[l.Stream] > historyBytes && len(hist) > 1) {
		h.histSize[l.Stream] -= lineSize(hist[0].line)
		hist = hist[1:]
	}
	h.history[l.Stream] = hist
	ev := Event{Kind: EventLine, Time: time.Now(), Line: l}
	for s := range h.subs {
		if s.mask[l.Stream] {
			h.enqueue(s, ev)
		}
	}
}

// enqueue adds ev to s's queue under the policy. Called with h.mu held.
func (h *hub) enqueue(s *sub, ev Event) {
	size := lineSize(ev.Line)
	fits := func() bool {
		n := len(s.queue) - s.head
		return n < h.maxLines && (s.bytes+size <= h.maxBytes || n == 0)
	}
	for !fits() {
		if s.gone {
			return
		}
		switch {
		case h.policy == Block && !h.unblocked:
			h.cond.Wait()
			continue
		case h.policy == DropOldest && len(s.queue) > s.head:
			old := s.queue[s.head]
			s.bytes -= lineSize(old.Line)
			s.queue[s.head] = Event{}
			s.head++
			if old.Kind == EventLine {
				h.counters[old.Line.Stream].Dropped++
			}
			continue
		case h.policy == FailOverflow && h.over != nil:
			h.over()
		}
		h.counters[ev.Line.Stream].Dropped++
		return
	}
	if s.head > 0 && s.head == len(s.queue) {
		s.queue, s.head = s.queue[:0], 0
	}
	s.queue = append(s.queue, ev)
	s.bytes += size
	h.cond.Broadcast()
}

// subscribe registers a reader. With history the reader first receives
// the recent lines of its streams, in the order they were published
// (the order a reader that was there all along received them).
func (h *hub) subscribe(streams []Stream, events, history bool) *sub {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := &sub{events: events}
	var hists [][]histLine
	for _, st := range streams {
		s.mask[st] = true
		if history {
			hists = append(hists, h.history[st])
		}
	}
	// Merge the streams' histories, each in publish order, by that order.
	for {
		next := -1
		for i, hist := range hists {
			if len(hist) > 0 && (next < 0 || hist[0].n < hists[next][0].n) {
				next = i
			}
		}
		if next < 0 {
			break
		}
		l := hists[next][0].line
		hists[next] = hists[next][1:]
		s.queue = append(s.queue, Event{Kind: EventLine, Line: l})
		s.bytes += lineSize(l)
	}
	if events {
		s.queue = append([]Event{{Kind: EventStarted, Time: h.started}}, s.queue...)
	}
	if h.closed {
		if events && h.final != nil {
			s.queue = append(s.queue, *h.final)
		}
		s.gone = true // nothing more will come; what is queued is still read
		return s
	}
	h.subs[s] = struct{}{}
	return s
}

func (h *hub) unsubscribe(s *sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s.gone = true
	delete(h.subs, s)
	h.cond.Broadcast() // a producer may be blocked on s
}

// next returns the reader's next event, blocking until there is one. It
// returns false once the hub is closed and the queue is empty, or when
// ctx ends.
func (h *hub) next(ctx context.Context, s *sub) (Event, bool) {
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.cond.Broadcast()
		})
		defer stop()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for {
		if s.head < len(s.queue) {
			ev := s.queue[s.head]
			s.queue[s.head] = Event{}
			s.head++
			s.bytes -= lineSize(ev.Line)
			h.cond.Broadcast() // room for a blocked producer
			return ev, true
		}
		// A reader that subscribed after the close was marked gone at
		// once; it still gets what was queued for it, above.
		if h.closed || s.gone || ctx.Err() != nil {
			return Event{}, false
		}
		h.cond.Wait()
	}
}

// unblock lets producers stop blocking: the tree is dead.
func (h *hub) unblock() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.unblocked = true
	h.cond.Broadcast()
}

// close ends every reader after what it has queued, appending the final
// event for the readers of Events.
func (h *hub) close(final Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.final = &final
	for s := range h.subs {
		if s.events {
			s.queue = append(s.queue, final)
		}
	}
	h.closed = true
	h.unblocked = true
	h.cond.Broadcast()
}

func (h *hub) addBytes(st Stream, n int) {
	h.mu.Lock()
	h.counters[st].Bytes += int64(n)
	h.mu.Unlock()
}

func (h *hub) snapshot() Counters {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Counters{Stdout: h.counters[Stdout], Stderr: h.counters[Stderr]}
}
