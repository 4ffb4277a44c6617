package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/cgroupv2"
	"github.com/gotether/tether/contain/host"
	"github.com/gotether/tether/contain/jobobject"
	"github.com/gotether/tether/contain/pgid"
	"github.com/gotether/tether/contain/systemd"
	"github.com/gotether/tether/internal/redact"
	"github.com/gotether/tether/internal/watchdog"
	"github.com/gotether/tether/proc"
)

// Exit statuses of `tether run` besides the program's own, as coreutils
// timeout and POSIX shells use them.
const (
	exitTimedOut   = 124 // the --timeout fired; the tree was killed
	exitTether     = 125 // tether itself failed: bad flags, no containment, limits
	exitCannotExec = 126 // the program was found but could not be executed
	exitNotFound   = 127 // the program was not found
	exitSignalBase = 128 // + N: the program (or tether, forwarding) died of signal N
)

// killPatience bounds the immediate kill on a second signal. proc's own
// teardown gives up after 10 s; this only has to outlast it.
const killPatience = 30 * time.Second

// backendFor returns the backend --mechanism names (nil for auto: the
// host's default), or why it cannot be used here.
func backendFor(mechanism string) (contain.Backend, error) {
	var b contain.Backend
	switch mechanism {
	case "auto":
		if sel := host.Default(); !sel.Usable {
			return nil, errors.New("no containment mechanism is usable on this host: " + sel.Reason)
		}
		return nil, nil
	case string(contain.CgroupV2):
		b = cgroupv2.New()
	case string(contain.Systemd):
		b = systemd.New()
	case string(contain.PGID):
		b = pgid.New()
	case string(contain.JobObject):
		b = jobobject.New()
	}
	if a := b.Availability(); !a.Usable {
		return nil, fmt.Errorf("mechanism %s is not usable on this host: %s", a.Mechanism, a.Reason)
	}
	return b, nil
}

