package proc

import (
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gotether/tether/contain"
)

// Cmd is an immutable command spec. Every builder method returns a new Cmd
// and leaves the receiver unchanged, so a Cmd can be shared, stored and
// run any number of times, concurrently: each run builds a fresh
// exec.Cmd in a fresh container.
//
// Builder methods never fail; a malformed value (a NUL byte, a negative
// timeout, ...) is reported by the verb, as an error matching ErrInvalid,
// before anything is spawned.
//
// A Cmd prints without secrets: String gives the program name and the
// number of arguments. CommandLine gives the full quoted command line,
// only when asked.
type Cmd struct {
	name    string
	args    []string
	dir     string
	env     envSpec
	stdin   stdinSpec
	stdout  outSpec
	stderr  outSpec
	lines   lineSpec
	retry   retrySpec
	timeout time.Duration
	grace   graceSpec
	okCodes []int
	limits  []contain.Limit
	sys     sysSpec
	attrs   attrSpec
	term    termSpec
	// strip removes terminal control sequences from the text (StripControls).
	strip  bool
	runner Runner
	logger *slog.Logger
	// logLine logs the command line at spawn (LogCommandLine), through
	// scrub when it is not nil.
	logLine bool
	scrub   func([]string) []string
	// noOwnerDeath opts out of killing the tree when the owner dies.
	noOwnerDeath bool
	// fromNil marks a Cmd a builder method made from a nil *Cmd.
	fromNil bool
}

type graceSpec struct {
	sig    os.Signal
	period time.Duration
	set    bool
}

// sysSpec is what ends up in SysProcAttr.
type sysSpec struct {
	setsid     bool
	cred       *credSpec
	winFlags   uint32
	hideWindow bool
	pdeathsig  syscall.Signal
	// foreground is the terminal whose foreground the child's group
	// takes at fork (Foreground), nil for none.
	foreground *os.File
}

type credSpec struct {
	uid, gid uint32
	groups   []uint32
}

// Command returns a spec that runs the program name with args. name is
// looked up at run time unless it contains a path separator, in the PATH
// the child gets: the one the Cmd sets for it (SetEnv, or kept by
// InheritEnv), else the owner's (os/exec looks only in the owner's). No
// shell is involved, so args reach the program exactly as given.
//
// Defaults: the environment is inherited, stdin is empty, stdout and
// stderr are captured (capped at DefaultCap each), no timeout, exit code
// 0 is success, the default runner (a fresh container from the host's
// default backend for every run), no logging.
func Command(name string, args ...string) *Cmd {
	return &Cmd{
		name:   name,
		args:   slices.Clone(args),
		stdout: outSpec{mode: modeCapture, limit: DefaultCap, policy: KeepHead},
		stderr: outSpec{mode: modeCapture, limit: DefaultCap, policy: KeepTail},
	}
}

// with clones c and applies f to the clone. On a nil c it builds on an
// empty Cmd marked as such, which every verb then refuses as invalid:
// builders never fail, verbs report.
func (c *Cmd) with(f func(*Cmd)) *Cmd {
	if c == nil {
		c = &Cmd{fromNil: true}
	}
	n := *c
	n.args = slices.Clone(c.args)
	n.env = c.env.clone()
	n.okCodes = slices.Clone(c.okCodes)
	n.limits = slices.Clone(c.limits)
	n.lines.onLine = slices.Clone(c.lines.onLine)
	n.attrs = c.attrs.clone()
	if c.retry.policy != nil {
		p := *c.retry.policy
		n.retry.policy = &p
	}
	if c.sys.cred != nil {
		cred := *c.sys.cred
		cred.groups = slices.Clone(cred.groups)
		n.sys.cred = &cred
	}
	f(&n)
	return &n
}

// Name returns the program name as given to Command.
func (c *Cmd) Name() string {
	if c == nil {
		return ""
	}
	return c.name
}

// Args returns a copy of the arguments (without the program name).
func (c *Cmd) Args() []string {
	if c == nil {
		return nil
	}
	return slices.Clone(c.args)
}

// String describes the command without secrets: the program name and the
// number of arguments, never their values.
func (c *Cmd) String() string {
	if c == nil {
		return "proc.Cmd(nil)"
	}
	return "proc.Cmd(" + strconv.Quote(c.name) + ", " + strconv.Itoa(len(c.args)) + " args)"
}

// CommandLine returns the full command line, each word quoted for a POSIX
// shell where needed. It contains argument values: use it only where
// showing them is intended (a --dry-run, a debug view).
func (c *Cmd) CommandLine() string {
	if c == nil {
		return ""
	}
	return quoteWords(c.name, c.args)
}

