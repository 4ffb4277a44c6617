// Package cgroupv2 holds process trees in Linux cgroup v2 leaf cgroups.
//
// Each container is a fresh leaf cgroup named tether-<owner pid>-<random>,
// created under the owner's own cgroup (read from /proc/self/cgroup) or a
// configured parent, on whichever cgroup2 mount /proc/self/mountinfo names:
// /sys/fs/cgroup on a pure unified host, /sys/fs/cgroup/unified on a hybrid
// one, or anywhere else. The child is spawned straight into it with clone3
// (CLONE_INTO_CGROUP, through SysProcAttr.UseCgroupFD), so not even its
// first instruction runs outside; every descendant stays inside, including
// those that call setsid or setpgid, because a cgroup is not a process
// attribute a process can drop.
//
// Teardown writes cgroup.kill (one atomic SIGKILL over the whole subtree,
// race-free against forks), waits until cgroup.events says "populated 0",
// and removes the directory. A killed cgroup is never reused: on this
// project's kernels a clone3 child placed in a cgroup that was once killed
// is SIGKILLed at birth.
//
// Limits (memory.max with memory.swap.max 0, pids.max, cpu.max) need the
// memory, pids and cpu controllers in the parent's cgroup.controllers. On a
// hybrid host cgroup v1 usually holds them; New then fails with a
// *contain.LimitError that says so rather than run unlimited.
//
// The package compiles on every OS; off Linux its Backend reports itself
// unusable.
//
//	b := cgroupv2.New()
//	if a := b.Probe(); !a.Usable {
//		log.Fatal(a.Reason)
//	}
//	c, err := b.New(ctx, contain.Options{})
package cgroupv2
