package proc_test

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// TestTerminalRefusedBeforeSpawningWhereThereIsNone: where tether makes
// no terminal (none of the systems the tests run on), a terminal run fails
// with ErrUnsupported and spawns nothing, for a real run and a scripted
// one alike.
func TestTerminalRefusedBeforeSpawningWhereThereIsNone(t *testing.T) {
	switch runtime.GOOS {
	case "linux", "darwin", "freebsd", "netbsd", "openbsd", "dragonfly", "windows":
		t.Skip("a terminal can be made on " + runtime.GOOS + "; terminal_linux_test.go and terminal_windows_test.go run it")
	}
	ctx := ctxFor(t, patience)
	marker := filepath.Join(testchild.TempDir(t), "ran")
	c := script("pids", marker).Terminal(24, 80)
	r, err := c.Output(ctx)
	if !errors.Is(err, proc.ErrUnsupported) || r != nil {
		t.Fatalf("Output: %v %v, want ErrUnsupported and no result", r, err)
	}
	if err := c.Validate(); !errors.Is(err, proc.ErrUnsupported) {
		t.Errorf("Validate: %v, want ErrUnsupported", err)
	}
	if _, err := proc.NewFakeProcess(ctx, c, 1); !errors.Is(err, proc.ErrUnsupported) {
		t.Errorf("a scripted run: %v, want ErrUnsupported as the real runner", err)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the child ran: %v", err)
	}
}
