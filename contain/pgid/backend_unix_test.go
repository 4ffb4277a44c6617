//go:build unix

package pgid

import (
	"slices"
	"testing"

	"github.com/gotether/tether/contain"
)

func TestAvailabilityIsUsableAndHonest(t *testing.T) {
	b := New()
	a := b.Availability()
	if b.Mechanism() != contain.PGID {
		t.Errorf("Mechanism = %q", b.Mechanism())
	}
	if !a.Usable || a.Mechanism != contain.PGID || a.Reason == "" {
		t.Fatalf("Availability = %+v", a)
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
