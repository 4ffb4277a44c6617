package proc

import (
	"io/fs"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// The process attributes of a child beyond its command line and
// environment: resource limits (Rlimit), scheduling priority (Nice), file
// mode creation mask (Umask), OOM score adjustment (OOMScoreAdj), extra
// inherited descriptors (ExtraFiles) and argv[0] (Arg0).
//
// Go's fork runs no caller code between fork and exec, so the first four
// cannot be set "in the child" as a C program would. On Linux tether sets
// them without a moment in which the program runs without them (see
// internal/forker): the limits, the nice value and the OOM score on the
// child stopped at its exec (it is traced for those microseconds), the
// umask on a forking thread whose umask is its own. Where that cannot be
// done they are refused before anything is spawned, never applied late.

// Resource names a resource limit of the child (setrlimit(2)'s RLIMIT_*
// constants; Linux's meaning of each is in its getrlimit(2) manual).
type Resource int

// The resource limits. Sizes are in bytes, RlimitCPU in seconds,
// RlimitRTTime in microseconds, RlimitNice a ceiling of 20 - nice.
const (
	RlimitCPU Resource = iota + 1
	RlimitFileSize
	RlimitData
	RlimitStack
	RlimitCore
	RlimitRSS
	RlimitNProc
	RlimitNoFile
	RlimitMemLock
	RlimitAS
	RlimitLocks
	RlimitSigPending
	RlimitMsgQueue
	RlimitNice
	RlimitRTPrio
	RlimitRTTime
)

// RlimInfinity is the value of a limit that does not limit
// (RLIM_INFINITY).
const RlimInfinity = ^uint64(0)

var resourceNames = [...]string{
	RlimitCPU: "RLIMIT_CPU", RlimitFileSize: "RLIMIT_FSIZE", RlimitData: "RLIMIT_DATA",
	RlimitStack: "RLIMIT_STACK", RlimitCore: "RLIMIT_CORE", RlimitRSS: "RLIMIT_RSS",
	RlimitNProc: "RLIMIT_NPROC", RlimitNoFile: "RLIMIT_NOFILE", RlimitMemLock: "RLIMIT_MEMLOCK",
	RlimitAS: "RLIMIT_AS", RlimitLocks: "RLIMIT_LOCKS", RlimitSigPending: "RLIMIT_SIGPENDING",
	RlimitMsgQueue: "RLIMIT_MSGQUEUE", RlimitNice: "RLIMIT_NICE", RlimitRTPrio: "RLIMIT_RTPRIO",
	RlimitRTTime: "RLIMIT_RTTIME",
}

// String returns the limit's system name ("RLIMIT_NOFILE").
func (r Resource) String() string {
	if r >= RlimitCPU && r <= RlimitRTTime {
		return resourceNames[r]
	}
	return "Resource(" + strconv.Itoa(int(r)) + ")"
}

// The ranges of Nice and OOMScoreAdj (Linux's).
const (
	MinNice        = -20
	MaxNice        = 19
	MinOOMScoreAdj = -1000
	MaxOOMScoreAdj = 1000
)

// attrSpec is what the attribute builders set.
type attrSpec struct {
	// rlimits holds one entry per resource (a later Rlimit replaces).
	rlimits    []rlimitSpec
	nice       int
	niceSet    bool
	oom        int
	oomSet     bool
	umask      fs.FileMode
	umaskSet   bool
	extraFiles []*os.File
	arg0       string
	arg0Set    bool
}

type rlimitSpec struct {
	res        Resource
	soft, hard uint64
}

func (a attrSpec) clone() attrSpec {
	a.rlimits = slices.Clone(a.rlimits)
	a.extraFiles = slices.Clone(a.extraFiles)
	return a
}

// Rlimit returns a copy whose child runs with the resource limit r set to
// soft (the limit enforced) and hard (the ceiling up to which the child
// may raise soft); RlimInfinity means no limit. A later Rlimit of the same
// resource replaces the earlier one; the others are inherited from the
// owner. soft above hard, or an unknown resource, fails the run with
// ErrInvalid before spawning. Raising a hard limit needs the owner's
// CAP_SYS_RESOURCE: the run then fails with a *StartError matching
// fs.ErrPermission, and the child, killed before its program ran, did
// nothing.
//
// Linux only: the child is stopped at its exec, before its program's
// first instruction, and given the limit with prlimit(2); elsewhere the
// run fails with ErrUnsupported before spawning (macOS and the BSDs cannot
// set another process's limits before it runs, and setting the owner's
// own around the fork would limit the owner meanwhile; on Windows the
// container's limits, Cmd.Limits, are the way). Stopping the child means
// tracing it (ptrace) for those microseconds, which has three costs: an
// owner without CAP_SYS_PTRACE starts a set-user-ID, set-group-ID or
// file-capability program without its privilege; an owner that is itself
// traced by a debugger or strace -f that follows forks cannot start such a
// child; and a host that forbids ptrace (Yama ptrace_scope 3, a seccomp
// filter) fails the run. The same holds for Nice and OOMScoreAdj.
//
// A Go program raises its own soft RLIMIT_NOFILE to the hard limit when it
// starts (Go 1.19 and later), so the soft value given here binds a Go
// child only until then.
func (c *Cmd) Rlimit(r Resource, soft, hard uint64) *Cmd {
	return c.with(func(n *Cmd) {
		n.attrs.rlimits = slices.DeleteFunc(n.attrs.rlimits, func(l rlimitSpec) bool { return l.res == r })
		n.attrs.rlimits = append(n.attrs.rlimits, rlimitSpec{res: r, soft: soft, hard: hard})
	})
}

// Nice returns a copy whose child runs with nice value n, from MinNice
// (-20, the most favoured) to MaxNice (19, the least); a value out of that
// range fails the run with ErrInvalid before spawning. A nice value lower
// than the owner's needs its CAP_SYS_NICE (or RLIMIT_NICE): otherwise the
// run fails with a *StartError matching fs.ErrPermission, and the child,
// killed before its program ran, did nothing.
//
// On Linux the child is stopped at its exec and given the value with
// setpriority(2) before its program runs (see Rlimit for what stopping it
// costs); it then applies to the child's every thread, and its children
// inherit it. On Windows n chooses the child's priority class at its
// creation: 19 IDLE, 1 to 18 BELOW_NORMAL, 0 NORMAL, -1 to -10
// ABOVE_NORMAL, -11 to -20 HIGH (never REALTIME); a priority class in
// WindowsCreationFlags as well fails with ErrInvalid. On macOS and the
// BSDs the nice value is the process's, not a thread's, and another
// process's can be set only once it runs, so the run fails with
// ErrUnsupported before spawning rather than let the program start at the
// owner's priority.
func (c *Cmd) Nice(n int) *Cmd {
	return c.with(func(m *Cmd) { m.attrs.nice, m.attrs.niceSet = n, true })
}

// OOMScoreAdj returns a copy whose child has the Linux OOM score
// adjustment n (/proc/<pid>/oom_score_adj), from MinOOMScoreAdj (-1000:
// never chosen by the OOM killer) to MaxOOMScoreAdj (1000: chosen first);
// its children inherit it. A value out of range fails with ErrInvalid
// before spawning. Lowering it below the owner's needs CAP_SYS_RESOURCE:
// otherwise the run fails with a *StartError matching fs.ErrPermission,
// the child killed before its program ran. The child is stopped at its
// exec and given the value before its program runs (see Rlimit for what
// stopping it costs). Elsewhere than Linux the run fails with
// ErrUnsupported before spawning.
func (c *Cmd) OOMScoreAdj(n int) *Cmd {
	return c.with(func(m *Cmd) { m.attrs.oom, m.attrs.oomSet = n, true })
}

// Umask returns a copy whose child starts with the file mode creation
// mask mask (only the permission bits, 0 to 0o777; anything else fails
// with ErrInvalid before spawning). The owner's umask is not touched, not
// even for a moment.
//
// Linux only: a Go program's threads share one umask, but a thread can
// stop sharing it (unshare CLONE_FS); the child is forked on such a
// thread, kept for that purpose, whose umask is set for that fork alone.
// Elsewhere the umask is the process's, and changing the owner's around
// the fork would change it for the owner's other goroutines meanwhile, so
// the run fails with ErrUnsupported before spawning.
func (c *Cmd) Umask(mask fs.FileMode) *Cmd {
	return c.with(func(n *Cmd) { n.attrs.umask, n.attrs.umaskSet = mask, true })
}

// ExtraFiles returns a copy whose child inherits these open files besides
// stdin, stdout and stderr: entry i becomes descriptor 3+i, as with
// exec.Cmd.ExtraFiles. A nil entry leaves that descriptor closed in the
// child; a closed file fails the run with ErrInvalid before spawning.
// Later calls append. The files stay the caller's: tether does not close
// them, and the child has its own copies, so the caller may close them
// once Start or the verb has returned. Windows has no numbered descriptors
// to hand on: the run fails there with ErrUnsupported before spawning.
func (c *Cmd) ExtraFiles(files ...*os.File) *Cmd {
	return c.with(func(n *Cmd) { n.attrs.extraFiles = append(n.attrs.extraFiles, files...) })
}

// Arg0 returns a copy whose child gets name as argv[0] instead of the
// program name given to Command (exec.Cmd.Args[0]): a login shell's
// "-bash", or a multi-call binary's applet name. The program is still
// looked up by Command's name, and String, CommandLine, the logs and the
// Result name that. A NUL byte in name fails with ErrInvalid. On Windows
// argv[0] is the first word of the command line the child parses; a batch
// file, run through cmd.exe, cannot be given one, so the run fails with
// ErrUnsupported before spawning.
func (c *Cmd) Arg0(name string) *Cmd {
	return c.with(func(n *Cmd) { n.attrs.arg0, n.attrs.arg0Set = name, true })
}

// validate checks the attributes' values (not whether this platform can
// apply them: see check).
func (a attrSpec) validate(program string) error {
	bad := func(reason string) error { return &InvalidError{Program: program, Reason: reason} }
	for _, l := range a.rlimits {
		switch {
		case l.res < RlimitCPU || l.res > RlimitRTTime:
			return bad("unknown resource limit " + l.res.String())
		case l.soft > l.hard:
			return bad(l.res.String() + ": soft limit above the hard limit")
		}
	}
	switch {
	case a.niceSet && (a.nice < MinNice || a.nice > MaxNice):
		return bad("nice value " + strconv.Itoa(a.nice) + " out of range (-20 to 19)")
	case a.oomSet && (a.oom < MinOOMScoreAdj || a.oom > MaxOOMScoreAdj):
		return bad("OOM score adjustment " + strconv.Itoa(a.oom) + " out of range (-1000 to 1000)")
	case a.umaskSet && a.umask&^fs.ModePerm != 0:
		return bad("umask " + strconv.FormatUint(uint64(a.umask), 8) + " has bits beyond the permission bits (0o777)")
	case a.arg0Set && strings.IndexByte(a.arg0, 0) >= 0:
		return bad("NUL byte in argv[0]")
	}
	for i, f := range a.extraFiles {
		if f != nil && !isOpen(f) {
			return bad("extra file " + strconv.Itoa(i) + " (descriptor " + strconv.Itoa(3+i) + ") is closed")
		}
	}
	return nil
}

// isOpen reports whether f is an open file, without the side effect of
// Fd (which puts the descriptor in blocking mode).
func isOpen(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	return rc.Control(func(uintptr) {}) == nil
}

// applyCommon sets what every platform does the same way: argv[0] and the
// extra files (where check allowed them).
func (a attrSpec) applyCommon(ecmd *exec.Cmd) {
	if a.arg0Set {
		ecmd.Args[0] = a.arg0
	}
	ecmd.ExtraFiles = slices.Clone(a.extraFiles)
}
