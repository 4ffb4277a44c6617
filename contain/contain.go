package contain

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"syscall"
)

// Mechanism names the kernel facility that holds a process tree.
type Mechanism string

// The mechanisms tether knows. Every Result and Group reports one of them.
const (
	// CgroupV2 is a Linux cgroup v2 leaf created for the tree.
	CgroupV2 Mechanism = "cgroupv2"
	// Systemd is a Linux cgroup v2 leaf created for the tree inside a
	// transient scope that systemd delegated to the owner (Delegate=yes),
	// asked for over D-Bus: cgroup v2 where systemd lets us write.
	Systemd Mechanism = "systemd"
	// PGID is a POSIX process group led by the direct child.
	PGID Mechanism = "pgid"
	// JobObject is a Windows Job Object with kill-on-close.
	JobObject Mechanism = "jobobject"
)

// String returns the mechanism's name.
func (m Mechanism) String() string { return string(m) }

// Backend creates containers of one mechanism. A Backend is safe for
// concurrent use.
type Backend interface {
	// Mechanism names the mechanism of the containers this backend makes.
	Mechanism() Mechanism

	// Availability reports, without spawning a process and without
	// changing the host, whether this backend can be used here and
	// exactly why not.
	Availability() Availability

	// NewContainer creates a fresh container for one process tree, with
	// the given limits applied before any process is placed in it. It
	// fails with an error matching ErrNotUsable when Availability would
	// report the backend unusable, and with a *LimitError when a limit is
	// invalid or cannot be enforced; in both cases nothing is left behind.
	NewContainer(ctx context.Context, opts Options) (Container, error)
}

// Options configure one container.
type Options struct {
	// Limits to apply at creation. Each kind may appear at most once.
	Limits []Limit

	// KillOnOwnerDeath asks that the tree be killed if the owner process
	// dies abruptly (SIGKILL, crash) without closing the container. Job
	// Objects always do this (kill-on-close). cgroupv2 and pgid register
	// the tree with a watchdog: one small process per owner, started on
	// first use, that holds a pipe from the owner and kills every
	// registered tree when the pipe reaches EOF. Availability.OwnerDeath
	// says what each backend does.
	KillOnOwnerDeath bool

	// Logger receives debug events (creation, kill, teardown). Nil means no
	// logging. Events never contain arguments, environment or output.
	Logger *slog.Logger
}

