// Package jobobject holds a process tree in a Windows Job Object.
//
// Each container is a fresh, unnamed job created with
// JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE and never with BREAKAWAY_OK: every
// process the tree starts inherits the job and cannot leave it, and the
// whole tree dies when the last handle to the job closes, including when
// the owner itself dies abruptly. A child is placed atomically: Start
// creates it with CREATE_SUSPENDED, assigns the suspended child to the job
// before any of its code runs, then resumes it. If that fails the child is
// terminated and reaped, so an unconfined child never runs. The child is
// also created with CREATE_NEW_PROCESS_GROUP, the root of a console
// process group of its own.
//
// Sub nests jobs (Windows 8 and later; Go itself needs Windows 10). A sub
// is a job of its own, with KILL_ON_JOB_CLOSE and the limits given to Sub
// (Windows enforces the stricter of a sub's and its ancestors' limits).
// Start places a child in a sub by assigning it, still suspended, to
// the parent's job first and then to the sub's, which nests the sub's job
// in the parent's; a sub of a sub goes through every level, outermost
// first. Adopt does the same, skipping the jobs the process is already
// in, and refuses a process that sits in another sub, since a process
// never leaves a job. The kernel then counts a sub's members as members
// of every ancestor, so a parent's Pids, Stats, Signal and Kill include
// them with no walk over the subs, while a sub's own Signal, Kill and
// Close reach its job alone. Killing or closing a parent kills every sub
// (TerminateJobObject ends nested jobs too) and marks them killed, so
// they refuse new processes with contain.ErrClosed; the parent's Close
// also closes the handle of every sub not yet closed, and a sub's Close
// afterwards returns nil. Owner death needs nothing more: every handle
// closes with the owner, and kill-on-close ends the nested jobs with the
// parent's. Locks are always taken from the parent down to its subs.
//
// Windows has no signals: Signal accepts only os.Kill (TerminateJobObject);
// a graceful stop through CTRL_BREAK belongs to the proc layer. Freeze is
// unsupported (see Container.Freeze in the Windows source for why).
//
// The package compiles on every OS so that callers need no build tags; off
// Windows, Availability reports the backend unusable and NewContainer fails
// with an error matching contain.ErrNotUsable.
//
// Under Wine (detected through ntdll!wine_get_version) the job itself,
// assignment, nesting, termination, kill-on-close, the process list and
// process counts work, but limits are accepted without being enforced and
// CPU times and peak memory read as zero. The backend therefore rejects
// every limit with a *contain.LimitError matching contain.ErrUnsupported,
// and reports those statistics as unavailable instead of as zeros.
//
// A typical use, with the error handling shortened:
//
//	c, err := jobobject.New().NewContainer(ctx, contain.Options{
//		Limits: []contain.Limit{contain.MaxProcesses(64)},
//	})
//	defer c.Close(ctx) // kills the whole tree and confirms it is gone
//	cmd := exec.Command("msbuild", "/m")
//	_ = c.Start(cmd) // created suspended, assigned to the job, then resumed
//	_ = cmd.Wait()
package jobobject
