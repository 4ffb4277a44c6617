package host

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gotether/tether/contain"
)

// fake is a backend with a fixed verdict; choose only probes it.
type fake struct {
	m      contain.Mechanism
	usable bool
	reason string
}

func (f fake) Mechanism() contain.Mechanism { return f.m }
func (f fake) Availability() contain.Availability {
	return contain.Availability{Mechanism: f.m, Usable: f.usable, Reason: f.reason}
}
func (f fake) NewContainer(context.Context, contain.Options) (contain.Container, error) {
	return nil, errors.New("fake")
}

func TestChooseRecordsWhyItFellBack(t *testing.T) {
	sel, _ := chooseFrom([]contain.Backend{
		fake{contain.CgroupV2, false, "no cgroup2 filesystem is mounted"},
		fake{contain.PGID, true, "process groups"},
	}, nil, false)
	if !sel.Usable || sel.Backend.Mechanism() != contain.PGID {
		t.Fatalf("chose %v (usable %v)", sel.Backend.Mechanism(), sel.Usable)
	}
	for _, want := range []string{"cgroupv2 not usable (no cgroup2 filesystem is mounted)", "fell back to pgid"} {
		if !strings.Contains(sel.Reason, want) {
			t.Errorf("reason %q lacks %q", sel.Reason, want)
		}
	}
}

func TestChooseWithNothingUsable(t *testing.T) {
	sel, _ := chooseFrom([]contain.Backend{fake{contain.JobObject, false, "not windows"}}, nil, false)
	if sel.Usable || sel.Backend == nil || !strings.Contains(sel.Reason, "no backend is usable: jobobject not usable (not windows)") {
		t.Fatalf("got %+v", sel)
	}
}

// chooseFrom stops at the first usable candidate for the default, and
// probes everything, in order, for the report.
func TestChooseFromProbesEverythingOnlyForTheReport(t *testing.T) {
	cands := []contain.Backend{fake{contain.JobObject, true, "jobs"}, fake{contain.PGID, true, "groups"}}
	others := []contain.Backend{fake{contain.CgroupV2, false, "not linux"}}
	sel, avail := chooseFrom(cands, others, false)
	if sel.Backend.Mechanism() != contain.JobObject || len(avail) != 1 {
		t.Fatalf("default: chose %s after probing %d backends, want jobobject after 1", sel.Backend.Mechanism(), len(avail))
	}
	sel, avail = chooseFrom(cands, others, true)
	var got []contain.Mechanism
	for _, a := range avail {
		got = append(got, a.Mechanism)
	}
	if sel.Backend.Mechanism() != contain.JobObject || strings.Join(mechs(got), " ") != "jobobject pgid cgroupv2" {
		t.Fatalf("report: chose %s, listed %v", sel.Backend.Mechanism(), got)
	}
}

func mechs(ms []contain.Mechanism) []string {
	var out []string
	for _, m := range ms {
		out = append(out, string(m))
	}
	return out
}

func TestReportListsEveryBackend(t *testing.T) {
	r := Inspect()
	seen := map[contain.Mechanism]bool{}
	for _, a := range r.Backends {
		seen[a.Mechanism] = true
		if a.Reason == "" {
			t.Errorf("%s has no reason", a.Mechanism)
		}
	}
	for _, m := range []contain.Mechanism{contain.CgroupV2, contain.Systemd, contain.PGID, contain.JobObject} {
		if !seen[m] {
			t.Errorf("report lacks %s", m)
		}
	}
	if r.Default == "" || r.DefaultReason == "" || r.OwnerDeath == "" || r.Kernel == "" || r.Watchdog == "" {
		t.Errorf("incomplete report: %+v", r)
	}
	if Default().Backend.Mechanism() != r.Default {
		t.Errorf("Default() = %s, report says %s", Default().Backend.Mechanism(), r.Default)
	}
}
