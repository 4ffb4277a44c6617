package proctest

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gotether/tether/proc"
)

// Call is one invocation a Recorder saw. It holds environment values and
// stdin bytes for assertions in memory: do not log or store it as is.
type Call struct {
	// Verb is "Output" or "Start": which Runner method ran the command
	// (Run, Exec, Checked and the other run-to-completion verbs use
	// Output).
	Verb    string
	Program string
	Args    []string
	Dir     string
	// Env holds the variables the command sets (Cmd.SetEnv), the last
	// value of each name; Unset the names it removes (Cmd.UnsetEnv).
	// ClearEnv and InheritOnly describe the base environment, as in
	// proc.Spec.
	Env         map[string]string
	Unset       []string
	ClearEnv    bool
	InheritOnly []string
	// Stdin says where stdin came from ("" for none; "bytes", "lines",
	// "file", "reader", "inherit", "interactive"); StdinBytes holds the
	// bytes of StdinBytes or StdinString.
	Stdin      string
	StdinBytes []byte
}

// Argv returns the program followed by the arguments.
func (c Call) Argv() []string { return append([]string{c.Program}, c.Args...) }

func callOf(verb string, sp proc.Spec) Call {
	c := Call{Verb: verb, Program: sp.Name, Args: sp.Args, Dir: sp.Dir, Unset: sp.Unset,
		ClearEnv: sp.ClearEnv, InheritOnly: sp.InheritOnly, Stdin: sp.Stdin, StdinBytes: sp.StdinBytes}
	if len(sp.Env) > 0 {
		c.Env = make(map[string]string, len(sp.Env))
		for _, kv := range sp.Env {
			c.Env[kv[0]] = kv[1]
		}
	}
	return c
}

// Recorder is a proc.Runner that records every invocation and passes it
// on to another runner. It records a command when the verb is called,
// before it runs, including commands that then fail to start; a command
// that fails validation (proc.ErrInvalid) is not recorded. A Recorder is
// safe for concurrent use.
type Recorder struct {
	next  proc.Runner
	mu    sync.Mutex
	calls []Call
}

// NewRecorder returns a Recorder that runs commands with next
// (proc.DefaultRunner() if next is nil, which runs them for real).
func NewRecorder(next proc.Runner) *Recorder {
	if next == nil {
		next = proc.DefaultRunner()
	}
	return &Recorder{next: next}
}

// Output records c and runs it with the wrapped runner.
func (r *Recorder) Output(ctx context.Context, c *proc.Cmd) (*proc.Result, error) {
	if err := r.record("Output", c); err != nil {
		return nil, err
	}
	return r.next.Output(ctx, c)
}

// Start records c and starts it with the wrapped runner.
func (r *Recorder) Start(ctx context.Context, c *proc.Cmd) (*proc.RunningProcess, error) {
	if err := r.record("Start", c); err != nil {
		return nil, err
	}
	return r.next.Start(ctx, c)
}

func (r *Recorder) record(verb string, c *proc.Cmd) error {
	if err := c.Validate(); err != nil {
		return err
	}
	call := callOf(verb, c.Spec())
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call)
	return nil
}

// Calls returns a copy of the calls recorded so far, in the order the
// verbs were called.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// Reset forgets every recorded call.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = nil
}

// OnlyCall returns the one call recorded, and fails the test (Fatalf)
// when there were none or several.
func (r *Recorder) OnlyCall(t testing.TB) Call {
	t.Helper()
	calls := r.Calls()
	if len(calls) != 1 {
		t.Fatalf("proctest: want exactly one call, got %d:\n%s", len(calls), argvs(calls))
	}
	return calls[0]
}

// AssertCalled reports whether some recorded call ran exactly program
// with args. If none did, it fails the test (Errorf) with a cmp.Diff
// against the nearest recorded call.
func (r *Recorder) AssertCalled(t testing.TB, program string, args ...string) bool {
	t.Helper()
	want := append([]string{program}, args...)
	calls := r.Calls()
	best, bestScore := []string(nil), -1<<30
	for _, c := range calls {
		got := c.Argv()
		if slices.Equal(want, got) {
			return true
		}
		if s := similarity(want, got); s > bestScore {
			best, bestScore = got, s
		}
	}
	if best == nil {
		t.Errorf("proctest: %s was not called: no calls were recorded", quoteWords(want))
		return false
	}
	t.Errorf("proctest: %s was not called; nearest recorded call, diff (-want +got):\n%s",
		quoteWords(want), cmp.Diff(want, best))
	return false
}

// AssertCalls reports whether the recorded calls ran exactly these
// command lines (program first), in this order. Otherwise it fails the
// test (Errorf) with a cmp.Diff of the lists. Compare Calls() with
// cmp.Diff yourself to check directories, environment or stdin too.
func (r *Recorder) AssertCalls(t testing.TB, want ...[]string) bool {
	t.Helper()
	got := make([][]string, 0, len(want))
	for _, c := range r.Calls() {
		got = append(got, c.Argv())
	}
	if want == nil {
		want = [][]string{}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("proctest: calls differ (-want +got):\n%s", d)
		return false
	}
	return true
}

// AssertNoCalls reports whether nothing was run, and otherwise fails the
// test (Errorf) listing the calls.
func (r *Recorder) AssertNoCalls(t testing.TB) bool {
	t.Helper()
	if calls := r.Calls(); len(calls) > 0 {
		t.Errorf("proctest: want no calls, got %d:\n%s", len(calls), argvs(calls))
		return false
	}
	return true
}

func argvs(calls []Call) string {
	var s string
	for _, c := range calls {
		s += "\t" + quoteWords(c.Argv()) + "\n"
	}
	return s
}
