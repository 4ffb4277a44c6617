//go:build unix

package proc_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/pgid"
	"github.com/gotether/tether/proc"
	"github.com/gotether/tether/retry"
)

// Retry runs a flaky command again, in a fresh process each time, when
// the policy says its failure is worth retrying: here the exit code 75
// (EX_TEMPFAIL) the script returns on its first run.
func ExampleCmd_Retry() {
	dir, _ := os.MkdirTemp("", "retry-example")
	defer os.RemoveAll(dir)
	flaky := proc.Command("sh", "-c", `if [ -e "$1" ]; then echo done; else : > "$1"; exit 75; fi`, "sh", filepath.Join(dir, "seen"))
	r, err := flaky.Retry(retry.Policy{
		MaxAttempts: 3,
		Backoff:     retry.Constant{Interval: 10 * time.Millisecond},
		Retryable:   retry.ExitCodes(75),
	}).Checked(context.Background())
	fmt.Println(strings.TrimSpace(r.StdoutText()), r.Attempts, err)
	// Output: done 2 <nil>
}

// Parse runs a command that must succeed and turns its output into a
// value; output that does not parse is a *ParseError, whose text never
// holds the output itself.
func ExampleParse() {
	ctx := context.Background()
	words := func(out string) (int, error) { return len(strings.Fields(out)), nil }
	n, err := proc.Parse(ctx, proc.Command("echo", "one", "two", "three"), words)
	fmt.Println(n, err)

	number := func(out string) (int, error) {
		var n int
		_, err := fmt.Sscan(out, &n)
		return n, err
	}
	_, err = proc.Parse(ctx, proc.Command("echo", "not a number"), number)
	fmt.Println(errors.Is(err, proc.ErrParse))
	// Output:
	// 3 <nil>
	// true
}

// OnLine sees every line of both streams from the first byte, as the
// child writes it, while the output is still captured.
func ExampleCmd_OnLine() {
	var warnings []string
	r, err := proc.Command("sh", "-c", "echo building; echo 'warning: deprecated' >&2; echo done").
		OnLine(func(l proc.Line) {
			if strings.HasPrefix(l.Text, "warning:") {
				// Callbacks run on the drain goroutine of their stream;
				// this one only sees stderr's warnings.
				warnings = append(warnings, l.Stream.String()+": "+l.Text)
			}
		}).
		Output(context.Background())
	fmt.Println(warnings, r.StdoutText() == "building\ndone\n", err)
	// Output: [stderr: warning: deprecated] true <nil>
}

// Limits bound the whole tree through its container. A backend that
// cannot enforce a limit refuses it before anything is spawned: process
// groups (pgid) enforce none, while cgroup v2 and Job Objects do.
func ExampleCmd_Limits() {
	c := proc.Command("sh", "-c", "make -j8").Limits(contain.MemoryMax(2<<30), contain.MaxProcesses(256))
	_, err := c.Backend(pgid.New()).Output(context.Background())
	var le *contain.LimitError
	fmt.Println(errors.As(err, &le), errors.Is(err, proc.ErrContainment))
	// Output: true true
}

// Arg0 gives the child an argv[0] of its own; the program is still found
// by Command's name. (Not run as a test: a multi-call binary such as
// BusyBox picks what to be by its argv[0], so the output would depend on
// the host's sh.)
func ExampleCmd_Arg0() {
	out, err := proc.Command("bash", "-c", `echo "$0"`).Arg0("-login-shell").Run(context.Background())
	fmt.Println(out, err) // -login-shell <nil>
}

// ExtraFiles hands the child more open files: entry i is its descriptor
// 3+i.
func ExampleCmd_ExtraFiles() {
	r, w, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	defer r.Close()
	err = proc.Command("sh", "-c", "echo 'through fd 3' >&3").ExtraFiles(w).Exec(context.Background())
	w.Close() // the child had its own copy; now the pipe can end
	b := make([]byte, 64)
	n, _ := r.Read(b)
	fmt.Print(string(b[:n]), err)
	// Output:
	// through fd 3
	// <nil>
}

// commandLines is a slog handler that prints the command_line attribute
// of the events it gets.
type commandLines struct{}

func (commandLines) Enabled(context.Context, slog.Level) bool { return true }
func (commandLines) WithAttrs([]slog.Attr) slog.Handler       { return commandLines{} }
func (commandLines) WithGroup(string) slog.Handler            { return commandLines{} }
func (commandLines) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "command_line" {
			fmt.Println(a.Value)
		}
		return true
	})
	return nil
}

// LogCommandLine logs the command line at spawn, which tether otherwise
// never does: arguments can be secrets. A scrub decides what is shown.
func ExampleCmd_LogCommandLine() {
	log := slog.New(commandLines{})
	_, err := proc.Command("echo", "--token", "s3cret", "hello world").
		Logger(log).
		LogCommandLine(proc.RedactFlagValues("--token")).
		Run(context.Background())
	fmt.Println(err)
	// Output:
	// echo --token REDACTED 'hello world'
	// <nil>
}

// Code written for os/exec keeps working: the *exec.ExitError of the
// child is under tether's *ExitError.
func ExampleExitError_osExec() {
	err := proc.Command("sh", "-c", "exit 3").Exec(context.Background())
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		fmt.Println("exit status", ee.ExitCode())
	}
	var pe *proc.ExitError
	fmt.Println(errors.As(err, &pe) && pe.ExitCode() == 3)
	// Output:
	// exit status 3
	// true
}
