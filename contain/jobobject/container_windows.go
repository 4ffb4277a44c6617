//go:build windows

package jobobject

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/windows"

	"github.com/gotether/tether/contain"
)

// container is one job and the tree inside it.
//
// mu guards every use of the job handle, so Close cannot release it while
// another method is using it, and it serialises placement against Kill:
// Started and Adopt check killed and assign under the same lock, so no
// process is assigned to a job after its kill.
type container struct {
	mu     sync.Mutex
	job    windows.Handle
	killed bool // Kill or Close began: no new member is accepted
	closed bool // the job handle is released
	wine   bool
	log    *slog.Logger
}

var _ contain.Container = (*container)(nil)

// Mechanism returns contain.JobObject.
func (*container) Mechanism() contain.Mechanism { return contain.JobObject }

// withJob runs fn with the job handle held, or fails with ErrClosed once
// the handle is released.
func (c *container) withJob(op string, fn func(job windows.Handle) error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return closedError(op)
	}
	return fn(c.job)
}

func closedError(op string) error {
	return fmt.Errorf("jobobject: %s: %w", op, contain.ErrClosed)
}

// PrepareCmd adds CREATE_SUSPENDED to cmd's creation flags, keeping the
// caller's own flags (DETACHED_PROCESS, CREATE_NEW_PROCESS_GROUP, ...):
// the child then runs no instruction before Started has put it in the
// job. It fails if the caller already asked for CREATE_SUSPENDED, because
// Started would resume a child the caller meant to keep suspended, and
// with ErrClosed once the container was killed.
func (c *container) PrepareCmd(cmd *exec.Cmd) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.killed {
		return closedError("prepare")
	}
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	if cmd.SysProcAttr.CreationFlags&windows.CREATE_SUSPENDED != 0 {
		return errors.New("jobobject: prepare: CreationFlags already has CREATE_SUSPENDED; the container resumes the child itself after placing it")
	}
	cmd.SysProcAttr.CreationFlags |= windows.CREATE_SUSPENDED
	return nil
}

// Started assigns the suspended child to the job and resumes it. If cmd
// was not prepared (the child is already running outside the job), if the
// container was killed meanwhile, or if assignment or resumption fails,
// the child is terminated before Started returns and the error says why.
func (c *container) Started(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return errors.New("jobobject: started: cmd has not been started")
	}
	var placeErr error
	err := cmd.Process.WithHandle(func(h uintptr) {
		ph := windows.Handle(h)
		placeErr = c.place(ph, cmd.SysProcAttr != nil && cmd.SysProcAttr.CreationFlags&windows.CREATE_SUSPENDED != 0)
		if placeErr != nil {
			// The child is suspended (or escaped already): end it
			// here, so an unconfined child never runs on.
			_ = windows.TerminateProcess(ph, killExitCode)
		}
	})
	if err != nil {
		// No handle means the process is already gone (os.ErrProcessDone).
		return fmt.Errorf("jobobject: started: %w", err)
	}
	return placeErr
}

// place assigns a child created with CREATE_SUSPENDED (if suspended) to
// the job and resumes it.
func (c *container) place(h windows.Handle, suspended bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !suspended {
		return errors.New("jobobject: started: cmd was not prepared with PrepareCmd, so the child ran outside the job; it was terminated")
	}
	if c.killed {
		return closedError("started")
	}
	if err := windows.AssignProcessToJobObject(c.job, h); err != nil {
		return fmt.Errorf("jobobject: started: AssignProcessToJobObject: %w", err)
	}
	if err := ntResumeProcess(h); err != nil {
		return fmt.Errorf("jobobject: started: NtResumeProcess: %w", err)
	}
	return nil
}

// Adopt assigns a running process to the job. Only that process moves:
// Windows keeps no process tree, so its existing children stay where they
// are; the children it starts from now on are members. Adopting the
// calling process itself is refused. The handle opened
// here pins the process, so the pid cannot be reused between the
// liveness check and the assignment. A pid that names no running process
// fails with a *contain.NoSuchProcessError.
func (c *container) Adopt(pid int) error {
	if pid <= 0 || pid > 0xFFFFFFFF {
		return &contain.NoSuchProcessError{Pid: pid}
	}
	if pid == os.Getpid() {
		// Kill-on-close would then take the owner down with its tree.
		return errors.New("jobobject: adopt: refusing to adopt the owner itself: killing or closing the container would kill it")
	}
	// PROCESS_SET_QUOTA and PROCESS_TERMINATE are what assignment needs;
	// query and synchronize let us tell a live process from an exited one
	// that someone still holds a handle to.
	const access = windows.PROCESS_SET_QUOTA | windows.PROCESS_TERMINATE |
		windows.PROCESS_QUERY_INFORMATION | windows.SYNCHRONIZE
	h, err := windows.OpenProcess(access, false, uint32(pid))
	if err != nil {
		if errors.Is(err, windows.ERROR_INVALID_PARAMETER) {
			return &contain.NoSuchProcessError{Pid: pid}
		}
		return fmt.Errorf("jobobject: adopt: OpenProcess: %w", err)
	}
	defer func() { _ = windows.CloseHandle(h) }()
	if ev, err := windows.WaitForSingleObject(h, 0); err != nil || ev != uint32(windows.WAIT_TIMEOUT) {
		return &contain.NoSuchProcessError{Pid: pid}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.killed {
		return closedError("adopt")
	}
	if err := windows.AssignProcessToJobObject(c.job, h); err != nil {
		return fmt.Errorf("jobobject: adopt: AssignProcessToJobObject: %w", err)
	}
	return nil
}

// Signal terminates every member at once when sig is os.Kill (with exit
// code 1, as os.Process.Kill does). Unlike Kill it neither waits nor ends
// the container. Any other signal fails with ErrUnsupported.
func (c *container) Signal(sig os.Signal) error {
	if sig != os.Kill {
		return contain.Unsupported(contain.JobObject, "signal "+sig.String(),
			"Windows has no signals; graceful stop via CTRL_BREAK belongs to the proc layer")
	}
	return c.withJob("signal", func(job windows.Handle) error {
		if err := windows.TerminateJobObject(job, killExitCode); err != nil {
			return fmt.Errorf("jobobject: signal: TerminateJobObject: %w", err)
		}
		return nil
	})
}

// Kill terminates every member with TerminateJobObject and then waits
// until the job counts no active process. It polls basic accounting with a
// short backoff rather than waiting on a completion port: the count is
// exact, while port messages may be dropped when the port's queue is full
// and, under Wine, never report processes killed by TerminateJobObject.
// If ctx ends first, Kill returns a *contain.TeardownError listing the
// survivors. Kill is terminal; once Close has released the job it returns
// nil, since Close only releases a job it has confirmed empty.
func (c *container) Kill(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.killed = true
	err := windows.TerminateJobObject(c.job, killExitCode)
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("jobobject: kill: TerminateJobObject: %w", err)
	}
	return c.waitEmpty(ctx)
}

