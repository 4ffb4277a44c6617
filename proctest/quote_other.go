//go:build !windows

package proctest

import "github.com/gotether/tether/proc"

// hostCommandLine quotes c for a POSIX shell.
func hostCommandLine(c *proc.Cmd) string { return c.CommandLine() }
