//go:build windows

package jobobject_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/jobobject"
	"github.com/gotether/tether/internal/testchild"
)

// assertPidsExactly fails unless c lists exactly the pids of the trees.
func assertPidsExactly(t *testing.T, name string, c contain.Container, trees ...testchild.Tree) {
	t.Helper()
	got, err := c.Pids()
	if err != nil {
		t.Fatalf("%s Pids: %v", name, err)
	}
	var want []int
	for _, tr := range trees {
		want = append(want, tr.Pids()...)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s Pids = %v, want exactly %v", name, got, want)
	}
}

// assertAlive fails for every pid of tr that is dead.
func assertAlive(t *testing.T, what string, tr testchild.Tree) {
	t.Helper()
	for role, p := range tr {
		if !testchild.Alive(p) {
			t.Errorf("%s: %s (pid %d) died, but nothing that was killed held it", what, role, p)
		}
	}
}

// treeIn starts a ModeTree child in c and returns its pids once c lists
// them all.
func treeIn(t *testing.T, c contain.Container) testchild.Tree {
	t.Helper()
	pf := testchild.PidFile(t)
	return startTree(t, c, testchild.Command(testchild.ModeTree, pf), pf)
}

func TestSubKillDuringStartTerminatesChildBeforeItRuns(t *testing.T) {
	c := newContainer(t, contain.Options{})
	s := testchild.NewSub(t, c, contain.Options{})
	out := filepath.Join(testchild.TempDir(t), "appended")
	cmd := testchild.Command(testchild.ModeAppend, out)
	defer jobobject.SetHookCreated(func() {
		if err := c.Kill(ctxFor(t, killTimeout)); err != nil {
			t.Error(err)
		}
	})()
	if err := s.Start(cmd); !errors.Is(err, contain.ErrClosed) {
		t.Fatalf("sub Start with the parent killed meanwhile = %v, want ErrClosed", err)
	}
	if cmd.ProcessState == nil {
		t.Error("Start did not reap the child it refused")
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the child ran although placement failed (stat: %v)", err)
	}
}

func TestAdoptIntoSub(t *testing.T) {
	c := newContainer(t, contain.Options{})
	s := testchild.NewSub(t, c, contain.Options{})
	sibling := testchild.NewSub(t, c, contain.Options{})

	outsider := testchild.Command(testchild.ModeSleep)
	startOutside(t, outsider)
	if err := s.Adopt(outsider.Process.Pid); err != nil {
		t.Fatalf("sub Adopt of a process in no job: %v", err)
	}
	member := testchild.Command(testchild.ModeSleep)
	startIn(t, c, member)
	if err := s.Adopt(member.Process.Pid); err != nil {
		t.Fatalf("sub Adopt of a direct member of the parent: %v", err)
	}
	if err := s.Adopt(outsider.Process.Pid); err != nil {
		t.Errorf("sub Adopt of its own member again = %v, want nil", err)
	}
	adopted := testchild.Tree{"outsider": outsider.Process.Pid, "member": member.Process.Pid}
	waitMembers(t, s, adopted.Pids()...)
	assertPidsExactly(t, "parent", c, adopted)

	// The sibling is empty, so Windows would take the process and nest the
	// sibling inside s; Adopt must refuse instead.
	if err := sibling.Adopt(outsider.Process.Pid); err == nil || errors.Is(err, contain.ErrNoSuchProcess) {
		t.Errorf("sibling Adopt of a member of another sub = %v, want a refusal", err)
	}
	assertPidsExactly(t, "sibling", sibling)
	ts := treeIn(t, sibling) // the sibling still nests directly in c
	assertPidsExactly(t, "sub", s, adopted)

	if err := s.Kill(ctxFor(t, killTimeout)); err != nil {
		t.Fatalf("sub Kill: %v", err)
	}
	assertDeadNow(t, adopted)
	assertAlive(t, "the sibling's tree after the sub's Kill", ts)
}

func TestSubLimitsAreValidatedAndRefusedUnderWine(t *testing.T) {
	c := newContainer(t, contain.Options{})
	ctx := ctxFor(t, killTimeout)
	if s, err := c.Sub(ctx, contain.Options{Limits: []contain.Limit{contain.MaxProcesses(0)}}); s != nil || !errors.Is(err, contain.ErrInvalidLimit) {
		t.Errorf("Sub with an invalid limit = %v, %v; want ErrInvalidLimit and no sub", s, err)
	}
	if jobobject.UnderWine() {
		l := contain.MaxProcesses(1)
		s, err := c.Sub(ctx, contain.Options{Limits: []contain.Limit{l}})
		var le *contain.LimitError
		if s != nil || !errors.As(err, &le) || !errors.Is(err, contain.ErrUnsupported) || le.Reason != jobobject.WineLimitsReason {
			t.Errorf("Sub(%v) under Wine = %v, %v; want a *contain.LimitError matching ErrUnsupported", l, s, err)
		}
	}
	if n := jobobject.OpenSubs(c); n != 0 {
		t.Errorf("refused Subs left %d subs in the parent's list", n)
	}
}

