//go:build !unix

package watchdog_test

import (
	"errors"
	"testing"

	"github.com/gotether/tether/internal/watchdog"
)

func TestUnsupportedOffUnix(t *testing.T) {
	if _, err := watchdog.RegisterGroup(42); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("RegisterGroup = %v, want errors.ErrUnsupported", err)
	}
	if err := watchdog.Start(); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("Start = %v, want errors.ErrUnsupported", err)
	}
}
