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

// TetherCgroups lists the directories named tether-<this pid>-* on every
// cgroup2 mount of this mount namespace: the cgroups this test process
// made. Other test binaries run in parallel and own theirs; `make test`
// checks for any tether-* directory once they all have finished.
func TetherCgroups() []string {
	mine := "tether-" + strconv.Itoa(os.Getpid()) + "-"
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
