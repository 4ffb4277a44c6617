// Package watchdog kills the process trees of an owner process that dies
// abruptly (SIGKILL, crash) without closing its containers.
//
// One watchdog serves every container of the owner. It is started on the
// first registration: a small POSIX sh program that holds the read end of
// a pipe whose write end only the owner holds. The owner sends it one line
// per registration and unregistration. When the owner dies, for whatever
// reason, the kernel closes the write end, the watchdog reads EOF, kills
// every tree still registered (cgroup.kill for a cgroup, SIGKILL to the
// group for a process group), removes the killed cgroups and exits. An
// owner that exits normally after closing its containers has unregistered
// everything, so its watchdog exits without killing anything.
//
// Why a shell program: the owner may be any Go program using tether, so
// its binary cannot be re-executed as a helper, and shipping a second
// binary would burden every user. /bin/sh exists on every unix target, and
// what the watchdog does is small: read lines, keep a table, write "1" to
// a file, send SIGKILL, rmdir.
//
// The watchdog runs outside every container of its owner, in a session and
// process group of its own (so a terminal's Ctrl-C, a hangup, or a killpg
// of a tree does not reach it), and ignores SIGHUP, SIGINT, SIGQUIT and
// SIGTERM: it ends only by EOF or SIGKILL. It is started through a short
// launcher that forks it into the background and exits, so the owner
// reaps only the launcher, synchronously, and the watchdog is re-parented
// to init (or the nearest subreaper): no goroutine waits on it, and it
// never becomes the owner's zombie.
//
// Off unix there is no watchdog: Windows Job Objects kill their tree when
// the owner's handle closes, and registration reports errors.ErrUnsupported.
package watchdog