func TestSubProcessLimitRefusesGrandchild(t *testing.T) {
	if jobobject.UnderWine() {
		t.Skip(skipProcessLimit)
	}
	c := newContainer(t, contain.Options{})
	s := testchild.NewSub(t, c, contain.Options{Limits: []contain.Limit{contain.MaxProcesses(1)}})
	cmd := testchild.Command(testchild.ModeTree, testchild.PidFile(t))
	startIn(t, s, cmd)
	_ = cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != 3 {
		t.Fatalf("tree child in a sub capped at 1 process exited %d, want 3 (grandchild refused)", code)
	}
}

// processHandleCount returns how many handles this process holds and how
// it counted them, or why it cannot. It asks GetProcessHandleCount first;
// Wine 8 implements that call as a stub that reports 0, so it then
// counts this process's entries in the system handle table, which Wine's
// server does fill in.
func processHandleCount() (n uint32, how string, why string) {
	proc := windows.NewLazySystemDLL("kernel32.dll").NewProc("GetProcessHandleCount")
	if err := proc.Find(); err != nil {
		why = "kernel32!GetProcessHandleCount is missing: " + err.Error()
	} else if r, _, errno := proc.Call(uintptr(windows.CurrentProcess()), uintptr(unsafe.Pointer(&n))); r == 0 {
		why = "GetProcessHandleCount failed: " + errno.Error()
	} else if n == 0 {
		why = "GetProcessHandleCount reports 0 handles for a running process"
	} else {
		return n, "GetProcessHandleCount", ""
	}
	n, err := systemHandleCount()
	if err != nil {
		return 0, "", why + ", and NtQuerySystemInformation(SystemExtendedHandleInformation) failed: " + err.Error()
	}
	if n == 0 {
		return 0, "", why + ", and the system handle table lists none of this process's handles"
	}
	return n, "the system handle table (" + why + ")", ""
}

// systemHandleCount counts this process's entries in the table that
// NtQuerySystemInformation(SystemExtendedHandleInformation) returns.
func systemHandleCount() (uint32, error) {
	// SYSTEM_HANDLE_TABLE_ENTRY_INFO_EX; the table is two ULONG_PTRs
	// (count, reserved) followed by the entries.
	type entry struct {
		Object          uintptr
		UniqueProcessID uintptr
		HandleValue     uintptr
		GrantedAccess   uint32
		BackTraceIndex  uint16
		ObjectTypeIndex uint16
		Attributes      uint32
		Reserved        uint32
	}
	const word = unsafe.Sizeof(uintptr(0))
	size := uintptr(1 << 16)
	for range 16 {
		buf := make([]uintptr, size/word)
		var ret uint32
		err := windows.NtQuerySystemInformation(windows.SystemExtendedHandleInformation,
			unsafe.Pointer(&buf[0]), uint32(size), &ret)
		if errors.Is(err, windows.STATUS_INFO_LENGTH_MISMATCH) {
			size = max(size*2, uintptr(ret)+4096)
			continue
		}
		if err != nil {
			return 0, err
		}
		total := buf[0]
		if 2*word+total*unsafe.Sizeof(entry{}) > size {
			return 0, fmt.Errorf("the table claims %d entries, more than its %d-byte buffer holds", total, size)
		}
		var n uint32
		self := uintptr(os.Getpid())
		for _, e := range unsafe.Slice((*entry)(unsafe.Pointer(&buf[2])), total) {
			if e.UniqueProcessID == self {
				n++
			}
		}
		return n, nil
	}
	return 0, windows.STATUS_INFO_LENGTH_MISMATCH
}

