//go:build windows

package jobobject

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/windows"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/poll"
)

// container is one job and the tree inside it. A container made by Sub
// has a job of its own that becomes nested in its parent's job when its
// first process is placed: every process in it is in every ancestor's
// job too, so an ancestor's Pids, Stats, Signal and Kill reach it through
// the kernel, with no walk over the subs.
//
// mu guards every use of the job handle, so Close cannot release it while
// another method is using it, and it serialises placement against Kill:
// Start and Adopt check killed and assign under the same lock, so no
// process is assigned to a job after its kill.
//
// Lock order: a container's mu is always taken before the mu of any sub
// nested in it, never while holding one. A method that needs several
// locks takes them from the outermost container down (lockChain for a
// placement, parent then sub for a sub's Close, a container then each of
// its subs for Kill and Close). Nothing holds a sub's lock and then asks
// for its parent's, so no cycle can form.
type container struct {
	mu     sync.Mutex
	job    windows.Handle
	killed bool // Kill or Close of it or of an ancestor began: no new member is accepted
	closed bool // the job handle is released
	wine   bool
	log    *slog.Logger

	// parent is the container this one is nested in, nil for one made by
	// NewContainer. It never changes, so it is read without a lock.
	parent *container
	// subs are the subs nested directly in this one whose handle is still
	// open. A sub's Close removes it; this container's Close releases the
	// rest. Guarded by mu.
	subs map[*container]struct{}
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

// Start creates the child suspended (CREATE_SUSPENDED), assigns it to
// the job (in a sub, first to every ancestor's job, outermost first, as
// nesting requires) and only then resumes it, so it runs no instruction
// outside the job. It also adds CREATE_NEW_PROCESS_GROUP: the child is
// the root of a console process group of its own, as it leads a process
// group on the other backends (docs/containment.md says what that means
// on Windows). The flags are added on a copy of cmd.SysProcAttr, keeping
// the caller's own (DETACHED_PROCESS, CREATE_NO_WINDOW, ...).
//
// Start fails, spawning nothing, if the caller already asked for
// CREATE_SUSPENDED (the container would resume a child the caller meant
// to keep suspended), and with an error matching contain.ErrClosed once
// the container or an ancestor was killed. If the container or an
// ancestor is killed while the child is created, or an assignment or the
// resumption fails, the child is terminated and reaped before Start
// returns the error. Job Objects have no freeze (see Freeze), so Start
// never fails with contain.ErrFrozen, and the container has no spawn
// gate to keep: a mechanism that gains a freeze must add one.
func (c *container) Start(cmd *exec.Cmd) error {
	if cmd == nil {
		return errors.New("jobobject: start: nil command")
	}
	attr := contain.CopySysProcAttr(cmd)
	if attr.CreationFlags&windows.CREATE_SUSPENDED != 0 {
		return errors.New("jobobject: start: CreationFlags already has CREATE_SUSPENDED; the container resumes the child itself after placing it")
	}
	c.mu.Lock()
	killed := c.killed
	c.mu.Unlock()
	if killed {
		return closedError("start")
	}
	attr.CreationFlags |= windows.CREATE_SUSPENDED | windows.CREATE_NEW_PROCESS_GROUP
	orig := cmd.SysProcAttr
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		cmd.SysProcAttr = orig // nothing was created: the caller's command is as it was
		return err
	}
	if testHookCreated != nil {
		testHookCreated()
	}
	var placeErr error
	err := cmd.Process.WithHandle(func(h uintptr) {
		ph := windows.Handle(h)
		placeErr = c.place(ph)
		if placeErr != nil {
			// The child is still suspended: end it here, so an
			// unconfined child never runs.
			_ = windows.TerminateProcess(ph, killExitCode)
		}
	})
	if err == nil {
		err = placeErr
	} else {
		// No handle means the process is already gone (os.ErrProcessDone).
		err = fmt.Errorf("jobobject: start: %w", err)
	}
	if err != nil {
		_ = cmd.Wait()
		return err
	}
	return nil
}

// testHookCreated, when set by a test, runs in Start between the creation
// of the suspended child and its placement.
var testHookCreated func()

// place assigns a child created with CREATE_SUSPENDED to the job and
// resumes it.
func (c *container) place(h windows.Handle) error {
	chain, unlock := c.lockChain()
	defer unlock()
	if err := assignChain("start", chain, h); err != nil {
		return err
	}
	if err := ntResumeProcess(h); err != nil {
		return fmt.Errorf("jobobject: start: NtResumeProcess: %w", err)
	}
	return nil
}

