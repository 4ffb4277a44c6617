//go:build linux

package testchild

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gotether/tether/internal/sysproc"
)

// leftovers lists live processes this test process started (they carry
// its owner tag) and the tether-<its pid>-* cgroup directories it made on
// any cgroup2 mount. It kills the processes by pid, so one failing suite
// does not spoil the next.
//
// A tagged process gets leftoverGrace to die before it counts: the
// owner-death watchdog of a helper owner (a re-executed test binary that
// ran tether itself) ends on its own when that owner exits, a few
// milliseconds later, and the check would otherwise race it.
func leftovers() []string {
	var out []string
	me := []byte(ownerEnv + "=" + strconv.Itoa(os.Getpid()) + "\x00")
	var tagged []int
	pids, _ := sysproc.Pids()
	for _, p := range pids {
		env, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/environ")
		if err == nil && bytes.Contains(append(env, 0), me) {
			tagged = append(tagged, p)
		}
	}
	deadline := time.Now().Add(leftoverGrace)
	for {
		var alive []int
		for _, p := range tagged {
			if sysproc.Alive(p) {
				alive = append(alive, p)
			}
		}
		tagged = alive
		if len(tagged) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, p := range tagged {
		comm, _ := os.ReadFile("/proc/" + strconv.Itoa(p) + "/comm")
		out = append(out, "process "+strconv.Itoa(p)+" ("+strings.TrimSpace(string(comm))+")")
		KillPids(p)
	}
	for _, dir := range TetherCgroups() {
		out = append(out, "cgroup "+dir)
	}
	return out
}

// leftoverGrace is how long a tagged process may take to end after the
// suite before leftovers reports it.
const leftoverGrace = 2 * time.Second

// killCgroupsOf kills the trees in the tether-<pid>-* cgroups of the
// process pid (a helper that hung and was killed: nothing else will, if
// its watchdog is held up by a frozen child that inherited the watchdog's
// pipe), thaws and removes them, and returns their paths.
func killCgroupsOf(pid int) []string {
	dirs := cgroupsNamed("tether-" + strconv.Itoa(pid) + "-")
	for _, dir := range dirs {
		_ = os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
		_ = os.WriteFile(filepath.Join(dir, "cgroup.freeze"), []byte("0"), 0)
		deadline := time.Now().Add(Patience)
		for {
			ev, err := os.ReadFile(filepath.Join(dir, "cgroup.events"))
			if err != nil || strings.Contains(string(ev), "populated 0") || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		// Deepest first: a cgroup with nested ones cannot be removed.
		var nested []string
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				nested = append(nested, p)
			}
			return nil
		})
		for i := len(nested) - 1; i >= 0; i-- {
			_ = os.Remove(nested[i])
		}
	}
	return dirs
}

// TetherCgroups lists the directories named tether-<this pid>-* on every
// cgroup2 mount of this mount namespace: the cgroups this test process
// made. Other test binaries run in parallel and own theirs; `make test`
// checks for any tether-* directory once they all have finished.
func TetherCgroups() []string {
	return cgroupsNamed("tether-" + strconv.Itoa(os.Getpid()) + "-")
}

// cgroupsNamed lists the directories whose name starts with prefix on
// every cgroup2 mount, without descending into them.
func cgroupsNamed(mine string) []string {
	var out []string
	for _, mnt := range cgroup2Mounts() {
		_ = filepath.WalkDir(mnt, func(path string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() {
				return nil
			}
			if strings.HasPrefix(d.Name(), mine) {
				out = append(out, path)
				return filepath.SkipDir
			}
			return nil
		})
	}
	return out
}

func cgroup2Mounts() []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, ln := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(ln, " - ")
		if !ok || !strings.HasPrefix(post, "cgroup2 ") {
			continue
		}
		if f := strings.Fields(pre); len(f) >= 5 {
			out = append(out, f[4])
		}
	}
	return out
}
