// Package jobobject holds a process tree in a Windows Job Object.
//
// Each container is a fresh, unnamed job created with
// JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE and never with BREAKAWAY_OK: every
// process the tree starts inherits the job and cannot leave it, and the
// whole tree dies when the last handle to the job closes, including when
// the owner itself dies abruptly. A child is placed atomically: PrepareCmd
// asks for CREATE_SUSPENDED, and Started assigns the suspended child to the
// job before any of its code runs, then resumes it. If that fails the child
// is terminated, so an unconfined child never runs.
//
// Windows has no signals: Signal accepts only os.Kill (TerminateJobObject);
// a graceful stop through CTRL_BREAK belongs to the proc layer. Freeze is
// unsupported (see Container.Freeze in the Windows source for why).
//
// The package compiles on every OS so that callers need no build tags; off
// Windows, Probe reports the backend unusable and New fails with an error
// matching contain.ErrNotUsable.
//
// Under Wine (detected through ntdll!wine_get_version) the job itself,
// assignment, termination, kill-on-close, the process list and process
// counts work, but limits are accepted without being enforced and CPU times
// and peak memory read as zero. The backend therefore rejects every limit
// with a *contain.LimitError matching contain.ErrUnsupported, and reports
// those statistics as unavailable instead of as zeros.
//
// A typical use, with the error handling shortened:
//
//	c, err := jobobject.New().New(ctx, contain.Options{
//		Limits: []contain.Limit{contain.MaxProcesses(64)},
//	})
//	defer c.Close(ctx) // kills the whole tree and confirms it is gone
//	cmd := exec.Command("msbuild", "/m")
//	_ = c.PrepareCmd(cmd) // CREATE_SUSPENDED
//	_ = cmd.Start()
//	_ = c.Started(cmd) // assign to the job, then resume
//	_ = cmd.Wait()
package jobobject
