package proc

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/encoding"
	"github.com/gotether/tether/internal/teardown"
)

// start validates c, creates the container, spawns the child in it and
// starts the monitor. Nothing is spawned when it fails, and nothing is
// left behind.
func start(ctx context.Context, c *Cmd, backend contain.Backend, streaming bool) (*RunningProcess, error) {
	return startIn(ctx, c, func(ctx context.Context, pr *prepared) (contain.Container, error) {
		return pr.newContainer(ctx, backend)
	}, streaming)
}

// startIn is start with the container made by mk (a fresh one, or a sub
// of a group's).
func startIn(ctx context.Context, c *Cmd, mk func(context.Context, *prepared) (contain.Container, error), streaming bool) (*RunningProcess, error) {
	pr, err := prepare(ctx, c)
	if err != nil {
		return nil, err
	}
	ct, err := mk(ctx, pr)
	if err != nil {
		return nil, err
	}
	return pr.spawn(ctx, ct, streaming)
}

// prepared is a validated command whose exec.Cmd is built but whose
// container is not made yet (a pipeline makes every stage's container
// before it spawns any stage).
type prepared struct {
	c    *Cmd
	ecmd *exec.Cmd
	log  *slog.Logger
}

// prepare validates c and builds its exec.Cmd. It creates nothing that
// needs cleaning up.
func prepare(ctx context.Context, c *Cmd) (*prepared, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, &ExitError{Program: c.name, Outcome: Cancelled, Code: -1, cause: cancelCause(ctx)}
	}
	ecmd := &exec.Cmd{Args: append([]string{c.name}, c.args...), Dir: c.dir}
	if err := c.sys.apply(c.name, ecmd); err != nil {
		return nil, err
	}
	if err := checkDir(c.dir); err != nil {
		return nil, err
	}
	path, err := lookPath(c.name, c.dir)
	if err != nil {
		return nil, err
	}
	ecmd.Path = path
	if err := batchCommandLine(c.name, ecmd); err != nil {
		return nil, err
	}
	if ecmd.Env, err = c.env.environ(); err != nil {
		return nil, err
	}
	if err := c.stdin.checkReader(c.name, readerClaimed); err != nil {
		return nil, err
	}
	log := c.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &prepared{c: c, ecmd: ecmd, log: log}, nil
}

// newContainer makes the run's fresh container.
func (pr *prepared) newContainer(ctx context.Context, backend contain.Backend) (contain.Container, error) {
	c := pr.c
	ct, err := backend.New(ctx, c.containOptions())
	if err != nil {
		return nil, containmentFailed(c.name, err)
	}
	return ct, nil
}

// containOptions is what c asks of its run's container: c's limits, the
// tree killed with its owner unless c survives it, and c's logger.
func (c *Cmd) containOptions() contain.Options {
	return contain.Options{Limits: c.limits, KillOnOwnerDeath: !c.noOwnerDeath, Logger: c.logger}
}

// newRun makes the handle of a run of c in container ct before anything
// runs: its channels, its line hub, and a stdin writer that fails until
// the run has an interactive stdin. spawn and NewFakeProcess both build
// on it, so a scripted run is the same machinery as a real one.
func newRun(c *Cmd, ct contain.Container, log *slog.Logger) *RunningProcess {
	p := &RunningProcess{cmd: c, container: ct, log: log,
		exited: make(chan struct{}), done: make(chan struct{}), tooLarge: make(chan struct{}),
		killReq: make(chan struct{})}
	ls := c.lines.withDefaults()
	p.hub = newHub(ls.bufLines, ls.bufBytes, ls.policy, p.overCap)
	p.stdin = &StdinWriter{err: errNotInteractive}
	return p
}

// wantsLines says whether a run of c splits its output into lines: when
// someone can read them, a started process (its streams may be read
// later) or OnLine callbacks. A plain Output without callbacks pays
// nothing for them.
func wantsLines(c *Cmd, viaStart bool) bool { return viaStart || len(c.lines.onLine) > 0 }

// interactive gives the run its InteractiveStdin, w being the pipe's
// write end: Start hands it out (RunningProcess.Stdin); the other verbs
// have no handle, so nobody could write to it and the child reads EOF at
// once, as documented.
func (p *RunningProcess) interactive(w *os.File, viaStart bool) {
	if viaStart {
		p.stdin = &StdinWriter{w: w}
		return
	}
	_ = w.Close()
}

// addCapture makes the capture of stream st under spec, reading r (nil
// for a fake run, which is written to instead), with a line reader when
// lines are wanted.
func (p *RunningProcess) addCapture(st Stream, spec outSpec, r *os.File, lines bool) {
	cp := &capture{r: r, limit: spec.limit, policy: spec.policy, tee: spec.w, over: p.overCap, activity: &p.activity}
	if lines {
		cp.lines = p.newLiner(st, p.cmd.lines.withDefaults())
	}
	if st == Stdout {
		p.outCap = cp
	} else {
		p.errCap = cp
	}
}