// handleCounter skips the test when this process's handles cannot be
// counted, checks that the count sees 20 new event handles come and go
// (or it would prove nothing), and returns the counting function with the
// name of its method.
func handleCounter(t *testing.T) (count func() uint32, how string) {
	t.Helper()
	_, how, why := processHandleCount()
	if why != "" {
		if jobobject.UnderWine() {
			why = "under Wine: " + why
		}
		t.Skip(why)
	}
	count = func() uint32 {
		n, _, why := processHandleCount()
		if why != "" {
			t.Fatalf("counting handles: %s", why)
		}
		return n
	}
	// Calibrate: 100 more events must show as about 100 more handles.
	// The count drifts by a few on its own (a runtime thread ends, a
	// finished child's handle is closed), so it is checked within
	// handleSlack, which is still far from the 0 a counter that
	// misses handles would show.
	base := count()
	events := make([]windows.Handle, 100)
	for i := range events {
		h, err := windows.CreateEvent(nil, 0, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		events[i] = h
	}
	with := count()
	for _, h := range events {
		_ = windows.CloseHandle(h)
	}
	if grew := int64(with) - int64(base); grew < int64(len(events))-handleSlack {
		t.Fatalf("handle count %d with %d more events open, %d without: %s misses handles", with, len(events), base, how)
	}
	return count, how
}

// handleSlack is how far a handle count may drift on its own: the Go
// runtime may start or end a thread or two. One handle leaked per
// operation would show as +200.
const handleSlack = 10

func TestSubSpawnCloseCyclesReleaseEveryHandle(t *testing.T) {
	count, how := handleCounter(t)
	c := newContainer(t, contain.Options{})
	var spent [3]time.Duration // Sub, spawn (Start), Close
	cycle := func() {
		t0 := time.Now()
		s, err := c.Sub(ctxFor(t, killTimeout), contain.Options{})
		if err != nil {
			t.Fatalf("Sub: %v", err)
		}
		t1 := time.Now()
		cmd := testchild.Command(testchild.ModeSleep)
		if err := start(s, cmd); err != nil {
			t.Fatalf("start in sub: %v", err)
		}
		t2 := time.Now()
		if err := s.Close(ctxFor(t, killTimeout)); err != nil {
			t.Fatalf("sub Close: %v", err)
		}
		t3 := time.Now()
		_ = cmd.Wait()
		spent[0] += t1.Sub(t0)
		spent[1] += t2.Sub(t1)
		spent[2] += t3.Sub(t2)
	}
	// Warm up: the first cycles load DLLs and start runtime threads.
	for range 5 {
		cycle()
	}
	before := count()
	spent = [3]time.Duration{}
	const cycles = 200
	began := time.Now()
	for range cycles {
		cycle()
	}
	wall := time.Since(began)
	after := count()
	t.Logf("%d Sub+spawn+Close cycles in %v: %v each (Sub %v, spawn %v, Close %v); handles %d before, %d after, counted by %s",
		cycles, wall.Round(time.Millisecond), (wall / cycles).Round(time.Microsecond),
		(spent[0] / cycles).Round(time.Microsecond), (spent[1] / cycles).Round(time.Microsecond),
		(spent[2] / cycles).Round(time.Microsecond), before, after, how)
	if after > before+handleSlack {
		t.Errorf("handle count grew from %d to %d over %d cycles", before, after, cycles)
	}
	if n := jobobject.OpenSubs(c); n != 0 {
		t.Errorf("the parent still lists %d subs after every one was closed", n)
	}
	assertPidsExactly(t, "parent", c)
}

func TestParentCloseReleasesHandlesOfSubsNeverClosed(t *testing.T) {
	count, how := handleCounter(t)
	before := count()
	c, err := jobobject.New().NewContainer(context.Background(), contain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const subs = 200
	var cmds []*exec.Cmd
	for i := range subs {
		s, err := c.Sub(context.Background(), contain.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			// Every other one is a sub of a sub; one in four of each
			// kind gets a member.
			if s, err = s.Sub(context.Background(), contain.Options{}); err != nil {
				t.Fatal(err)
			}
		}
		if i%8 < 2 {
			cmd := testchild.Command(testchild.ModeSleep)
			if err := start(s, cmd); err != nil {
				t.Fatal(err)
			}
			cmds = append(cmds, cmd)
		}
	}
	during := count()
	began := time.Now()
	if err := c.Close(ctxFor(t, killTimeout)); err != nil {
		t.Fatalf("parent Close: %v", err)
	}
	took := time.Since(began)
	for _, cmd := range cmds {
		_ = cmd.Wait()
	}
	after := count()
	t.Logf("parent Close of %d never-closed subs (%d with a member) took %v; handles %d before, %d with the subs, %d after, counted by %s",
		subs+subs/2, len(cmds), took.Round(time.Millisecond), before, during, after, how)
	if during+handleSlack < before+subs {
		t.Errorf("handle count with %d subs open is %d, from %d: the count misses job handles", subs, during, before)
	}
	if after > before+handleSlack {
		t.Errorf("handle count grew from %d to %d although the parent's Close released every sub", before, after)
	}
}
