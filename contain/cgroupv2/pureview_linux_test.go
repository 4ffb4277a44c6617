//go:build linux

package cgroupv2

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

const pureViewEnv = "TETHER_PURE_V2_VIEW"

// TestPureV2View runs this package's suite a second time in a private
// mount namespace where a fresh cgroup2 mount replaces /sys/fs/cgroup, so
// the code paths of a pure unified host run here too. The host's own
// mounts are untouched: the namespace dies with the test.
func TestPureV2View(t *testing.T) {
	if os.Getenv(pureViewEnv) != "" {
		h, err := discover()
		if err != nil {
			t.Fatal(err)
		}
		if h.mountpoint != "/sys/fs/cgroup" || h.layout() != "unified" {
			t.Fatalf("inside the pure view the hierarchy is %s (%s), want /sys/fs/cgroup (unified)", h.mountpoint, h.layout())
		}
		return
	}
	var st unix.Statfs_t
	if err := unix.Statfs("/sys/fs/cgroup", &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
		t.Skip("/sys/fs/cgroup is already cgroup2: the suite above ran on a pure unified host")
	}
	usable(t)
	if os.Geteuid() != 0 {
		t.Skip("a private mount namespace with a fresh cgroup2 mount needs root")
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skip("unshare (util-linux) is not installed")
	}
	script := `umount -R /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && exec "$0" "$@"`
	cmd := exec.Command(unshare, "-m", "--propagation", "private", "sh", "-c", script,
		os.Args[0], "-test.run", "^Test", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), pureViewEnv+"=1")
	out, err := cmd.CombinedOutput()
	text := string(out)
	if err != nil {
		t.Fatalf("suite in the pure v2 view failed: %v\n%s", err, text)
	}
	// The view must really have exercised the backend, not skipped it.
	for _, must := range []string{
		"--- PASS: TestPureV2View",
		"--- PASS: TestConformance/Kill/ConfirmsTreeDead",
		"--- PASS: TestConformance/Freeze/StopsAndThawResumes",
		"(unified layout) mounted at /sys/fs/cgroup;",
	} {
		if !strings.Contains(text, must) {
			t.Fatalf("pure v2 view output lacks %q:\n%s", must, text)
		}
	}
	t.Logf("suite passed again in the pure v2 view: %d tests", strings.Count(text, "--- PASS"))
}
