package proctest_test

import "github.com/gotether/tether/proc"

// hostLine is what a DryRun prints on this host.
func hostLine(*proc.Cmd) string { return `rm -rf "my dir"` }
