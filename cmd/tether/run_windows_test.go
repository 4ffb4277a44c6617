package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/gotether/tether/internal/testchild"
)

// stopForCleanup ends a tether left running by a failed test. Windows
// has no SIGTERM to send; the job object kills the tree with tether.
func stopForCleanup(p *os.Process) { _ = p.Kill() }

// TestRunUIDGIDRefusedOnWindows: Windows has no numeric user and group
// IDs; --uid and --gid are a usage error that names the system.
func TestRunUIDGIDRefusedOnWindows(t *testing.T) {
	for _, flag := range []string{"--uid", "--gid"} {
		var out, errb bytes.Buffer
		code := run([]string{"run", flag, "0", "--", testchild.Exe()}, &out, &errb)
		releaseHeld()
		if code != exitTether || !strings.Contains(errb.String(), "not supported on windows") {
			t.Errorf("%s: exit %d, stderr %q; want 125 naming windows", flag, code, errb.String())
		}
	}
}
