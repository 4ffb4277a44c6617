//go:build linux

package testchild

import (
	"testing"

	"github.com/gotether/tether/internal/sysproc"
)

// CgroupOf returns pid's cgroup v2 path (the "0::" line of
// /proc/<pid>/cgroup), failing t when it cannot be read.
func CgroupOf(t testing.TB, pid int) string {
	t.Helper()
	p, err := sysproc.CgroupV2Of(pid)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
