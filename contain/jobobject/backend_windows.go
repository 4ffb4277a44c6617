//go:build windows

package jobobject

import (
	"context"
	"fmt"
	"math"
	"runtime"

	"golang.org/x/sys/windows"

	"github.com/gotether/tether/contain"
)

// wineLimits is why no limit is offered under Wine: it accepts every Job
// Object limit and enforces none (measured with Wine 8.0: an
// ActiveProcessLimit of 1 let a grandchild start), so accepting one would
// be a silent lie.
const wineLimits = "Wine does not enforce Job Object limits"

// ownerDeath says why a tree cannot outlive its owner.
const ownerDeath = "the job handle closes with the owner and KILL_ON_JOB_CLOSE kills the whole tree"

// Availability creates and closes a throwaway unnamed job, which spawns
// nothing and leaves nothing behind, and on real Windows tries each limit
// on it, so the verdict is measured rather than assumed from the OS
// version.
func (*Backend) Availability() contain.Availability {
	a := contain.Availability{
		Mechanism: contain.JobObject,
		// A process cannot leave a job without BREAKAWAY_OK, which tether
		// never sets; DETACHED_PROCESS and new process groups stay inside.
		ContainsSetsid: true,
		OwnerDeath:     ownerDeath,
		Notes: []string{
			"Signal supports only os.Kill: Windows has no signals, and a graceful stop via CTRL_BREAK belongs to the proc layer",
			"Freeze is unsupported: Windows has no documented, confirmed job-wide suspend",
			"Stats reports no current memory and no out-of-memory kill count: a job exposes neither",
		},
	}
	job, err := createJob()
	if err != nil {
		a.Reason = "cannot create a Job Object with KILL_ON_JOB_CLOSE: " + err.Error()
		a.Limits = contain.UnsupportedLimits(a.Reason)
		return a
	}
	defer func() { _ = windows.CloseHandle(job) }()
	a.Usable = true
	if underWine() {
		a.Reason = "CreateJobObject with KILL_ON_JOB_CLOSE works (under Wine)"
		a.Notes = append(a.Notes,
			"running under Wine: limits are accepted but not enforced, so NewContainer rejects every limit",
			"running under Wine: CPU times and peak memory read as zero, so Stats reports them unavailable")
		a.Limits = contain.UnsupportedLimits(wineLimits)
		return a
	}
	a.Reason = "CreateJobObject with KILL_ON_JOB_CLOSE works"
	try := func(k contain.LimitKind, err error) {
		s := contain.LimitSupport{Kind: k, Supported: err == nil}
		if err != nil {
			s.Reason = "SetInformationJobObject refused it: " + err.Error()
		}
		a.Limits = append(a.Limits, s)
	}
	try(contain.MemoryLimit, setLimitFlags(job, windows.JOB_OBJECT_LIMIT_JOB_MEMORY, 1<<30, 0))
	try(contain.ProcessLimit, setLimitFlags(job, windows.JOB_OBJECT_LIMIT_ACTIVE_PROCESS, 0, 1024))
	try(contain.CPULimit, setCPURate(job, cpuRateFull))
	return a
}

// NewContainer creates a fresh job with KILL_ON_JOB_CLOSE and the given
// limits. Invalid limits fail before anything is created; under Wine every
// limit fails with a *contain.LimitError matching contain.ErrUnsupported.
// If a limit cannot be set, the job is closed again before NewContainer
// returns.
//
// A CPU quota becomes a hard cap of cores/processors of the machine, in
// the 1/10,000 units Windows uses, rounded to the nearest unit. A quota
// so small that it rounds to 0 is raised to 1 unit, the finest cap
// Windows can express (contain.MinCPUQuota is chosen so this happens only
// on machines with more than 20 processors). A quota of at least the
// machine's processor count is satisfied by definition and becomes a
// 100 % cap, which is what cgroup v2 does with a cpu.max above the core
// count: a no-op, not an error.
func (b *Backend) NewContainer(ctx context.Context, opts contain.Options) (contain.Container, error) {
	c, err := newJob(ctx, opts, nil)
	if err != nil {
		return nil, err
	}
	if c.log != nil {
		c.log.DebugContext(ctx, "jobobject: container created", "limits", len(opts.Limits), "wine", c.wine)
	}
	return c, nil
}

