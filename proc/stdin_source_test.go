package proc_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotether/tether/proc"
)

var errSource = errors.New("stdin source broke")

// failingReader yields its text, then fails.
type failingReader struct{ r io.Reader }

func (f *failingReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if errors.Is(err, io.EOF) {
		return n, errSource
	}
	return n, err
}

func failing(text string) *failingReader { return &failingReader{r: strings.NewReader(text)} }

// A Stdin reader that fails is reported by every verb, typed, and the
// child's own outcome stays in the Result. With the failure ignored (as
// io.Copy's result was before), Output and Run return nil errors and the
// output of a truncated input.
func TestStdinReaderFailureIsReported(t *testing.T) {
	ctx := ctxFor(t, patience)
	isStdin := func(t *testing.T, what string, err error) {
		t.Helper()
		if !errors.Is(err, proc.ErrStdin) || !errors.Is(err, errSource) {
			t.Fatalf("%s: error %v does not match ErrStdin and the reader's error", what, err)
		}
		var se *proc.StdinError
		if !errors.As(err, &se) {
			t.Fatalf("%s: error %T is not a *StdinError", what, err)
		}
	}

	r, err := script("cat").Stdin(failing("a\nb\n")).Output(ctx)
	isStdin(t, "Output", err)
	if r == nil || r.Outcome != proc.Exited || r.ExitCode != 0 || string(r.Stdout) != "a\nb\n" {
		t.Fatalf("Output's result = %+v; want the child's exit 0 with what it read", r)
	}
	if !errors.Is(r.StdinErr, errSource) {
		t.Fatalf("Result.StdinErr = %v; want the reader's error", r.StdinErr)
	}
	if !errors.Is(r.Err(), proc.ErrStdin) {
		t.Fatalf("Result.Err() = %v; want a *StdinError", r.Err())
	}

	out, err := script("cat").Stdin(failing("x\n")).Run(ctx)
	isStdin(t, "Run", err)
	if out != "" {
		t.Fatalf("Run returned %q with its error", out)
	}
	_, err = script("cat").Stdin(failing("x\n")).Checked(ctx)
	isStdin(t, "Checked", err)
	err = script("cat").Stdin(failing("x\n")).Exec(ctx)
	isStdin(t, "Exec", err)
	_, err = script("cat").Stdin(failing("x\n")).ExitCode(ctx)
	isStdin(t, "ExitCode", err)
	_, err = script("cat", "exit", "1").Stdin(failing("x\n")).Probe(ctx)
	isStdin(t, "Probe", err)
}

// The child's own failure comes before the reader's: a must-succeed verb
// returns the *ExitError (which also matches ErrStdin), and Output keeps
// the exit as data.
func TestStdinReaderFailureDoesNotHideTheChildsFailure(t *testing.T) {
	ctx := ctxFor(t, patience)
	r, err := script("cat", "exit", "3").Stdin(failing("a\n")).Output(ctx)
	if !errors.Is(err, proc.ErrStdin) || r == nil || r.ExitCode != 3 {
		t.Fatalf("Output = %+v, %v; want exit 3 as data and the stdin error", r, err)
	}
	_, err = script("cat", "exit", "3").Stdin(failing("a\n")).Checked(ctx)
	var ee *proc.ExitError
	if !errors.As(err, &ee) || ee.Code != 3 || !errors.Is(err, proc.ErrStdin) {
		t.Fatalf("Checked error = %v; want the *ExitError of exit 3, also matching ErrStdin", err)
	}
	if !strings.Contains(err.Error(), "stdin") {
		t.Errorf("error text %q does not mention the stdin source", err)
	}

	// A timeout is the outcome; the stdin failure rides along.
	r, err = script("cat", "sleep", "1m").Stdin(failing("a\n")).Timeout(50 * time.Millisecond).Output(ctx)
	if r == nil || r.Outcome != proc.TimedOut || !errors.Is(r.Err(), proc.ErrTimeout) {
		t.Fatalf("Output = %+v, %v; want a timeout", r, err)
	}
}

// endless is a reader that never runs out.
type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'y'
		if i%80 == 79 {
			p[i] = '\n'
		}
	}
	return len(p), nil
}

// A child that stops reading early is no error: the broken pipe is the
// child's choice, as in a shell pipeline.
func TestStdinChildStoppingEarlyIsNotAnError(t *testing.T) {
	ctx := ctxFor(t, patience)
	r, err := script("head", "1").Stdin(endless{}).Output(ctx)
	if err != nil || r.StdinErr != nil || r.Err() != nil {
		t.Fatalf("Output = %+v, %v; want success", r, err)
	}
	if got := r.StdoutText(); !strings.HasPrefix(got, "yyy") || strings.Count(got, "\n") != 1 {
		t.Fatalf("stdout = %q; want the first line", got)
	}
}

// watchedConn is one end of a net.Pipe that says when a Read returns.
type watchedConn struct {
	net.Conn
	returned chan struct{}
	once     sync.Once
}

func (w *watchedConn) Read(p []byte) (int, error) {
	n, err := w.Conn.Read(p)
	w.once.Do(func() { close(w.returned) })
	return n, err
}

// A reader that blocks forever does not keep a goroutine past the run's
// end when it can be told to stop (a read deadline), and its stop is not
// reported as a failure. Before, the feeding goroutine stayed blocked in
// Read after Output returned.
func TestStdinBlockingReaderDoesNotOutliveTheRun(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	w := &watchedConn{Conn: a, returned: make(chan struct{})}
	r, err := script("exit", "0").Stdin(w).Output(ctxFor(t, patience))
	if err != nil || r.StdinErr != nil {
		t.Fatalf("Output = %+v, %v; want success", r, err)
	}
	select {
	case <-w.returned:
	default:
		t.Fatal("the Stdin reader's Read was still blocked after Output returned")
	}
}

// The same through Start and Wait, with the context ending the run.
func TestStdinBlockingReaderStopsOnCancel(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	w := &watchedConn{Conn: a, returned: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	p, err := script("sleep", "1m").Stdin(w).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	r, _ := p.Wait(ctxFor(t, patience))
	if r == nil || r.Outcome != proc.Cancelled || r.StdinErr != nil {
		t.Fatalf("result %+v; want cancelled with no stdin error", r)
	}
	select {
	case <-w.returned:
	default:
		t.Fatal("the Stdin reader's Read was still blocked after the run ended")
	}
}
