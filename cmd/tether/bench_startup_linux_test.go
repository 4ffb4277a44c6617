//go:build linux

package main

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/host"
)

// The startup benchmarks time whole processes, one per iteration, as a
// shell would start them: the command's wall time from os/exec's Run to
// its reaped exit, with stdout and stderr on the null device. Each has a
// "raw-os-exec" sub-benchmark, the reference, so that scripts/benchreport
// reports tether ÷ reference side by side with proc's benchmarks. Both
// sides run with the same environment (this process's, with its owner
// tag, so that the leak check sees anything a tether leaves behind).
//
// cpu-ns/op is the user + system CPU time of the process and of the
// children it waited for (wait4's rusage): `tether run` and the program
// it ran, not tether's owner-death watchdog, which it does not wait for.

// startupMechanisms are the sub-benchmarks of BenchmarkStartupRun after
// its reference: "auto" is `tether run -- /bin/true`, the command issue
// 17's target names (the default mechanism, cgroupv2 where it is usable),
// the others force a mechanism with --mechanism.
var startupMechanisms = []string{"auto", string(contain.CgroupV2), string(contain.PGID)}

// BenchmarkStartupRun is `tether run -- /bin/true` against
// `timeout 10 /bin/true`, the smallest way to run a program under a
// supervisor that outlives it: both start one child, wait for it and exit
// with its status.
func BenchmarkStartupRun(b *testing.B) {
	timeout, err := exec.LookPath("timeout")
	if err != nil {
		b.Skip("timeout (coreutils) is not installed: it is the reference of tether run's start")
	}
	tether := buildTether(b)
	rep := host.Inspect()
	b.Run("raw-os-exec", func(b *testing.B) { startupLoop(b, timeout, "10", "/bin/true") })
	for _, m := range startupMechanisms {
		b.Run(m, func(b *testing.B) {
			if reason, ok := mechanismUsable(rep, m); !ok {
				b.Skipf("%s not usable here: %s", m, reason)
			}
			startupLoop(b, tether, "run", "--mechanism", m, "--", "/bin/true")
		})
	}
}

// BenchmarkStartupVersion is `tether version` against a Go program that
// only prints its version (testdata/refversion): the cost of tether's
// binary and of its packages' initialisation, which every command pays
// before it does anything.
func BenchmarkStartupVersion(b *testing.B) {
	ref := goBuild(b, "./testdata/refversion", "refversion")
	tether := buildTether(b)
	b.Run("raw-os-exec", func(b *testing.B) { startupLoop(b, ref) })
	b.Run("tether", func(b *testing.B) { startupLoop(b, tether, "version") })
}

// mechanismUsable says whether `tether run --mechanism m` can run here,
// and if not why.
func mechanismUsable(rep host.Report, m string) (string, bool) {
	if m == "auto" {
		return rep.DefaultReason, rep.DefaultUsable
	}
	for _, a := range rep.Backends {
		if string(a.Mechanism) == m {
			return a.Reason, a.Usable
		}
	}
	return "no such backend in this build", false
}

// startupLoop runs name with args once per iteration and fails on any
// exit status but 0.
func startupLoop(b *testing.B, name string, args ...string) {
	env := append(os.Environ(), "TETHER_TEST_OWNER="+strconv.Itoa(os.Getpid()))
	var cpu time.Duration
	for b.Loop() {
		cmd := exec.Command(name, args...)
		cmd.Env = env
		if err := cmd.Run(); err != nil {
			// Once more, with the output kept, to say why.
			again := exec.Command(name, args...)
			again.Env = env
			out, _ := again.CombinedOutput()
			b.Fatalf("%s %s: %v; run again, it said: %s", name, strings.Join(args, " "), err, out)
		}
		cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	waitNothingLeft(b)
}
