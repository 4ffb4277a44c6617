//go:build linux

package cgroupv2

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gotether/tether/internal/sysproc"
)

// hierarchy is where the cgroup v2 tree is mounted and where this process
// sits in it.
type hierarchy struct {
	mountpoint string // e.g. /sys/fs/cgroup/unified
	mountRoot  string // the hierarchy path the mount shows at its top ("/" unless a cgroup namespace or bind mount)
	readOnly   bool
	own        string // this process's cgroup path from /proc/self/cgroup, e.g. "/" or "/user.slice/x"
}

// layout names the host's arrangement for reports.
func (h hierarchy) layout() string {
	switch h.mountpoint {
	case "/sys/fs/cgroup":
		return "unified"
	case "/sys/fs/cgroup/unified":
		return "hybrid"
	}
	return "custom mount"
}

// dirOf maps a hierarchy path to a directory under the mount, or fails if
// the mount does not show it (a ".." past the mount's root, as a cgroup
// namespace shows a cgroup outside it, would lead out of the mount).
func (h hierarchy) dirOf(cgpath string) (string, error) {
	rel, ok := strings.CutPrefix(cgpath, h.mountRoot)
	if !ok || (rel != "" && h.mountRoot != "/" && !strings.HasPrefix(rel, "/")) || slices.Contains(strings.Split(rel, "/"), "..") {
		return "", fmt.Errorf("cgroup %s is outside the cgroup2 mount at %s (which shows %s)", cgpath, h.mountpoint, h.mountRoot)
	}
	return filepath.Join(h.mountpoint, rel), nil
}

// discover reads /proc/self/mountinfo and /proc/self/cgroup.
func discover() (hierarchy, error) {
	mi, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return hierarchy{}, fmt.Errorf("reading /proc/self/mountinfo: %w", err)
	}
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return hierarchy{}, fmt.Errorf("reading /proc/self/cgroup: %w", err)
	}
	return discoverFrom(mi, cg)
}

var errNoMount = errors.New("no cgroup2 filesystem is mounted (looked in /proc/self/mountinfo)")

func discoverFrom(mountinfo, procCgroup []byte) (hierarchy, error) {
	own, ok := sysproc.CgroupV2Path(procCgroup)
	if !ok {
		return hierarchy{}, errors.New("/proc/self/cgroup has no cgroup v2 line (0::/...): this process is not in a cgroup v2 hierarchy")
	}
	mounts := cgroup2Mounts(mountinfo)
	if len(mounts) == 0 {
		return hierarchy{}, errNoMount
	}
	// Prefer the conventional places, and a mount that shows our own cgroup.
	rank := func(h hierarchy) int {
		r := 0
		if _, err := h.dirOf(own); err != nil {
			r += 10
		}
		switch h.mountpoint {
		case "/sys/fs/cgroup":
		case "/sys/fs/cgroup/unified":
			r++
		default:
			r += 2
		}
		return r
	}
	best := mounts[0]
	for _, m := range mounts[1:] {
		if rank(m) < rank(best) {
			best = m
		}
	}
	best.own = own
	return best, nil
}

// cgroup2Mounts parses mountinfo lines of the form
// "id parent maj:min root mountpoint options [optional...] - fstype source superoptions".
// Lines may be of any length (an overlay mount's options can pass 64 KiB),
// and fields are separated by single spaces: a path may hold other blanks
// (\v, \r, a no-break space), which the kernel does not escape.
func cgroup2Mounts(mountinfo []byte) []hierarchy {
	var out []hierarchy
	for line := range strings.Lines(string(mountinfo)) {
		pre, post, ok := strings.Cut(strings.TrimSuffix(line, "\n"), " - ")
		if !ok || !strings.HasPrefix(post, "cgroup2 ") {
			continue
		}
		f := strings.Split(pre, " ")
		if len(f) < 6 {
			continue
		}
		ro := false
		for _, o := range strings.Split(f[5], ",") {
			ro = ro || o == "ro"
		}
		root, point := unescape(f[3]), unescape(f[4])
		if !strings.HasPrefix(root, "/") || !strings.HasPrefix(point, "/") {
			// The kernel writes both as absolute paths: anything else is
			// not a mount we could map cgroups onto.
			continue
		}
		out = append(out, hierarchy{mountRoot: root, mountpoint: point, readOnly: ro})
	}
	return out
}

// unescape undoes mountinfo's octal escapes (\040 for a space, ...).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
