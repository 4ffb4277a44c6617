//go:build windows

package jobobject

import (
	"errors"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// What golang.org/x/sys/windows v0.50.0 lacks, declared with the layouts
// of winnt.h. Each struct is passed to Query/SetInformationJobObject with
// its own size, so the field order and widths must match exactly.

// jobAccounting is JOBOBJECT_BASIC_ACCOUNTING_INFORMATION (class 1). The
// times are in 100 ns units and include members that already exited.
type jobAccounting struct {
	TotalUserTime             int64
	TotalKernelTime           int64
	ThisPeriodTotalUserTime   int64
	ThisPeriodTotalKernelTime int64
	TotalPageFaultCount       uint32
	TotalProcesses            uint32
	ActiveProcesses           uint32
	TotalTerminatedProcesses  uint32
}

// jobPidListHeader is the fixed head of JOBOBJECT_BASIC_PROCESS_ID_LIST
// (class 3); ProcessIdList[] (ULONG_PTR each) follows it directly.
type jobPidListHeader struct {
	NumberOfAssignedProcesses uint32
	NumberOfProcessIDsInList  uint32
}

// jobCPURate is JOBOBJECT_CPU_RATE_CONTROL_INFORMATION (class 15). Value
// is the union's CpuRate: cycles per 10,000 of the whole machine.
type jobCPURate struct {
	ControlFlags uint32
	Value        uint32
}

const (
	jobObjectCPURateControlEnable  = 0x1 // JOB_OBJECT_CPU_RATE_CONTROL_ENABLE
	jobObjectCPURateControlHardCap = 0x4 // JOB_OBJECT_CPU_RATE_CONTROL_HARD_CAP
	cpuRateFull                    = 10000
)

// killExitCode is the exit code every member gets from Kill and
// Signal(os.Kill): 1, the code os.Process.Kill gives on Windows, so a
// killed child looks the same whichever way it was killed.
const killExitCode = 1

var (
	ntdll = windows.NewLazySystemDLL("ntdll.dll")
	// NtResumeProcess resumes every thread of a process. os/exec closes the
	// main thread handle of a CREATE_SUSPENDED child inside Start, so the
	// process handle is the only way left to resume it without walking a
	// system-wide thread snapshot. Undocumented but stable since NT 5.1,
	// and implemented by Wine.
	procNtResumeProcess = ntdll.NewProc("NtResumeProcess")
	// wine_get_version exists only in Wine's ntdll.
	procWineGetVersion = ntdll.NewProc("wine_get_version")

	kernel32 = windows.NewLazySystemDLL("kernel32.dll")
	// IsProcessInJob is missing from x/sys/windows v0.50.0. Under Wine it
	// needs PROCESS_QUERY_INFORMATION on the process handle (real Windows
	// also accepts PROCESS_QUERY_LIMITED_INFORMATION).
	procIsProcessInJob = kernel32.NewProc("IsProcessInJob")
)

// isProcessInJob reports whether the process is a member of job, directly
// or through a job nested in it.
func isProcessInJob(process, job windows.Handle) (bool, error) {
	if err := procIsProcessInJob.Find(); err != nil {
		return false, err
	}
	var in int32 // a Win32 BOOL
	r, _, errno := procIsProcessInJob.Call(uintptr(process), uintptr(job), uintptr(unsafe.Pointer(&in)))
	if r == 0 {
		return false, errno
	}
	return in != 0, nil
}

// ntResumeProcess calls ntdll!NtResumeProcess on h.
func ntResumeProcess(h windows.Handle) error {
	if err := procNtResumeProcess.Find(); err != nil {
		return err
	}
	r, _, _ := procNtResumeProcess.Call(uintptr(h))
	if r != 0 {
		return windows.NTStatus(r)
	}
	return nil
}

// underWine reports whether this process runs under Wine, whose Job
// Objects accept limits without enforcing them and report zero times.
var underWine = sync.OnceValue(func() bool { return procWineGetVersion.Find() == nil })

// queryAccounting reads the job's basic accounting information.
func queryAccounting(job windows.Handle) (jobAccounting, error) {
	var a jobAccounting
	err := windows.QueryInformationJobObject(job, windows.JobObjectBasicAccountingInformation,
		uintptr(unsafe.Pointer(&a)), uint32(unsafe.Sizeof(a)), nil)
	return a, err
}

// queryExtendedLimits reads the job's extended limit information, which
// carries the peak job memory.
func queryExtendedLimits(job windows.Handle) (windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION, error) {
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	err := windows.QueryInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)), nil)
	return info, err
}

// pidListInitial is how many pids the first process-list query has room
// for; tests shrink it to force the ERROR_MORE_DATA path.
var pidListInitial = 32

// queryPids lists the job's processes, growing the buffer while Windows
// answers ERROR_MORE_DATA (the tree may grow between two queries).
func queryPids(job windows.Handle) ([]int, error) {
	const word = unsafe.Sizeof(uintptr(0))
	head := (unsafe.Sizeof(jobPidListHeader{}) + word - 1) / word
	n := uintptr(pidListInitial)
	for range 16 {
		// A []uintptr buffer gives the list its natural alignment.
		buf := make([]uintptr, head+n)
		err := windows.QueryInformationJobObject(job, windows.JobObjectBasicProcessIdList,
			uintptr(unsafe.Pointer(&buf[0])), uint32(uintptr(len(buf))*word), nil)
		h := (*jobPidListHeader)(unsafe.Pointer(&buf[0]))
		if errors.Is(err, windows.ERROR_MORE_DATA) {
			n = max(n*2, uintptr(h.NumberOfAssignedProcesses)+8)
			continue
		}
		if err != nil {
			return nil, err
		}
		ids := buf[head : head+uintptr(h.NumberOfProcessIDsInList)]
		out := make([]int, len(ids))
		for i, id := range ids {
			out[i] = int(id)
		}
		return out, nil
	}
	return nil, windows.ERROR_MORE_DATA
}

// createJob creates an unnamed, non-inheritable job with kill-on-close.
func createJob() (windows.Handle, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, err
	}
	if err := setLimitFlags(job, 0, 0, 0); err != nil {
		_ = windows.CloseHandle(job)
		return 0, err
	}
	return job, nil
}

// setLimitFlags sets the job's extended limits: kill-on-close always,
// plus flags with the memory and process caps they name. Every call
// replaces the whole set, so kill-on-close is never dropped.
func setLimitFlags(job windows.Handle, flags uint32, memory uintptr, procs uint32) error {
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | flags
	info.BasicLimitInformation.ActiveProcessLimit = procs
	info.JobMemoryLimit = memory
	_, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)))
	return err
}

// setCPURate applies a hard CPU cap of rate/10,000 of the machine.
func setCPURate(job windows.Handle, rate uint32) error {
	info := jobCPURate{
		ControlFlags: jobObjectCPURateControlEnable | jobObjectCPURateControlHardCap,
		Value:        rate,
	}
	_, err := windows.SetInformationJobObject(job, windows.JobObjectCpuRateControlInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)))
	return err
}
