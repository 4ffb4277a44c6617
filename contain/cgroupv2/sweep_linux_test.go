//go:build linux

package cgroupv2

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/testchild"
)

func init() { helpers[helperIdleOwner] = runIdleOwner }

// helperIdleOwner creates one container under the parent cgroup in
// args[0] (a hierarchy path) and leaves it idle: it prints "cgroup DIR"
// and "ready", reads a line from stdin, then starts a child in the
// container, waits for it, closes the container and prints "ok" (or
// "fail TEXT").
const helperIdleOwner = "idleowner"

func runIdleOwner(args []string) int {
	ctx := context.Background()
	fail := func(err error) int { fmt.Printf("fail %s\n", err); return 3 }
	c, err := New(WithParent(args[0])).NewContainer(ctx, contain.Options{KillOnOwnerDeath: true})
	if err != nil {
		return fail(err)
	}
	fmt.Printf("cgroup %s\nready\n", dirOf(c))
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return fail(err)
	}
	cmd := testchild.Command(testchild.ModeExit, "0")
	if err := c.Start(cmd); err != nil {
		return fail(err)
	}
	if err := cmd.Wait(); err != nil {
		return fail(err)
	}
	if err := c.Close(ctx); err != nil {
		return fail(err)
	}
	fmt.Println("ok")
	return 0
}

// freeHostPid returns a pid no process on this host has now.
func freeHostPid(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		t.Skip("no pid_max:", err)
	}
	max, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	for range 100 {
		p := max/2 + rand.IntN(max/2-100)
		if _, err := os.Stat("/proc/" + strconv.Itoa(p)); err != nil {
			return p
		}
	}
	t.Skip("no free pid found")
	return 0
}

// An owner in a pid namespace of its own names its container after its
// pid there, which no process of this host has: the host's sweep must
// still see that the container is owned (its lock is held) and leave it.
func TestSweepSparesALiveOwnerInAnotherPidNamespace(t *testing.T) {
	_, parentDir := privateParent(t, "pidnssweep")
	h0, _ := discover()
	parent := filepath.Join(h0.own, filepath.Base(parentDir))
	nsPid := freeHostPid(t)
	cmd := testchild.NSCommand(t, syscall.CLONE_NEWPID|syscall.CLONE_NEWNS,
		[]string{"private", "proc", "lastpid=" + strconv.Itoa(nsPid), "init"}, helperIdleOwner, parent)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	h := testchild.StartNSHelper(t, cmd)
	var dir string
	if _, err := fmt.Fscanf(h.Out, "cgroup %s\nready\n", &dir); err != nil {
		h.Fail(t, "helper: %v", err)
	}
	// Its pid there: nsPid, or a little more (the runtime may fork once
	// to probe for pidfd support before it starts the owner).
	m := staleName().FindStringSubmatch(filepath.Base(dir))
	ownerPid, _ := strconv.Atoi(m[1])
	if m == nil || ownerPid < nsPid || ownerPid > nsPid+10 {
		h.Fail(t, "the owner's container is %s, want it named after its pid in its namespace (%d or a little more)", dir, nsPid)
	}
	if testchild.Alive(ownerPid) {
		t.Skipf("pid %d was taken on this host meanwhile", ownerPid)
	}
	sweep(parentDir, slog.New(slog.DiscardHandler))
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("the host's sweep removed the idle container of a live owner: %v", err)
	}
	if _, err := stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	line, err := h.Out.ReadString('\n')
	if line != "ok\n" {
		h.Fail(t, "the owner's Start and Close after the sweep: %q %v", line, err)
	}
}

// A sweep running while an owner creates containers must never make a
// creation fail: it may take a directory that is not locked yet, and the
// owner must notice and make another.
func TestCreationRacesWithASweep(t *testing.T) {
	b, parentDir := privateParent(t, "racesweep")
	stop, done := make(chan struct{}), make(chan int)
	go func() {
		n := 0
		defer func() { done <- n }()
		for {
			select {
			case <-stop:
				return
			default:
				sweep(parentDir, slog.New(slog.DiscardHandler))
				n++
			}
		}
	}()
	ctx := context.Background()
	const n = 300
	for i := range n {
		c, err := b.NewContainer(ctx, contain.Options{})
		if err != nil {
			close(stop)
			<-done
			t.Fatalf("creation %d of %d failed while a sweep ran: %v", i+1, n, err)
		}
		if err := c.Close(ctx); err != nil {
			close(stop)
			<-done
			t.Fatal(err)
		}
	}
	close(stop)
	t.Logf("%d creations, %d sweeps", n, <-done)
}
