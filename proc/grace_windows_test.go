//go:build windows

package proc_test

import (
	"errors"
	"os"
	"testing"
	"time"

	"github.com/gotether/tether/proc"
)

// Windows has no signals: a graceful stop request fails before spawning
// instead of being silently skipped.
func TestGraceIsUnsupportedOnWindows(t *testing.T) {
	r, err := script("block").Timeout(time.Second).Grace(os.Interrupt, time.Second).Output(ctxFor(t, patience))
	if r != nil || !errors.Is(err, proc.ErrUnsupported) {
		t.Fatalf("Output = %v, %v; want ErrUnsupported", r, err)
	}
	for name, c := range map[string]*proc.Cmd{
		"setsid":     script().Setsid(),
		"credential": script().Credential(1, 1),
	} {
		if _, err := c.Output(ctxFor(t, patience)); !errors.Is(err, proc.ErrUnsupported) {
			t.Errorf("%s: %v, want ErrUnsupported", name, err)
		}
	}
}
