package proctest

import "github.com/gotether/tether/proc"

// hostCommandLine quotes c for cmd.exe and CommandLineToArgvW.
func hostCommandLine(c *proc.Cmd) string {
	return windowsCommandLine(append([]string{c.Name()}, c.Args()...))
}
