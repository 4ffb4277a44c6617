//go:build unix

package pgid_test

import (
	"context"
	"fmt"
	"os/exec"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/pgid"
)

// A build runs in a fresh process group; whatever it leaves running when
// the time is up is killed, and its death confirmed, before Kill returns.
func ExampleBackend_New() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	c, err := pgid.New().New(ctx, contain.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(context.Background())

	cmd := exec.Command("make", "-j8")
	if err := c.PrepareCmd(cmd); err != nil {
		fmt.Println(err)
		return
	}
	if err := cmd.Start(); err != nil {
		fmt.Println(err)
		return
	}
	if err := c.Started(cmd); err != nil {
		fmt.Println(err)
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
	parent, err := pgid.New().New(ctx, contain.Options{KillOnOwnerDeath: true})
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
		if err := job.PrepareCmd(cmd); err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return err
		}
		if err := job.Started(cmd); err != nil {
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
