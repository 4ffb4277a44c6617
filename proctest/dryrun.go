package proctest

import (
	"context"
	"io"
	"strings"
	"sync"

	"github.com/gotether/tether/proc"
)

// DryRun is a proc.Runner that prints each command line instead of
// running it, for tools with a --dry-run flag. Every run succeeds at once
// with no output (Mechanism proc.FakeMechanism). The line is quoted for
// the host's shell, so it can be pasted there: POSIX sh quoting on Unix
// (proc.Cmd.CommandLine), and on Windows the CommandLineToArgvW rules
// with every word holding a space or a cmd.exe metacharacter in double
// quotes (cmd.exe still expands %NAME% inside them). The working
// directory and the environment are not printed.
//
// A DryRun is safe for concurrent use; each line is written whole.
type DryRun struct {
	mu sync.Mutex
	w  io.Writer
}

// NewDryRun returns a DryRun that writes one line per command to w.
func NewDryRun(w io.Writer) *DryRun { return &DryRun{w: w} }

// Output prints c's command line and returns a successful Result. It
// fails only if c is malformed or the line cannot be written.
func (d *DryRun) Output(ctx context.Context, c *proc.Cmd) (*proc.Result, error) {
	if err := d.print(c); err != nil {
		return nil, err
	}
	return proc.NewResult(c, proc.Exited, 0, "", nil, nil), nil
}

// Start prints c's command line and returns a RunningProcess that has
// already exited with code 0.
func (d *DryRun) Start(ctx context.Context, c *proc.Cmd) (*proc.RunningProcess, error) {
	if err := d.print(c); err != nil {
		return nil, err
	}
	f, err := proc.NewFakeProcess(ctx, c, 0)
	if err != nil {
		return nil, err
	}
	f.End(proc.Exited, 0, "")
	return f.Process(), nil
}

func (d *DryRun) print(c *proc.Cmd) error {
	if err := c.Validate(); err != nil {
		return err
	}
	line := hostCommandLine(c) + "\n"
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err := io.WriteString(d.w, line)
	return err
}

// windowsCommandLine quotes argv so that CommandLineToArgvW (and the C
// runtime) split it back into the same words, and so that cmd.exe treats
// no metacharacter outside double quotes: a word with a space, a tab, a
// quote or one of &|<>^()%!,;= is quoted. Backslashes are literal except
// before a quote, where they are doubled (the parsing rules of
// CommandLineToArgvW). The program name is only wrapped in quotes: the
// rules for the first word take no escapes.
func windowsCommandLine(argv []string) string {
	words := make([]string, len(argv))
	for i, w := range argv {
		switch {
		case i == 0 && needsWinQuote(w):
			words[i] = `"` + w + `"`
		case i == 0:
			words[i] = w
		default:
			words[i] = winQuote(w)
		}
	}
	return strings.Join(words, " ")
}

func needsWinQuote(s string) bool { return s == "" || strings.ContainsAny(s, " \t\n\v\"&|<>^()%!,;=") }

func winQuote(s string) string {
	if !needsWinQuote(s) {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	slashes := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			slashes++
		case '"':
			// The backslashes written so far are doubled, plus one for
			// the quote itself.
			b.WriteString(strings.Repeat(`\`, slashes+1))
			slashes = 0
			b.WriteByte('"')
			continue
		default:
			slashes = 0
		}
		b.WriteByte(s[i])
	}
	// Backslashes before the closing quote are doubled, so that it closes.
	b.WriteString(strings.Repeat(`\`, slashes))
	b.WriteByte('"')
	return b.String()
}
