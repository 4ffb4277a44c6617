//go:build unix

package proc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gotether/tether/proc"
)

// ToStdout is a shell's 2>&1: both streams on one pipe, so the capture
// keeps the order in which the child wrote them (os/exec's
// CombinedOutput).
func ExampleToStdout() {
	r, err := proc.Command("sh", "-c", "echo compiling; echo 'warning: unused x' >&2; echo linking").
		Stderr(proc.ToStdout()).
		Output(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Print(string(r.Stdout))
	fmt.Println("stderr alone:", len(r.Stderr), "bytes")
	// Output:
	// compiling
	// warning: unused x
	// linking
	// stderr alone: 0 bytes
}

// StdoutReader hands stdout's raw bytes to a decoder as the child writes
// them (os/exec's StdoutPipe); the child waits whenever the decoder falls
// behind.
func ExampleRunningProcess_StdoutReader() {
	ctx := context.Background()
	p, err := proc.Command("sh", "-c", `for i in 1 2 3; do echo "{\"n\": $i}"; done`).
		Stdout(proc.ToReader()).
		Start(ctx)
	if err != nil {
		panic(err)
	}
	dec := json.NewDecoder(p.StdoutReader())
	for {
		var v struct{ N int }
		if err := dec.Decode(&v); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			panic(err)
		}
		fmt.Println("n =", v.N)
	}
	r, err := p.Wait(ctx)
	fmt.Println(r.ExitCode, err)
	// Output:
	// n = 1
	// n = 2
	// n = 3
	// 0 <nil>
}

// Status looks at a run from any goroutine, at any time: its state, how
// much each stream carried, and the stream's last bytes.
func ExampleRunningProcess_Status() {
	ctx := context.Background()
	p, err := proc.Command("sh", "-c", "echo starting; echo ready; sleep 60").Start(ctx)
	if err != nil {
		panic(err)
	}
	if _, err := p.WaitForLine(ctx, func(l proc.Line) bool { return l.Text == "ready" }); err != nil {
		panic(err)
	}
	st := p.Status()
	fmt.Printf("%s: %d lines, %d bytes, tail %q\n", st.State, st.Stdout.Lines, st.Stdout.Bytes, st.Stdout.Tail)
	_ = p.Kill(ctx)
	st = p.Status()
	fmt.Println(st.State, st.Result.Outcome, st.Elapsed == st.Result.Duration)
	// Output:
	// running: 2 lines, 15 bytes, tail "starting\nready\n"
	// ended signaled true
}

// An *os.File given to Stdin is the child's stdin itself, as with
// os/exec: the child reads (and may seek) the file, no goroutine copies
// it.
func ExampleCmd_Stdin() {
	f, err := os.CreateTemp("", "tether-example-*")
	if err != nil {
		panic(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if _, err := f.WriteString("b\na\nc\n"); err != nil {
		panic(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		panic(err)
	}
	out, err := proc.Command("sort").Stdin(f).Run(context.Background())
	fmt.Println(strings.Fields(out), err)
	// Output: [a b c] <nil>
}
