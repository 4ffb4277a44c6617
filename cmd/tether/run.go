package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
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

const runUsage = `usage: tether run [flags] -- PROGRAM [ARGS...]

Runs PROGRAM in a fresh container (a cgroup, a process group or a job
object) with stdin, stdout and stderr passed through, and exits with its
status. Whatever PROGRAM starts dies with it: when it exits, times out or
tether is asked to stop, the whole tree is killed and its death confirmed
before tether exits.

flags:
  --timeout DURATION   kill the tree after DURATION (1.5s, 2m; a bare number is seconds)
  --grace DURATION     on timeout or on SIGINT/SIGTERM/SIGHUP, send --signal first and
                       kill the tree DURATION later (default 0: kill at once)
  --signal NAME        the graceful signal: TERM (default), INT, HUP, USR1, ...
                       with or without SIG, RTMIN+N or RTMAX-N, or a number
  --mechanism NAME     auto (default), cgroupv2, systemd, pgid or jobobject; an
                       explicit choice never falls back
  --memory-max SIZE    memory limit for the tree (bytes, or K/M/G/T, base 1024)
  --pids-max N         limit on live processes in the tree
  --cpu-max CORES      CPU limit for the tree, in cores (0.5, 2)
  --json FILE          write the result to FILE as JSON (/dev/stdout, /dev/stderr
                       and /dev/fd/N: tether's own descriptor; a symbolic link, a
                       directory, a device but /dev/null and a FIFO nobody reads
                       are refused)
  --quiet              write nothing of tether's own to stderr

In the foreground of a terminal (Linux), PROGRAM gets the terminal: it can
read it, Ctrl-C and Ctrl-Z reach it alone, fg resumes it, and tether takes
the terminal back when the run ends.

exit status: PROGRAM's own; 124 timed out; 125 tether failed (bad flags,
containment unusable, a limit that cannot be enforced here); 126 PROGRAM not
executable; 127 PROGRAM not found; 128+N PROGRAM died of signal N, or tether
received signal N and stopped the tree.
`

// runOptions is a parsed `tether run` command line.
type runOptions struct {
	timeout    time.Duration
	grace      time.Duration
	signal     string // as given; parsed when needed
	signalSet  bool
	mechanism  string
	limits     map[contain.LimitKind]contain.Limit
	jsonPath   string
	quiet      bool
	help       bool
	program    string
	args       []string
	graceSig   os.Signal
	limitOrder []contain.LimitKind
}

// usageError is a bad command line. Its text never repeats a value from
// the command line (only flag names), so nothing secret reaches stderr.
type usageError string

func (e usageError) Error() string { return string(e) }

// runFlag is one flag of `tether run`. set never puts the value into its
// error.
type runFlag struct {
	boolean bool
	set     func(o *runOptions, v string) error
}

var runFlags = map[string]runFlag{
	"timeout": {set: func(o *runOptions, v string) error {
		d, err := parseDuration(v)
		o.timeout = d
		return err
	}},
	"grace": {set: func(o *runOptions, v string) error {
		d, err := parseDuration(v)
		o.grace = d
		return err
	}},
	"signal": {set: func(o *runOptions, v string) error {
		o.signal, o.signalSet = v, true
		return nil
	}},
	"mechanism": {set: func(o *runOptions, v string) error {
		switch v {
		case "auto", string(contain.CgroupV2), string(contain.Systemd), string(contain.PGID), string(contain.JobObject):
			o.mechanism = v
			return nil
		}
		return errors.New("must be auto, cgroupv2, systemd, pgid or jobobject")
	}},
	"memory-max": {set: func(o *runOptions, v string) error {
		n, err := parseSize(v)
		if err != nil {
			return err
		}
		return o.addLimit(contain.MemoryMax(n))
	}},
	"pids-max": {set: func(o *runOptions, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return errors.New("must be a positive whole number")
		}
		return o.addLimit(contain.MaxProcesses(n))
	}},
	"cpu-max": {set: func(o *runOptions, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 {
			return errors.New("must be a positive number of cores, such as 0.5 or 2")
		}
		return o.addLimit(contain.CPUQuota(f))
	}},
	"json": {set: func(o *runOptions, v string) error {
		if v == "" {
			return errors.New("needs a file name")
		}
		o.jsonPath = v
		return nil
	}},
	"quiet": {boolean: true, set: func(o *runOptions, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("must be true or false")
		}
		o.quiet = b
		return nil
	}},
	"help": {boolean: true, set: func(o *runOptions, _ string) error { o.help = true; return nil }},
	"h":    {boolean: true, set: func(o *runOptions, _ string) error { o.help = true; return nil }},
}

// addLimit records l, validated; a later flag of the same kind wins.
func (o *runOptions) addLimit(l contain.Limit) error {
	if err := l.Validate(); err != nil {
		var le *contain.LimitError
		if errors.As(err, &le) {
			return errors.New(le.Reason)
		}
		return err
	}
	if _, ok := o.limits[l.Kind]; !ok {
		o.limitOrder = append(o.limitOrder, l.Kind)
	}
	o.limits[l.Kind] = l
	return nil
}

