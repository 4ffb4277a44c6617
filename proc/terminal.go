package proc

import (
	"os"
	"strconv"
)

// termSpec is the pseudo-terminal a Cmd asks for (Terminal).
type termSpec struct {
	rows, cols uint16
	set        bool
}

// DefaultTerm is the TERM a terminal run gets unless the Cmd sets it.
const DefaultTerm = "xterm-256color"

// Terminal returns a copy whose child runs on a new pseudo-terminal of
// rows by cols characters, as it would in a terminal emulator: its
// stdin, stdout and stderr are the terminal, and it leads a new session
// whose controlling terminal it is: isatty is true, so a program colours
// its output, line-buffers it and prompts for passwords as it does for a
// person. What
// it prints (stdout and stderr merged, as a terminal merges them) is
// stdout's: Result.Stdout, the stdout lines, Tee and ToReader; Result.Stderr
// stays empty. The child's environment gets TERM=xterm-256color and
// COLUMNS and LINES of the requested size, replacing what it would have
// inherited from the owner (the owner's COLUMNS and LINES describe the
// owner's terminal, not this one); a SetEnv or UnsetEnv of those names
// on the Cmd wins.
//
// The terminal is interactive: on a run started with Start,
// RunningProcess.Stdin writes to it as if typed (InteractiveStdin is
// implied, unless StdinBytes, StdinString or StdinLines give the input
// instead), SendControl('C') sends Ctrl-C, which the terminal turns into
// SIGINT for the child's foreground process group, and
// RunningProcess.Resize changes its size (the child gets SIGWINCH).
// WaitForPrompt sees a prompt that has no newline yet. The other verbs
// (Output, Run, ...) have nobody typing: a child that reads the terminal
// waits, as it would at a silent keyboard, until its Timeout.
//
// A terminal transforms what passes through it: the child's "\n" reaches
// the output as "\r\n" (the line readers treat both as a line end), what
// is written to the terminal comes back in the output while the child
// has echo on, and until the child switches the terminal to raw mode a
// line of input is limited to 4095 bytes, the rest dropped by the
// kernel. StripControls removes colour and cursor sequences from the
// text. See docs/terminals.md.
//
// Containment is unchanged: the child is a session leader, and every
// backend holds it (a cgroup holds every process; a process group
// container holds the child's group, which a session leader leads). The
// run ends when the direct child exits, even if a process it left
// behind still holds the terminal: that process is killed with the tree.
// The terminal's descriptors are closed when the run ends.
//
// rows and cols must be at least 1, otherwise the run fails with
// ErrInvalid. Setsid is implied (and allowed). The run also fails with
// ErrInvalid before spawning with Foreground (the owner's terminal); with
// a stdin other than the default, InteractiveStdin, StdinBytes,
// StdinString or StdinLines (the terminal is the child's stdin: those are
// typed into it); with a stdout other than Capture, Tee or ToReader; or
// with a stderr set to anything but ToStdout.
//
// On Windows the terminal is a pseudo console (ConPTY, Windows 10 1809
// and later; before that ErrUnsupported before spawning): Ctrl-C is a
// CTRL_C_EVENT, a resize reaches a program through its console input,
// not SIGWINCH; rows and cols are at most 32767, and
// WindowsCreationFlags with DETACHED_PROCESS or CREATE_NEW_CONSOLE fail
// with ErrInvalid. Under Wine the child's standard handles are not the
// console (docs/terminals.md says what Wine does). Systems without
// pseudo-terminals fail with ErrUnsupported before spawning; Detach and
// a pipeline's stages refuse it.
func (c *Cmd) Terminal(rows, cols uint16) *Cmd {
	return c.with(func(n *Cmd) { n.term = termSpec{rows: rows, cols: cols, set: true} })
}

// checkTerminal refuses what cannot go with a terminal run (see
// Terminal).
func (c *Cmd) checkTerminal() error {
	if !c.term.set {
		return nil
	}
	invalid := func(reason string) error { return &InvalidError{Program: c.name, Reason: reason} }
	switch {
	case c.term.rows == 0 || c.term.cols == 0:
		return invalid("Terminal with zero rows or columns")
	case c.term.rows > maxTerminalSide || c.term.cols > maxTerminalSide:
		return invalid("Terminal larger than " + strconv.Itoa(maxTerminalSide) + " rows or columns (a Windows console's size is a signed 16-bit number)")
	case c.sys.foreground != nil:
		return invalid("Terminal with Foreground (the child's terminal is its own, not the owner's)")
	}
	switch c.stdin.kind {
	case stdinNone, stdinInteractive, stdinBytes, stdinLines:
	default:
		return invalid("Terminal with a stdin reader, file, pipe or the owner's stdin: the terminal is the child's stdin (write to it with RunningProcess.Stdin, or give StdinBytes, StdinString or StdinLines)")
	}
	switch c.stdout.mode {
	case modeCapture, modeTee, modeReader:
	default:
		return invalid("Terminal with stdout not captured: the terminal's output is read by tether (use Capture, Tee or ToReader)")
	}
	if c.stderr.set && c.stderr.mode != modeStdout {
		return invalid("Terminal with stderr set: a terminal merges stderr into stdout")
	}
	return terminalSupported(c)
}

// terminalEnv returns e with TERM, COLUMNS and LINES set for a terminal
// of rows by cols, before the Cmd's own changes, which therefore win.
func terminalEnv(e envSpec, rows, cols uint16) envSpec {
	e = e.clone()
	e.ops = append([]envOp{
		{key: "TERM", value: DefaultTerm},
		{key: "COLUMNS", value: strconv.Itoa(int(cols))},
		{key: "LINES", value: strconv.Itoa(int(rows))},
	}, e.ops...)
	return e
}

// terminalSides gives a terminal run its side of the terminal: w, what
// tether writes to it, as the interactive stdin writer on Start or the
// feeder of StdinBytes or StdinLines; r, what the terminal prints, read
// as stdout (the end of its output is the end of stdout); and no stderr
// capture, since the terminal merges stderr into stdout.
func (p *RunningProcess) terminalSides(w, r *os.File, viaStart bool) {
	c := p.cmd
	switch c.stdin.kind {
	case stdinBytes, stdinLines:
		p.stdin.set(c.stdin.kind, w, &feeder{spec: c.stdin, w: w, done: make(chan struct{})}, viaStart)
	default:
		p.stdin.set(stdinInteractive, w, nil, viaStart)
	}
	p.streams.add(c, Stdout, r, viaStart)
	p.streams.add(c, Stderr, nil, viaStart) // merged: no capture of its own
}

// Resize sets the size of a terminal run's terminal (Cmd.Terminal) to
// rows by cols; the kernel sends the child's foreground process group
// SIGWINCH. rows and cols must be at least 1. It fails with an
// *InvalidError for a run without a terminal, and with an error matching
// os.ErrClosed once the terminal's output has ended (the run ended, or
// every process of it closed the terminal).
func (p *RunningProcess) Resize(rows, cols uint16) error {
	switch {
	case p.term == nil:
		return &InvalidError{Program: p.cmd.name, Reason: "Resize on a run without a terminal (use Cmd.Terminal)"}
	case rows == 0 || cols == 0:
		return &InvalidError{Program: p.cmd.name, Reason: "Resize to zero rows or columns"}
	case rows > maxTerminalSide || cols > maxTerminalSide:
		return &InvalidError{Program: p.cmd.name, Reason: "Resize to more than " + strconv.Itoa(maxTerminalSide) + " rows or columns (a Windows console's size is a signed 16-bit number)"}
	}
	return setTerminalSize(p.term, rows, cols)
}
