package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/teardown"
)

// DefaultStageStderrCap is the stderr cap of a pipeline stage whose Cmd
// does not set one with CapStderr: 64 KiB, keeping the tail. A pipeline
// runs several programs at once, and only the culprit's stderr is usually
// read, so stages get a smaller bound than a single run's DefaultCap.
const DefaultStageStderrCap = 64 << 10

// Pipeline is an immutable spec of commands connected like a shell
// pipeline, without a shell: each stage's stdout is the next stage's
// stdin through a real OS pipe. Build one with Pipe; every builder
// method returns a new Pipeline.
//
// The pipeline runs in one container of its own, made from the first
// stage's backend (its Cmd's runner or backend, the default backend
// unless set), and every stage in a nested container inside it, with its
// Cmd's limits; so the stages must share one mechanism and one
// owner-death choice. All containers are made before the first stage is
// spawned, and every stage's tree is killed and confirmed dead before a
// verb returns. See docs/pipelines.md.
type Pipeline struct {
	stages    []*Cmd
	unchecked []int
	timeout   time.Duration
	failFast  bool
}

// Pipe returns a pipeline of cmds, in order. The head's stdin options
// (StdinString, StdinFile, ...) feed the head; the last stage's stdout
// options and caps apply to the pipeline's stdout; each stage's stderr is
// captured (capped at DefaultStageStderrCap, keeping the tail, unless the
// stage sets CapStderr or sends stderr elsewhere). A stage whose stderr
// goes to its stdout (Stderr(ToStdout())) writes both streams into the
// pipe to the next stage, as a shell's `2>&1 |`. No stage's handle is
// handed out, so ToReader on a stage is plain Capture.
//
// A pipeline of fewer than two stages, a nil stage, a stage other than
// the head with stdin set, a stage other than the last with stdout set
// (Stdout or CapStdout), a stage with Retry, or an interactive stdin is
// invalid: the verbs fail with ErrInvalid before anything is spawned.
func Pipe(cmds ...*Cmd) *Pipeline {
	return &Pipeline{stages: slices.Clone(cmds)}
}

func (pl *Pipeline) with(f func(*Pipeline)) *Pipeline {
	n := *pl
	n.stages = slices.Clone(pl.stages)
	n.unchecked = slices.Clone(pl.unchecked)
	f(&n)
	return &n
}

// Unchecked returns a copy in which the failure of stage i (counted from
// 0) does not fail the pipeline: the producer of `producer | head -1`,
// which dies of SIGPIPE once head has what it needs. An unchecked stage
// still fails the pipeline when the pipeline's own timeout or context
// ended it. An index out of range is invalid (ErrInvalid from the verbs).
func (pl *Pipeline) Unchecked(i int) *Pipeline {
	return pl.with(func(n *Pipeline) { n.unchecked = append(n.unchecked, i) })
}

// Timeout returns a copy whose whole chain is killed d after it started.
// Every stage still running then ends with Outcome TimedOut and the
// PipeResult says TimedOut. Zero means no timeout; negative is invalid.
// Each stage's own Cmd.Timeout applies to that stage alone.
func (pl *Pipeline) Timeout(d time.Duration) *Pipeline {
	return pl.with(func(n *Pipeline) { n.timeout = d })
}

// FailFast returns a copy that, when a checked stage fails, kills every
// stage still running at once instead of letting the chain wind down
// through EOF and broken pipes. A stage killed by SIGPIPE does not
// trigger it (the stages after it may still be working on what it wrote).
// Stages killed this way are ranked behind the culprit.
func (pl *Pipeline) FailFast() *Pipeline {
	return pl.with(func(n *Pipeline) { n.failFast = true })
}

// String describes the pipeline without secrets: each stage's program
// name and argument count.
func (pl *Pipeline) String() string {
	parts := make([]string, len(pl.stages))
	for i, c := range pl.stages {
		if c == nil {
			parts[i] = "<nil>"
			continue
		}
		parts[i] = c.String()
	}
	return "proc.Pipe(" + strings.Join(parts, " | ") + ")"
}

