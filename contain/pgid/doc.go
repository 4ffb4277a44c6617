// Package pgid contains a process tree in a POSIX process group: the first
// command started in a container leads a new group (Setpgid at fork, so
// the child is in it before it runs a single instruction), its descendants
// inherit the group, and Kill sends SIGKILL to the whole group and then
// confirms that every member is dead. It works on Linux, macOS and the
// BSDs, needs no privilege, and is the fallback where cgroup v2 cannot be
// used.
//
// # Weakness
//
// A process group is an address for signals, not a container: any
// descendant that calls setsid or setpgid (daemons do, and so do shells
// that run job control) leaves the group and escapes Kill, Pids and Stats
// for good. Without KillOnOwnerDeath nothing kills the group when the owner
// dies abruptly (a frozen group only gets SIGHUP and SIGCONT, as POSIX
// orphans it), and it cannot enforce any resource limit, so NewContainer
// rejects every limit. Where this matters, use contain/cgroupv2 on Linux.
//
// # Owner death
//
// With KillOnOwnerDeath the group is registered with the owner's
// watchdog (internal/watchdog), which kills it if the owner dies. A group
// exists only once its leader has forked, so the registration happens in
// the leader's Start, before Start returns. Until then the child is held
// by a parent-death signal (SIGKILL) that Start sets where the OS has one
// (Linux, FreeBSD), from a thread that never exits (internal/forker): an
// owner killed between the fork and the registration takes the child
// with it. Not covered: a process the child forks before the registration
// (microseconds after its exec), a child that execs a set-user-ID or
// set-group-ID program (the kernel clears the signal), and, on macOS and
// the BSDs other than FreeBSD, which have no parent-death signal, the
// whole window from fork to registration (about as long as the exec).
//
// # Freezing
//
// Freeze stops every member with SIGSTOP. Start shares a spawn gate with
// it (see contain.Container), so that no SIGSTOP ever reaches a child
// between its fork and its exec, where it would hold the thread that
// forked it: a Start while the container or one it is a sub of is frozen
// fails at once with contain.ErrFrozen, and Signal sends the job-control
// signals (stop signals and SIGCONT) under the same gate.
//
// # Group ids and recycling
//
// A group's id is its leader's pid, and the kernel frees that number once
// the group has no member left, zombies included. The container never
// signals a number that may have been recycled: on Linux 6.9 and later it
// signals through its own duplicate of the leader's pidfd with
// PIDFD_SIGNAL_PROCESS_GROUP, which names the group itself and stays valid
// after the caller's cmd.Wait; elsewhere it sends killpg only after
// seeing that the group still has a member. A small race remains there:
// between that look and killpg the last member could exit and be reaped
// and its id be taken by a new group leader, which needs the pid space to
// wrap around within a few milliseconds.
//
// # Nesting
//
// A container's Sub makes a container nested in another, for a tree of its
// own: the sub's first command leads a process group of its own, and the
// parent tracks the sub. The parent's Signal, Kill, Freeze, Thaw, Pids and
// Stats cover its own group, its adopted processes and every sub, and subs
// nest to any depth. A sub's own Signal, Kill and Close reach only its
// tree (its group, its adopted processes, its own subs); the parent and
// the other subs live on. Killing or closing the parent kills every sub,
// and that is terminal for the subs too (they take no new process or
// sub); closing the parent also releases every sub still open, whose own
// Close then returns nil.
//
// A sub's Close removes it from its parent, so a long-lived parent that
// runs each job in a sub and closes it at the end keeps no old group ids:
// a closed sub's id is never signalled, listed or counted again, which
// matters because the kernel may hand that id to a stranger's group once
// the sub's group has ended. On Linux one /proc scan per check covers a
// parent and all its subs, so Kill and Pids of a parent with many subs
// cost about what they cost with one; off Linux each group is asked about
// on its own (kill(-pgid, 0)).
//
// Each sub's group is registered with the owner-death watchdog by its
// leader's Start, if the sub was made with KillOnOwnerDeath or its parent
// was (the parent's promise covers the sub's members), and is withdrawn
// once a kill has confirmed it dead. A sub is no stronger than a group: a
// member that calls setsid or setpgid leaves its sub, and so the parent
// too. Process groups enforce no limits, so Sub rejects them as
// NewContainer does.
//
// # Platforms
//
// On Linux the members are found by scanning /proc for the group id, a
// zombie counts as dead (init may reap orphans late), Freeze is confirmed
// by every thread's state, and Stats sums the live members' CPU time and
// resident memory. macOS and the BSDs have no /proc: the container knows
// only the commands it started and the processes it adopted, Kill is
// confirmed when kill(-pgid, 0) fails with ESRCH (so a zombie member, such
// as a direct child the caller has not reaped yet, holds it back), Freeze
// and Thaw confirm only delivery, and Stats reports only the process count.
// On Windows the package compiles, but Availability reports it unusable and
// NewContainer fails with an error matching contain.ErrNotUsable.
//
// # Example
//
//	b := pgid.New()
//	c, err := b.NewContainer(ctx, contain.Options{})
//	if err != nil {
//		return err
//	}
//	defer c.Close(context.Background())
//	cmd := exec.Command("make", "-j8")
//	if err := c.Start(cmd); err != nil {
//		return err // nothing runs, nothing is left
//	}
//	waitErr := make(chan error, 1)
//	go func() { waitErr <- cmd.Wait() }()
//	...
//	// Kill every member still in the group, confirmed dead on return.
//	if err := c.Kill(ctx); err != nil {
//		return err // matches contain.ErrTeardownNotConfirmed
//	}
//	return <-waitErr
package pgid
