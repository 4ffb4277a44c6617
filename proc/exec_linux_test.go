//go:build linux

package proc_test

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

func TestSetsidAndCredential(t *testing.T) {
	ctx := ctxFor(t, patience)
	out, err := script("ids").Setsid().Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var uid, gid, sid, pid int
	if _, err := fmt.Sscan(out, &uid, &gid, &sid, &pid); err != nil || sid != pid {
		t.Fatalf("ids %q: with Setsid the child must lead its session", out)
	}
	if os.Geteuid() != 0 {
		t.Skip("switching credentials needs root")
	}
	// id(1), not the test binary: nobody may not enter the build directory.
	out, err = proc.Command("id").Credential(65534, 65534).Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "uid=65534(") || !strings.Contains(out, "gid=65534(") {
		t.Fatalf("id says %q, want uid and gid 65534", out)
	}
}

// The parent-death signal fires when the thread that forked the child
// exits. A caller whose goroutine is locked to its thread and then ends
// (so the runtime destroys the thread) must not kill its child that way:
// tether forks from a thread of its own, held until the child is reaped.
func TestParentDeathSignalSurvivesTheCallersThreadExiting(t *testing.T) {
	ctx := ctxFor(t, patience)
	pids := testchild.PidFile(t)
	started := make(chan *proc.RunningProcess, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the goroutine
		p, err := script("pids", pids, "block").ParentDeathSignal(syscall.SIGKILL).Start(ctx)
		if err != nil {
			t.Error(err)
		}
		started <- p
	}()
	p := <-started
	if p == nil {
		t.FailNow()
	}
	testchild.ReadPidFile(t, pids, patience)
	// Give the runtime every chance to retire the caller's thread: start
	// more locked goroutines that end, then check the child again.
	for range 20 {
		done := make(chan struct{})
		go func() { runtime.LockOSThread(); close(done) }()
		<-done
	}
	if !testchild.Alive(p.Pid()) {
		t.Fatal("the child died with its caller's thread")
	}
	if err := p.Kill(ctx); err != nil {
		t.Fatal(err)
	}
}
