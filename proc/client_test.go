package proc_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

func TestClientDefaultsAndParse(t *testing.T) {
	ctx := ctxFor(t, patience)
	base := proc.NewClient(testchild.Exe()).Configure(func(c *proc.Cmd) *proc.Cmd {
		for _, kv := range testchild.EnvVars(testchild.ModeScript) {
			c = c.SetEnv(kv[0], kv[1])
		}
		return c
	})
	cl := base.WithArgs("out", "answer=").SetEnv("X", "42").Timeout(patience)
	if got := cl.Args(); len(got) != 2 || len(base.Args()) != 0 {
		t.Fatalf("defaults leaked: %v %v", got, base.Args())
	}
	if out, err := cl.Run(ctx, "env", "X"); err != nil || out != "answer=42" {
		t.Fatalf("Run = %q, %v", out, err)
	}
	num := func(s string) (int, error) { return strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(s), "answer=")) }
	if v, err := proc.Parse(ctx, cl.Command("env", "X"), num); err != nil || v != 42 {
		t.Fatalf("Parse = %d, %v", v, err)
	}
	_, err := proc.Parse(ctx, cl.Command("out", "x"), num)
	var pe *proc.ParseError
	if !errors.Is(err, proc.ErrParse) || !errors.As(err, &pe) || strings.Contains(err.Error(), "answer") {
		t.Fatalf("parse failure: %v", err)
	}
	if _, ok, err := proc.TryParse(ctx, cl.Command("out", "x"), num); ok || err != nil {
		t.Fatalf("TryParse of unparsable output = %v, %v", ok, err)
	}
	if _, _, err := proc.TryParse(ctx, cl.Command("exit", "3"), num); !errors.Is(err, proc.ErrExit) {
		t.Fatalf("TryParse of a failed run = %v", err)
	}
	if ok, err := base.Probe(ctx, "exit", "1"); ok || err != nil {
		t.Fatalf("Probe = %v, %v", ok, err)
	}
	if code, err := base.ExitCode(ctx, "exit", "4"); code != 4 || err != nil {
		t.Fatalf("ExitCode = %d, %v", code, err)
	}
	if err := base.Exec(ctx, "out", "x"); err != nil {
		t.Fatal(err)
	}
	if r, err := base.Output(ctx, "exit", "2"); err != nil || r.ExitCode != 2 {
		t.Fatalf("Output = %v, %v", r, err)
	}
}
