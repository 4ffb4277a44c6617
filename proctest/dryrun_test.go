package proctest_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/gotether/tether/proc"
	"github.com/gotether/tether/proctest"
)

func TestDryRunPrintsAndSucceeds(t *testing.T) {
	ctx := ctxFor(t)
	var out bytes.Buffer
	d := proctest.NewDryRun(&out)
	c := proc.Command("rm", "-rf", "my dir").Runner(d)
	r, err := c.Output(ctx)
	if err != nil || !r.Success() || r.Mechanism != proc.FakeMechanism {
		t.Fatalf("%+v, %v", r, err)
	}
	p, err := c.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := p.Wait(ctx); err != nil || !r.Success() {
		t.Fatalf("%+v, %v", r, err)
	}
	line := hostLine(c) + "\n"
	if out.String() != line+line {
		t.Errorf("printed %q, want twice %q", out.String(), line)
	}
	if _, err := proc.Command("rm", "a\x00").Runner(d).Output(ctx); !errors.Is(err, proc.ErrInvalid) {
		t.Errorf("invalid: %v", err)
	}
}