// validate checks the pipeline's own rules and every stage's Cmd.
func (pl *Pipeline) validate() error {
	if len(pl.stages) < 2 {
		return &InvalidError{Reason: "a pipeline needs at least two stages, got " + strconv.Itoa(len(pl.stages))}
	}
	if pl.timeout < 0 {
		return &InvalidError{Reason: "negative pipeline timeout"}
	}
	for _, i := range pl.unchecked {
		if i < 0 || i >= len(pl.stages) {
			return &InvalidError{Reason: "Unchecked(" + strconv.Itoa(i) + ") is out of range for " + strconv.Itoa(len(pl.stages)) + " stages"}
		}
	}
	last := len(pl.stages) - 1
	for i, c := range pl.stages {
		stage := "pipeline stage " + strconv.Itoa(i)
		if c == nil {
			return &InvalidError{Reason: stage + " is nil"}
		}
		if err := c.validate(); err != nil {
			return err
		}
		switch {
		case i > 0 && c.stdin.kind != stdinNone:
			return &InvalidError{Program: c.name, Reason: stage + " has stdin set; only the head reads stdin, the others read the previous stage"}
		case c.stdin.kind == stdinInteractive:
			return &InvalidError{Program: c.name, Reason: "a pipeline has no interactive stdin"}
		case i < last && (c.stdout.mode != modeCapture || c.stdout.capSet):
			return &InvalidError{Program: c.name, Reason: stage + " has stdout set; only the last stage's stdout can be directed or capped"}
		case c.retry.policy != nil:
			return &InvalidError{Program: c.name, Reason: stage + " has a retry policy; a stage cannot be retried on its own (its input is gone)"}
		case i < last && c.lines.idle > 0:
			// Its stdout is the pipe, which tether does not read: only
			// stderr would count as activity, and a busy stage would be
			// killed as idle.
			return &InvalidError{Program: c.name, Reason: stage + " has an idle timeout; only the last stage's output can be watched"}
		}
		if _, ok := c.runnerOrDefault().(containedRunner); !ok {
			return unsupported(c.name, stage, "a pipeline stage needs real OS pipes; its runner is not a contained runner (a test double?)")
		}
	}
	// Every stage runs in a sub-container of one chain container.
	head := pl.stages[0]
	m := head.runnerOrDefault().(containedRunner).backendFor().Mechanism()
	for i, c := range pl.stages[1:] {
		stage := fmt.Sprintf("stage %d", i+1)
		if cm := c.runnerOrDefault().(containedRunner).backendFor().Mechanism(); cm != m {
			return &InvalidError{Program: c.name, Reason: fmt.Sprintf("%s runs on %s but the pipeline's first stage on %s; the stages share one container, so give them one backend", stage, cm, m)}
		}
		if c.noOwnerDeath != head.noOwnerDeath {
			return &InvalidError{Program: c.name, Reason: stage + " disagrees with the first stage on SurviveOwnerDeath; the stages share one container, which either dies with its owner or not"}
		}
	}
	return nil
}

// stageCmds returns the stages as they run: copies wired to the pipe ends
// (write ends ws[i] between stage i and i+1, read ends rs[i]).
func (pl *Pipeline) stageCmds(rs, ws []*os.File) []*Cmd {
	last := len(pl.stages) - 1
	out := make([]*Cmd, len(pl.stages))
	for i, c := range pl.stages {
		out[i] = c.with(func(n *Cmd) {
			if i > 0 {
				n.stdin = stdinSpec{kind: stdinPipe, pipe: rs[i-1]}
			}
			if i < last {
				n.stdout = outSpec{mode: modePipe, pipe: ws[i]}
			}
			if n.stderr.captures() && !n.stderr.capSet {
				n.stderr.limit, n.stderr.policy = DefaultStageStderrCap, KeepTail
			}
			// No stage's handle is handed out, so no one could read
			// a raw reader (ToReader): the stream is captured.
			for _, o := range []*outSpec{&n.stdout, &n.stderr} {
				if o.mode == modeReader {
					o.mode = modeCapture
				}
			}
		})
	}
	return out
}

