//go:build windows

package proc_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// helperDetachInJob puts itself in a Job Object that does not allow
// breakaway, detaches a child (argument: its pid file), and prints
// "pid N inside=B", B saying whether the child ended up in that job.
const helperDetachInJob = "detachinjob"

func init() { helpers[helperDetachInJob] = runDetachInJob }

func runDetachInJob(args []string) int {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "job:", err)
		return 3
	}
	if err := windows.AssignProcessToJobObject(job, windows.CurrentProcess()); err != nil {
		fmt.Fprintln(os.Stderr, "assign:", err)
		return 3
	}
	pid, err := proc.Detach(context.Background(), script("pids", args[0], "block"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "detach:", err)
		return 3
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_INFORMATION, false, uint32(pid))
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		return 3
	}
	defer func() { _ = windows.CloseHandle(h) }()
	var inside int32
	r, _, e := procIsProcessInJob.Call(uintptr(h), uintptr(job), uintptr(unsafe.Pointer(&inside)))
	if r == 0 {
		fmt.Fprintln(os.Stderr, "IsProcessInJob:", e)
		return 3
	}
	fmt.Printf("pid %d inside=%v\n", pid, inside != 0)
	return 0
}

var procIsProcessInJob = windows.NewLazySystemDLL("kernel32.dll").NewProc("IsProcessInJob")

// An owner inside a job that forbids breakaway can still Detach: the first
// CreateProcess (with CREATE_BREAKAWAY_FROM_JOB) is refused, the second
// leaves the process in the owner's job, as Detach documents.
func TestDetachInsideAJobWithoutBreakaway(t *testing.T) {
	f := filepath.Join(testchild.TempDir(t), "pids")
	h := testchild.StartHelper(t, helperDetachInJob, f)
	line, err := h.Out.ReadString('\n')
	if err != nil {
		h.Fail(t, "helper said %q: %v", line, err)
	}
	var pid int
	var inside bool
	if _, err := fmt.Sscanf(strings.TrimSpace(line), "pid %d inside=%t", &pid, &inside); err != nil {
		h.Fail(t, "helper said %q", line)
	}
	t.Cleanup(func() {
		testchild.KillPids(pid)
		testchild.WaitDead(t, patience, pid)
	})
	if tr := testchild.ReadPidFile(t, f, patience); tr["child"] != pid {
		t.Fatalf("pid %d, file %v", pid, tr)
	}
	if !inside {
		t.Errorf("detached pid %s broke away from a job that does not allow it", strconv.Itoa(pid))
	}
	_ = h.Wait()
}