// runCommand is `tether run`. It returns the exit status.
func runCommand(args []string, stdout, stderr io.Writer) int {
	o, err := parseRunArgs(args)
	rn := &runSession{o: o, stderr: stderr}
	if o.help {
		fmt.Fprint(stdout, runUsage)
		return 0
	}
	if o.version {
		printVersion(stdout)
		return 0
	}
	if err != nil {
		rn.say("%v", err)
		return exitTether
	}
	// Every run is watched for tether's death: start the watchdog now,
	// beside the host's inspection and the container's creation, rather
	// than in their path (a fork and exec of this binary, 0.8-2.5 ms
	// here, that the first container's registration would otherwise
	// wait for). Its failure, if any, is the registration's to report.
	// runCommand does not return before that start has: a caller that
	// stops the watchdog after the command (the tests do, before they
	// look for leaked goroutines) must not see one started after it.
	prestarted := make(chan struct{})
	go func() { defer close(prestarted); prestartWatchdog() }()
	defer func() { <-prestarted }()
	rn.rep = &runReport{Program: o.program}
	if err := rn.openReport(); err != nil {
		rn.say("cannot use the --json file: %v", err)
		return exitTether
	}
	backend, err := backendFor(o.mechanism)
	if err != nil {
		return rn.fail(exitTether, "%v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rn.cancel = cancel
	p, status := rn.spawn(ctx, o.command(backend))
	if p == nil {
		return status
	}
	rn.wait(p)
	return rn.result(p)
}

// prestartWatchdog starts the owner-death watchdog ahead of need. An
// error is dropped: the container's own registration starts it again and
// reports why it cannot run.
func prestartWatchdog() { _ = watchdog.Start() }

// runSession is one `tether run` from its parsed command line on: what
// it says on stderr, the --json report, the terminal it may hand to the
// program, and the stop signals it has received.
type runSession struct {
	o      *runOptions
	stderr io.Writer
	rep    *runReport
	// jsonFile receives the report; nil without --json.
	jsonFile *os.File

	term   *terminal      // nil unless tether is in a terminal's foreground
	sigs   chan os.Signal // the stop signals, caught before the spawn
	cancel context.CancelFunc
	// got is the stop signal forwarded to the tree (nil: none yet). late
	// is a signal that came once the program had exited by itself: proc
	// is already tearing the rest down, and the program's status stands.
	// killed is set once a second signal has killed the tree.
	got    os.Signal
	late   os.Signal
	killed bool
}

// say writes one diagnostic line to stderr, unless --quiet.
func (rn *runSession) say(format string, a ...any) {
	if !rn.o.quiet {
		fmt.Fprintf(rn.stderr, "tether: "+format+"\n", a...)
	}
}

// openReport opens the --json file, if one was asked for, before the
// run, so a path that cannot or must not be written fails before
// anything is spawned (see openJSON).
func (rn *runSession) openReport() error {
	if rn.o.jsonPath == "" {
		return nil
	}
	f, err := openJSON(rn.o.jsonPath)
	if err != nil {
		return err
	}
	rn.jsonFile = f
	return nil
}

// finish records status as tether's exit status, writes the --json
// report if there is one, and returns status (125 if the report could not
// be written).
func (rn *runSession) finish(status int) int {
	rn.rep.Status = status
	if rn.jsonFile == nil {
		return status
	}
	enc := json.NewEncoder(rn.jsonFile)
	enc.SetIndent("", "  ")
	err := enc.Encode(rn.rep)
	if cerr := rn.jsonFile.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		rn.say("writing the --json file failed: %s", redact.Cause(err))
		return exitTether
	}
	return status
}

// fail says why the run failed, records it in the report, and finishes
// with status.
func (rn *runSession) fail(status int, format string, a ...any) int {
	msg := fmt.Sprintf(format, a...)
	rn.say("%s", msg)
	rn.rep.Error = &msg
	return rn.finish(status)
}

// command is the proc.Cmd the options describe, on backend (nil: the
// host's default), with the standard streams passed through.
func (o *runOptions) command(backend contain.Backend) *proc.Cmd {
	cmd := proc.Command(o.program, o.args...).
		InheritStdin().
		Stdout(proc.Inherit()).
		Stderr(proc.Inherit())
	if o.timeout > 0 {
		cmd = cmd.Timeout(o.timeout)
	}
	if o.grace > 0 {
		cmd = cmd.Grace(o.graceSig, o.grace)
	}
	if len(o.limitOrder) > 0 {
		ls := make([]contain.Limit, 0, len(o.limitOrder))
		for _, k := range o.limitOrder {
			ls = append(ls, o.limits[k])
		}
		cmd = cmd.Limits(ls...)
	}
	for _, kv := range o.env {
		cmd = cmd.SetEnv(kv[0], kv[1])
	}
	if o.dir != "" {
		cmd = cmd.Dir(o.dir)
	}
	if o.uidSet || o.gidSet {
		// The one not given stays tether's own; the supplementary groups
		// are dropped (setgroups with none), as a switch of identity
		// must not keep the owner's.
		uid, gid := uint32(os.Getuid()), uint32(os.Getgid()) //nolint:gosec // unix IDs are 32 bits; --uid/--gid are refused on Windows (-1)
		if o.uidSet {
			uid = o.uid
		}
		if o.gidSet {
			gid = o.gid
		}
		cmd = cmd.Credential(uid, gid)
	}
	if o.niceSet {
		cmd = cmd.Nice(o.nice)
	}
	if backend != nil {
		cmd = cmd.Backend(backend)
	}
	return cmd
}

// spawn catches the stop signals and starts cmd, in the foreground of
// tether's terminal if it has one. A stop signal that arrived before the
// start cancels it. When nothing was started, p is nil and status is
// tether's exit status, the report written.
func (rn *runSession) spawn(ctx context.Context, cmd *proc.Cmd) (p *proc.RunningProcess, status int) {
	// In the foreground of a terminal, the program's group takes it (see
	// terminal); elsewhere term is nil and changes nothing.
	rn.term = foregroundTerminal()
	cmd = rn.term.prepare(cmd)

	// Catch the stop signals before the spawn: from then on one arriving
	// must stop the tree, not kill tether and leave the tree to the
	// watchdog. They stay caught until the process exits (see
	// holdUntilExit).
	rn.sigs = make(chan os.Signal, 4)
	holdUntilExit(notifySignals(rn.sigs))
	select {
	case rn.got = <-rn.sigs:
		rn.cancel()
	default:
	}

	p, err := cmd.Start(ctx)
	if err != nil {
		rn.term.startFailed()
		if rn.got != nil && errors.Is(err, proc.ErrCancelled) {
			rn.say("received %s before the program started; nothing was run", signalName(rn.got))
			rn.rep.Received = ptr(signalName(rn.got))
			return nil, rn.finish(statusForSignal(rn.got))
		}
		status, msg := startFailure(rn.o.program, err)
		return nil, rn.fail(status, "%s", msg)
	}
	rn.term.started(p.Pid())
	rn.rep.Pid, rn.rep.Mechanism = ptr(p.Pid()), ptr(string(p.Mechanism()))
	if rn.got != nil {
		rn.say("received %s: stopping the tree (%s)", signalName(rn.got), p.Mechanism())
	}
	return p, 0
}

// wait returns once the run has ended, meanwhile mirroring the program's
// stops on the terminal and acting on the stop signals tether receives.
func (rn *runSession) wait(p *proc.RunningProcess) {
	for {
		select {
		case <-p.Done():
			return
		case s := <-rn.term.changes():
			rn.term.changed(p, s)
		case s := <-rn.sigs:
			rn.received(p, s)
		}
	}
}

// received acts on a stop signal that arrived while the program ran: the
// first stops the tree (with the graceful signal first if --grace), a
// second kills it at once; one that comes after the program exited by
// itself is only reported.
func (rn *runSession) received(p *proc.RunningProcess, s os.Signal) {
	switch {
	case rn.got == nil && programExited(p.Pid()):
		if rn.late == nil {
			rn.late = s
			rn.say("received %s after the program had exited: its status stands", signalName(s))
		}
	case rn.got == nil:
		rn.got = s
		if rn.o.graceUnbounded() {
			rn.say("received %s: sending %s to the tree (%s), waiting for the program to exit (no --kill-after)", signalName(s), signalName(rn.o.graceSig), p.Mechanism())
		} else if rn.o.grace > 0 {
			rn.say("received %s: sending %s to the tree (%s), killing it in %v", signalName(s), signalName(rn.o.graceSig), p.Mechanism(), rn.o.grace)
		} else {
			rn.say("received %s: killing the tree (%s)", signalName(s), p.Mechanism())
		}
		rn.cancel()
	case !rn.killed:
		rn.killed = true
		rn.say("received %s again: killing the tree (%s) now", signalName(s), p.Mechanism())
		// SIGKILL to every member first: RunningProcess.Kill
		// alone waits for a grace period in progress to end.
		_ = p.Signal(os.Kill)
		kctx, kcancel := context.WithTimeout(context.Background(), killPatience)
		if err := p.Kill(kctx); err != nil {
			rn.say("killing the tree: %v", err)
		}
		kcancel()
	}
}

// result takes the ended run's Result, gives the terminal back, and
// reports: it returns tether's exit status, the report written.
func (rn *runSession) result(p *proc.RunningProcess) int {
	r, err := p.Wait(context.Background())
	rn.term.end(r != nil && r.Outcome == proc.Exited)
	if r == nil {
		return rn.fail(exitTether, "the run failed: %v", err)
	}
	rn.rep.fill(r)
	if rn.got != nil {
		rn.rep.Received = ptr(signalName(rn.got))
	}
	if err != nil && errors.Is(err, proc.ErrTeardownNotConfirmed) {
		// The one failure tether must never hide: something may be alive.
		return rn.fail(exitTether, "the death of the whole tree (%s) could not be confirmed: %v", r.Mechanism, err)
	}
	status := exitStatus(r, rn.got, rn.o.preserveStatus)
	if r.Outcome == proc.TimedOut {
		rn.say("timed out after %v: the whole tree (%s) was killed and is confirmed dead", rn.o.timeout, r.Mechanism)
	}
	if status < 0 {
		return rn.fail(exitTether, "the run ended without an exit status (%s)", r.Outcome)
	}
	return rn.finish(status)
}

// held is what runs have caught and hold until the process exits (see
// holdUntilExit).
var held struct {
	sync.Mutex
	release []func()
}

// holdUntilExit keeps in place, until the process exits, what release
// would undo: the delivery of the stop signals to a channel, the
// disposition tether gave a signal. tether never calls release. Were
// the stop signals released when runCommand returns (signal.Stop restores
// their default action), one arriving between then and os.Exit (a storm
// of SIGTERM, SIGINT and SIGHUP after tether had decided to stop the tree
// hit that window in 30 of 56 tries) would kill tether by that signal
// instead of letting it exit with the status it decided on. Kept caught,
// it lands in a channel nobody reads any more and is dropped. Tests that
// call run inside the test process release what it held themselves.
func holdUntilExit(release func()) {
	held.Lock()
	defer held.Unlock()
	held.release = append(held.release, release)
}

// exitStatus maps a finished run to tether's exit status (-1: none fits).
// A stop that tether forwarded wins over how the tree ended: the program's
// answer to it (exit 0 in the grace, or tether's own SIGKILL) is not what
// the caller who sent the signal asked about. A timeout is 124 unless
// preserve (--preserve-status, as coreutils timeout's): then it is how
// the program ended, its exit status if it exited in the grace, 128+N if
// the graceful signal or the kill (N = 9) ended it.
func exitStatus(r *proc.Result, got os.Signal, preserve bool) int {
	switch {
	case got != nil && r.Outcome != proc.TimedOut:
		return statusForSignal(got)
	case r.Outcome == proc.TimedOut && !preserve:
		return exitTimedOut
	case r.Outcome == proc.Exited || r.Outcome == proc.TimedOut && r.ExitCode >= 0:
		return r.ExitCode
	case r.Outcome == proc.Signaled || r.Outcome == proc.TimedOut:
		if n := signalNumber(r.Signal); n > 0 {
			return exitSignalBase + n
		}
	}
	return -1
}

// statusForSignal is 128+N for a signal tether received.
func statusForSignal(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok && int(s) > 0 {
		return exitSignalBase + int(s)
	}
	return exitTether
}

// startFailure maps an error from Start to the exit status and a message
// that names the program but no argument, environment value or directory.
func startFailure(program string, err error) (int, string) {
	name := strconv.Quote(program)
	var le *contain.LimitError
	var de *proc.DirError
	switch {
	case errors.As(err, &de):
		// Named by its flag: the path is a value from the command line.
		return exitTether, "cannot run " + name + ": the --chdir directory cannot be used: " + redact.Cause(de.Err)
	case errors.As(err, &le):
		return exitTether, "cannot enforce the limits: " + le.Error()
	case errors.Is(err, contain.ErrNotUsable):
		var nu *contain.NotUsableError
		if errors.As(err, &nu) {
			return exitTether, nu.Error()
		}
		return exitTether, "the containment mechanism is not usable here"
	case errors.Is(err, contain.ErrUnsupported):
		var ue *contain.UnsupportedError
		if errors.As(err, &ue) {
			return exitTether, ue.Error()
		}
		return exitTether, "not supported here"
	case errors.Is(err, proc.ErrInvalid):
		var ie *proc.InvalidError
		if errors.As(err, &ie) {
			return exitTether, "cannot run " + name + ": " + ie.Reason
		}
		return exitTether, "cannot run " + name + ": invalid command"
	case errors.Is(err, proc.ErrNotFound):
		var nf *proc.NotFoundError
		if errors.As(err, &nf) && nf.Searched != nil {
			return exitNotFound, "cannot run " + name + ": not found in PATH"
		}
		return exitNotFound, "cannot run " + name + ": no such file"
	case errors.Is(err, proc.ErrContainment):
		return exitTether, "cannot contain " + name + ": " + err.Error()
	case errors.Is(err, proc.ErrStart):
		// proc's error text is already free of paths and values.
		return exitCannotExec, "cannot run " + name + ": " + err.Error()
	}
	return exitTether, "cannot run " + name + ": " + err.Error()
}
