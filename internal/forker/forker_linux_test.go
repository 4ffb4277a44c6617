//go:build linux

package forker_test

import (
	"context"
	"errors"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/internal/forker"
	"github.com/gotether/tether/internal/testchild"
)

func TestMain(m *testing.M) { testchild.Main(m) }

// startFromDyingThread starts cmd with start from a goroutine locked to
// its thread that then ends without unlocking, so the runtime destroys
// the thread, and returns the reaper of the child.
func startFromDyingThread(t *testing.T, cmd *exec.Cmd, start func(*exec.Cmd) error) func() error {
	t.Helper()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		started <- start(cmd)
	}()
	if err := <-started; err != nil {
		t.Fatal(err)
	}
	return testchild.Reap(t, cmd, func(context.Context) error { return cmd.Process.Kill() })
}

// The kernel sends the parent-death signal when the forking thread exits:
// a child started with exec.Cmd.Start from a thread that then exits dies,
// while one started through forker.Start, forked on a pool thread that
// never exits, lives on.
func TestParentDeathSignalFollowsTheThreadNotTheCaller(t *testing.T) {
	direct := testchild.Command(testchild.ModeSleep)
	pooled := testchild.Command(testchild.ModeSleep)
	waitPooled := startFromDyingThread(t, pooled, forker.Start)
	waitDirect := startFromDyingThread(t, direct, (*exec.Cmd).Start)

	// The control dies once its forking thread is gone...
	var ee *exec.ExitError
	if err := waitDirect(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child started from the dying thread: Wait = %v, want killed by its parent-death signal", err)
	}
	// ...by which time the caller's thread of the pooled start, which
	// ended first, is gone too.
	if !testchild.Alive(pooled.Process.Pid) {
		t.Fatal("the child forked through the pool died with its caller's thread")
	}
	_ = pooled.Process.Kill()
	_ = waitPooled()
}

// Without a parent-death signal, Start is exec.Cmd.Start.
func TestStartWithoutParentDeathSignal(t *testing.T) {
	cmd := testchild.Command(testchild.ModeExit, "3")
	if err := forker.Start(cmd); err != nil {
		t.Fatal(err)
	}
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("Wait = %v, want exit 3", err)
	}
}

// Start applies the attributes bound to a command, and the binding says
// so; one never started says it was not applied.
func TestBoundAttributesAreApplied(t *testing.T) {
	cmd := testchild.Command(testchild.ModeAttrs)
	var out strings.Builder
	cmd.Stdout = &out
	withdraw := forker.Bind(cmd, forker.Attrs{Nice: 6, SetNice: true, Umask: 0o026, SetUmask: true,
		Rlimits: []forker.Rlimit{{Resource: unix.RLIMIT_CORE, Name: "RLIMIT_CORE", Cur: 512, Max: 1024}}})
	err := forker.Start(cmd)
	if !withdraw() {
		t.Error("the binding says Start did not apply it")
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	reps, err := testchild.ParseReports([]byte(out.String()))
	if err != nil || len(reps) != 1 {
		t.Fatalf("reports %v, %v", reps, err)
	}
	r := reps[0]
	if r.Nice == nil || *r.Nice != 6 || r.Umask != "0026" || r.Rlimits["RLIMIT_CORE"] != [2]uint64{512, 1024} {
		t.Errorf("child nice %v umask %q core %v", r.Nice, r.Umask, r.Rlimits["RLIMIT_CORE"])
	}
	// A binding withdrawn without a Start was not applied.
	other := testchild.Command(testchild.ModeAttrs)
	if forker.Bind(other, forker.Attrs{SetNice: true})() {
		t.Error("a binding without a Start says it was applied")
	}
}
