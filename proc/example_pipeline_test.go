//go:build unix

package proc_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/gotether/tether/proc"
)

// Pipe connects commands like a shell pipeline, without a shell. The
// producer of `seq | head -3` dies of SIGPIPE once head is done, so it is
// marked unchecked.
func ExamplePipe() {
	ctx := context.Background()
	out, err := proc.Pipe(
		proc.Command("seq", "1000000"),
		proc.Command("head", "-n", "3"),
	).Unchecked(0).Run(ctx)
	fmt.Printf("%q %v\n", out, err)

	// A failing middle stage is the culprit, although the last stage
	// succeeded.
	r, err := proc.Pipe(
		proc.Command("printf", `a\nb\n`),
		proc.Command("sh", "-c", "cat; echo broken >&2; exit 3"),
		proc.Command("cat"),
	).Output(ctx)
	if err != nil {
		panic(err)
	}
	var pe *proc.PipeError
	errors.As(r.Err(), &pe)
	fmt.Printf("stdout %q, failed stage %d, code %d, stderr %q\n",
		r.Stdout, r.Failed, pe.Err.Code, pe.Err.StderrTail)
	fmt.Println(errors.Is(r.Err(), proc.ErrExit))
	// Output:
	// "1\n2\n3" <nil>
	// stdout "a\nb\n", failed stage 1, code 3, stderr "broken\n"
	// true
}
