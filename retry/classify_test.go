package retry

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"testing"
)

func TestClassifiers(t *testing.T) {
	exited := func(code int) error { return fmt.Errorf("wrapped: %w", &runErr{code: code, exited: true}) }
	signalled := func(sig string) error { return &runErr{code: -1, signal: sig} }
	timedOut := &runErr{timedOut: true, signal: "SIGKILL"}
	oom := &runErr{oom: true, signal: "SIGKILL"}
	output := &runErr{code: 1, exited: true, stdout: "progress 100%\n", stderr: "error: index.lock: File exists\n"}
	plain := errors.New("plain")
	cancelled := &runErr{signal: "SIGKILL", timedOut: true, oom: true, code: 1, exited: true, cause: context.Canceled}

	tests := []struct {
		name string
		c    Classifier
		err  error
		want bool
	}{
		{"exit code in set", ExitCodes(75, 111), exited(75), true},
		{"exit code not in set", ExitCodes(75, 111), exited(1), false},
		{"signalled run has no exit code", ExitCodes(-1), signalled("SIGTERM"), false},
		{"exit codes on a plain error", ExitCodes(1), plain, false},
		{"no exit codes", ExitCodes(), exited(0), false},

		{"signal by full name", Signals("SIGTERM"), signalled("SIGTERM"), true},
		{"signal without prefix, any case", Signals("term", "hup"), signalled("SIGTERM"), true},
		{"signal name reported without prefix", Signals("SIGKILL"), signalled("KILL"), true},
		{"other signal", Signals("SIGTERM"), signalled("SIGKILL"), false},
		{"not signalled", Signals("SIGTERM"), exited(143), false},
		{"empty signal name never matches", Signals("", "SIG"), signalled(""), false},

		{"own timeout", Timeouts, timedOut, true},
		{"caller's deadline is not a timeout", Timeouts, context.DeadlineExceeded, false},
		{"wrapped deadline is not a timeout", Timeouts, fmt.Errorf("x: %w", context.DeadlineExceeded), false},
		{"not timed out", Timeouts, exited(1), false},

		{"oom killed", OOMKilled, oom, true},
		{"not oom killed", OOMKilled, signalled("SIGKILL"), false},

		{"stderr matches", StderrMatches(regexp.MustCompile(`index\.lock`)), output, true},
		{"stderr does not match", StderrMatches(regexp.MustCompile(`timeout`)), output, false},
		{"stderr regexp not on stdout", StderrMatches(regexp.MustCompile(`progress`)), output, false},
		{"stdout matches", StdoutMatches(regexp.MustCompile(`100%`)), output, true},
		{"stdout does not match", StdoutMatches(regexp.MustCompile(`index`)), output, false},
		{"output regexp on a plain error", StdoutMatches(regexp.MustCompile(``)), plain, false},

		{"func", Func(func(err error) bool { return errors.Is(err, plain) }), fmt.Errorf("w: %w", plain), true},
		{"func no", Func(func(err error) bool { return false }), plain, false},
		{"func may retry a deadline it set", Func(func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }), context.DeadlineExceeded, true},
		{"always", Always, plain, true},

		{"any: one matches", Any(ExitCodes(75), Signals("SIGTERM")), signalled("SIGTERM"), true},
		{"any: none matches", Any(ExitCodes(75), Signals("SIGTERM")), exited(1), false},
		{"any of nothing", Any(), plain, false},
		{"any skips nil", Any(nil, Always), plain, true},
		{"all: every one matches", All(ExitCodes(1), StderrMatches(regexp.MustCompile(`lock`))), output, true},
		{"all: one does not", All(ExitCodes(1), StderrMatches(regexp.MustCompile(`nope`))), output, false},
		{"all of nothing", All(), plain, false},
		{"all with nil", All(Always, nil), plain, false},
		{"not", Not(ExitCodes(2)), exited(1), true},
		{"not of a match", Not(ExitCodes(1)), exited(1), false},
		{"not nil", Not(nil), plain, true},
		{"nested", All(Not(ExitCodes(2)), Any(ExitCodes(1), Timeouts)), exited(1), true},
		{"nested no", All(Not(ExitCodes(1)), Any(ExitCodes(1), Timeouts)), exited(1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.Retryable(tt.err); got != tt.want {
				t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}

	// A cancelled run matches every status, yet no classifier retries it.
	for name, c := range map[string]Classifier{
		"ExitCodes": ExitCodes(1), "Signals": Signals("SIGKILL"), "Timeouts": Timeouts,
		"OOMKilled": OOMKilled, "StderrMatches": StderrMatches(regexp.MustCompile(``)),
		"StdoutMatches": StdoutMatches(regexp.MustCompile(``)), "TransientStart": TransientStart,
		"Always": Always, "Any": Any(Always), "All": All(Always, Timeouts),
		"Not": Not(ExitCodes(2)), "Not Not": Not(Not(Always)),
	} {
		if c.Retryable(cancelled) {
			t.Errorf("%s retries a cancelled run", name)
		}
		if c.Retryable(nil) {
			t.Errorf("%s retries a nil error", name)
		}
	}
}

func TestOutputRegexpMustNotBeNil(t *testing.T) {
	for name, f := range map[string]func(*regexp.Regexp) Classifier{"StderrMatches": StderrMatches, "StdoutMatches": StdoutMatches} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s(nil) did not panic", name)
				}
			}()
			f(nil)
		}()
	}
}

func TestComposersCopyTheirArguments(t *testing.T) {
	cs := []Classifier{ExitCodes(1)}
	anyOf := Any(cs...)
	codes := []int{1}
	ec := ExitCodes(codes...)
	cs[0], codes[0] = Always, 2
	if anyOf.Retryable(errors.New("plain")) {
		t.Error("Any changed with its caller's slice")
	}
	if !ec.Retryable(&runErr{code: 1, exited: true}) {
		t.Error("ExitCodes changed with its caller's slice")
	}
}
