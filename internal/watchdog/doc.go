// Package watchdog kills the process trees of an owner process that dies
// abruptly (SIGKILL, crash) without closing its containers.
//
// One watchdog serves every container of the owner. It is started on the
// first registration: the owner's own executable, re-executed in
// watchdog mode (argv[0] "tether-watchdog"), holding the read end of a
// pipe whose write end only the owner holds, and the registration table,
// a memory file the owner writes a slot of per registration and clears
// at its withdrawal (a memfd on Linux; without memfd_create, and off
// Linux, an unlinked temporary file, which needs a writable temporary
// directory). Nothing is ever written to
// the pipe, and no registration wakes the watchdog: it sleeps in one
// read. When the owner dies, for whatever reason, the kernel closes the
// write end, the watchdog reads EOF, reads the table, kills every tree
// still registered in it (cgroup.kill for a cgroup, SIGKILL to the group
// for a process group), removes the killed cgroups and exits. An owner
// that exits normally after closing its containers has unregistered
// everything, so its watchdog exits without killing anything.
//
// Why the owner's own binary: it is the one program certain to exist.
// An image built FROM scratch or distroless holds nothing but the
// program, so a shell (what this package ran before) or a helper binary
// cannot be assumed. On Linux the binary is /proc/self/exe, which names
// the running file even if it was replaced or deleted since; elsewhere
// the path os.Executable reports. The package's init function recognises
// a watchdog (argv[0], a protocol variable in its environment and a pipe
// as fd 3: all three) and serves instead of returning into the program.
// There is no shell fallback: one watchdog, one behaviour, tested; where
// the binary cannot be re-executed (no /proc, Go code built as a C
// library) registration fails with a *StartError that says so, and the
// caller can opt out of the watchdog.
//
// The known cost of re-executing the owner: package init functions that
// run before this package's (packages that do not import it) run in the
// watchdog too. One that blocks or exits there keeps the watchdog from
// serving: the owner's death then kills nothing.
//
// The watchdog runs outside every container of its owner, in a session
// and process group of its own (so a terminal's Ctrl-C, a hangup, or a
// killpg of a tree does not reach it), with its working directory at "/"
// and its standard streams on the null device, and ignores SIGHUP,
// SIGINT, SIGQUIT and SIGTERM once its runtime is up: it ends only by EOF
// or SIGKILL. It is the owner's child: the owner does not wait for it to
// start (the table holds the registrations, and the pipe its EOF, until
// it reads them), and reaps it when it exits, with a goroutine parked on
// its pidfd in the runtime's poller (no thread blocked; off Linux, a
// goroutine in wait4).
// Stop ends that goroutine too.
//
// Off unix there is no watchdog: Windows Job Objects kill their tree when
// the owner's handle closes, and registration reports errors.ErrUnsupported.
package watchdog