// newJob does the work of NewContainer and Sub: it validates opts.Limits,
// creates a job with KILL_ON_JOB_CLOSE and applies the limits, or leaves
// nothing behind. The job is not nested in parent's yet: that happens when
// its first process, already in parent's job, is assigned to it. A job that
// cannot be created is ErrNotUsable for NewContainer; for Sub the backend
// was usable, so it is a plain error (out of handles or quota).
func newJob(ctx context.Context, opts contain.Options, parent *container) (*container, error) {
	if err := contain.ValidateLimits(opts.Limits); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	wine := underWine()
	if wine {
		if err := contain.RejectLimits(contain.JobObject, wineLimits, opts.Limits); err != nil {
			return nil, err
		}
	}
	job, err := createJob()
	if err != nil {
		const why = "cannot create a Job Object with KILL_ON_JOB_CLOSE: "
		if parent != nil {
			return nil, fmt.Errorf("jobobject: sub: %s%w", why, err)
		}
		return nil, &contain.NotUsableError{Mechanism: contain.JobObject, Reason: why + err.Error()}
	}
	if err := applyLimits(job, opts.Limits); err != nil {
		_ = windows.CloseHandle(job)
		return nil, err
	}
	return &container{job: job, wine: wine, log: opts.Logger, parent: parent}, nil
}

// applyLimits sets validated limits on job.
func applyLimits(job windows.Handle, ls []contain.Limit) error {
	refused := func(l contain.Limit, why string) error {
		return &contain.LimitError{Limit: l, Mechanism: contain.JobObject, Reason: why, Err: contain.ErrUnsupported}
	}
	var (
		flags  uint32
		memory uintptr
		procs  uint32
		first  contain.Limit
	)
	for _, l := range ls {
		switch l.Kind {
		case contain.MemoryLimit:
			if l.Value > float64(^uintptr(0)) {
				return refused(l, "larger than this architecture's address space")
			}
			flags |= windows.JOB_OBJECT_LIMIT_JOB_MEMORY
			memory = uintptr(l.Value)
		case contain.ProcessLimit:
			if l.Value > math.MaxUint32 {
				return refused(l, "larger than a job's 32-bit process limit")
			}
			flags |= windows.JOB_OBJECT_LIMIT_ACTIVE_PROCESS
			procs = uint32(l.Value)
		case contain.CPULimit:
			if err := setCPURate(job, cpuRate(l.Value, processors())); err != nil {
				return refused(l, "SetInformationJobObject(CpuRateControl): "+err.Error())
			}
			continue
		}
		if first.Kind == "" {
			first = l
		}
	}
	if flags != 0 {
		if err := setLimitFlags(job, flags, memory, procs); err != nil {
			return refused(first, "SetInformationJobObject(ExtendedLimit): "+err.Error())
		}
	}
	return nil
}

// processors counts the machine's active processors in every group: a
// job's CPU rate is a share of the whole machine, not of this process's
// affinity, which is what runtime.NumCPU reports.
func processors() int {
	if n := windows.GetActiveProcessorCount(windows.ALL_PROCESSOR_GROUPS); n > 0 {
		return int(n)
	}
	return runtime.NumCPU()
}

// cpuRate converts a quota in cores to a hard-cap rate for a machine of
// ncpu processors (see Backend.NewContainer for the rounding rule).
func cpuRate(cores float64, ncpu int) uint32 {
	r := math.Round(cores / float64(max(ncpu, 1)) * cpuRateFull)
	return uint32(min(max(r, 1), cpuRateFull))
}
