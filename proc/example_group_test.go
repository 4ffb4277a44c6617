//go:build unix

package proc_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gotether/tether/proc"
)

// A group holds many runs; Close kills every tree in it and confirms.
func ExampleNewGroup() {
	ctx := context.Background()
	g, err := proc.NewGroup(ctx, proc.GroupOptions{})
	if err != nil {
		panic(err)
	}
	defer g.Close(ctx)

	// sh and two background sleeps; "up" once both are forked.
	db, _ := g.Start(ctx, proc.Command("sh", "-c", "sleep 60 & sleep 60 & echo up; wait"))
	for range db.StdoutLines() {
		break
	}
	web, _ := g.Start(ctx, proc.Command("sleep", "60"))
	ps, _ := g.Processes()
	fmt.Println(len(ps), "members")

	// A run's own Kill ends its own tree; the group lives on.
	_ = db.Kill(ctx)
	ps, _ = g.Processes()
	fmt.Println(len(ps), "member left")

	_ = g.Close(ctx)
	r, _ := web.Wait(ctx)
	fmt.Println("web:", r.Outcome)
	// Output:
	// 4 members
	// 1 member left
	// web: signaled
}

// A Group is a Runner: every verb runs inside it.
func ExampleGroup_Output() {
	ctx := context.Background()
	g, _ := proc.NewGroup(ctx, proc.GroupOptions{})
	defer g.Close(ctx)
	out, err := proc.Command("echo", "inside").Runner(g).Run(ctx)
	fmt.Println(out, err)
	// Output: inside <nil>
}

// Shutdown asks every member to stop, waits, then kills the rest.
func ExampleGroup_Shutdown() {
	ctx := context.Background()
	g, _ := proc.NewGroup(ctx, proc.GroupOptions{})
	_, _ = g.Start(ctx, proc.Command("sleep", "60")) // ends on SIGTERM
	stubborn, _ := g.Start(ctx, proc.Command("sh", "-c", `trap "" TERM; echo ready; while :; do sleep 0.01; done`))
	for range stubborn.StdoutLines() {
		break // its trap is set
	}
	rep, err := g.Shutdown(ctx, 300*time.Millisecond)
	fmt.Println(rep.Signalled, rep.Drained, rep.Escalated, err)
	// Output: true false true <nil>
}

// OutputAll runs commands with bounded concurrency; results keep the
// input order.
func ExampleOutputAll() {
	cmds := []*proc.Cmd{
		proc.Command("sh", "-c", "sleep 0.2; echo slow"),
		proc.Command("echo", "fast"),
	}
	rs, err := proc.OutputAll(context.Background(), cmds, 2)
	fmt.Print(rs[0].StdoutText(), rs[1].StdoutText(), err, "\n")
	// Output:
	// slow
	// fast
	// <nil>
}

// OutputEach yields results as they finish; breaking out of the loop
// kills the commands still running.
func ExampleOutputEach() {
	cmds := []*proc.Cmd{proc.Command("sleep", "60"), proc.Command("echo", "first")}
	for c := range proc.OutputEach(context.Background(), cmds, 2) {
		fmt.Println(c.Index, c.Result.StdoutText())
		break // the sleep is killed before the loop returns
	}
	// Output: 1 first
}

// Detach is the one way to leave a process running after the owner
// exits: no container, no capture, only a pid.
func ExampleDetach() {
	pid, err := proc.Detach(context.Background(), proc.Command("sleep", "0.1"))
	fmt.Println(pid > 0, err)
	// Output: true <nil>
}

// WaitAny returns the first run to end; the others keep running.
func ExampleWaitAny() {
	ctx := context.Background()
	g, _ := proc.NewGroup(ctx, proc.GroupOptions{})
	defer g.Close(ctx) // ends the sleep
	slow, _ := g.Start(ctx, proc.Command("sleep", "60"))
	fast, _ := g.Start(ctx, proc.Command("echo", "done"))
	i, r, err := proc.WaitAny(ctx, slow, fast)
	fmt.Println(i, r.StdoutText() == "done\n", err)
	// Output: 1 true <nil>
}

// WaitAll returns every Result in the order given.
func ExampleWaitAll() {
	ctx := context.Background()
	a, _ := proc.Command("echo", "a").Start(ctx)
	b, _ := proc.Command("sh", "-c", "exit 3").Start(ctx)
	rs, err := proc.WaitAll(ctx, a, b)
	fmt.Println(rs[0].StdoutText() == "a\n", rs[1].ExitCode, err)
	// Output: true 3 <nil>
}
