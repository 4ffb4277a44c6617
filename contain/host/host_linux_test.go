//go:build linux

package host

import (
	"os"
	"strings"
	"testing"

	"github.com/gotether/tether/contain"
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
	r := Probe()
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
	r := Probe()
	if !r.WatchdogUsable || !strings.HasPrefix(r.Watchdog, "re-executes /proc/self/exe (") {
		t.Fatalf("watchdog %q (usable %v), want the re-executed /proc/self/exe", r.Watchdog, r.WatchdogUsable)
	}
}
