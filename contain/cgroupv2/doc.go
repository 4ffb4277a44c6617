// Package cgroupv2 holds process trees in Linux cgroup v2 leaf cgroups.
//
// Each container is a fresh leaf cgroup named tether-<owner pid>-<random>,
// created under the owner's own cgroup (read from /proc/self/cgroup) or a
// configured parent, on whichever cgroup2 mount /proc/self/mountinfo names:
// /sys/fs/cgroup on a pure unified host, /sys/fs/cgroup/unified on a hybrid
// one, or anywhere else. Container.Start spawns the child straight into it
// with clone3 (CLONE_INTO_CGROUP, through SysProcAttr.UseCgroupFD), so not
// even its first instruction runs outside; every descendant stays inside,
// including those that call setsid or setpgid, because a cgroup is not a
// process attribute a process can drop. The child also leads a process
// group of its own, so that a signal it sends to its group (kill 0) stays
// in its tree and a terminal's Ctrl-C to the owner's group does not reach
// it.
//
// No child is ever cloned into a frozen cgroup: it would be frozen before
// it could exec, with the owner's forking thread stuck in the kernel until
// the thaw (and a Go owner hung at its next garbage collection). Start
// shares a spawn gate with Freeze and with the short freeze a Signal uses
// (see contain.Container), refuses with contain.ErrFrozen a container
// that Freeze holds or that sits in one, and reads cgroup.events first to
// refuse a cgroup frozen from outside tether as well.
//
// Teardown writes cgroup.kill (one atomic SIGKILL over the whole subtree,
// race-free against forks), waits until cgroup.events says "populated 0",
// and removes the directory. A killed cgroup is never reused: Linux 6.18
// SIGKILLs a clone3 child placed in a cgroup that was once killed at
// birth; older kernels (6.1) let it live, so Start kills a child whose
// container was killed while it was starting, and Kill and Close kill
// again whatever is found in a killed cgroup.
//
// Limits (memory.max with memory.swap.max 0, pids.max, cpu.max) need the
// memory, pids and cpu controllers in the parent's cgroup.controllers. On a
// hybrid host cgroup v1 usually holds them; NewContainer then fails with a
// *contain.LimitError that says so rather than run unlimited.
//
// Containers nest. Sub makes a cgroup named sub-<random> inside the
// container's own (mkdir, never adopting an existing directory) and
// returns it as a container of its own, whose subs nest in turn. Because
// cgroups are hierarchical, the enclosing container's Pids, Stats (cpu.stat
// keeps the CPU time of subs' exited members, even of closed subs),
// Signal, Freeze and Kill (cgroup.kill is recursive) include every sub,
// while a sub's own Signal, Kill and Close reach only its tree. Killing a
// container makes every sub refuse new processes and subs, as the kernel
// would kill them at birth. Closing it kills the whole tree, removes the
// directories deepest first and releases every sub still open (descriptor,
// watchdog registration), so a sub's later Close returns nil. A closed sub
// leaves its parent's list, so a container may run any number of subs in
// turn. A sub's limits apply to its own cgroup and need the controllers
// enabled in the enclosing cgroup's subtree_control, which cgroup v2
// allows only while that cgroup holds no process directly ("no internal
// processes"): a container meant to have limited subs places every process
// through one. With KillOnOwnerDeath a sub registers with the watchdog only
// when no enclosing container is registered. A sub frozen by an enclosing
// container's Freeze stays frozen until that one thaws: the sub's own Thaw
// waits for it.
//
// The first NewContainer of a backend also sweeps the cgroups that dead
// owners left under the parent: a tether-<pid>-* tree whose owner is gone
// and in which no process lives, subs included, is removed by rmdir alone,
// deepest first. A tree with a live process anywhere in it is never
// touched, only reported by Availability.
//
// The package compiles on every OS; off Linux its Backend reports itself
// unusable.
//
//	b := cgroupv2.New()
//	if a := b.Availability(); !a.Usable {
//		log.Fatal(a.Reason)
//	}
//	c, err := b.NewContainer(ctx, contain.Options{})
package cgroupv2
