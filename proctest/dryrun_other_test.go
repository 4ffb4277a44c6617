//go:build !windows

package proctest_test

import "github.com/gotether/tether/proc"

// hostLine is what a DryRun prints on this host: POSIX sh quoting.
func hostLine(c *proc.Cmd) string { return c.CommandLine() }
