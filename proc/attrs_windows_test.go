//go:build windows

package proc_test

import (
	"testing"

	"golang.org/x/sys/windows"

	"github.com/gotether/tether/internal/testchild"
)

// Nice chooses the child's priority class when it is created.
func TestNiceChoosesThePriorityClass(t *testing.T) {
	if underWine() {
		// Measured with Wine 8 on Linux 6.18: a child created with
		// IDLE_PRIORITY_CLASS in its creation flags reads
		// NORMAL_PRIORITY_CLASS (0x20) from GetPriorityClass, though
		// SetPriorityClass on a running process is kept.
		t.Skip("Wine ignores the priority class in CreateProcess's creation flags: every child reads NORMAL_PRIORITY_CLASS")
	}
	for nice, want := range map[int]uint32{
		19: windows.IDLE_PRIORITY_CLASS, 10: windows.BELOW_NORMAL_PRIORITY_CLASS,
		0: windows.NORMAL_PRIORITY_CLASS, -5: windows.ABOVE_NORMAL_PRIORITY_CLASS,
		-20: windows.HIGH_PRIORITY_CLASS,
	} {
		r, err := child(testchild.ModeAttrs).Nice(nice).Output(ctxFor(t, patience))
		if err != nil || r.Err() != nil {
			t.Fatal(err, r.Err())
		}
		reps, err := testchild.ParseReports(r.Stdout)
		if err != nil || len(reps) != 1 || reps[0].Err != "" {
			t.Fatalf("reports %v, %v", reps, err)
		}
		if got := reps[0].PriorityClass; got != want {
			t.Errorf("Nice(%d): priority class %#x, want %#x", nice, got, want)
		}
	}
}
