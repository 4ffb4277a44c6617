package contain_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/host"
)

// The typical use: the host's default backend, one container for one
// tree, the child born inside it, and Close to kill whatever the child
// left behind and confirm it is gone.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	sel := host.Default() // the backend, and why it was chosen
	c, err := sel.Backend.NewContainer(ctx, contain.Options{KillOnOwnerDeath: true})
	if err != nil {
		fmt.Println(err) // a *NotUsableError, or a *LimitError for Options.Limits
		return
	}
	defer c.Close(context.Background()) // kills the whole tree, confirms it is gone

	cmd := exec.Command("make", "-j8")
	if err := c.Start(cmd); err != nil {
		fmt.Println(err) // nothing was left running
		return
	}
	fmt.Println("make:", cmd.Wait(), "held by", c.Mechanism())
}

// A limit is checked before anything is created: an invalid one is a
// *LimitError matching ErrInvalidLimit, on every backend and host.
func ExampleValidateLimits() {
	err := contain.ValidateLimits([]contain.Limit{contain.MemoryMax(-1)})
	var le *contain.LimitError
	fmt.Println(errors.As(err, &le), errors.Is(err, contain.ErrInvalidLimit), le.Limit.Kind)
	// Output: true true memory
}

// An operation the mechanism does not have is never faked: it fails with
// an error matching ErrUnsupported that names the mechanism.
func ExampleUnsupported() {
	err := contain.Unsupported(contain.PGID, "freeze", "a process group has no confirmed freeze")
	fmt.Println(errors.Is(err, contain.ErrUnsupported))
	fmt.Println(err)
	// Output:
	// true
	// contain: pgid: freeze not supported: a process group has no confirmed freeze
}
