// Package systemd holds process trees in cgroup v2 leaves inside a
// transient scope that systemd delegated to the owner: cgroup v2 where a
// systemd host lets us write.
//
// # Why
//
// On a host whose PID 1 is systemd, every cgroup belongs to systemd unless
// it was delegated (systemd's "single writer" rule). A service running as
// root could create cgroups inside its own unit's cgroup, but systemd does
// not support that and may move or remove them; a user who is not root
// may not write there at all, so the cgroupv2 backend refuses and the
// fallback, process groups, lets setsid escapees survive and enforces no
// limit. systemd hands any user a cgroup of their own on request: a
// transient scope with Delegate=yes. This backend asks for one and then
// does everything the cgroupv2 backend does inside it (clone3 placement,
// cgroup.kill, confirmed death, freeze, stats, nesting, limits through the
// controllers systemd delegated), by using that backend with the scope as
// its parent.
//
// # The scope
//
// The first NewContainer of the process (Availability creates nothing) asks
// the service manager over D-Bus, StartTransientUnit in mode "fail", for a
// scope named tether-<program>-<pid>-<random>.scope with Delegate=yes and
// CollectMode=inactive-or-failed, and waits for the job to finish: the
// system manager when the owner is root, the user's own manager (which
// needs a login session or lingering) otherwise. One scope serves every
// container of the process and every Backend: the owner and its watchdog
// can each be in one cgroup only. `systemctl [--user] status` on the scope
// names the owner program and pid in its description. Concurrent
// NewContainer calls wait for the one creation.
//
// The owner-death watchdog (one process per owner) is the scope's first
// member and is then moved into a leaf of its own, <scope>/tether-watchdog,
// so no process sits in the scope itself and the controllers the scope has
// (typically cpu, memory and pids) can be enabled for the leaves. With
// KillOnOwnerDeath, the watchdog kills every registered leaf when the owner
// dies, removes them and exits; the scope is then empty and systemd
// collects it. Should the scope end under a running owner (it is stopped
// once empty, or by `systemctl stop`), the next NewContainer notices and
// asks for a fresh one.
//
// # Side effect: a non-root owner moves into the scope
//
// The kernel lets a process spawn a child straight into a cgroup (clone3
// with CLONE_INTO_CGROUP) only if it may write cgroup.procs of the
// nearest common ancestor of its own cgroup and the target. A user's
// login session (/user.slice/user-1000.slice/session-2.scope) and a scope
// of the user manager (under user@1000.service) meet at user-1000.slice,
// which root owns: every spawn would fail with EACCES. So, when the owner
// is not root and runs outside its user manager's tree, the scope is
// created with the owner's own pid as a member too (systemd moves it; the
// user manager asks the system manager when the pid is outside its tree)
// and the owner then moves into <scope>/tether-owner. This changes the
// calling process's cgroup, for the rest of its life: `systemctl status`
// shows it in the scope, processes it starts later by other means are
// born there, and the scope lives as long as the owner does. Rootless
// container runtimes do the same for themselves. An owner already inside
// its user manager's tree (a desktop terminal's scope, a user service)
// meets the scope in a cgroup the user owns and is not moved. Root may
// spawn into any cgroup and is never moved: it may be a service's main
// process, which systemd tracks.
//
// # Reaching systemd
//
// The system manager is reached on its private socket
// /run/systemd/private (root only; no D-Bus daemon needed), then on the
// system bus. The user manager is reached on $DBUS_SESSION_BUS_ADDRESS,
// then $XDG_RUNTIME_DIR/bus, then its private socket
// $XDG_RUNTIME_DIR/systemd/private; XDG_RUNTIME_DIR defaults to
// /run/user/<uid> when unset and that directory exists. A connection
// lives only while a scope is made or the manager is probed.
//
// The package compiles on every OS; off Linux its Backend reports itself
// unusable.
//
//	b := systemd.New()
//	if a := b.Availability(); !a.Usable {
//		log.Fatal(a.Reason) // e.g. no user manager: log in or enable lingering
//	}
//	c, err := b.NewContainer(ctx, contain.Options{Limits: []contain.Limit{contain.MemoryMax(512 << 20)}})
package systemd
