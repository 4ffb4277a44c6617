// Package contain defines how tether holds a process tree: a [Backend]
// creates one [Container] per tree, and a Container can place a child in
// itself at spawn, signal, freeze, list, measure and finally kill every
// member, confirming that all of them are dead before it returns.
//
// The package holds only the interface, the shared types, the errors and
// the few helpers every backend uses to keep the contract the same way
// (ValidateLimits, RejectLimits, UnsupportedLimits, Unsupported,
// CopySysProcAttr). The mechanisms live in sub-packages, one per kernel
// interface:
//
//   - contain/cgroupv2: Linux cgroup v2 (clone3 into a fresh leaf cgroup,
//     cgroup.kill, cgroup.freeze). Contains everything, including
//     descendants that call setsid.
//   - contain/systemd: cgroup v2 where systemd is PID 1: a transient scope
//     with Delegate=yes asked of the service manager over D-Bus, and each
//     tree in a cgroup v2 leaf of it.
//   - contain/pgid: POSIX process groups (Linux, macOS, the BSDs). Portable
//     but weaker: a descendant that calls setsid or setpgid escapes.
//   - contain/jobobject: Windows Job Objects with kill-on-close.
//
// contain/host picks the default for the running OS and reports, without
// spawning anything, which mechanisms are usable here and why.
// contain/containtest checks that a backend keeps the contract.
//
// A Container is honest about what it cannot do: an operation the mechanism
// does not have returns an error matching [ErrUnsupported], and a limit it
// cannot enforce fails [Backend.NewContainer] with a [*LimitError]. Nothing
// is silently ignored.
//
// Container.Start is the one placement call: it starts an *exec.Cmd with
// the child in the container from birth, leading a process group of its
// own, and on failure leaves nothing running. It and Freeze share a spawn
// gate, so no child is ever created in a frozen container (it would stop
// before it could exec, and hold the thread that forked it). A Start on a
// frozen container fails at once with an error matching [ErrFrozen].
//
// A typical use, with the error handling shortened (contain/cgroupv2 and
// contain/pgid have it as runnable examples):
//
//	a := host.Default() // the host's default backend and why it was chosen
//	c, err := a.Backend.NewContainer(ctx, contain.Options{KillOnOwnerDeath: true})
//	defer c.Close(ctx) // kills the whole tree and confirms it is gone
//	cmd := exec.Command("make", "-j8")
//	err = c.Start(cmd) // born inside; on failure nothing runs
//	err = cmd.Wait()   // the caller's, as after exec.Cmd.Start
package contain