// lockChain locks c's ancestors and c, outermost first (the lock order),
// and returns them in that order with the function that unlocks them.
func (c *container) lockChain() (chain []*container, unlock func()) {
	for x := c; x != nil; x = x.parent {
		chain = append(chain, x)
	}
	slices.Reverse(chain)
	for _, x := range chain {
		x.mu.Lock()
	}
	return chain, func() {
		for i := len(chain) - 1; i >= 0; i-- {
			chain[i].mu.Unlock()
		}
	}
}

// assignChain puts the process h into every job of chain (locked by
// lockChain), outermost first, skipping the jobs it is already in. That
// order is what nesting needs: each job receives the process from its
// parent's job, so a sub's job, empty and unnested at creation, becomes
// nested in its parent's at its first member, and stays a subset of it.
// It fails with ErrClosed, before assigning anything, if any container of
// the chain was killed.
func assignChain(op string, chain []*container, h windows.Handle) error {
	for _, x := range chain {
		if x.killed {
			return closedError(op)
		}
	}
	placed := false // this call put h into the previous job of the chain
	for i, x := range chain {
		in, err := isProcessInJob(h, x.job)
		if err != nil {
			return fmt.Errorf("jobobject: %s: IsProcessInJob: %w", op, err)
		}
		if in {
			placed = false
			continue
		}
		if i > 0 && !placed {
			if err := chain[i-1].refuseOtherSubs(op, h, x); err != nil {
				return err
			}
		}
		if err := windows.AssignProcessToJobObject(x.job, h); err != nil {
			if len(chain) > 1 {
				return fmt.Errorf("jobobject: %s: AssignProcessToJobObject (job %d of %d, outermost first): %w", op, i+1, len(chain), err)
			}
			return fmt.Errorf("jobobject: %s: AssignProcessToJobObject: %w", op, err)
		}
		placed = true
	}
	return nil
}

// refuseOtherSubs fails if h, a process already in c's job before this
// placement (an Adopt of a member), sits in one of c's subs other than
// into. Windows would refuse to move it into a sub that already holds a
// process, since a process never leaves a job, but it would accept an
// empty one and nest it under the other sub, so that the other sub's
// Kill would reach into it. c.mu is held, so no sub of c can release its
// handle meanwhile (releasing needs c.mu). The scan costs one call per
// open sub, and only an Adopt of a process already in c pays it.
func (c *container) refuseOtherSubs(op string, h windows.Handle, into *container) error {
	for s := range c.subs {
		if s == into {
			continue
		}
		in, err := isProcessInJob(h, s.job)
		if err != nil {
			return fmt.Errorf("jobobject: %s: IsProcessInJob: %w", op, err)
		}
		if in {
			return fmt.Errorf("jobobject: %s: the process is in another sub of the same container, and a process cannot leave a job", op)
		}
	}
	return nil
}

// Adopt assigns a running process to the job. Only that process moves:
// Windows keeps no process tree, so its existing children stay where they
// are; the children it starts from now on are members. Adopting into a
// sub assigns the process to each ancestor's job it is not yet in,
// outermost first, then to the sub's; a process already in the sub is
// left as it is. A process in a sibling sub cannot move: Windows refuses
// (a process never leaves a job), and so does Adopt. Adopting the
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
	chain, unlock := c.lockChain()
	defer unlock()
	return assignChain("adopt", chain, h)
}

// Signal terminates every member at once when sig is os.Kill (with exit
// code 1, as os.Process.Kill does), the members of nested subs included.
// Unlike Kill it neither waits nor ends the container or its subs. Any
// other signal fails with ErrUnsupported.
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

// Kill terminates every member with TerminateJobObject, which also ends
// the members of every sub nested in this job, marks this container and
// every open sub below it killed, and then waits
// until the job counts no active process (a parent's count includes its
// subs' members). It polls basic accounting with a
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
	c.markKilledLocked()
	err := windows.TerminateJobObject(c.job, killExitCode)
	c.mu.Unlock()
	if err != nil {
		return fmt.Errorf("jobobject: kill: TerminateJobObject: %w", err)
	}
	return c.waitEmpty(ctx)
}

// markKilledLocked marks c and every open sub below it killed, taking
// each sub's lock under its parent's (the lock order). c.mu is held. The
// mark is what makes a sub of a killed container refuse Start, Adopt and
// Sub without looking up its ancestors.
func (c *container) markKilledLocked() {
	c.killed = true
	for s := range c.subs {
		s.mu.Lock()
		s.markKilledLocked()
		s.mu.Unlock()
	}
}

