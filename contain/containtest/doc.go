// Package containtest checks that a contain.Backend keeps the contract
// that contain.Backend and contain.Container document, the way
// testing/fstest.TestFS checks an fs.FS: a backend's tests call
// TestBackend once, and every backend, tether's own and a fifth one
// written elsewhere, is held to the same behaviours under the same names.
//
//	func TestConformance(t *testing.T) {
//		containtest.TestBackend(t, mybackend.New(), containtest.Options{})
//	}
//
// # What it checks
//
// Each behaviour is a subtest named after it:
//
//   - Availability: the mechanism's name, a reason, one answer per limit kind
//     (with a reason where it cannot be enforced), what owner death does,
//     the same verdict twice. NotUsable (for a backend Availability reports
//     unusable, and then nothing else): NewContainer fails with a
//     *contain.NotUsableError.
//   - NewContainer: invalid limits fail with a *contain.LimitError matching
//     contain.ErrInvalidLimit; a valid limit of a kind Availability says cannot
//     be enforced fails with one matching contain.ErrUnsupported that names
//     it, and one it can be enforced gives a container.
//   - Start: the child is a member when Start returns, and so is a second
//     one; a SysProcAttr the caller shares is left alone; exit statuses
//     reach Wait; on unix the first child leads a process group of its own
//     and no child is in the owner's, a caller's Setsid is honoured; the
//     settings that would put a child out of reach (joining another
//     group, Setsid with Setpgid; on Windows a suspended creation the
//     caller means to keep) fail before anything is spawned; a Start that
//     fails leaves no member and the container usable.
//   - Kill: returns once every member is dead, a setsid grandchild
//     included where Availability.ContainsSetsid says so (and, where it
//     does not, that grandchild is neither listed nor killed); it is
//     terminal (Start, Adopt and Sub fail with contain.ErrClosed) and
//     idempotent; with an ended context it confirms anyway or fails with a
//     *contain.TeardownError.
//   - Close: concurrent Closes racing Pids, Stats, Signal and Kill all
//     return nil once the tree is dead; later Closes return nil; a closed
//     container refuses every change with contain.ErrClosed.
//   - Signal: a graceful signal reaches every member (adopted ones
//     included) and the container takes new children afterwards; os.Kill
//     kills every member; a signal the mechanism cannot deliver fails with
//     contain.ErrUnsupported.
//   - Adopt: an adopted process is a member and dies with the container; a
//     pid that names no live process (nonsense, out of range, exited but
//     not reaped, reaped) fails with a *contain.NoSuchProcessError.
//   - Pids: an exited member not reaped yet is not listed.
//   - Stats: Processes counts the live members; a measurement reported as
//     available is a real one (never a zero standing in for "unknown");
//     where CPUIncludesExited says so, an exited member's CPU time is
//     still counted (at least nine tenths of its own rusage).
//   - Sub: a sub's members are its parent's; a sub's Kill, Close and
//     Signal reach its tree alone; the parent's Kill, Close and Signal
//     reach every sub at every depth, Kill and Close being terminal for
//     all of them, and a sub's Close afterwards returns nil; Sub checks
//     limits as NewContainer does; a killed or closed container makes no sub; subs
//     made, started and closed by several goroutines race the parent's
//     Kill and Close; 200 Sub and Close cycles leave nothing.
//   - Freeze: where Freeze of an empty container does not fail with
//     contain.ErrUnsupported, Freeze stops every member until Thaw (a
//     parent's every sub's, a sub's nobody else's); a Start into a frozen
//     container, a sub of one at any depth, or a sub never used fails at
//     once with contain.ErrFrozen and spawns nothing, a frozen sub does not
//     stop its parent's Start, and Start works after Thaw; a Freeze whose
//     context has ended is confirmed or rolled back; a signal sent while
//     frozen acts on Thaw; a frozen tree dies on Kill. Where it fails
//     with contain.ErrUnsupported, so does Thaw.
//   - OwnerDeath: an owner killed without closing anything (SIGKILL,
//     TerminateProcess) takes with it every tree it made with
//     KillOnOwnerDeath, subs included, whether they asked for it or are
//     covered by their parent.
//   - Descriptors (where /proc/self/fd counts them): whole container
//     lifecycles give back every descriptor they opened.
//
// After every subtest the suite checks that each process it started,
// directly or as a grandchild, is dead (a zombie counts as dead: init
// may reap orphans late) and kills any survivor by pid, and that
// Options.Leftovers lists nothing new. It never sleeps to synchronise: it
// polls with deadlines (Options.Patience).
//
// # What it derives, and what it leaves open
//
// The suite asks the backend rather than its caller: Availability says
// whether it is usable, which limits it enforces and whether it contains a
// setsid grandchild; a Freeze of an empty container that fails with
// contain.ErrUnsupported means it has no freeze, and a Signal of the
// graceful stop signal (SIGTERM; os.Interrupt on Windows) that does means
// it has no graceful signal (os.Kill is used instead). A subtest that does
// not apply is skipped with the backend's own reason.
//
// Where the contract leaves a choice the suite accepts each answer:
// Signal(os.Kill) may be terminal (a cgroup's kill is) or not; after
// Close, Kill may return nil or contain.ErrClosed, Pids and Stats
// contain.ErrClosed or an empty container; a Freeze of a killed container
// may succeed; a Start refused with contain.ErrClosed may have created a
// child, if it killed and reaped it (a Start refused with
// contain.ErrFrozen must spawn nothing). The suite never starts a child in
// a container whose every member has exited, since a process group
// cannot be joined once it is gone (contain/pgid refuses that Start).
//
// It does not check what only a backend can: that a limit is enforced,
// that Availability spawns nothing, how fast owner death acts (only that it
// does within Options.Patience), which pid a backend refuses to adopt
// (the owner's own, say).
//
// # Children
//
// The suite's processes are the test binary itself, re-executed
// (os.Executable): this package's init recognises a child by the
// variable CONTAINTEST_CHILD in its environment together with
// "containtest-child" as its argv[0], removes the variable from its
// environment at once (so nothing the child starts inherits it unless the
// suite gives it back), runs the child's part (sleep, exit, start a tree
// with setsid and setpgid grandchildren, tick, spin) and exits before
// the test's main. A backend's tests need no TestMain for them. Packages
// initialised before this one run their init functions in the child too.
//
// Two parts need a whole process of their own: the owner that the
// OwnerDeath subtest kills, and the Start into a frozen container (a
// child frozen between fork and exec would hold the thread that forked
// it, and a Go program then hangs at its next garbage collection, so only
// another process can tell that it hung). For them the suite runs the
// test binary again, selecting the test that called TestBackend with
// -test.run and naming the part in CONTAINTEST_ROLE; TestBackend then
// plays that part instead of running the subtests. A TestMain must
// therefore run the tests as usual (m.Run) when CONTAINTEST_ROLE is set.
// A helper that hangs is killed by pid after three times
// Options.Patience and the subtest fails saying so; what it left in the
// backend (a frozen container holding a stuck child) is for its
// Leftovers and the developer.
package containtest
