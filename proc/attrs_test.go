package proc_test

import (
	"errors"
	"runtime"
	"testing"

	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// Arg0 replaces argv[0] only: the program is still found by the name
// given to Command, which the Result and the logs keep.
func TestArg0ReachesTheChild(t *testing.T) {
	r, err := child(testchild.ModeAttrs).Arg0("-tether-login").Output(ctxFor(t, patience))
	if err != nil || r.Err() != nil {
		t.Fatal(err, r.Err())
	}
	reps, err := testchild.ParseReports(r.Stdout)
	if err != nil || len(reps) != 1 {
		t.Fatalf("reports %v, %v", reps, err)
	}
	if reps[0].Arg0 != "-tether-login" {
		t.Errorf("argv[0] %q, want -tether-login", reps[0].Arg0)
	}
	if r.Program != testchild.Exe() {
		t.Errorf("Result.Program %q, want the program %q", r.Program, testchild.Exe())
	}
}

// Validate, which test doubles call, refuses what a real run would
// refuse before spawning: bad values everywhere, and what this system
// cannot give a child.
func TestValidateChecksTheAttributes(t *testing.T) {
	for _, c := range []*proc.Cmd{
		proc.Command("x").Nice(20),
		proc.Command("x").OOMScoreAdj(-1001),
		proc.Command("x").Rlimit(proc.RlimitStack, 10, 1),
		proc.Command("x").Umask(0o7777),
		proc.Command("x").Arg0("\x00"),
	} {
		if err := c.Validate(); !errors.Is(err, proc.ErrInvalid) {
			t.Errorf("Validate = %v, want ErrInvalid", err)
		}
	}
	err := proc.Command("x").OOMScoreAdj(100).Validate()
	if runtime.GOOS == "linux" {
		if err != nil {
			t.Errorf("Validate of an OOM score on Linux = %v", err)
		}
	} else if !errors.Is(err, proc.ErrUnsupported) {
		t.Errorf("Validate of an OOM score on %s = %v, want ErrUnsupported", runtime.GOOS, err)
	}
}

// Every Resource prints its system name.
func TestResourceNames(t *testing.T) {
	for r, want := range map[proc.Resource]string{
		proc.RlimitCPU: "RLIMIT_CPU", proc.RlimitNoFile: "RLIMIT_NOFILE", proc.RlimitAS: "RLIMIT_AS",
		proc.RlimitRTTime: "RLIMIT_RTTIME", proc.Resource(0): "Resource(0)", proc.Resource(17): "Resource(17)",
	} {
		if got := r.String(); got != want {
			t.Errorf("Resource(%d).String() = %q, want %q", int(r), got, want)
		}
	}
}
