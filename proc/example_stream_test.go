//go:build unix

package proc_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/gotether/tether/proc"
)

// StdoutLines iterates over stdout as it is written; every iteration sees
// every line.
func ExampleRunningProcess_StdoutLines() {
	ctx := context.Background()
	p, err := proc.Command("sh", "-c", "echo one; echo two; echo three").Start(ctx)
	if err != nil {
		panic(err)
	}
	for line := range p.StdoutLines() {
		fmt.Println(line.Seq, line.Text)
	}
	// Output:
	// 1 one
	// 2 two
	// 3 three
}

// Events merges both streams with the start and the end of the run.
func ExampleRunningProcess_Events() {
	p, _ := proc.Command("sh", "-c", "echo out; sleep 0.1; echo err >&2; exit 3").Start(context.Background())
	for ev := range p.Events() {
		switch ev.Kind {
		case proc.EventStarted:
			fmt.Println("started")
		case proc.EventLine:
			fmt.Println(ev.Line.Stream, ev.Line.Text)
		case proc.EventExited:
			fmt.Println("exited", ev.Result.ExitCode)
		}
	}
	// Output:
	// started
	// stdout out
	// stderr err
	// exited 3
}

// WaitForMatch waits until a server says it listens, without killing it.
func ExampleRunningProcess_WaitForMatch() {
	ctx := context.Background()
	p, _ := proc.Command("sh", "-c", "sleep 0.1; echo 'listening on 127.0.0.1:8080'; sleep 60").Start(ctx)
	defer func() { _ = p.Kill(ctx) }()
	l, err := p.WaitForMatch(ctx, regexp.MustCompile(`listening on \S+`))
	fmt.Println(l.Text, err)
	// Output: listening on 127.0.0.1:8080 <nil>
}

// InteractiveStdin feeds a child over time.
func ExampleRunningProcess_Stdin() {
	ctx := context.Background()
	p, _ := proc.Command("sh", "-c", "read name; echo hello $name").InteractiveStdin().Start(ctx)
	_ = p.Stdin().WriteLine("world")
	r, _ := p.Wait(ctx)
	fmt.Print(r.StdoutText())
	// Output: hello world
}

// FirstLine returns the first matching line and stops the process.
func ExampleCmd_FirstLine() {
	l, err := proc.Command("sh", "-c", "echo booting; echo 'version 2.1'; sleep 60").
		FirstLine(context.Background(), func(l proc.Line) bool { return strings.HasPrefix(l.Text, "version") })
	fmt.Println(l.Text, err)
	// Output: version 2.1 <nil>
}

// Stop asks a server to stop, with SIGTERM, and kills it only if it is
// still there when the grace ends: this one exits cleanly at once.
func ExampleRunningProcess_Stop() {
	ctx := context.Background()
	p, err := proc.Command("sh", "-c", "trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done").Start(ctx)
	if err != nil {
		panic(err)
	}
	if _, err := p.WaitForOutput(ctx, "ready"); err != nil { // the trap is set
		panic(err)
	}
	rep, err := p.Stop(ctx, 10*time.Second)
	if err != nil {
		panic(err)
	}
	fmt.Println("signal:", rep.Signal, "drained:", rep.Drained, "escalated:", rep.Escalated)
	r, _ := p.Wait(ctx) // at once: Stop returned once the run had ended
	fmt.Println(r.Outcome, "with code", r.ExitCode, "killed:", r.Killed)
	fmt.Print(r.StdoutText())
	// Output:
	// signal: terminated drained: true escalated: false
	// exited with code 0 killed: false
	// ready
	// bye
}
