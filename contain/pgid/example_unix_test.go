//go:build unix

package pgid_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/pgid"
)

// A build runs in a fresh process group; whatever it leaves running when
// the time is up is killed, and its death confirmed, before Kill returns.
func ExampleBackend_NewContainer() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	c, err := pgid.New().NewContainer(ctx, contain.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(context.Background())

	cmd := exec.Command("make", "-j8")
	if err := c.Start(cmd); err != nil {
		fmt.Println(err) // nothing was left running
		return
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }()

	select {
	case err = <-waitErr:
		fmt.Println("build:", err)
	case <-ctx.Done():
		fmt.Println("build: timed out")
	}
	// Kill the make (if still running) and every job it left in the
	// group; on return, all of them are dead.
	if err := c.Kill(context.Background()); err != nil {
		fmt.Println(err) // matches contain.ErrTeardownNotConfirmed
	}
	if ctx.Err() != nil {
		fmt.Println("build:", <-waitErr) // reaps the killed make
	}
}

// A long-lived parent runs each job in a sub of its own and closes the sub
// when the job ends, so that it keeps no trace of finished jobs; killing
// the parent still kills every job that is running.
func ExampleContainer_Sub() {
	ctx := context.Background()
	parent, err := pgid.New().NewContainer(ctx, contain.Options{KillOnOwnerDeath: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer parent.Close(ctx) // kills and releases every sub still open

	runJob := func(name string, args ...string) error {
		job, err := parent.Sub(ctx, contain.Options{})
		if err != nil {
			return err // matches contain.ErrClosed once the parent is killed
		}
		defer job.Close(ctx) // kills what the job left, forgets its group
		cmd := exec.Command(name, args...)
		if err := job.Start(cmd); err != nil {
			return err
		}
		return cmd.Wait()
	}
	for _, dir := range []string{"a", "b"} {
		if err := runJob("make", "-C", dir); err != nil {
			fmt.Println(dir+":", err)
		}
	}
}

// Start places the child in the container from birth, in one call; on
// failure nothing runs. While the container is frozen it refuses at once
// rather than create a child that would stop before it could exec.
func ExampleContainer_Start() {
	ctx := context.Background()
	c, err := pgid.New().NewContainer(ctx, contain.Options{KillOnOwnerDeath: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(ctx)

	cmd := exec.Command("sleep", "60")
	if err := c.Start(cmd); err != nil {
		fmt.Println(err)
		return
	}
	waitErr := make(chan error, 1)
	go func() { waitErr <- cmd.Wait() }() // cmd.Wait is the caller's

	if err := c.Freeze(ctx); err != nil {
		fmt.Println(err)
		return
	}
	err = c.Start(exec.Command("true"))
	fmt.Println("start while frozen:", errors.Is(err, contain.ErrFrozen))
	if err := c.Thaw(ctx); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("kill:", c.Kill(ctx))
	fmt.Println("sleep:", <-waitErr)
	// Output:
	// start while frozen: true
	// kill: <nil>
	// sleep: signal: killed
}