// began records that the child started at t: the run's start time, its
// hub's (EventStarted), and the idle clock's first activity.
func (p *RunningProcess) began(t time.Time) {
	p.started = t
	p.hub.started = t
	p.activity.Store(t.UnixNano())
}

// spawn opens the child's streams, spawns it in ct and starts the
// monitor. On failure it closes ct and everything it opened.
func (pr *prepared) spawn(ctx context.Context, ct contain.Container, streaming bool) (_ *RunningProcess, err error) {
	c, ecmd, log := pr.c, pr.ecmd, pr.log
	p := newRun(c, ct, log)
	p.ecmd = ecmd
	viaStart := streaming

	// Everything opened for the child; closed in the parent after Start
	// (and on any failure).
	var childFiles []*os.File
	fail := func(err error) (*RunningProcess, error) {
		for _, f := range childFiles {
			f.Close()
		}
		for _, f := range p.reads {
			f.Close()
		}
		if p.stdinW != nil {
			p.stdinW.Close()
		}
		tctx, cancel := teardown.Context()
		defer cancel()
		if cerr := ct.Close(tctx); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, err
	}
	keep := func(f *os.File) *os.File {
		if f != nil {
			childFiles = append(childFiles, f)
		}
		return f
	}

	stdin, stdinW, feed, err := c.stdin.open()
	if err != nil {
		return fail(&StartError{Program: c.name, Err: err})
	}
	if stdin != nil && stdin != os.Stdin {
		keep(stdin)
	}
	if stdin != nil {
		ecmd.Stdin = stdin
	}
	if c.stdin.kind == stdinInteractive {
		p.interactive(stdinW, viaStart)
	} else {
		p.stdinW = stdinW
	}
	for _, s := range []struct {
		stream Stream
		spec   outSpec
		owner  *os.File
		set    func(*os.File)
	}{
		{Stdout, c.stdout, os.Stdout, func(f *os.File) { ecmd.Stdout = f }},
		{Stderr, c.stderr, os.Stderr, func(f *os.File) { ecmd.Stderr = f }},
	} {
		child, read, err := s.spec.open(s.owner)
		if err != nil {
			return fail(&StartError{Program: c.name, Err: err})
		}
		if child != nil && child != s.owner {
			keep(child)
		}
		if child != nil {
			s.set(child)
		}
		if read != nil {
			p.reads = append(p.reads, read)
			p.addCapture(s.stream, s.spec, read, wantsLines(c, viaStart))
		}
	}
	// Start and reap in one goroutine. The container places the child
	// (and, with a parent-death signal, forks it from a thread that never
	// exits: see internal/forker); a Start that fails has left nothing
	// running and nothing to reap.
	started := make(chan error, 1)
	go func() {
		if err := ct.Start(ecmd); err != nil {
			started <- err
			return
		}
		p.began(time.Now())
		started <- nil
		p.waitErr = ecmd.Wait()
		p.exitAt = time.Now()
		close(p.exited)
	}()
	if err := <-started; err != nil {
		return fail(startError(c.name, err))
	}
	p.pid = ecmd.Process.Pid
	for _, f := range childFiles {
		f.Close()
	}
	if feed != nil {
		p.feeder = feed
		go feed.run()
	}
	for _, cp := range []*capture{p.outCap, p.errCap} {
		if cp != nil {
			p.drains.Add(1)
			go func() { defer p.drains.Done(); cp.drain() }()
		}
	}
	log.Info("tether: spawned", "program", c.name, "pid", p.pid, "mechanism", ct.Mechanism())
	go p.monitor(ctx)
	return p, nil
}

func (p *RunningProcess) newLiner(st Stream, ls lineSpec) *liner {
	enc := ls.enc[st]
	if enc == (encoding.Encoding{}) {
		enc = encoding.UTF8
	}
	l := &liner{
		stream: st,
		r:      encoding.NewLineReader(enc, encoding.SplitterOptions{Terminators: ls.terms, MaxLine: ls.maxLine}),
		hub:    p.hub,
		cbs:    ls.onLine,
		dead:   make([]bool, len(ls.onLine)),
		panics: &p.cbErrs,
		mu:     &p.cbMu,
	}
	p.liners = append(p.liners, l)
	return l
}

// startError classifies a failed exec.Cmd.Start.
func startError(program string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return &NotFoundError{Program: program, Err: err}
	}
	return &StartError{Program: program, Err: err}
}

func (p *RunningProcess) overCap() {
	p.tooLargeOnce.Do(func() { close(p.tooLarge) })
}
