package main

import (
	"errors"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gotether/tether/contain"
)

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
