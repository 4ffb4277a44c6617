//go:build linux

package cgroupv2

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/testchild"
)

// The spawn gate (see contain.Container): a child is never cloned into a
// frozen cgroup. Such a child stops before it can exec, the thread that
// forked it stays in the kernel (vfork), and the owner's runtime then
// hangs at its next garbage collection. The scenarios that hung run in a
// helper process (testchild.RunHelper), so that a hang fails the test.

// helperFrozenStart runs one case of startIntoFrozen (its argument): it
// prints "ok" or fails with the reason.
const helperFrozenStart = "frozenstart"

func init() { helpers[helperFrozenStart] = runFrozenStart }

func runFrozenStart(args []string) int {
	if len(args) != 1 {
		return 2
	}
	if err := startIntoFrozen(args[0]); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("ok")
	return 0
}

// startIntoFrozen makes a container P with a sub S and a sub of it SS, a
// sleeping member in SS, freezes as the case says, and then checks that a
// Start into the target fails at once with ErrFrozen and spawns nothing,
// that the runtime still collects garbage, and that after the thaw a
// Start works. The cases:
//
//	self      Freeze of SS, start into SS
//	sub       Freeze of P, start into S
//	subsub    Freeze of P, start into SS
//	outside   P's cgroup.freeze written directly, start into SS and into P
func startIntoFrozen(which string) (err error) {
	ctx := context.Background()
	p, err := New().New(ctx, contain.Options{})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := p.Close(ctx); cerr != nil && err == nil {
			err = cerr
		}
	}()
	s, err := p.Sub(ctx, contain.Options{})
	if err != nil {
		return err
	}
	ss, err := s.Sub(ctx, contain.Options{})
	if err != nil {
		return err
	}
	member := testchild.Command(testchild.ModeSleep)
	if err := ss.Start(member); err != nil {
		return err
	}
	reaped := make(chan struct{})
	go func() { _ = member.Wait(); close(reaped) }()
	defer func() { _ = p.Kill(ctx); <-reaped }()

	var targets []contain.Container
	var freeze, thaw func() error
	switch which {
	case "self":
		targets = []contain.Container{ss}
		freeze, thaw = func() error { return ss.Freeze(ctx) }, func() error { return ss.Thaw(ctx) }
	case "sub":
		targets = []contain.Container{s}
		freeze, thaw = func() error { return p.Freeze(ctx) }, func() error { return p.Thaw(ctx) }
	case "subsub":
		targets = []contain.Container{ss}
		freeze, thaw = func() error { return p.Freeze(ctx) }, func() error { return p.Thaw(ctx) }
	case "outside":
		// As systemctl freeze would: behind tether's back.
		targets = []contain.Container{ss, p}
		dir := dirOf(p)
		freeze = func() error {
			if err := writeFile(dir, "cgroup.freeze", "1"); err != nil {
				return err
			}
			return waitEvent(ctx, dir, "frozen", 1)
		}
		thaw = func() error { return writeFile(dir, "cgroup.freeze", "0") }
	default:
		return fmt.Errorf("unknown case %q", which)
	}
	if err := freeze(); err != nil {
		return fmt.Errorf("freeze: %w", err)
	}
	for _, c := range targets {
		cmd := testchild.Command(testchild.ModeExit, "0")
		began := time.Now()
		err := c.Start(cmd)
		took := time.Since(began)
		if err == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return fmt.Errorf("Start into %s while frozen succeeded", dirOf(c))
		}
		if !errors.Is(err, contain.ErrFrozen) || cmd.Process != nil {
			return fmt.Errorf("Start into %s while frozen = %w (process %v), want ErrFrozen and no process", dirOf(c), err, cmd.Process)
		}
		if took > 2*time.Second {
			return fmt.Errorf("Start into %s took %v to fail", dirOf(c), took)
		}
	}
	runtime.GC()
	if pids, err := p.Pids(); err != nil || len(pids) != 1 {
		return fmt.Errorf("members after the refused starts: %v, %w; want the sleeper alone", pids, err)
	}
	if err := thaw(); err != nil {
		return fmt.Errorf("thaw: %w", err)
	}
	for _, c := range targets {
		cmd := testchild.Command(testchild.ModeExit, "0")
		if err := startThawed(ctx, c, cmd); err != nil {
			return fmt.Errorf("Start into %s after the thaw: %w", dirOf(c), err)
		}
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("child started after the thaw: %w", err)
		}
	}
	return nil
}

