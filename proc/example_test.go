//go:build unix

package proc_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gotether/tether/contain/pgid"
	"github.com/gotether/tether/proc"
)

// Run returns trimmed stdout of a command that must succeed.
func ExampleCmd_Run() {
	out, err := proc.Command("echo", "hello", "world").Run(context.Background())
	fmt.Println(out, err)
	// Output: hello world <nil>
}

// Output treats a failure as data: the exit code, the streams and the
// mechanism that held the tree are all in the Result.
func ExampleCmd_Output() {
	r, err := proc.Command("sh", "-c", "echo out; echo err >&2; exit 3").Output(context.Background())
	if err != nil {
		panic(err) // only for a start failure, a cancellation or an unconfirmed teardown
	}
	fmt.Println(r.Outcome, r.ExitCode, r.StdoutText() == "out\n", r.StderrText() == "err\n", r.Mechanism != "")
	// Output: exited 3 true true true
}

// A timeout kills the whole tree, including a background grandchild that
// holds stdout, and the verb returns at once.
func ExampleCmd_Timeout() {
	began := time.Now()
	r, _ := proc.Command("sh", "-c", "sleep 60 & sleep 60").Timeout(200 * time.Millisecond).Output(context.Background())
	fmt.Println(r.Outcome, time.Since(began) < 2*time.Second)
	// Output: timed out true
}

// RunBytes keeps stdout byte for byte.
func ExampleCmd_RunBytes() {
	b, _ := proc.Command("printf", `a\r\n`).RunBytes(context.Background())
	fmt.Printf("%q\n", b)
	// Output: "a\r\n"
}

// Exec runs for the side effect; a failure's error carries stderr's tail.
func ExampleCmd_Exec() {
	err := proc.Command("sh", "-c", "echo 'disk full' >&2; exit 1").Exec(context.Background())
	fmt.Println(errors.Is(err, proc.ErrExit))
	fmt.Println(err)
	// Output:
	// true
	// proc: sh exited with code 1: disk full
}

// Checked returns the whole Result, but only for a successful run.
func ExampleCmd_Checked() {
	r, err := proc.Command("true").Checked(context.Background())
	fmt.Println(r.Success(), err)
	// Output: true <nil>
}

// ExitCode returns the code whatever it is; no code (a signal, a timeout)
// is an error, never -1.
func ExampleCmd_ExitCode() {
	code, err := proc.Command("sh", "-c", "exit 42").ExitCode(context.Background())
	fmt.Println(code, err)
	_, err = proc.Command("sleep", "10").Timeout(50 * time.Millisecond).ExitCode(context.Background())
	fmt.Println(errors.Is(err, proc.ErrTimeout))
	// Output:
	// 42 <nil>
	// true
}

// Probe asks a yes/no question: 0 is yes, 1 is no, anything else an error.
func ExampleCmd_Probe() {
	yes, _ := proc.Command("test", "-d", os.TempDir()).Probe(context.Background())
	no, _ := proc.Command("test", "-f", "/no/such/file").Probe(context.Background())
	fmt.Println(yes, no)
	// Output: true false
}

// Start returns a handle; Kill ends the whole tree and confirms it.
func ExampleCmd_Start() {
	ctx := context.Background()
	p, err := proc.Command("sleep", "60").Start(ctx)
	if err != nil {
		panic(err)
	}
	_ = p.Kill(ctx)
	r, _ := p.Wait(ctx)
	fmt.Println(r.Outcome, r.Signal)
	// Output: signaled SIGKILL
}

// A backend chosen explicitly never falls back.
func ExampleNewRunner() {
	r, err := proc.Command("true").Runner(proc.NewRunner(pgid.New())).Output(context.Background())
	fmt.Println(r.Mechanism, err)
	// Output: pgid <nil>
}

// A missing program is a typed error before anything is spawned.
func ExampleCommand_notFound() {
	_, err := proc.Command("no-such-program-anywhere").Run(context.Background())
	var nf *proc.NotFoundError
	fmt.Println(errors.Is(err, proc.ErrNotFound), errors.As(err, &nf) && len(nf.Searched) > 0)
	// Output: true true
}

// A Client holds a tool's defaults; Parse turns its output into a value.
func ExampleNewClient() {
	sh := proc.NewClient("sh").WithArgs("-c")
	n, err := proc.Parse(context.Background(), sh.Command("echo 41"), func(out string) (int, error) {
		var n int
		_, err := fmt.Sscan(out, &n)
		return n + 1, err
	})
	fmt.Println(n, err)
	// Output: 42 <nil>
}