// quoteWords joins name and args, each quoted for a POSIX shell where
// needed.
func quoteWords(name string, args []string) string {
	words := make([]string, 0, 1+len(args))
	for _, w := range append([]string{name}, args...) {
		words = append(words, shellQuote(w))
	}
	return strings.Join(words, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// WithArgs returns a copy with more arguments appended.
func (c *Cmd) WithArgs(args ...string) *Cmd {
	return c.with(func(n *Cmd) { n.args = append(n.args, args...) })
}

// Dir returns a copy that runs in directory dir. A directory that does not
// exist fails the run with a *DirError before the program is looked at.
func (c *Cmd) Dir(dir string) *Cmd { return c.with(func(n *Cmd) { n.dir = dir }) }

// Timeout returns a copy that is killed, with its whole tree, d after it
// started (after the grace, if one is set with Grace). Zero means no
// timeout; a negative d is an invalid command.
func (c *Cmd) Timeout(d time.Duration) *Cmd { return c.with(func(n *Cmd) { n.timeout = d }) }

// Grace returns a copy that, when its timeout fires or its context ends,
// first sends sig to every member of the tree, waits up to period for the
// direct child to exit, and only then kills the tree. Without Grace the
// tree is killed at once. On unix sig must be a syscall.Signal this
// system has (1 to 64 on Linux, 1 to 31 elsewhere): signal 0, a number
// out of range or a custom os.Signal would deliver nothing, so the run
// fails with ErrInvalid before spawning.
//
// Windows has no signals: a Grace with any signal other than os.Kill fails
// the run with ErrUnsupported before spawning (the CTRL_BREAK console
// event is not delivered reliably to processes without a shared console).
func (c *Cmd) Grace(sig os.Signal, period time.Duration) *Cmd {
	return c.with(func(n *Cmd) { n.grace = graceSpec{sig: sig, period: period, set: true} })
}

// OKCodes returns a copy that counts these exit codes as success besides
// 0 (grep's 1 for "no match", diff's 1 for "differ").
func (c *Cmd) OKCodes(codes ...int) *Cmd {
	return c.with(func(n *Cmd) { n.okCodes = append(n.okCodes, codes...) })
}

// Limits returns a copy whose container enforces these limits. A limit the
// backend cannot enforce here fails the run with a *contain.LimitError
// before spawning.
func (c *Cmd) Limits(limits ...contain.Limit) *Cmd {
	return c.with(func(n *Cmd) { n.limits = append(n.limits, limits...) })
}

// Setsid returns a copy whose child starts a new session (and process
// group). On Windows the run fails with ErrUnsupported before spawning.
func (c *Cmd) Setsid() *Cmd { return c.with(func(n *Cmd) { n.sys.setsid = true }) }

// Credential returns a copy that runs as uid and gid with the given
// supplementary groups (the caller needs the privilege to switch). On
// Windows the run fails with ErrUnsupported before spawning.
func (c *Cmd) Credential(uid, gid uint32, groups ...uint32) *Cmd {
	return c.with(func(n *Cmd) { n.sys.cred = &credSpec{uid: uid, gid: gid, groups: slices.Clone(groups)} })
}

// WindowsCreationFlags returns a copy whose child is created with these
// extra CreateProcess flags (CREATE_NO_WINDOW, ...). On other systems the
// run fails with ErrUnsupported before spawning.
func (c *Cmd) WindowsCreationFlags(flags uint32) *Cmd {
	return c.with(func(n *Cmd) { n.sys.winFlags |= flags })
}

// NoWindow returns a copy whose child gets no console window (Windows
// CREATE_NO_WINDOW and a hidden window). On other systems it is ignored
// by definition: there is no window to hide, so nothing is lost.
func (c *Cmd) NoWindow() *Cmd { return c.with(func(n *Cmd) { n.sys.hideWindow = true }) }

// ParentDeathSignal returns a copy whose direct child receives sig when
// the owner dies (Linux prctl PR_SET_PDEATHSIG). The kernel fires it when
// the OS thread that forked the child exits, not the process; tether
// forks such a child on a thread of its own that never exits, so the
// signal fires only on the owner's death. It reaches only the direct
// child; the container handles the rest of the tree. The kernel clears
// it when the child execs a set-user-ID or set-group-ID program. On
// other systems the run fails with ErrUnsupported before spawning.
func (c *Cmd) ParentDeathSignal(sig syscall.Signal) *Cmd {
	return c.with(func(n *Cmd) { n.sys.pdeathsig = sig })
}

// Foreground returns a copy whose child leads a process group of its
// own and, before it executes the program, makes that group the
// foreground process group of the terminal tty, as a job-control shell
// does for a foreground job: the program can read the terminal, and the
// keys that send signals (Ctrl-C, Ctrl-Z, Ctrl-\) reach its group instead
// of the owner's. The child does it itself, between fork and exec with
// its signals blocked, so the program never runs a moment in the
// background of the terminal (where reading it would stop it with
// SIGTTIN). The tree is contained as usual.
//
// tty must be the owner's controlling terminal, and the owner should be
// in its foreground (check that tcgetpgrp on tty is the owner's group):
// otherwise the run fails to start. From the spawn on the owner is in
// the background of the terminal, and the rest is the owner's job, as
// it is a shell's: take the foreground back when the run ends (a
// TIOCSPGRP with SIGTTOU ignored or blocked: from the background it
// would stop the owner), and notice when the program's group is stopped
// (Ctrl-Z) to stop itself and give the terminal back on SIGCONT.
// cmd/tether's `tether run` does all of it; see its source.
//
// With Setsid the run fails with ErrInvalid (a new session has no
// controlling terminal); on Windows with ErrUnsupported before
// spawning; Detach refuses it.
func (c *Cmd) Foreground(tty *os.File) *Cmd {
	return c.with(func(n *Cmd) { n.sys.foreground = tty })
}

// Runner returns a copy that runs through r (a runner bound to an explicit
// backend, a test double from proctest, ...).
func (c *Cmd) Runner(r Runner) *Cmd { return c.with(func(n *Cmd) { n.runner = r }) }

// Backend returns a copy that runs in containers of backend b, never
// falling back to another: if b cannot be used here the run fails with an
// error matching contain.ErrNotUsable. Shorthand for
// Runner(NewRunner(b)).
func (c *Cmd) Backend(b contain.Backend) *Cmd { return c.Runner(NewRunner(b)) }

// Logger returns a copy that logs spawn, exit, timeout, cancellation and
// teardown events to l. Events carry the program name, pid, mechanism,
// outcome and durations, never argument or environment values, the
// working directory or output, unless LogCommandLine asks for the
// arguments. Nil turns logging off (the default).
func (c *Cmd) Logger(l *slog.Logger) *Cmd { return c.with(func(n *Cmd) { n.logger = l }) }

// LogCommandLine returns a copy whose spawn event ("tether: spawned", at
// Info level on the Logger) carries the command line as the attribute
// command_line, quoted as CommandLine quotes it, as execa's verbose option
// prints it. It is off by default because it reveals argument values,
// which tether otherwise never logs: a token, a password or a private
// path given as an argument goes wherever the log goes.
//
// scrub, if not nil, is given a copy of the arguments (without the
// program name) and returns what to log in their place, such as
// RedactFlagValues("--password"); the child still gets the real ones. It
// runs on the verb's goroutine before anything is spawned, once per
// attempt, and only when there is a Logger, so a scrub that panics
// spawns nothing. Detach logs the command line the same way.
func (c *Cmd) LogCommandLine(scrub func(args []string) []string) *Cmd {
	return c.with(func(n *Cmd) { n.logLine, n.scrub = true, scrub })
}

// RedactFlagValues returns a scrub for LogCommandLine that logs the value
// of each flag named in flags as "REDACTED": the argument that follows
// the flag ("--token", "abc"), or what follows its "=" ("--token=abc").
// Flags are matched exactly as written, dashes included, so list every
// spelling ("-p", "--password").
func RedactFlagValues(flags ...string) func(args []string) []string {
	secret := make(map[string]bool, len(flags))
	for _, f := range flags {
		secret[f] = true
	}
	return func(args []string) []string {
		for i := 0; i < len(args); i++ {
			if name, _, ok := strings.Cut(args[i], "="); ok && secret[name] {
				args[i] = name + "=REDACTED"
			} else if secret[args[i]] && i+1 < len(args) {
				args[i+1] = "REDACTED"
				i++
			}
		}
		return args
	}
}

// loggedCommandLine is the command line LogCommandLine logs, scrubbed.
func (c *Cmd) loggedCommandLine() string {
	args := slices.Clone(c.args)
	if c.scrub != nil {
		args = c.scrub(args)
	}
	return quoteWords(c.name, args)
}

// SurviveOwnerDeath returns a copy whose tree is not killed when the
// owner process dies abruptly. By default it is: the container registers
// the tree with a watchdog (see contain.Options.KillOnOwnerDeath).
func (c *Cmd) SurviveOwnerDeath() *Cmd { return c.with(func(n *Cmd) { n.noOwnerDeath = true }) }
