package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/proc"
)

const runUsage = `usage: tether run [flags] -- PROGRAM [ARGS...]

Runs PROGRAM in a fresh container (a cgroup, a process group or a job
object) with stdin, stdout and stderr passed through, and exits with its
status. Whatever PROGRAM starts dies with it: when it exits, times out or
tether is asked to stop, the whole tree is killed and its death confirmed
before tether exits.

flags:
  --timeout DURATION   kill the tree after DURATION (1.5s, 2m, 1h, 1d; a bare number
                       is seconds)
  -k, --kill-after DURATION, or --grace DURATION
                       on timeout or on SIGINT/SIGTERM/SIGHUP, send --signal first and
                       kill the tree DURATION later (default 0: kill at once, unless
                       --signal is given); give one of the names, not both
  -s, --signal NAME    the graceful signal: TERM (default), INT, HUP, USR1, ...
                       with or without SIG, RTMIN+N or RTMAX-N, or a number; given
                       without -k, as timeout has it, PROGRAM gets the signal and
                       as long as it takes to exit (a second stop signal to tether
                       kills the tree at once)
  --preserve-status    after a timeout, exit with PROGRAM's own status (128+N if
                       the graceful signal or the kill ended it) instead of 124
  --env NAME=VALUE     set NAME in PROGRAM's environment (repeatable); PROGRAM
                       is looked up in the PATH it gets
  --chdir DIR          run PROGRAM in directory DIR
  --uid N, --gid N     run PROGRAM as user ID N, group ID N (numeric; the other
                       stays tether's own; supplementary groups are dropped;
                       needs the privilege to switch; not on Windows)
  --nice N             run PROGRAM at nice value N, -20 to 19 (absolute, not added
                       to tether's own; Linux and Windows, where it picks a
                       priority class)
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
  --version            print tether's version (as tether version) and exit

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
	timeout   time.Duration
	grace     time.Duration
	graceFlag string // the spelling that set grace ("--grace" or "--kill-after"); "" unset
	signal    string // as given; parsed when needed
	signalSet bool
	mechanism string
	limits    map[contain.LimitKind]contain.Limit
	jsonPath  string
	quiet     bool
	help      bool
	version   bool
	// preserveStatus makes a timed-out run exit with the program's own
	// status instead of 124 (coreutils timeout's --preserve-status).
	preserveStatus bool
	env            [][2]string // --env NAME=VALUE, in order
	dir            string      // --chdir; "" keeps tether's own
	uid, gid       uint32
	uidSet, gidSet bool
	nice           int
	niceSet        bool
	program        string
	args           []string
	graceSig       os.Signal
	limitOrder     []contain.LimitKind
}

// usageError is a bad command line. Its text never repeats a value from
// the command line (only flag names), so nothing secret reaches stderr.
type usageError string

func (e usageError) Error() string { return string(e) }

// cliFlag is one flag of a tether subcommand, setting a field of T. set
// never puts the value into its error; a usageError it returns is the
// whole message.
type cliFlag[T any] struct {
	boolean bool
	set     func(o *T, v string) error
}

// setBool is the set of a boolean flag: "--quiet" alone, or
// "--quiet=false".
func setBool[T any](field func(o *T) *bool) func(o *T, v string) error {
	return func(o *T, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("must be true or false")
		}
		*field(o) = b
		return nil
	}
}

var runFlags = map[string]cliFlag[runOptions]{
	"timeout": {set: func(o *runOptions, v string) error {
		d, err := parseDuration(v)
		o.timeout = d
		return err
	}},
	// --kill-after and -k are coreutils timeout's names for --grace.
	"grace":      {set: func(o *runOptions, v string) error { return o.setGrace("--grace", v) }},
	"kill-after": {set: func(o *runOptions, v string) error { return o.setGrace("--kill-after", v) }},
	"k":          {set: func(o *runOptions, v string) error { return o.setGrace("--kill-after", v) }},
	"signal":     {set: setSignal},
	"s":          {set: setSignal},
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
	"env": {set: func(o *runOptions, v string) error {
		name, val, ok := strings.Cut(v, "=")
		switch {
		case !ok:
			return errors.New("must be NAME=VALUE")
		case name == "":
			return errors.New("the variable's name is empty")
		case strings.IndexByte(v, 0) >= 0:
			return errors.New("holds a NUL byte")
		}
		o.env = append(o.env, [2]string{name, val})
		return nil
	}},
	"chdir": {set: func(o *runOptions, v string) error {
		switch {
		case v == "":
			return errors.New("needs a directory")
		case strings.IndexByte(v, 0) >= 0:
			return errors.New("holds a NUL byte")
		}
		o.dir = v
		return nil
	}},
	"uid": {set: func(o *runOptions, v string) error {
		n, err := parseID(v)
		o.uid, o.uidSet = n, err == nil
		return err
	}},
	"gid": {set: func(o *runOptions, v string) error {
		n, err := parseID(v)
		o.gid, o.gidSet = n, err == nil
		return err
	}},
	"nice": {set: func(o *runOptions, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < proc.MinNice || n > proc.MaxNice {
			return fmt.Errorf("must be a whole number from %d to %d", proc.MinNice, proc.MaxNice)
		}
		o.nice, o.niceSet = n, true
		return nil
	}},
	"preserve-status": {boolean: true, set: setBool(func(o *runOptions) *bool { return &o.preserveStatus })},
	"quiet":           {boolean: true, set: setBool(func(o *runOptions) *bool { return &o.quiet })},
	"version":         {boolean: true, set: func(o *runOptions, _ string) error { o.version = true; return nil }},
	"help":            {boolean: true, set: func(o *runOptions, _ string) error { o.help = true; return nil }},
	"h":               {boolean: true, set: func(o *runOptions, _ string) error { o.help = true; return nil }},
}

// setSignal is --signal and -s: the graceful signal, parsed once the
// whole command line is read.
func setSignal(o *runOptions, v string) error {
	o.signal, o.signalSet = v, true
	return nil
}

// setGrace is --grace, --kill-after and -k: one setting under two long
// names. Giving both is refused rather than letting the later one win
// silently: a command line that says two things about the kill has a
// mistake in it. The same name twice is any other flag given twice.
func (o *runOptions) setGrace(flag, v string) error {
	if o.graceFlag != "" && o.graceFlag != flag {
		return usageError("run: --grace and --kill-after (-k) are the same setting: give one")
	}
	d, err := parseDuration(v)
	o.grace, o.graceFlag = d, flag
	return err
}

// parseID reads a numeric user or group ID: 0 to 4294967294 (the all-ones
// value means "unchanged" to setresuid and is no ID).
func parseID(v string) (uint32, error) {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n == math.MaxUint32 {
		return 0, errors.New("must be a numeric ID from 0 to 4294967294")
	}
	return uint32(n), nil
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

// parseFlags parses the flags of subcommand cmd at the start of args into
// o, up to "--" (taken) or the first argument that is not a flag, and
// returns the index of the first argument left. Flags take one dash or
// two, a value after "=" or as the next argument; a one-letter flag that
// takes a value may have it attached, as getopt allows ("-k5s", "-sINT").
// It stops after a flag for which done says so (--help, --version). The
// error names flags, never a value.
func parseFlags[T any](cmd string, flags map[string]cliFlag[T], o *T, args []string, done func(*T) bool) (int, error) {
	i := 0
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return i + 1, nil
		}
		if len(a) < 2 || a[0] != '-' {
			return i, nil
		}
		body := strings.TrimPrefix(a[1:], "-")
		dashes := a[:len(a)-len(body)]
		name, val, hasVal := strings.Cut(body, "=")
		f, ok := flags[name]
		if !ok && dashes == "-" && !hasVal && len(name) > 1 {
			if short, sok := flags[name[:1]]; sok && !short.boolean {
				f, ok, val, hasVal, name = short, true, name[1:], true, name[:1]
			}
		}
		if !ok || name == "" {
			// The name only, never a value after "=".
			return i, unknownFlag(cmd, dashes+name)
		}
		flag := dashes + name
		switch {
		case f.boolean && !hasVal:
			val = "true"
		case !f.boolean && !hasVal:
			if i+1 >= len(args) {
				return i, usageError(cmd + ": flag " + flag + " needs a value")
			}
			i++
			val = args[i]
		}
		if err := f.set(o, val); err != nil {
			var ue usageError
			if errors.As(err, &ue) {
				return i, ue
			}
			return i, usageError(cmd + ": bad value for " + flag + ": " + err.Error())
		}
		if done(o) {
			return i + 1, nil
		}
	}
	return i, nil
}

// unknownFlag is the usage error every subcommand gives for a flag it
// does not have, with the hint where its flags are listed.
// cmd "" is tether itself.
func unknownFlag(cmd, flag string) error {
	prefix := ""
	if cmd != "" {
		prefix = cmd + ": "
	}
	return usageError(prefix + "unknown flag " + strconv.Quote(flag) + " (see " + helpFor(cmd) + ")")
}

// helpFor is the command that lists cmd's flags.
func helpFor(cmd string) string {
	if cmd == "" {
		return "tether --help"
	}
	return "tether " + cmd + " --help"
}

// parseRunArgs parses the flags up to "--" (or the first argument that is
// not a flag) and takes the rest as the program and its arguments. On
// error the returned options hold what was parsed so far (so --quiet is
// honoured if it came first).
func parseRunArgs(args []string) (*runOptions, error) {
	o := &runOptions{signal: "TERM", mechanism: "auto", limits: map[contain.LimitKind]contain.Limit{}}
	i, err := parseFlags("run", runFlags, o, args, func(o *runOptions) bool { return o.help || o.version })
	if err != nil || o.help || o.version {
		return o, err
	}
	if i >= len(args) {
		return o, usageError("run: no program given (tether run [flags] -- PROGRAM [ARGS...])")
	}
	o.program, o.args = args[i], args[i+1:]
	if (o.uidSet || o.gidSet) && runtime.GOOS == "windows" {
		return o, usageError("run: --uid and --gid are not supported on " + runtime.GOOS + " (it has no numeric user and group IDs)")
	}
	if o.signalSet || o.grace > 0 {
		sig, err := parseSignal(o.signal)
		if err != nil && !o.signalSet {
			return o, usageError("run: " + o.graceFlag + " needs a signal, and the default TERM cannot be sent here: " + err.Error())
		}
		if err != nil {
			return o, usageError("run: bad value for --signal: " + err.Error())
		}
		o.graceSig = sig
		if o.grace == 0 {
			// -s without -k, as timeout has it: the signal at the
			// timeout, then PROGRAM's own time. The tree still dies
			// when PROGRAM ends, and a second stop signal to tether
			// kills it at once.
			o.grace = unboundedGrace
		}
	}
	return o, nil
}

// unboundedGrace is the grace period of an explicit --signal without
// --grace or --kill-after: no kill follows the signal.
const unboundedGrace = time.Duration(math.MaxInt64)

// graceUnbounded reports --signal without a grace (see unboundedGrace).
func (o *runOptions) graceUnbounded() bool { return o.grace == unboundedGrace }

// parseDuration accepts Go durations ("1.5s", "2m", "1h30m") and, as
// coreutils timeout does, a bare number of seconds or a number of days
// with a "d" suffix ("1.5d", "1e-3d"; timeout's other suffixes s, m and h
// are Go durations already).
func parseDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil {
		num, unit := v, float64(time.Second)
		if days, ok := strings.CutSuffix(v, "d"); ok {
			num, unit = days, float64(24*time.Hour)
		}
		f, ferr := strconv.ParseFloat(num, 64)
		ns := f * unit
		// 2^63 ns and beyond do not fit a Duration (the conversion would
		// be implementation-defined).
		if ferr != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(ns) >= 0x1p63 {
			return 0, errors.New("not a duration (use 1.5s, 500ms, 2m, 1h, 1d, or a number of seconds)")
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