// RunningPipeline is a started pipeline. Its methods are safe for
// concurrent use. It ends when every stage has ended; then every stage's
// tree is dead.
type RunningPipeline struct {
	pl *Pipeline
	// chain holds every stage's sub-container.
	chain    contain.Container
	stages   []*RunningProcess
	began    time.Time
	killReq  chan struct{}
	killOnce sync.Once
	done     chan struct{}
	result   *PipeResult
	err      error
}

// Start validates the pipeline, makes every stage's container, spawns the
// stages head first and returns a handle. The context governs the whole
// chain: when it ends, every stage is killed. Nothing is left running
// when Start fails.
func (pl *Pipeline) Start(ctx context.Context) (*RunningPipeline, error) {
	if ctx == nil {
		return nil, nilContext("pipeline", "Start")
	}
	if err := pl.validate(); err != nil {
		return nil, err
	}
	n := len(pl.stages)
	rs, ws := make([]*os.File, n-1), make([]*os.File, n-1)
	closeAll := func() {
		for i := range rs {
			if rs[i] != nil {
				rs[i].Close()
			}
			if ws[i] != nil {
				ws[i].Close()
			}
		}
	}
	// The runs close their copies of the pipe ends right after their
	// spawns; this closes those of stages never spawned (closing twice
	// is harmless).
	defer closeAll()
	for i := range rs {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, &StartError{Program: pl.stages[i].name, Err: err}
		}
		rs[i], ws[i] = r, w
	}
	cmds := pl.stageCmds(rs, ws)
	prs := make([]*prepared, n)
	for i, c := range cmds {
		pr, err := prepare(ctx, c)
		if err != nil {
			return nil, err
		}
		prs[i] = pr
	}
	// One container for the chain, one sub-container per stage: a
	// stage's timeout ends its own tree, the chain's end kills them all.
	head := cmds[0]
	b := head.runnerOrDefault().(containedRunner).backendFor()
	// The chain has no limits of its own: each stage's sub has its Cmd's.
	opts := head.containOptions()
	opts.Limits = nil
	chain, err := b.NewContainer(ctx, opts)
	if err != nil {
		return nil, containmentFailed(head.name, err)
	}
	closeChain := func() error {
		tctx, cancel := teardown.Context()
		defer cancel()
		return chain.Close(tctx) // closes every stage's sub too
	}
	cts := make([]contain.Container, n)
	for i, pr := range prs {
		ct, err := chain.Sub(ctx, pr.c.containOptions())
		if err != nil {
			return nil, errors.Join(containmentFailed(pr.c.name, err), closeChain())
		}
		cts[i] = ct
	}
	rp := &RunningPipeline{pl: pl, chain: chain, began: time.Now(), killReq: make(chan struct{}), done: make(chan struct{})}
	for i, pr := range prs {
		p, err := pr.spawn(ctx, cts[i], true)
		if err != nil {
			// spawn closed cts[i]; kill what runs, close the rest.
			errs := []error{err}
			requestEnds(rp.stages, endByChain, -1)
			for _, q := range rp.stages {
				if rep := q.report(); rep.err != nil && !rep.isRunFailure() {
					errs = append(errs, rep.err)
				}
			}
			errs = append(errs, closeChain())
			return nil, errors.Join(errs...)
		}
		rp.stages = append(rp.stages, p)
	}
	go rp.watch()
	return rp, nil
}

// isRunFailure reports whether a finished stage's error is only its own
// failure (cancellation, CapFail) rather than a teardown problem.
func (rep runReport) isRunFailure() bool {
	var ee *ExitError
	return errors.As(rep.err, &ee) && ee.Result == rep.result
}

// Done returns a channel closed once every stage has ended and the
// PipeResult is ready.
func (rp *RunningPipeline) Done() <-chan struct{} { return rp.done }

