//go:build unix

package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotether/tether/internal/testchild"
)

// TestRunPreserveStatus: after a timeout, --preserve-status exits with
// how the program ended, as coreutils timeout does (128+N for signal N),
// where tether otherwise exits 124; the --json report says the same.
func TestRunPreserveStatus(t *testing.T) {
	for _, c := range []struct {
		name    string
		flags   []string
		ops     []string
		want    int
		timeout string
	}{
		{"without the flag", nil, []string{"block"}, exitTimedOut, "300ms"},
		{"killed", []string{"--preserve-status"}, []string{"block"}, 128 + 9, "300ms"},
		{"ended by the graceful TERM", []string{"--preserve-status", "-k", "1m"}, []string{"block"}, 128 + 15, "300ms"},
		{"ended by -s HUP", []string{"--preserve-status", "-k", "1m", "-s", "HUP"}, []string{"block"}, 128 + 1, "300ms"},
		// The program must have its TERM handler when the timeout fires:
		// 2 s is long enough for it to start under load.
		{"exited in the grace", []string{"--preserve-status", "--kill-after=1m"}, []string{"onterm", "bye", "block"}, 0, "2s"},
		{"grace without the flag", []string{"-k", "1m"}, []string{"onterm", "bye", "block"}, exitTimedOut, "2s"},
	} {
		t.Run(c.name, func(t *testing.T) {
			report := filepath.Join(testchild.TempDir(t), "r.json")
			args := append(append([]string{"--timeout", c.timeout, "--json", report}, c.flags...), script(c.ops...)...)
			code, tp := runTether(t, nil, args...)
			if code != c.want {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, c.want, tp.stderr)
			}
			if r := readReport(t, report); r["timed_out"] != true || r["status"] != float64(c.want) {
				t.Errorf("report %v", r)
			}
			if !strings.HasPrefix(tp.stderr.String(), "tether: timed out after "+c.timeout) {
				t.Errorf("stderr %q", tp.stderr)
			}
		})
	}
}

// TestRunKillAfterAProgramIgnoringTERM: -k (--kill-after) is --grace
// under timeout's name: TERM at the timeout, ignored, then the kill of
// the whole tree once the grace is over.
func TestRunKillAfterAProgramIgnoringTERM(t *testing.T) {
	for _, c := range []struct {
		flags []string
		want  int
	}{
		{[]string{"-k500ms"}, exitTimedOut},
		{[]string{"--kill-after", "500ms", "--preserve-status"}, 128 + 9},
	} {
		t.Run(strings.Join(c.flags, " "), func(t *testing.T) {
			pidfile := filepath.Join(testchild.TempDir(t), "pids")
			// The program must ignore TERM when the timeout fires: 1.5 s
			// is long enough for it to start under load.
			args := append(append([]string{"--timeout", "1.5s"}, c.flags...), script("ignoreterm", "hold", "pids", pidfile, "block")...)
			code, tp := runTether(t, nil, args...)
			took := time.Since(tp.started)
			t.Logf("exited %d after %v (timeout 1.5s, grace 500ms)", code, took)
			if code != c.want {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, c.want, tp.stderr)
			}
			if took < 2*time.Second {
				t.Errorf("exited after %v, before the timeout and the grace were over", took)
			}
			assertDead(t, waitPids(t, pidfile))
			waitNothingLeft(t)
		})
	}
}

// TestRunNice: --nice gives the program that nice value on Linux; the
// other unix systems cannot before the program runs, and refuse with 125
// before spawning.
func TestRunNice(t *testing.T) {
	if runtime.GOOS != "linux" {
		code, _, stderr := runIn(t, "--nice", "7", "--", testchild.Exe())
		if code != exitTether || !strings.Contains(stderr, "nice") {
			t.Fatalf("exit %d, stderr %q; want 125 and why", code, stderr)
		}
		return
	}
	r := attrsOf(t, "--nice", "7")
	if r.Nice == nil || *r.Nice != 7 {
		t.Fatalf("the program's nice value is %v, want 7 (report %+v)", r.Nice, r)
	}
}

// TestRunUIDGID: --uid and --gid run the program as that user and group,
// the one not given staying tether's own, with no supplementary group of
// tether's kept.
func TestRunUIDGID(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("switching to another user needs root (CAP_SETUID and CAP_SETGID)")
	}
	idsOf := func(flags ...string) string {
		t.Helper()
		code, tp := runTether(t, nil, append(flags, "--", "sh", "-c", `echo "$(id -u) $(id -g) $(id -G)"`)...)
		if code != 0 {
			t.Fatalf("tether %q: exit %d; stderr:\n%s", flags, code, tp.stderr)
		}
		return strings.TrimSpace(tp.stdout.String())
	}
	if got := idsOf("--uid", "65534", "--gid=65534"); got != "65534 65534 65534" {
		t.Errorf("--uid 65534 --gid 65534: uid gid groups %q", got)
	}
	gid := strconv.Itoa(os.Getgid())
	if got := idsOf("--uid", "65534"); got != "65534 "+gid+" "+gid {
		t.Errorf("--uid 65534 alone: uid gid groups %q, want the group to stay %s", got, gid)
	}
	if got := idsOf("--gid", "65534"); got != "0 65534 65534" {
		t.Errorf("--gid 65534 alone: uid gid groups %q", got)
	}
}

// TestRunSignalWithoutKillAfterWaits: -s without -k is timeout's: the
// signal at the timeout, then the program's own time; a program that
// ignores it and exits 5 later keeps its 5 under --preserve-status.
// Before, tether ignored -s without -k and killed at once (137).
func TestRunSignalWithoutKillAfterWaits(t *testing.T) {
	code, tp := runTether(t, nil, append([]string{"--timeout", "2s", "-s", "TERM", "--preserve-status"},
		script("ignoreterm", "sleep", "4s", "exit", "5")...)...)
	t.Logf("exited %d after %v", code, time.Since(tp.started))
	if code != 5 {
		t.Fatalf("exit %d, want the program's own 5; stderr:\n%s", code, tp.stderr)
	}
	if !strings.Contains(tp.stderr.String(), "timed out after 2s") {
		t.Errorf("stderr does not report the timeout:\n%s", tp.stderr)
	}
}