// waitEmpty polls until the job has no active process or ctx ends.
func (c *container) waitEmpty(ctx context.Context) error {
	start := time.Now()
	var t *time.Timer
	for wait := 100 * time.Microsecond; ; wait = min(wait*2, 10*time.Millisecond) {
		var active uint32
		err := c.withJob("kill", func(job windows.Handle) error {
			a, err := queryAccounting(job)
			active = a.ActiveProcesses
			return err
		})
		if errors.Is(err, contain.ErrClosed) {
			return nil // a concurrent Close confirmed the job empty
		}
		if err != nil {
			return fmt.Errorf("jobobject: kill: query accounting: %w", err)
		}
		if active == 0 {
			if c.log != nil {
				c.log.DebugContext(ctx, "jobobject: tree confirmed dead", "after", time.Since(start))
			}
			return nil
		}
		if t == nil {
			t = time.NewTimer(wait)
			defer t.Stop()
		} else {
			t.Reset(wait)
		}
		select {
		case <-ctx.Done():
			left, _ := c.Pids()
			if c.log != nil {
				c.log.DebugContext(ctx, "jobobject: teardown not confirmed", "remaining", len(left))
			}
			return &contain.TeardownError{Mechanism: contain.JobObject, Remaining: left, Err: ctx.Err()}
		case <-t.C:
		}
	}
}

// Freeze is unsupported. Windows has no documented job-wide suspend
// (JobObjectFreezeInformation is undocumented); NtSuspendProcess works
// one process at a time and is asynchronous (a thread stops only on its
// way back to user mode), so a member can start a new process between
// listing and suspension, and nothing confirms that every thread has
// stopped. A freeze that cannot be confirmed would break the contract.
func (*container) Freeze(context.Context) error {
	return contain.Unsupported(contain.JobObject, "freeze",
		"Windows has no documented job-wide suspend; per-process NtSuspendProcess is asynchronous and races with members starting new processes, so a freeze cannot be confirmed")
}

// Thaw is unsupported, since Freeze is.
func (*container) Thaw(context.Context) error {
	return contain.Unsupported(contain.JobObject, "thaw", "Freeze is unsupported, so there is nothing to thaw")
}

// Pids lists the job's live processes. Exited members leave the job's
// list as they exit, so every pid listed is running (or being torn down).
func (c *container) Pids() ([]int, error) {
	var pids []int
	err := c.withJob("pids", func(job windows.Handle) error {
		var err error
		pids, err = queryPids(job)
		if err != nil {
			return fmt.Errorf("jobobject: pids: %w", err)
		}
		return nil
	})
	return pids, err
}

// Stats reports the job's live process count and, on real Windows, its
// CPU times (including exited members) and peak memory. Current memory and
// out-of-memory kills have no job-wide source and are always unavailable.
// Under Wine the times and the peak read as zero whatever the tree does,
// so they are reported unavailable there.
func (c *container) Stats() (contain.Stats, error) {
	var s contain.Stats
	err := c.withJob("stats", func(job windows.Handle) error {
		a, err := queryAccounting(job)
		if err != nil {
			return fmt.Errorf("jobobject: stats: basic accounting: %w", err)
		}
		s.Processes = int(a.ActiveProcesses)
		if c.wine {
			return nil
		}
		const unit = 100 * time.Nanosecond
		user, sys := time.Duration(a.TotalUserTime)*unit, time.Duration(a.TotalKernelTime)*unit
		s.CPU, s.UserCPU, s.SystemCPU = contain.Some(user+sys), contain.Some(user), contain.Some(sys)
		s.CPUIncludesExited = true
		info, err := queryExtendedLimits(job)
		if err != nil {
			return fmt.Errorf("jobobject: stats: extended limits: %w", err)
		}
		s.MemoryPeak = contain.Some(uint64(info.PeakJobMemoryUsed))
		return nil
	})
	return s, err
}

// Close kills the tree, confirms it is dead and closes the job handle.
// If death is not confirmed before ctx ends, the handle stays open (so the
// job keeps its members in view) and Close may be called again. Later
// calls after a successful Close return nil.
func (c *container) Close(ctx context.Context) error {
	if err := c.Kill(ctx); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if err := windows.CloseHandle(c.job); err != nil {
		return fmt.Errorf("jobobject: close: %w", err)
	}
	if c.log != nil {
		c.log.DebugContext(ctx, "jobobject: container closed")
	}
	return nil
}
