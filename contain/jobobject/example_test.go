package jobobject_test

import (
	"context"
	"fmt"
	"os/exec"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/jobobject"
)

// Example runs a build in a job capped at 64 processes; Close kills
// whatever the build left running and confirms it is gone. It has no
// Output line, so it is compiled on every OS but never run.
func Example() {
	ctx := context.Background()
	b := jobobject.New()
	if a := b.Availability(); !a.Usable {
		fmt.Println("no Job Objects here:", a.Reason)
		return
	}
	c, err := b.NewContainer(ctx, contain.Options{Limits: []contain.Limit{contain.MaxProcesses(64)}})
	if err != nil {
		fmt.Println(err) // under Wine: limits are not enforced, so they are refused
		return
	}
	defer c.Close(ctx)

	cmd := exec.Command("msbuild", "/m")
	if err := c.Start(cmd); err != nil {
		fmt.Println(err) // nothing runs: a child that could not be placed was terminated before it ran
		return
	}
	_ = cmd.Wait()
}
