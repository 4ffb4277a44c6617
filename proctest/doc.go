// Package proctest provides test doubles for proc.Runner, the seam
// between a proc.Cmd and whatever runs it: proctest is to package proc
// what net/http/httptest is to net/http. Code under test takes a
// proc.Runner (or a Cmd carrying one, Cmd.Runner); a test hands it one of
// these instead of the default runner, and nothing is spawned.
//
//   - Script answers commands from rules (exact arguments, a prefix, or a
//     predicate) with scripted replies: output, exit codes, timeouts,
//     signals, start failures, cancellation, and lines spread over time.
//     A command no rule expects fails the test with a cmp.Diff against
//     the nearest rule.
//   - Recorder wraps any runner and records every invocation, with
//     assertions that print a cmp.Diff on a mismatch.
//   - Cassette records real runs to a JSON file once and replays them
//     later without spawning anything (set TETHER_RECORD=1 to record).
//     It stores no environment value and nothing of stdin's bytes, unless
//     CassetteOptions.StdinKey asks for a keyed check of them.
//   - DryRun prints each command line instead of running it, for tools
//     with a --dry-run flag.
//
// Every double validates the Cmd first (proc.Cmd.Validate), so a
// malformed command fails as it would in production, and its Start
// returns a RunningProcess driven by proc.FakeProcess: callbacks
// (Cmd.OnLine), line iterators, events, readiness probes and interactive
// stdin work on it exactly as on a real process.
//
// A typical test:
//
//	s := proctest.NewScript(t)
//	s.On("git", "branch", "--show-current").Reply(proctest.Stdout("main\n"))
//	branch, err := proc.Command("git", "branch", "--show-current").Runner(s).Run(ctx)
//
// docs/testing.md ("Testing code that runs processes") walks through the
// patterns.
package proctest
