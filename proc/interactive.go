package proc

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"github.com/gotether/tether/contain"
)

// InteractiveStdin returns a copy whose stdin is fed over time through
// RunningProcess.Stdin (write, write a line, send a control character,
// close for EOF). Only Start gives access to it; the other verbs run with
// stdin closed at once.
func (c *Cmd) InteractiveStdin() *Cmd {
	return c.with(func(n *Cmd) { n.stdin = stdinSpec{kind: stdinInteractive} })
}

// StdinWriter writes to a running child's stdin. Its methods are safe for
// concurrent use. After Close, or once the run has ended, writes fail with
// an error matching contain.ErrClosed (or os.ErrClosed); for a command
// started without InteractiveStdin, with an *InvalidError.
type StdinWriter struct {
	mu  sync.Mutex
	w   *os.File // nil when stdin is not interactive
	err error
}

var errNotInteractive error = &InvalidError{Reason: "stdin is not interactive (use Cmd.InteractiveStdin)"}

// Write writes b to the child's stdin. It blocks while the pipe is full
// (the child is not reading).
func (s *StdinWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	w, err := s.w, s.err
	s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return w.Write(b)
}

// WriteString writes str.
func (s *StdinWriter) WriteString(str string) (int, error) { return s.Write([]byte(str)) }

// WriteLine writes line followed by "\n".
func (s *StdinWriter) WriteLine(line string) error {
	_, err := s.Write([]byte(line + "\n"))
	return err
}

// SendControl writes the control character Ctrl-c as one byte: 'C' (or
// 'c') gives 0x03, 'D' gives 0x04, '[' gives ESC. Without a terminal this
// is just a byte; no signal is generated (use RunningProcess.Signal).
func (s *StdinWriter) SendControl(c byte) error {
	if c >= 'a' && c <= 'z' {
		c -= 'a' - 'A'
	}
	if c < '@' || c > '_' {
		return &InvalidError{Reason: "SendControl takes a letter or one of @[\\]^_"}
	}
	_, err := s.Write([]byte{c & 0x1f})
	return err
}

// Close closes stdin: the child reads EOF.
func (s *StdinWriter) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil
	}
	s.err = contain.ErrClosed
	return s.w.Close()
}

// shut is Close at the end of the run.
func (s *StdinWriter) shut() { _ = s.Close() }

// Stdin returns the writer for the child's stdin. Unless the Cmd asked
// for InteractiveStdin, every method of the writer fails.
func (p *RunningProcess) Stdin() *StdinWriter { return p.stdin }

// FirstLine starts the command, returns the first line of stdout for
// which match is true, and then kills the tree and waits for the run to
// end. If stdout ends first it fails with an error matching ErrNoMatch
// (and ErrTimeout when the command's timeout ended the run). The command's
// timeout and ctx bound the wait.
func (c *Cmd) FirstLine(ctx context.Context, match func(Line) bool) (Line, error) {
	if err := c.entry(ctx); err != nil {
		return Line{}, err
	}
	p, err := c.Start(ctx)
	if err != nil {
		return Line{}, err
	}
	line, werr := p.waitLine(ctx, "first matching line", []Stream{Stdout}, match)
	kctx, cancel := context.WithTimeout(context.Background(), teardownTimeout)
	defer cancel()
	if err := p.Kill(kctx); err != nil {
		return Line{}, err
	}
	if werr == nil {
		return line, nil
	}
	r, rerr := p.Wait(kctx)
	if rerr != nil && !errors.Is(rerr, ErrCancelled) {
		return Line{}, rerr
	}
	nm := &NoMatchError{Program: c.name, Result: r}
	if ctx.Err() != nil {
		nm.cause = cancelCause(ctx)
	}
	return Line{}, nm
}

// ErrNoMatch means FirstLine's stream ended without a matching line.
var ErrNoMatch = errors.New("proc: no matching line")

