//go:build linux

package cgroupv2

import (
	"errors"
	"testing"
)

func TestDiscoverFromLayouts(t *testing.T) {
	const (
		v1     = "25 24 0:22 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory\n"
		hybrid = "30 24 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n"
		pure   = "30 24 0:27 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw\n"
		custom = "40 24 0:27 / /mnt/my\\040cg ro,relatime - cgroup2 none rw\n"
		nsRoot = "41 24 0:27 /user.slice /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
	)
	for _, tc := range []struct {
		name, mountinfo, cgroup string
		wantMount, wantLayout   string
		wantDir                 string
		wantRO                  bool
	}{
		{"hybrid", v1 + hybrid, "12:memory:/x\n0::/\n", "/sys/fs/cgroup/unified", "hybrid", "/sys/fs/cgroup/unified", false},
		{"pure", pure, "0::/svc/app\n", "/sys/fs/cgroup", "unified", "/sys/fs/cgroup/svc/app", false},
		{"pure preferred over custom", custom + pure, "0::/\n", "/sys/fs/cgroup", "unified", "/sys/fs/cgroup", false},
		{"custom with escape", custom, "0::/a\n", "/mnt/my cg", "custom mount", "/mnt/my cg/a", true},
		{"mount rooted below the hierarchy root", nsRoot, "0::/user.slice/s\n", "/sys/fs/cgroup", "unified", "/sys/fs/cgroup/s", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := discoverFrom([]byte(tc.mountinfo), []byte(tc.cgroup))
			if err != nil {
				t.Fatal(err)
			}
			dir, err := h.dirOf(h.own)
			if err != nil {
				t.Fatal(err)
			}
			if h.mountpoint != tc.wantMount || h.layout() != tc.wantLayout || dir != tc.wantDir || h.readOnly != tc.wantRO {
				t.Fatalf("got mount %q layout %q dir %q ro %v", h.mountpoint, h.layout(), dir, h.readOnly)
			}
		})
	}
}

func TestDiscoverFromFailures(t *testing.T) {
	if _, err := discoverFrom([]byte("25 24 0:22 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"), []byte("0::/\n")); !errors.Is(err, errNoMount) {
		t.Fatalf("no cgroup2 mount: got %v", err)
	}
	if _, err := discoverFrom([]byte("30 24 0:27 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"), []byte("12:memory:/x\n")); err == nil {
		t.Fatal("no v2 line in /proc/self/cgroup: want an error")
	}
	h, err := discoverFrom([]byte("41 24 0:27 /a /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"), []byte("0::/b\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.dirOf(h.own); err == nil {
		t.Fatal("a cgroup outside the mount's root must not map to a directory")
	}
}

func TestCPUMax(t *testing.T) {
	for _, tc := range []struct {
		cores  float64
		quota  int64
		period uint64
	}{
		{1, 100000, 100000},
		{0.5, 50000, 100000},
		{2.25, 225000, 100000},
		{0.005, 5000, 1000000},
		{0.001, 1000, 1000000},
	} {
		q, p := cpuMax(tc.cores)
		if q != tc.quota || p != tc.period {
			t.Errorf("cpuMax(%v) = %d %d, want %d %d", tc.cores, q, p, tc.quota, tc.period)
		}
	}
}
