//go:build linux

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gotether/tether/contain/host"
	"github.com/gotether/tether/internal/sysproc"
	"github.com/gotether/tether/internal/testchild"
)

// ownedAlive lists the live processes that carry this test process's
// owner tag: every tether it started, their trees and their watchdogs.
func ownedAlive() []int {
	tag := []byte("TETHER_TEST_OWNER=" + strconv.Itoa(os.Getpid()) + "\x00")
	pids, _ := sysproc.Pids()
	var out []int
	for _, p := range pids {
		env, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/environ")
		if err == nil && bytes.Contains(append(env, 0), tag) && sysproc.Alive(p) {
			out = append(out, p)
		}
	}
	return out
}

// waitNothingLeft polls until no process this test started is alive. The
// tree itself is checked at once by assertDead; what may linger briefly
// is a tether's watchdog, which exits when it sees its owner gone.
func waitNothingLeft(t testing.TB) {
	t.Helper()
	var left []int
	deadline := time.Now().Add(testchild.Patience)
	for {
		if left = ownedAlive(); len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, p := range left {
		cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(p) + "/cmdline")
		t.Errorf("pid %d (%q) still alive", p, bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
	}
	testchild.KillPids(left...)
}

// TestRunOwnerSIGKILLKillsTheTree: if tether itself is SIGKILLed (no
// chance to tear anything down), the tree still dies within 2 s, on
// every Linux mechanism: proc runs every container with
// contain.Options.KillOnOwnerDeath, whose watchdog sees the owner go.
func TestRunOwnerSIGKILLKillsTheTree(t *testing.T) {
	for _, a := range host.Inspect().Backends {
		if !a.Usable {
			continue
		}
		t.Run(string(a.Mechanism), func(t *testing.T) {
			pidfile := filepath.Join(testchild.TempDir(t), "pids")
			tp := startTether(t, nil, append([]string{"--mechanism", string(a.Mechanism)}, script("hold", "pids", pidfile, "block")...)...)
			tree := waitPids(t, pidfile)
			owner := tp.cmd.Process.Pid
			t.Cleanup(func() { cleanOrphans(t, owner, tree) })

			killed := time.Now()
			if err := tp.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			if code := tp.exitCode(t); code != -1 {
				t.Fatalf("tether exited %d after SIGKILL", code)
			}
			const limit = 2 * time.Second
			for {
				alive := 0
				for _, p := range tree {
					if testchild.Alive(p) {
						alive++
					}
				}
				if alive == 0 {
					t.Logf("tree of %d dead %v after tether's SIGKILL", len(tree), time.Since(killed))
					break
				}
				if time.Since(killed) > limit {
					t.Fatalf("%d of %d members of the tree %v still alive %v after tether was SIGKILLed: nothing killed the tree on its owner's death (contain.Options.KillOnOwnerDeath: is the watchdog in place?)", alive, len(tree), tree, limit)
				}
				time.Sleep(5 * time.Millisecond)
			}
			waitNothingLeft(t)
		})
	}
}

// cleanOrphans, after the owner-death test, kills by pid whatever of the
// tree survived and removes the cgroups named after the dead tether once
// they are empty (the watchdog removes them when it does its job).
func cleanOrphans(t *testing.T, owner int, tree []int) {
	testchild.KillPids(tree...)
	testchild.WaitDead(t, testchild.Patience, tree...)
	prefix := "tether-" + strconv.Itoa(owner) + "-"
	for _, mnt := range cgroup2Mounts() {
		_ = filepath.WalkDir(mnt, func(path string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() || !strings.HasPrefix(d.Name(), prefix) {
				return nil
			}
			testchild.Poll(t, testchild.Patience, "the orphaned cgroup to empty", func() bool {
				b, err := os.ReadFile(filepath.Join(path, "cgroup.events"))
				return err != nil || bytes.Contains(b, []byte("populated 0"))
			})
			if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
				t.Errorf("removing the orphaned cgroup %s: %v", path, err)
			}
			return filepath.SkipDir
		})
	}
}

func cgroup2Mounts() []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, ln := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(ln, " - ")
		if f := strings.Fields(pre); ok && strings.HasPrefix(post, "cgroup2 ") && len(f) >= 5 {
			out = append(out, f[4])
		}
	}
	return out
}
