//go:build linux

package sysproc

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// CgroupV2Path finds the path of the cgroup v2 line ("0::PATH") in the
// contents of a /proc/<pid>/cgroup file, without the " (deleted)" the
// kernel appends to a removed cgroup. Lines are cut at "\n" alone: the
// kernel escapes nothing in a path, which may end with a "\r". ok is
// false when there is no such line (a process outside any cgroup v2
// hierarchy).
func CgroupV2Path(procCgroup []byte) (path string, ok bool) {
	for line := range strings.Lines(string(procCgroup)) {
		if p, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "0::"); ok {
			return strings.TrimSuffix(p, " (deleted)"), true
		}
	}
	return "", false
}

// CgroupV2Of reads the cgroup v2 path of process pid (0: the calling
// process) from /proc.
func CgroupV2Of(pid int) (string, error) {
	who := "self"
	if pid != 0 {
		who = strconv.Itoa(pid)
	}
	b, err := os.ReadFile("/proc/" + who + "/cgroup")
	if err != nil {
		return "", err
	}
	p, ok := CgroupV2Path(b)
	if !ok {
		return "", fmt.Errorf("/proc/%s/cgroup has no cgroup v2 line: %w", who, errNoCgroupV2)
	}
	return p, nil
}

// errNoCgroupV2: the process is in no cgroup v2 hierarchy.
var errNoCgroupV2 = errors.New("the process is not in a cgroup v2 hierarchy")
