package proc

import (
	"log/slog"
	"os"
	"slices"
	"time"
)

// Spec is a read-only view of a Cmd, for Runners that match or record
// commands (package proctest) and for code built on proc's public API
// that must honour what the Cmd says (package supervise: its graceful
// signal and its logger). It contains environment values: do not log or
// store it as is.
type Spec struct {
	Name string
	Args []string
	Dir  string
	// Env lists the variables the command sets (SetEnv), in order; a
	// later one with the same name wins. Unset lists UnsetEnv names. (The
	// relative order of a set and an unset of the same name is not kept.)
	Env   [][2]string
	Unset []string
	// ClearEnv and InheritOnly describe the base environment: nothing, an
	// allow-list, or (both zero) the owner's.
	ClearEnv    bool
	InheritOnly []string
	// Stdin says where stdin comes from: "", "bytes", "lines", "file",
	// "reader", "inherit" or "interactive"; StdinBytes holds bytes given
	// with StdinBytes or StdinString.
	Stdin      string
	StdinBytes []byte
	// StderrToStdout is set when stderr goes where stdout goes
	// (Stderr(ToStdout())): stdout then carries both streams.
	StderrToStdout bool
	// TerminalRows and TerminalCols are the size given with Terminal
	// (both 0 without one); a terminal run's stderr is stdout's.
	TerminalRows, TerminalCols uint16
	Timeout                    time.Duration
	OKCodes                    []int
	// Grace and GracePeriod are what Grace was given (nil and 0 when it
	// was not called).
	Grace       os.Signal
	GracePeriod time.Duration
	// Logger is the logger given with Logger (nil: none).
	Logger *slog.Logger
}

// Spec returns a copy of what c says.
func (c *Cmd) Spec() Spec {
	if c == nil {
		return Spec{}
	}
	s := Spec{
		Name: c.name, Args: slices.Clone(c.args), Dir: c.dir,
		ClearEnv: c.env.clear, InheritOnly: slices.Clone(c.env.allow),
		Stdin: map[stdinKind]string{stdinNone: "", stdinBytes: "bytes", stdinLines: "lines", stdinFile: "file",
			stdinReader: "reader", stdinInherit: "inherit", stdinInteractive: "interactive"}[c.stdin.kind],
		StdinBytes:     slices.Clone(c.stdin.bytes),
		StderrToStdout: c.stderr.mode == modeStdout || c.term.set,
		TerminalRows:   c.term.rows, TerminalCols: c.term.cols,
		Timeout: c.timeout,
		OKCodes: slices.Clone(c.okCodes),
		Grace:   c.grace.sig, GracePeriod: c.grace.period,
		Logger: c.logger,
	}
	for _, op := range c.env.ops {
		if op.unset {
			s.Unset = append(s.Unset, op.key)
		} else {
			s.Env = append(s.Env, [2]string{op.key, op.value})
		}
	}
	return s
}