// parseRunArgs parses the flags up to "--" (or the first argument that is
// not a flag) and takes the rest as the program and its arguments. On
// error the returned options hold what was parsed so far (so --quiet is
// honoured if it came first).
func parseRunArgs(args []string) (*runOptions, error) {
	o := &runOptions{signal: "TERM", mechanism: "auto", limits: map[contain.LimitKind]contain.Limit{}}
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		body := strings.TrimPrefix(a[1:], "-")
		dashes := a[:len(a)-len(body)]
		name, val, hasVal := strings.Cut(body, "=")
		f, ok := runFlags[name]
		if !ok || name == "" {
			// The name only, never a value after "=".
			return o, usageError("run: unknown flag " + strconv.Quote(dashes+name) + " (see tether run --help)")
		}
		switch {
		case f.boolean && !hasVal:
			val = "true"
		case !f.boolean && !hasVal:
			if i+1 >= len(args) {
				return o, usageError("run: flag --" + name + " needs a value")
			}
			i++
			val = args[i]
		}
		if err := f.set(o, val); err != nil {
			return o, usageError("run: bad value for --" + name + ": " + err.Error())
		}
		if o.help {
			return o, nil
		}
	}
	if i >= len(args) {
		return o, usageError("run: no program given (tether run [flags] -- PROGRAM [ARGS...])")
	}
	o.program, o.args = args[i], args[i+1:]
	if o.signalSet || o.grace > 0 {
		sig, err := parseSignal(o.signal)
		if err != nil && !o.signalSet {
			return o, usageError("run: --grace needs a signal, and the default TERM cannot be sent here: " + err.Error())
		}
		if err != nil {
			return o, usageError("run: bad value for --signal: " + err.Error())
		}
		o.graceSig = sig
	}
	return o, nil
}

// parseDuration accepts Go durations ("1.5s", "2m") and, as coreutils
// timeout does, a bare number of seconds.
func parseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		f, ferr := strconv.ParseFloat(v, 64)
		ns := f * float64(time.Second)
		// 2^63 ns and beyond do not fit a Duration (the conversion would
		// be implementation-defined).
		if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(ns) >= 0x1p63 {
			return 0, errors.New("not a duration (use 1.5s, 500ms, 2m, or a number of seconds)")
		}
		d = time.Duration(ns)
	}
	if d < 0 {
		return 0, errors.New("must not be negative")
	}
	return d, nil
}

// parseSize reads a byte count with an optional K, M, G or T suffix (base
// 1024; "Ki", "KiB" and "KB" are read the same way).
func parseSize(v string) (int64, error) {
	bad := errors.New("not a size (use bytes, or a number with K, M, G or T: 512K, 64M, 1.5G)")
	s := strings.ToUpper(strings.TrimSpace(v))
	s = strings.TrimSuffix(strings.TrimSuffix(s, "B"), "I")
	mult := 1.0
	if n := len(s); n > 0 {
		if i := strings.IndexByte("KMGT", s[n-1]); i >= 0 {
			mult = math.Pow(1024, float64(i+1))
			s = s[:n-1]
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, bad
	}
	f *= mult
	if f < 1 || f > math.MaxInt64/2 {
		return 0, errors.New("must be at least one byte and in range")
	}
	return int64(f), nil
}

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
	if err != nil {
		rn.say("%v", err)
		return exitTether
	}
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
		if rn.o.grace > 0 {
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
	status := exitStatus(r, rn.got)
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
// the caller who sent the signal asked about.
func exitStatus(r *proc.Result, got os.Signal) int {
	switch {
	case got != nil && r.Outcome != proc.TimedOut:
		return statusForSignal(got)
	case r.Outcome == proc.TimedOut:
		return exitTimedOut
	case r.Outcome == proc.Exited:
		return r.ExitCode
	case r.Outcome == proc.Signaled:
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
	switch {
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

// runReport is what --json writes. Unknown values are null, never zero.
type runReport struct {
	Program   string  `json:"program"`
	Pid       *int    `json:"pid"`
	Mechanism *string `json:"mechanism"`
	// Outcome is proc's: "exited", "signaled", "timed out", "cancelled".
	Outcome  *string `json:"outcome"`
	ExitCode *int    `json:"exit_code"`
	// Signal ended the direct child (after a timeout or a stop, the one
	// tether sent).
	Signal   *string `json:"signal"`
	TimedOut bool    `json:"timed_out"`
	// Received is the signal tether received and forwarded as a stop.
	Received        *string  `json:"received_signal"`
	DurationMs      *float64 `json:"duration_ms"`
	CPUMs           *float64 `json:"cpu_ms"`
	PeakMemoryBytes *uint64  `json:"peak_memory_bytes"`
	// Status is tether's own exit status.
	Status int     `json:"status"`
	Error  *string `json:"error"`
}

func (rep *runReport) fill(r *proc.Result) {
	rep.Pid, rep.Mechanism = ptr(r.Pid), ptr(string(r.Mechanism))
	rep.Outcome = ptr(r.Outcome.String())
	if r.Outcome == proc.Exited {
		rep.ExitCode = ptr(r.ExitCode)
	}
	if r.Signal != "" {
		rep.Signal = ptr(r.Signal)
		if n := signalNumber(r.Signal); n > 0 {
			// proc names a signal without a name of its own "signal
			// 40"; tether names it as --signal reads it (SIGRTMIN+6).
			rep.Signal = ptr(signalName(syscall.Signal(n)))
		}
	}
	rep.TimedOut = r.Outcome == proc.TimedOut
	rep.DurationMs = ptr(ms(r.Duration))
	if cpu, ok := r.Usage.CPU.Get(); ok {
		rep.CPUMs = ptr(ms(cpu))
	}
	if peak, ok := r.Usage.MemoryPeak.Get(); ok {
		rep.PeakMemoryBytes = ptr(peak)
	}
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func ptr[T any](v T) *T { return &v }