// Container holds one process tree. Its methods are safe for concurrent
// use. A Container must be closed; Close kills whatever is still inside.
//
// Kill is terminal: once a container has been killed it accepts no new
// process (Start and Adopt fail with ErrClosed). On Linux 6.18 this is
// not just policy: the kernel kills every later clone3 child placed into
// a cgroup that was once killed, so a cgroup is never reused.
//
// # The spawn gate
//
// Start and Freeze exclude each other through a gate that every
// implementation must keep. Start holds it, shared, from its checks until
// the child is placed (and registered, where the mechanism registers
// later); Freeze holds it exclusively until the freeze is confirmed or
// rolled back. So a child is never created while its container is being
// frozen or is frozen: a child frozen between fork and exec would hold
// the thread that forked it in the kernel (Linux's vfork-style clone), and
// a Go program whose thread is stuck that way hangs at its next garbage
// collection. A sub's Start takes its ancestors' gates too, so an
// enclosing container's Freeze excludes spawns into every sub at every
// depth. Gates are taken outermost first, before any other lock of the
// containers involved.
type Container interface {
	// Mechanism reports the mechanism that holds this container's tree.
	Mechanism() Mechanism

	// Start starts cmd, an *exec.Cmd not started yet, with the child
	// placed in the container at birth: no process it starts can run
	// outside the container, not even briefly. It is exec.Cmd.Start and
	// the placement in one step, under the spawn gate (see above).
	//
	// Start may set fields of cmd.SysProcAttr, on a copy, so a
	// SysProcAttr shared between commands is left alone; each backend
	// documents which. Settings that conflict with the mechanism (a
	// cgroup fd of the caller's own, a process group it cannot join, a
	// suspended creation the caller meant to keep) fail before anything
	// is spawned. Where the container has KillOnOwnerDeath and the
	// mechanism registers the tree only once it exists, the child is
	// protected from birth until the registration (a parent-death
	// signal where the OS has one; the backend documents the rest).
	//
	// Start fails with an error matching ErrClosed once the container (or
	// one it is a sub of) was killed or closed, frozen at the time or not,
	// and otherwise with one matching ErrFrozen, at once and without
	// spawning, while it or one it is a sub of is frozen (Freeze, until
	// Thaw). A Start that meets a
	// Freeze in progress waits for it, then fails with ErrFrozen; one
	// that meets the short internal freeze of a Signal waits for the
	// Signal and then starts.
	//
	// On failure nothing runs and nothing is left: a child that was
	// created but could not be placed or registered is killed and reaped
	// (cmd.Wait has then been called) before Start returns. On success
	// cmd.Wait is the caller's, as after exec.Cmd.Start.
	Start(cmd *exec.Cmd) error

	// Adopt moves a running process (not its existing descendants, except
	// where the mechanism says otherwise) into the container. It fails with
	// an error matching ErrNoSuchProcess when pid does not name a live
	// process. It guards against pid reuse where the OS allows (a pidfd on
	// Linux, a process handle on Windows).
	Adopt(pid int) error

	// Signal sends sig to every member. Killing with os.Kill is atomic over
	// the whole tree where the mechanism allows it; use Kill to also confirm
	// death. A signal the mechanism cannot deliver returns ErrUnsupported.
	// A mechanism that stops the tree for a moment so that a member
	// forked during the call gets the signal too (cgroup v2 freezes it
	// while it lists the members) holds the spawn gate exclusively for
	// that moment: a concurrent Start waits for the Signal, and never
	// spawns into the stopped tree.
	Signal(sig os.Signal) error

	// Kill kills every member and waits until all of them are confirmed
	// dead (a zombie counts as dead) or ctx ends, in which case the error
	// matches ErrTeardownNotConfirmed. Kill is terminal (see above).
	Kill(ctx context.Context) error

	// Freeze stops every member and returns once the mechanism confirms
	// they are stopped; Thaw resumes them. Mechanisms without a confirmed
	// freeze return ErrUnsupported. Freeze holds the spawn gate
	// exclusively (see above): it waits for the Starts in flight, and
	// while it runs and until Thaw, Start fails with ErrFrozen. If the
	// freeze cannot be confirmed before ctx ends, Freeze rolls it back
	// (every member it stopped is resumed) and returns an error wrapping
	// ctx's; the container is then usable and not frozen.
	Freeze(ctx context.Context) error
	// Thaw resumes a frozen container and returns once that is confirmed.
	// Start works again from then on.
	Thaw(ctx context.Context) error

	// Pids lists the live members. Zombies are not listed.
	Pids() ([]int, error)

	// Stats reports what the mechanism can measure; values it cannot
	// measure are marked unavailable, never reported as zero.
	Stats() (Stats, error)

	// Sub creates a container nested in this one, for a tree of its own:
	// the sub's members are members of this container too (this
	// container's Signal, Kill, Freeze, Thaw, Pids and Stats include
	// them), while the sub's own Signal, Kill and Close reach only its
	// tree. Each mechanism nests in its own way: a child cgroup, a process
	// group of its own tracked by the parent, a nested Job Object.
	//
	// opts.Limits bound the sub's tree alone, inside this container's
	// limits. A mechanism that must delegate controllers for them (cgroup
	// v2) can do so only while this container holds no process directly:
	// a container meant to hold subs should place every process through
	// one. A sub of a container that is killed when its owner dies is
	// killed too, whatever opts say (its members are this container's);
	// opts.KillOnOwnerDeath asks the same of a sub of a container that is
	// not. Where this container's own registration covers the sub (a
	// cgroup's kill is recursive, a nested job dies with its parent)
	// nothing more is registered.
	//
	// Sub fails with an error matching ErrClosed once this container has
	// been killed or closed. Killing or closing this container kills every
	// sub; a sub's Close afterwards only releases what the sub holds and
	// returns nil. Closing a sub removes it from this container: it is not
	// listed, signalled or counted again.
	Sub(ctx context.Context, opts Options) (Container, error)

	// Close kills every member, confirms their death, and releases every
	// OS resource the container holds (cgroup directory, job handle,
	// descriptors). It is idempotent: once it has succeeded, later calls
	// return nil. If death cannot be confirmed before ctx ends, Close
	// returns an error matching ErrTeardownNotConfirmed and may be called
	// again.
	Close(ctx context.Context) error
}

// CopySysProcAttr returns a copy of cmd.SysProcAttr, or a zero one when
// it is nil, for a backend's Start to change: a SysProcAttr shared
// between commands must not carry one container's settings into another
// spawn (see Container.Start). The caller sets it on cmd only for the
// spawn, and restores cmd's own if nothing was created.
func CopySysProcAttr(cmd *exec.Cmd) *syscall.SysProcAttr {
	if cmd.SysProcAttr == nil {
		return &syscall.SysProcAttr{}
	}
	cp := *cmd.SysProcAttr
	return &cp
}

// Availability is a backend's spawn-free verdict on this host.
type Availability struct {
	// Mechanism is the backend's mechanism.
	Mechanism Mechanism `json:"mechanism"`
	// Usable is true when NewContainer can create containers here.
	Usable bool `json:"usable"`
	// Reason says why the backend is not usable, or, when it is, where it
	// found what it needs (for cgroup v2: the mount and the parent cgroup).
	Reason string `json:"reason"`
	// Limits says which limit kinds NewContainer can enforce here.
	Limits []LimitSupport `json:"limits"`
	// ContainsSetsid is true when a descendant that calls setsid or
	// setpgid (or detaches on Windows) stays in the container.
	ContainsSetsid bool `json:"contains_setsid"`
	// OwnerDeath says what happens to a tree when its owner dies abruptly
	// (SIGKILL, crash) without closing the container.
	OwnerDeath string `json:"owner_death"`
	// Notes are further facts a user should know (weaknesses, sweeps).
	Notes []string `json:"notes,omitempty"`
}

// LimitSupport says whether one limit kind can be enforced, and why not.
type LimitSupport struct {
	Kind      LimitKind `json:"kind"`
	Supported bool      `json:"supported"`
	Reason    string    `json:"reason,omitempty"`
}

// LimitsSupported reports whether every limit kind can be enforced.
func (a Availability) LimitsSupported() bool {
	if len(a.Limits) == 0 {
		return false
	}
	for _, l := range a.Limits {
		if !l.Supported {
			return false
		}
	}
	return true
}