// Wait waits for the pipeline to end and returns its PipeResult, with the
// same meaning as Pipeline.Output. If ctx ends first Wait returns ctx's
// error and leaves the pipeline running.
func (rp *RunningPipeline) Wait(ctx context.Context) (*PipeResult, error) {
	if ctx == nil {
		return nil, nilContext("pipeline", "Wait")
	}
	select {
	case <-rp.done:
		return rp.result, rp.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Kill kills every stage's tree, waits until their deaths are confirmed
// and the pipeline has ended, and returns. Stages still running then say
// Signaled. If ctx ends first the error matches ErrTeardownNotConfirmed.
func (rp *RunningPipeline) Kill(ctx context.Context) error {
	if ctx == nil {
		return nilContext("pipeline", "Kill")
	}
	rp.killOnce.Do(func() { close(rp.killReq) })
	select {
	case <-rp.done:
		return nil
	case <-ctx.Done():
		return &contain.TeardownError{Mechanism: rp.stages[0].Mechanism(), Err: ctx.Err()}
	}
}

// watch waits for every stage, applies the chain's timeout, FailFast and
// Kill, and builds the PipeResult.
func (rp *RunningPipeline) watch() {
	pl, n := rp.pl, len(rp.stages)
	ended := make(chan int, n)
	for i, p := range rp.stages {
		go func() { <-p.Done(); ended <- i }()
	}
	var timeout <-chan time.Time
	if pl.timeout > 0 {
		t := time.NewTimer(pl.timeout)
		defer t.Stop()
		timeout = t.C
	}
	killReq := rp.killReq
	checked := pl.checked()
	aborted := make([]bool, n)  // ended by FailFast
	chainEnd := make([]bool, n) // ended by the chain's timeout
	timedOut, failed := false, false
	defer func() {
		// Every stage's tree is confirmed dead and its sub closed; this
		// releases the chain's container (and, if a teardown failed,
		// kills what is left).
		tctx, cancel := teardown.Context()
		defer cancel()
		if err := rp.chain.Close(tctx); err != nil {
			rp.err = errors.Join(rp.err, err)
		}
		close(rp.done)
	}()
	for left := n; left > 0; {
		select {
		case i := <-ended:
			left--
			r := rp.stages[i].report().result
			if pl.failFast && !failed && checked[i] && !r.Success() && !sigpiped(r) {
				failed = true
				for j := range aborted {
					aborted[j] = j != i
				}
				requestEnds(rp.stages, endByChain, i)
			}
		case <-timeout:
			timeout, timedOut = nil, true
			for j := range chainEnd {
				chainEnd[j] = true
			}
			requestEnds(rp.stages, endByChainTimeout, -1)
		case <-killReq:
			killReq = nil
			requestEnds(rp.stages, endByChain, -1)
		}
	}
	res := &PipeResult{Stages: make([]*Result, n), Failed: -1, TimedOut: timedOut, Duration: time.Since(rp.began)}
	var errs []error
	runFailure := false
	reps := make([]runReport, n)
	for i, p := range rp.stages {
		reps[i] = p.report()
		res.Stages[i] = reps[i].result
		switch {
		case reps[i].err == nil:
		case reps[i].isRunFailure():
			runFailure = true
		default:
			errs = append(errs, reps[i].err)
		}
	}
	last := res.Stages[n-1]
	res.Stdout = last.Stdout
	res.attribute(checked, func(i int) bool { return aborted[i] && reps[i].byRequest },
		func(i int) bool { return chainEnd[i] && reps[i].byRequest })
	if runFailure {
		if err := res.Err(); err != nil {
			errs = append([]error{err}, errs...)
		}
	}
	rp.result = res
	if len(errs) == 1 {
		rp.err = errs[0]
	} else {
		rp.err = errors.Join(errs...)
	}
}

// checked says, per stage, whether its failure fails the pipeline.
func (pl *Pipeline) checked() []bool {
	c := make([]bool, len(pl.stages))
	for i := range c {
		c[i] = !slices.Contains(pl.unchecked, i)
	}
	return c
}

// sigpiped reports a stage killed by SIGPIPE: it wrote to a pipe whose
// reader had gone, usually because a later stage finished early.
func sigpiped(r *Result) bool { return r.Outcome == Signaled && r.Signal == "SIGPIPE" }

// Output runs the pipeline to completion and returns its PipeResult. As
// with Cmd.Output a failed stage is data, not an error; the error is
// non-nil when the pipeline could not start (a nil PipeResult), when the
// context ended (matching ErrCancelled and the context's error), when a
// stage's CapFail cap was passed, or when a stage's teardown was not
// confirmed. Every stage's tree is dead when Output returns.
func (pl *Pipeline) Output(ctx context.Context) (*PipeResult, error) {
	rp, err := pl.Start(ctx)
	if err != nil {
		return nil, err
	}
	<-rp.done
	return rp.result, rp.err
}

// Run runs the pipeline, which must succeed (see PipeResult.Success), and
// returns the last stage's stdout as text with trailing white space
// trimmed (leading white space is kept, as by Cmd.Run). A failed pipeline's error is a *PipeError naming the
// culprit stage and wrapping its *ExitError.
func (pl *Pipeline) Run(ctx context.Context) (string, error) {
	r, err := pl.Output(ctx)
	if err != nil {
		return "", err
	}
	if err := r.Err(); err != nil {
		return "", err
	}
	return strings.TrimRightFunc(r.StdoutText(), unicode.IsSpace), nil
}

// ExitCode runs the pipeline and returns its exit code as a shell with
// pipefail would: 0 when it succeeded, else the culprit stage's code. A
// culprit without an exit code (a signal, a timeout) is an error.
func (pl *Pipeline) ExitCode(ctx context.Context) (int, error) {
	r, err := pl.Output(ctx)
	if err != nil {
		return 0, err
	}
	if r.Failed < 0 {
		return 0, nil
	}
	if c := r.Stages[r.Failed]; c.Outcome == Exited {
		return c.ExitCode, nil
	}
	return 0, r.Err()
}

// Probe runs the pipeline as a yes/no question: success is true, a
// culprit stage that exited with 1 is false (`grep -q` at the end of a
// chain), anything else is an error.
func (pl *Pipeline) Probe(ctx context.Context) (bool, error) {
	r, err := pl.Output(ctx)
	if err != nil {
		return false, err
	}
	if r.Failed < 0 {
		return true, nil
	}
	if c := r.Stages[r.Failed]; c.Outcome == Exited && c.ExitCode == 1 {
		return false, nil
	}
	return false, r.Err()
}

// PipeResult is what a finished pipeline produced.
type PipeResult struct {
	// Stages holds each stage's Result, in order.
	Stages []*Result
	// Stdout is the last stage's captured stdout (Stages[len-1].Stdout).
	Stdout []byte
	// Failed is the index of the stage the failure is attributed to, or
	// -1 when the pipeline succeeded. The culprit is the first checked
	// stage that failed, ranking behind it stages killed by SIGPIPE and
	// stages killed by FailFast; see docs/pipelines.md.
	Failed int
	// TimedOut is set when the pipeline's own Timeout fired.
	TimedOut bool
	// Duration is from the head's spawn to the end of the last stage.
	Duration time.Duration
}

// attribute sets Failed. aborted(i): FailFast killed stage i; chainEnded(i):
// the chain's timeout killed it.
func (r *PipeResult) attribute(checked []bool, aborted, chainEnded func(int) bool) {
	best, bestRank := -1, 4
	for i, s := range r.Stages {
		if s.Success() {
			continue
		}
		rank := 0
		switch {
		case s.Outcome == Cancelled || chainEnded(i):
			// The chain itself was ended: that fails it, checked or not.
			rank = 0
			if !checked[i] {
				rank = 3
			}
		case !checked[i]:
			continue
		case aborted(i):
			rank = 2
		case sigpiped(s):
			rank = 1
		}
		if rank < bestRank {
			best, bestRank = i, rank
		}
	}
	r.Failed = best
}

// Success reports whether every checked stage succeeded (and neither the
// pipeline's timeout nor its context ended it).
func (r *PipeResult) Success() bool { return r.Failed < 0 }

// StdoutText returns the last stage's stdout as text (see
// Result.StdoutText).
func (r *PipeResult) StdoutText() string { return r.Stages[len(r.Stages)-1].StdoutText() }

// Err returns nil for a successful pipeline and otherwise a *PipeError
// naming the culprit stage and wrapping its *ExitError, so errors.Is(err,
// ErrExit) holds and errors.As finds the *ExitError with the culprit's
// code, stderr and program.
func (r *PipeResult) Err() error {
	if r.Failed < 0 {
		return nil
	}
	return &PipeError{Stage: r.Failed, Stages: len(r.Stages), TimedOut: r.TimedOut, Err: r.Stages[r.Failed].exitError()}
}
