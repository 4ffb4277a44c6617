//go:build !windows

package jobobject_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/jobobject"
)

func runHelper(h string, _ []string) int {
	fmt.Fprintln(os.Stderr, "jobobject helper", h, "exists only on Windows")
	return 2
}

func TestAvailabilityOffWindowsSaysUnusableAndWhy(t *testing.T) {
	a := jobobject.New().Availability()
	if a.Usable {
		t.Fatal("Usable = true off Windows")
	}
	if a.Mechanism != contain.JobObject {
		t.Errorf("Mechanism = %q, want %q", a.Mechanism, contain.JobObject)
	}
	want := "Job Objects are a Windows facility; this host is " + runtime.GOOS
	if a.Reason != want {
		t.Errorf("Reason = %q, want %q", a.Reason, want)
	}
	if a.LimitsSupported() {
		t.Error("limits reported supported off Windows")
	}
	if len(a.Limits) != len(contain.AllLimitKinds) {
		t.Errorf("Limits has %d entries, want one per kind (%d)", len(a.Limits), len(contain.AllLimitKinds))
	}
}

func TestNewOffWindowsFailsNotUsable(t *testing.T) {
	b := jobobject.New()
	if b.Mechanism() != contain.JobObject {
		t.Errorf("Mechanism = %q", b.Mechanism())
	}
	c, err := b.NewContainer(context.Background(), contain.Options{})
	if c != nil {
		t.Fatal("NewContainer returned a container off Windows")
	}
	if !errors.Is(err, contain.ErrNotUsable) {
		t.Fatalf("NewContainer error = %v, want one matching ErrNotUsable", err)
	}
	var nu *contain.NotUsableError
	if !errors.As(err, &nu) || !strings.Contains(nu.Reason, runtime.GOOS) {
		t.Fatalf("NewContainer error = %#v, want a *contain.NotUsableError naming %s", err, runtime.GOOS)
	}
}

// start is Container.Start: only Wine needs the retry of the Windows
// tests' start.
func start(c contain.Container, cmd *exec.Cmd) error { return c.Start(cmd) }
