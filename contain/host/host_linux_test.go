//go:build linux

package host

import (
	"os"
	"strings"
	"testing"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/systemd"
)

// On this project's machines (hybrid cgroups, root) the default must be
// cgroup v2 with the hybrid mount found, never a silent fall-back.
func TestDefaultIsCgroupV2OnHybridHost(t *testing.T) {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mi), " /sys/fs/cgroup/unified ") || os.Geteuid() != 0 {
		t.Skip("not a hybrid cgroup host with root: the project's machines are")
	}
	r := Inspect()
	if r.Default != contain.CgroupV2 || !r.DefaultUsable {
		t.Fatalf("default = %s (%s), want cgroupv2", r.Default, r.DefaultReason)
	}
	if !strings.Contains(r.DefaultReason, "hybrid layout) mounted at /sys/fs/cgroup/unified") {
		t.Fatalf("reason %q does not name the hybrid mount", r.DefaultReason)
	}
	if !r.SetsidContained {
		t.Fatal("cgroup v2 contains setsid escapees")
	}
}

// The report names the watchdog the program gets without starting one.
func TestReportNamesTheWatchdog(t *testing.T) {
	r := Inspect()
	if !r.WatchdogUsable || !strings.HasPrefix(r.Watchdog, "re-executes /proc/self/exe (") {
		t.Fatalf("watchdog %q (usable %v), want the re-executed /proc/self/exe", r.Watchdog, r.WatchdogUsable)
	}
}

// The Linux choice, for every kind of host, from faked facts: this
// machine has no systemd, so the systemd rows can be checked only here
// (and for real in the systemd VM, make test-systemd).
func TestDecideLinux(t *testing.T) {
	usable := func(m contain.Mechanism, why string) contain.Availability {
		return contain.Availability{Mechanism: m, Usable: true, Reason: why}
	}
	unusable := func(m contain.Mechanism, why string) contain.Availability {
		return contain.Availability{Mechanism: m, Reason: why}
	}
	cgOK := usable(contain.CgroupV2, "cgroup2 mounted at /sys/fs/cgroup")
	cgNo := unusable(contain.CgroupV2, "not root, and the cgroup is not delegated")
	sdOK := usable(contain.Systemd, "the user manager of uid 1000 answers")
	sdNo := unusable(contain.Systemd, "the user manager of uid 1000 does not answer")
	pg := usable(contain.PGID, "process groups")
	delegated := systemd.Delegation{Cgroup: "/system.slice/ci.service", Delegated: true, Reason: "xattr trusted.delegate=1"}
	managed := systemd.Delegation{Cgroup: "/system.slice/ci.service", Reason: "ci.service is not delegated"}
	for _, tc := range []struct {
		name   string
		f      facts
		want   contain.Mechanism
		usable bool
		says   []string
	}{
		{"systemd, root in a Delegate=yes service: our own cgroup", facts{booted: true, own: delegated, cgroupV2: cgOK, systemd: sdOK, pgid: pg},
			contain.CgroupV2, true, []string{"systemd is PID 1", "delegated this process's own cgroup", "xattr trusted.delegate=1", "cgroupv2 is usable there"}},
		{"systemd, root in a plain service: a scope, never systemd's cgroup", facts{booted: true, own: managed, cgroupV2: cgOK, systemd: sdOK, pgid: pg},
			contain.Systemd, true, []string{"not delegated to it, so tether must not create cgroups there", "ci.service is not delegated", "systemd is usable: the user manager"}},
		{"systemd, a user in a login session: a scope", facts{booted: true, cgroupV2: cgNo, systemd: sdOK, pgid: pg},
			contain.Systemd, true, []string{"may not create cgroups in its own (cgroupv2 not usable: not root", "systemd is usable"}},
		{"systemd, delegated but read-only: a scope", facts{booted: true, own: delegated, cgroupV2: unusable(contain.CgroupV2, "read-only mount"), systemd: sdOK, pgid: pg},
			contain.Systemd, true, []string{"read-only mount", "systemd is usable"}},
		{"systemd, root, no bus: pgid, not systemd's cgroup", facts{booted: true, own: managed, cgroupV2: cgOK, systemd: sdNo, pgid: pg},
			contain.PGID, true, []string{"must not create cgroups there", "systemd not usable (the user manager of uid 1000 does not answer)", "fell back to pgid", "does not hold descendants that call setsid"}},
		{"systemd, a user, no bus: pgid", facts{booted: true, cgroupV2: cgNo, systemd: sdNo, pgid: pg},
			contain.PGID, true, []string{"cgroupv2 not usable", "systemd not usable", "fell back to pgid"}},
		{"no systemd, writable cgroup: cgroupv2", facts{cgroupV2: cgOK, systemd: unusable(contain.Systemd, "no systemd"), pgid: pg},
			contain.CgroupV2, true, []string{"systemd is not PID 1", "cgroupv2 is usable: cgroup2 mounted"}},
		{"no systemd, no cgroup: pgid", facts{cgroupV2: cgNo, pgid: pg},
			contain.PGID, true, []string{"systemd is not PID 1", "cgroupv2 not usable (not root", "fell back to pgid"}},
		{"systemd, nothing usable", facts{booted: true, cgroupV2: cgNo, systemd: sdNo, pgid: unusable(contain.PGID, "no")},
			contain.Systemd, false, []string{"no backend is usable", "pgid not usable (no)"}},
		{"no systemd, nothing usable", facts{cgroupV2: cgNo, pgid: unusable(contain.PGID, "no")},
			contain.CgroupV2, false, []string{"no backend is usable"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, ok, why := decide(tc.f)
			if m != tc.want || ok != tc.usable {
				t.Fatalf("chose %s (usable %v), want %s (usable %v): %s", m, ok, tc.want, tc.usable, why)
			}
			for _, s := range tc.says {
				if !strings.Contains(why, s) {
					t.Errorf("reason %q lacks %q", why, s)
				}
			}
		})
	}
}

// Without systemd the default needs no D-Bus: the systemd backend is not
// even probed for it, only for the report.
func TestGatherSkipsSystemdWithoutIt(t *testing.T) {
	if systemd.Booted() {
		t.Skip("systemd is PID 1 here: the VM tier (make test-systemd) checks this host kind")
	}
	if f := gather(false); f.systemd.Usable || !strings.Contains(f.systemd.Reason, "not probed") {
		t.Fatalf("systemd availability for the default: %+v", f.systemd)
	}
	if f := gather(true); !strings.Contains(f.systemd.Reason, "systemd is not PID 1") {
		t.Fatalf("systemd availability for the report: %+v", f.systemd)
	}
}