// startThawed starts cmd in c, retrying while cgroup.events still says
// frozen: a thaw written behind tether's back is confirmed by nobody.
func startThawed(ctx context.Context, c contain.Container, cmd *exec.Cmd) error {
	ctx, cancel := context.WithTimeout(ctx, patience)
	defer cancel()
	for {
		err := c.Start(cmd)
		if !errors.Is(err, contain.ErrFrozen) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Millisecond)
	}
}

// A Start into a frozen container fails at once with ErrFrozen, whether
// it is frozen itself, through an enclosing container at any depth, or
// from outside tether; nothing is spawned and the owner keeps running.
func TestStartIntoFrozenFailsWithErrFrozen(t *testing.T) {
	usable(t)
	for _, which := range []string{"self", "sub", "subsub", "outside"} {
		t.Run(which, func(t *testing.T) {
			if out := testchild.RunHelper(t, 3*patience, helperFrozenStart, which); out != "ok\n" {
				t.Fatalf("helper said %q", out)
			}
		})
	}
}

// A Freeze that cannot be confirmed before its ctx ends (here: a ctx that
// has ended already) is rolled back: cgroup.freeze is 0 again, the member
// runs, and Start works. Before, cgroup.freeze stayed 1.
func TestFreezeNotConfirmedRollsBack(t *testing.T) {
	b := usable(t)
	c := newContainer(t, b)
	file := filepath.Join(testchild.TempDir(t), "appended")
	start(t, c, testchild.Command(testchild.ModeAppend, file))
	size := func() int64 {
		fi, err := os.Stat(file)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	testchild.Poll(t, patience, "the child to append", func() bool { return size() > 0 })

	ended, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Freeze(ended); !errors.Is(err, context.Canceled) {
		t.Fatalf("Freeze with an ended ctx = %v, want an error matching context.Canceled", err)
	}
	if v := strings.TrimSpace(mustRead(t, filepath.Join(dirOf(c), "cgroup.freeze"))); v != "0" {
		t.Fatalf("cgroup.freeze = %s after the failed Freeze, want 0", v)
	}
	if frozenNow(dirOf(c)) {
		t.Fatal("cgroup.events says frozen after the failed Freeze")
	}
	at := size()
	testchild.Poll(t, patience, "the child to append after the failed Freeze", func() bool { return size() > at })
	if err := start(t, c, testchild.Command(testchild.ModeExit, "0"))(); err != nil {
		t.Fatalf("Start after the failed Freeze: %v", err)
	}
	// And a Freeze that succeeds afterwards is still a freeze.
	ctx, cancelOK := context.WithTimeout(context.Background(), patience)
	defer cancelOK()
	if err := c.Freeze(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Start(testchild.Command(testchild.ModeExit, "0")); !errors.Is(err, contain.ErrFrozen) {
		t.Fatalf("Start while frozen = %v, want ErrFrozen", err)
	}
	if err := c.Thaw(ctx); err != nil {
		t.Fatal(err)
	}
}

// A Signal of a container that Freeze holds needs no freeze of its own
// (nothing in it runs, and Start refuses it): it is delivered and the
// container stays frozen until Thaw.
func TestSignalLeavesAFrozenContainerFrozen(t *testing.T) {
	b := usable(t)
	c := newContainer(t, b)
	// A child that appends has its runtime up, with its signal handlers:
	// before that, a SIGTERM would be fatal at once, frozen or not.
	file := filepath.Join(testchild.TempDir(t), "appended")
	cmd := testchild.Command(testchild.ModeAppend, file)
	wait := start(t, c, cmd)
	testchild.Poll(t, patience, "the child to append", func() bool {
		fi, err := os.Stat(file)
		return err == nil && fi.Size() > 0
	})
	ctx, cancel := context.WithTimeout(context.Background(), patience)
	defer cancel()
	if err := c.Freeze(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if v := strings.TrimSpace(mustRead(t, filepath.Join(dirOf(c), "cgroup.freeze"))); v != "1" || !frozenNow(dirOf(c)) {
		t.Fatalf("after Signal: cgroup.freeze %s, frozen %v; want the container still frozen", v, frozenNow(dirOf(c)))
	}
	if !testchild.Alive(cmd.Process.Pid) {
		t.Fatal("the frozen child died before the thaw")
	}
	if err := c.Thaw(ctx); err != nil {
		t.Fatal(err)
	}
	if err := wait(); err == nil || !strings.Contains(err.Error(), "terminated") {
		t.Fatalf("Wait = %v, want terminated by the SIGTERM once thawed", err)
	}
}