// waitEmpty polls until the job has no active process or ctx ends.
func (c *container) waitEmpty(ctx context.Context) error {
	start := time.Now()
	err := poll.Until(ctx, 100*time.Microsecond, 10*time.Millisecond, func() (bool, error) {
		var active uint32
		err := c.withJob("kill", func(job windows.Handle) error {
			a, err := queryAccounting(job)
			active = a.ActiveProcesses
			return err
		})
		return err == nil && active == 0, err
	})
	switch {
	case errors.Is(err, contain.ErrClosed):
		return nil // a concurrent Close confirmed the job empty
	case err == nil:
		if c.log != nil {
			c.log.DebugContext(ctx, "jobobject: tree confirmed dead", "after", time.Since(start))
		}
		return nil
	case !errors.Is(err, ctx.Err()):
		return fmt.Errorf("jobobject: kill: query accounting: %w", err)
	}
	left, _ := c.Pids()
	if c.log != nil {
		c.log.DebugContext(ctx, "jobobject: teardown not confirmed", "remaining", len(left))
	}
	return &contain.TeardownError{Mechanism: contain.JobObject, Remaining: left, Err: err}
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

// Pids lists the job's live processes, those of nested subs included.
// Exited members leave the job's list as they exit, so every pid listed
// is running (or being torn down).
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

// Stats reports the job's live process count (nested subs' members
// included, as the kernel accounts them) and, on real Windows, its
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

// Close kills the tree, confirms it is dead and closes the job handle,
// and the handles of every sub still open below it, so no handle outlives
// the container even if its subs are never closed. A sub's Close also
// removes it from its parent. If death is not confirmed before ctx ends,
// the handles stay open (so the job keeps its members in view) and Close
// may be called again. Later calls after a successful Close return nil,
// as does a sub's Close after its parent's.
func (c *container) Close(ctx context.Context) error {
	if err := c.Kill(ctx); err != nil {
		return err
	}
	p := c.parent
	if p != nil {
		p.mu.Lock()
		defer p.mu.Unlock()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	if p != nil {
		delete(p.subs, c)
	}
	n, err := c.releaseLocked()
	if err != nil {
		return fmt.Errorf("jobobject: close: %w", err)
	}
	if c.log != nil {
		c.log.DebugContext(ctx, "jobobject: container closed", "open_subs_released", n)
	}
	return nil
}

// releaseLocked closes the job handles of every open sub below c, each
// under its parent's lock, then c's own, and marks them all closed. c.mu
// is held, and the tree is confirmed dead. It returns how many subs it
// released. Every handle is closed even if one fails; the errors are
// joined.
func (c *container) releaseLocked() (int, error) {
	var (
		n    int
		errs []error
	)
	for s := range c.subs {
		s.mu.Lock()
		m, err := s.releaseLocked()
		s.mu.Unlock()
		n += 1 + m
		errs = append(errs, err)
	}
	c.subs = nil
	c.killed, c.closed = true, true
	errs = append(errs, windows.CloseHandle(c.job))
	return n, errors.Join(errs...)
}

// Sub creates a job that becomes nested in this one (Windows 8 and later;
// Go itself needs Windows 10) when its first process is placed: the process
// goes into this container's job first, then into the sub's. The sub's job
// has KILL_ON_JOB_CLOSE and opts.Limits, applied as NewContainer applies
// them (under Wine every limit is refused, as by NewContainer); Windows
// enforces the stricter of the sub's and the ancestors' limits. The sub
// needs no owner-death registration: its handle, like its parent's, closes
// when the owner dies, and either kill-on-close ends its tree.
//
// Sub fails with ErrClosed once this container was killed or closed.
func (c *container) Sub(ctx context.Context, opts contain.Options) (contain.Container, error) {
	c.mu.Lock()
	killed := c.killed
	c.mu.Unlock()
	if killed {
		return nil, closedError("sub")
	}
	s, err := newJob(ctx, opts, c)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.killed { // killed while the job was being made
		c.mu.Unlock()
		_ = windows.CloseHandle(s.job)
		return nil, closedError("sub")
	}
	if c.subs == nil {
		c.subs = make(map[*container]struct{})
	}
	c.subs[s] = struct{}{}
	open := len(c.subs)
	c.mu.Unlock()
	if s.log != nil {
		s.log.DebugContext(ctx, "jobobject: sub created", "limits", len(opts.Limits), "parent_open_subs", open)
	}
	return s, nil
}