// NoMatchError reports that no line matched. It matches ErrNoMatch, and
// ErrTimeout or ErrCancelled (and the context's error) when that is what
// ended the run.
type NoMatchError struct {
	Program string
	Result  *Result
	cause   error
}

func (e *NoMatchError) Error() string {
	s := "proc: " + e.Program + ": no line matched before stdout ended"
	if e.Result != nil {
		s += " (the process " + e.Result.Outcome.String() + ")"
	}
	return s
}

// Is matches ErrNoMatch, and ErrTimeout for a run ended by its timeout.
func (e *NoMatchError) Is(target error) bool {
	return target == ErrNoMatch || (target == ErrTimeout && e.Result != nil && e.Result.Outcome == TimedOut)
}

// Unwrap returns the context's error when the context ended the wait.
func (e *NoMatchError) Unwrap() error { return e.cause }

// Sample is one measurement of a running tree.
type Sample struct {
	At        time.Duration // since the profile began
	Processes int
	CPU       contain.Optional[time.Duration]
	Memory    contain.Optional[uint64]
}

// Profile is a running tree's resource use sampled over time.
type Profile struct {
	Duration time.Duration
	// CPU is the tree's CPU time at the end of the profile: the last
	// sample's, or, when the run ended and its mechanism counts exited
	// members (cgroup v2, Job Objects), the run's final figure
	// (Result.Usage.CPU).
	CPU        contain.Optional[time.Duration]
	PeakMemory contain.Optional[uint64] // the highest seen (or the container's own peak)
	Samples    []Sample
}

// add records one sample.
func (prof *Profile) add(at time.Duration, st contain.Stats) {
	prof.Samples = append(prof.Samples, Sample{At: at, Processes: st.Processes, CPU: st.CPU, Memory: st.Memory})
	if st.CPU.Valid {
		prof.CPU = st.CPU
	}
	prof.notePeak(st)
}

// finish takes the run's final usage, measured once its tree was dead
// and before its container was released.
func (prof *Profile) finish(u contain.Stats) {
	if u.CPUIncludesExited && u.CPU.Valid {
		prof.CPU = u.CPU
	}
	prof.notePeak(u)
}

func (prof *Profile) notePeak(st contain.Stats) {
	peak := st.MemoryPeak
	if m, ok := st.Memory.Get(); ok && (!peak.Valid || m > peak.Value) {
		peak = contain.Some(m)
	}
	if v, ok := peak.Get(); ok && (!prof.PeakMemory.Valid || v > prof.PeakMemory.Value) {
		prof.PeakMemory = contain.Some(v)
	}
}

// Profile samples the tree's CPU and memory every interval until the run
// ends or ctx ends, from the container (cgroup v2 and Job Objects measure
// the whole tree, exited members included; process groups sum the live
// members on Linux). It does not stop the run. Samples stop when the run's
// container is being released; a run that ended contributes its final
// usage to CPU and PeakMemory.
func (p *RunningProcess) Profile(ctx context.Context, interval time.Duration) (*Profile, error) {
	if ctx == nil {
		return nil, nilContext(p.cmd.name, "Profile")
	}
	if interval <= 0 {
		return nil, &InvalidError{Program: p.cmd.name, Reason: "profile interval must be positive"}
	}
	began := time.Now()
	prof := &Profile{}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		// releasing is read after Stats: if it is still false, the
		// container was not yet being released when Stats read it.
		if st, err := p.container.Stats(); err == nil && !p.releasing.Load() {
			prof.add(time.Since(began), st)
		}
		if testHookProfiled != nil {
			testHookProfiled()
		}
		select {
		case <-ctx.Done():
			prof.Duration = time.Since(began)
			return prof, ctx.Err()
		case <-p.done:
			if p.result != nil {
				prof.finish(p.result.Usage)
			}
			prof.Duration = time.Since(began)
			return prof, nil
		case <-t.C:
		}
	}
}

// testHookProfiled, when set by a test, runs after every look Profile
// takes at the container.
var testHookProfiled func()

var _ io.Writer = (*StdinWriter)(nil)
