package proc

import (
	"context"
	"slices"
	"time"

	"github.com/gotether/tether/retry"
)

// Client runs one program with shared defaults: default arguments,
// environment, working directory, timeout and runner. It is the core of a
// typed wrapper of a command-line tool: the wrapper builds arguments and
// parses output, and is tested by giving the Client a runner from
// proctest. Like Cmd it is immutable: every With method returns a copy.
//
//	git := proc.NewClient("git").WithArgs("-C", repo).SetEnv("GIT_TERMINAL_PROMPT", "0")
//	branch, err := proc.Parse(ctx, git.Command("rev-parse", "--abbrev-ref", "HEAD"), parseBranch)
type Client struct {
	base *Cmd
}

// NewClient returns a Client for program.
func NewClient(program string) *Client { return &Client{base: Command(program)} }

func (c *Client) with(f func(*Cmd) *Cmd) *Client { return &Client{base: f(c.base)} }

// WithArgs returns a copy whose commands start with args.
func (c *Client) WithArgs(args ...string) *Client {
	return c.with(func(b *Cmd) *Cmd { return b.WithArgs(args...) })
}

// SetEnv returns a copy whose commands set key to value.
func (c *Client) SetEnv(key, value string) *Client {
	return c.with(func(b *Cmd) *Cmd { return b.SetEnv(key, value) })
}

// Dir returns a copy whose commands run in dir.
func (c *Client) Dir(dir string) *Client { return c.with(func(b *Cmd) *Cmd { return b.Dir(dir) }) }

// Timeout returns a copy whose commands time out after d.
func (c *Client) Timeout(d time.Duration) *Client {
	return c.with(func(b *Cmd) *Cmd { return b.Timeout(d) })
}

// Runner returns a copy whose commands run through r (a proctest double,
// a runner bound to a backend).
func (c *Client) Runner(r Runner) *Client { return c.with(func(b *Cmd) *Cmd { return b.Runner(r) }) }

// Retry returns a copy whose commands retry under p (Cmd.Retry).
func (c *Client) Retry(p retry.Policy) *Client {
	return c.with(func(b *Cmd) *Cmd { return b.Retry(p) })
}

// Configure returns a copy whose commands get f applied, for any other
// Cmd option (Logger, Limits, OKCodes, Encoding, ...).
func (c *Client) Configure(f func(*Cmd) *Cmd) *Client { return c.with(f) }

// Command returns the command for args, after the Client's defaults.
func (c *Client) Command(args ...string) *Cmd { return c.base.WithArgs(args...) }

// Run runs the command for args, which must succeed, and returns its
// trimmed stdout (Cmd.Run).
func (c *Client) Run(ctx context.Context, args ...string) (string, error) {
	return c.Command(args...).Run(ctx)
}

// Output runs the command for args and returns its Result (Cmd.Output).
func (c *Client) Output(ctx context.Context, args ...string) (*Result, error) {
	return c.Command(args...).Output(ctx)
}

// Exec runs the command for args, which must succeed, for its effect.
func (c *Client) Exec(ctx context.Context, args ...string) error {
	return c.Command(args...).Exec(ctx)
}

// Probe runs the command for args as a yes/no question (Cmd.Probe).
func (c *Client) Probe(ctx context.Context, args ...string) (bool, error) {
	return c.Command(args...).Probe(ctx)
}

// ExitCode runs the command for args and returns its exit code.
func (c *Client) ExitCode(ctx context.Context, args ...string) (int, error) {
	return c.Command(args...).ExitCode(ctx)
}

// Args returns the Client's default arguments.
func (c *Client) Args() []string { return slices.Clone(c.base.args) }
