package proc

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"os/exec"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/forker"
	"github.com/gotether/tether/internal/teardown"
)

// start validates c, creates the container, spawns the child in it and
// starts the monitor; viaStart says the run is for Start (see spawn).
// Nothing is spawned when it fails, and nothing is left behind.
func start(ctx context.Context, c *Cmd, backend contain.Backend, viaStart bool) (*RunningProcess, error) {
	return startIn(ctx, c, func(ctx context.Context, pr *prepared) (contain.Container, error) {
		return pr.newContainer(ctx, backend)
	}, viaStart)
}

// startIn is start with the container made by mk (a fresh one, or a sub
// of a group's).
func startIn(ctx context.Context, c *Cmd, mk func(context.Context, *prepared) (contain.Container, error), viaStart bool) (*RunningProcess, error) {
	pr, err := prepare(ctx, c)
	if err != nil {
		return nil, err
	}
	ct, err := mk(ctx, pr)
	if err != nil {
		return nil, err
	}
	return pr.spawn(ctx, ct, viaStart)
}

// discardLog is the logger of a Cmd without one, shared: a logger per run
// would cost allocations on every run.
var discardLog = slog.New(slog.DiscardHandler)

// prepared is a validated command whose exec.Cmd is built but whose
// container is not made yet (a pipeline makes every stage's container
// before it spawns any stage).
type prepared struct {
	c    *Cmd
	ecmd *exec.Cmd
	// attrs are what the forker gives the child (nil for nothing).
	attrs *forker.Attrs
	log   *slog.Logger
	// logged are the attributes of the spawn event beyond the program,
	// pid and mechanism: the command line, when LogCommandLine asks.
	logged []any
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
	envs := c.env
	if c.term.set {
		envs = terminalEnv(envs, c.term.rows, c.term.cols)
	}
	env, err := envs.environ()
	if err != nil {
		return nil, err
	}
	path, err := lookPath(c.name, c.dir, env)
	if err != nil {
		return nil, err
	}
	ecmd.Path, ecmd.Env = path, env
	attrs, err := c.attrs.apply(c.name, ecmd)
	if err != nil {
		return nil, err
	}
	if err := batchCommandLine(c.name, ecmd); err != nil {
		return nil, err
	}
	if err := c.stdin.checkReader(c.name, readerClaimed); err != nil {
		return nil, err
	}
	log := c.logger
	var logged []any
	if log == nil {
		log = discardLog
	} else if c.logLine {
		logged = []any{"command_line", c.loggedCommandLine()}
	}
	return &prepared{c: c, ecmd: ecmd, attrs: attrs, log: log, logged: logged}, nil
}

// newContainer makes the run's fresh container.
func (pr *prepared) newContainer(ctx context.Context, backend contain.Backend) (contain.Container, error) {
	c := pr.c
	ct, err := backend.NewContainer(ctx, c.containOptions())
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

// spawn opens the child's streams, spawns it in ct and starts the
// monitor. viaStart says the run is for Start, which hands out the
// handle (and with it the lines and the interactive stdin). On failure it
// closes ct and everything it opened.
func (pr *prepared) spawn(ctx context.Context, ct contain.Container, viaStart bool) (*RunningProcess, error) {
	c := pr.c
	p := newRun(c, ct, pr.log, newChild(pr.ecmd, pr.attrs))
	var room [4]*os.File // stdin, stdout, stderr: no growth on the common path
	files := childFiles(room[:0])
	if err := p.wire(pr.ecmd, &files, viaStart); err != nil {
		return nil, p.abandon(&files, err)
	}
	if err := p.child.start(ct, p.streams.began); err != nil {
		return nil, p.abandon(&files, startError(c.name, err))
	}
	// The child has its copies; the parent's would hold the pipes open.
	files.close()
	p.stdin.start()
	p.streams.drain()
	if p.log.Enabled(context.Background(), slog.LevelInfo) { // as Info asks
		p.log.Info("tether: spawned", append([]any{"program", c.name, "pid", p.child.pid, "mechanism", ct.Mechanism()}, pr.logged...)...)
	}
	go p.monitor(ctx)
	return p, nil
}

// childFiles are the files a spawn opened for the child, which the
// parent closes once the child runs, or when the spawn fails.
type childFiles []*os.File

// keep records f, unless it is nil or the owner's own file (Inherit).
func (fs *childFiles) keep(f, owner *os.File) {
	if f != nil && f != owner {
		*fs = append(*fs, f)
	}
}

// close closes them all. It takes a pointer, so that a deferred close
// sees the files kept after the defer.
func (fs *childFiles) close() {
	for _, f := range *fs {
		f.Close()
	}
}

// wire opens the child's stdin, stdout and stderr as the Cmd says, sets
// them on ecmd, and gives the run its side of each: the stdin feeding or
// writer, a capture per stream tether reads.
func (p *RunningProcess) wire(ecmd *exec.Cmd, files *childFiles, viaStart bool) error {
	c := p.cmd
	if c.term.set {
		return p.wireTerminal(ecmd, files, viaStart)
	}
	stdin, w, feed, err := c.stdin.open()
	if err != nil {
		return &StartError{Program: c.name, Err: err}
	}
	files.keep(stdin, c.stdin.given())
	if stdin != nil {
		ecmd.Stdin = stdin
	}
	p.stdin.set(c.stdin.kind, w, feed, viaStart)
	// The child's stdout and stderr, set on ecmd only when not nil (a nil
	// *os.File in an io.Writer is not a nil Writer).
	var out [2]*os.File
	for i, stream := range [2]Stream{Stdout, Stderr} {
		spec, owner := c.stdout, os.Stdout
		if stream == Stderr {
			spec, owner = c.stderr, os.Stderr
		}
		if spec.mode == modeStdout {
			// 2>&1: the very descriptor stdout got (nil: the null
			// device, opened once per stream by exec; no matter).
			out[i] = out[0]
			p.streams.add(c, stream, nil, viaStart)
			continue
		}
		child, read, err := spec.open(owner)
		if err != nil {
			return &StartError{Program: c.name, Err: err}
		}
		files.keep(child, owner)
		out[i] = child
		if read != nil {
			p.streams.add(c, stream, read, viaStart)
		}
	}
	if out[0] != nil {
		ecmd.Stdout = out[0]
	}
	if out[1] != nil {
		ecmd.Stderr = out[1]
	}
	return nil
}

// abandon undoes a spawn that failed before the child ran: it closes
// everything opened for the child and the run's container, and returns
// err with the container's failure to close, if any.
func (p *RunningProcess) abandon(files *childFiles, err error) error {
	files.close()
	p.streams.closeReads()
	p.stdin.abandon()
	tctx, cancel := teardown.Context()
	defer cancel()
	if cerr := p.container.Close(tctx); cerr != nil {
		err = errors.Join(err, cerr)
	}
	return err
}

// startError classifies a failed exec.Cmd.Start.
func startError(program string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return &NotFoundError{Program: program, Err: err}
	}
	return &StartError{Program: program, Err: err}
}
