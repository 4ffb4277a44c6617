package proc

import (
	"context"
	"errors"
	"net"
	"regexp"
	"strings"
	"time"
)

// notReady says why the readiness wait named what gave up.
func (p *RunningProcess) notReady(ctx context.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return &NotReadyError{Wait: what, Reason: "gave up: " + err.Error(), Err: err}
	}
	select {
	case <-p.done:
		reason := "the run ended first"
		if r := p.report().result; r != nil {
			reason = "the process " + r.Outcome.String() + " first"
		}
		return &NotReadyError{Wait: what, Reason: reason}
	default:
		return &NotReadyError{Wait: what, Reason: "the stream closed first"}
	}
}

// The readiness waits below (WaitFor*) wait until the child is ready, as
// their context allows. They never kill the process: a wait that gives
// up returns a *NotReadyError (matching ErrNotReady) saying why, as soon
// as readiness became impossible (the run ended) or when ctx ends. The
// line waits are readers of their own: they see the recent lines printed
// before they began (see StdoutLines) and take no line from any other
// reader.

// WaitForLine waits for a line of stdout for which match is true, and
// returns it.
func (p *RunningProcess) WaitForLine(ctx context.Context, match func(Line) bool) (Line, error) {
	return p.waitLine(ctx, "line on stdout", []Stream{Stdout}, match)
}

// WaitForOutput waits for a line of stdout or stderr containing substr.
func (p *RunningProcess) WaitForOutput(ctx context.Context, substr string) (Line, error) {
	return p.waitLine(ctx, "output containing the expected text", []Stream{Stdout, Stderr},
		func(l Line) bool { return strings.Contains(l.Text, substr) })
}

// WaitForMatch waits for a line of stdout or stderr matching re.
func (p *RunningProcess) WaitForMatch(ctx context.Context, re *regexp.Regexp) (Line, error) {
	return p.waitLine(ctx, "output matching "+re.String(), []Stream{Stdout, Stderr},
		func(l Line) bool { return re.MatchString(l.Text) })
}

// WaitForPort waits until a TCP connection to addr ("127.0.0.1:8080")
// succeeds; the connection is closed at once.
func (p *RunningProcess) WaitForPort(ctx context.Context, addr string) error {
	return p.WaitFor(ctx, func(ctx context.Context) error { return dial(ctx, "tcp", addr) })
}

// WaitForSocket waits until a connection to the Unix socket at path
// succeeds.
func (p *RunningProcess) WaitForSocket(ctx context.Context, path string) error {
	return p.WaitFor(ctx, func(ctx context.Context) error { return dial(ctx, "unix", path) })
}

func dial(ctx context.Context, network, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err == nil {
		_ = c.Close()
	}
	return err
}

// WaitFor calls check until it returns nil, backing off from 5 ms to
// 250 ms between calls. It gives up when ctx ends (the error carries
// check's last error) or when the run ends.
func (p *RunningProcess) WaitFor(ctx context.Context, check func(ctx context.Context) error) error {
	if ctx == nil {
		return nilContext(p.cmd.name, "WaitFor")
	}
	t := time.NewTimer(0)
	defer t.Stop()
	var last error
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 250*time.Millisecond) {
		select {
		case <-ctx.Done():
			err := p.notReady(ctx, "check")
			var nr *NotReadyError
			if last != nil && errors.As(err, &nr) {
				nr.Reason += " (last check: " + last.Error() + ")"
			}
			return err
		case <-p.done:
			return p.notReady(ctx, "check")
		case <-t.C:
		}
		if last = check(ctx); last == nil {
			return nil
		}
		t.Reset(wait)
	}
}
