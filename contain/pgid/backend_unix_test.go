//go:build unix

package pgid

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/gotether/tether/contain"
)

func TestProbeIsUsableAndHonest(t *testing.T) {
	b := New()
	a := b.Probe()
	if b.Mechanism() != contain.PGID {
		t.Errorf("Mechanism = %q", b.Mechanism())
	}
	if !a.Usable || a.Mechanism != contain.PGID || a.Reason == "" {
		t.Fatalf("Probe = %+v", a)
	}
	if a.ContainsSetsid {
		t.Error("ContainsSetsid must be false: setsid escapes a process group")
	}
	if !slices.Contains(a.Notes, "a descendant that calls setsid or setpgid leaves the group and escapes") {
		t.Errorf("Notes %q do not state the setsid escape", a.Notes)
	}
	if a.OwnerDeath == "" {
		t.Error("OwnerDeath is empty")
	}
	if len(a.Limits) != len(contain.AllLimitKinds) || a.LimitsSupported() {
		t.Errorf("Limits = %+v, want every kind unsupported", a.Limits)
	}
	for _, l := range a.Limits {
		if l.Supported || l.Reason == "" {
			t.Errorf("limit %s: %+v", l.Kind, l)
		}
	}
}

func TestNewRejectsLimits(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit contain.Limit
		want  error
	}{
		{"zero memory", contain.MemoryMax(0), contain.ErrInvalidLimit},
		{"negative processes", contain.MaxProcesses(-1), contain.ErrInvalidLimit},
		{"NaN cpu", contain.CPUQuota(math.NaN()), contain.ErrInvalidLimit},
		{"valid memory", contain.MemoryMax(1 << 30), contain.ErrUnsupported},
		{"valid processes", contain.MaxProcesses(10), contain.ErrUnsupported},
		{"valid cpu", contain.CPUQuota(0.5), contain.ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := New().New(context.Background(), contain.Options{Limits: []contain.Limit{tc.limit}})
			var le *contain.LimitError
			if c != nil || !errors.As(err, &le) || !errors.Is(err, tc.want) {
				t.Fatalf("New = %v, %v; want a *contain.LimitError matching %v", c, err, tc.want)
			}
		})
	}
}

func TestSignalRejectsNonPOSIXSignal(t *testing.T) {
	c, err := New().New(context.Background(), contain.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if c.Mechanism() != contain.PGID {
		t.Errorf("Mechanism = %q", c.Mechanism())
	}
	if err := c.Signal(fakeSignal{}); !errors.Is(err, contain.ErrUnsupported) {
		t.Fatalf("Signal(fake) = %v, want ErrUnsupported", err)
	}
}

type fakeSignal struct{}

func (fakeSignal) String() string { return "fake" }
func (fakeSignal) Signal()        {}
