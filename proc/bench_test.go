//go:build linux

package proc_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/sysproc"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// The benchmarks below run every measurement side by side: a sub-benchmark
// "raw-os-exec" doing the job with os/exec alone, then one per usable
// Linux backend ("cgroupv2", "pgid") doing it with proc. `make bench`
// feeds the output to scripts/benchreport, which prints proc ÷ raw for
// every benchmark and backend and writes the generated section of
// docs/benchmarks.md and its chart.
//
// Latencies are custom metrics (ms-exit-to-return, ms-after-deadline,
// ms-kill-to-dead): the ns/op of those benchmarks includes setting the
// situation up (spawning children, building a tree) and is not the figure
// of interest.

const (
	// rawWaitDelay is the os/exec WaitDelay of the raw comparisons that
	// need one: without it, raw os/exec cannot return at all while a
	// grandchild holds the stdout pipe.
	rawWaitDelay = 100 * time.Millisecond
	// fanOut is the number of concurrent runs per op of BenchmarkConcurrent.
	fanOut = 64
	// captureBytes is what the child of BenchmarkCapture writes: 200 MiB.
	captureBytes = 200 << 20
	// treeSize is the number of processes of BenchmarkKillTree's tree.
	treeSize = 500
	// benchTimeout is the timeout of BenchmarkTimeout.
	benchTimeout = 50 * time.Millisecond
)

// sideBySide runs raw as "raw-os-exec", then f once per Linux backend
// usable here, named after its mechanism.
func sideBySide(b *testing.B, raw func(b *testing.B), f func(b *testing.B, be contain.Backend)) {
	b.Helper()
	b.Run("raw-os-exec", raw)
	for _, be := range backends() {
		b.Run(string(be.Mechanism()), func(b *testing.B) {
			if a := be.Availability(); !a.Usable {
				b.Skipf("%s not usable here: %s", be.Mechanism(), a.Reason)
			}
			f(b, be)
		})
	}
}

// rawScript is the raw os/exec twin of script: the test binary as a
// ModeScript child.
func rawScript(ops ...string) *exec.Cmd { return testchild.Command(testchild.ModeScript, ops...) }

// BenchmarkSpawn is spawn + wait of /bin/true with its output captured:
// exec.Command(...).Output() against proc's Output (which captures stdout
// and stderr, and creates, kills-and-confirms and removes a container).
func BenchmarkSpawn(b *testing.B) {
	ctx := context.Background()
	sideBySide(b, func(b *testing.B) {
		for b.Loop() {
			if _, err := exec.Command("/bin/true").Output(); err != nil {
				b.Fatal(err)
			}
		}
	}, func(b *testing.B, be contain.Backend) {
		c := proc.Command("/bin/true").Backend(be)
		for b.Loop() {
			r, err := c.Output(ctx)
			if err != nil || !r.Success() {
				b.Fatal(err, r)
			}
		}
	})
}

// BenchmarkConcurrent is throughput: every op is 64 runs of /bin/true
// from 64 goroutines at once. runs/s is the throughput.
func BenchmarkConcurrent(b *testing.B) {
	ctx := context.Background()
	fan := func(b *testing.B, run func() error) {
		for b.Loop() {
			var wg sync.WaitGroup
			errs := make(chan error, fanOut)
			for range fanOut {
				wg.Go(func() {
					if err := run(); err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*fanOut)/b.Elapsed().Seconds(), "runs/s")
	}
	sideBySide(b, func(b *testing.B) {
		fan(b, func() error {
			_, err := exec.Command("/bin/true").Output()
			return err
		})
	}, func(b *testing.B, be contain.Backend) {
		c := proc.Command("/bin/true").Backend(be)
		fan(b, func() error {
			r, err := c.Output(ctx)
			if err == nil {
				err = r.Err()
			}
			return err
		})
	})
}

// BenchmarkCapture captures 200 MiB written by a child to stdout: exec's
// Output against proc's Output with a 256 MiB KeepHead cap, so nothing is
// cut. MB/s is the throughput.
func BenchmarkCapture(b *testing.B) {
	ctx := context.Background()
	n := strconv.Itoa(captureBytes)
	// One untimed run each first: with b.N of 1 or 2, whichever side ran
	// first paid the page faults of a fresh 256 MiB heap (raw measured
	// 110-250 MB/s that way, 700-1700 MB/s warm).
	sideBySide(b, func(b *testing.B) {
		b.SetBytes(captureBytes)
		if _, err := rawScript("outn", n).Output(); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			out, err := rawScript("outn", n).Output()
			if err != nil || len(out) != captureBytes {
				b.Fatal(err, len(out))
			}
		}
	}, func(b *testing.B, be contain.Backend) {
		c := script("outn", n).CapStdout(256<<20, proc.KeepHead).Backend(be)
		b.SetBytes(captureBytes)
		if _, err := c.Output(ctx); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			r, err := c.Output(ctx)
			if err != nil || !r.Success() || len(r.Stdout) != captureBytes || r.StdoutTruncated {
				b.Fatal(err, r.Outcome, len(r.Stdout))
			}
		}
	})
}

// exitWatch times the exit of a running process through a pidfd, without
// reaping it (the owner of the child reaps it as usual).
type exitWatch struct{ fd int }

func watchExit(b *testing.B, pid int) exitWatch {
	b.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		b.Fatal(err)
	}
	return exitWatch{fd: fd}
}

// exited blocks until the process has exited and returns when it saw it.
func (w exitWatch) exited(b *testing.B) time.Time {
	b.Helper()
	defer unix.Close(w.fd)
	fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		if err == nil {
			return time.Now()
		}
		if !errors.Is(err, unix.EINTR) {
			b.Fatal(err)
		}
	}
}

// BenchmarkExitToReturn is the latency from the direct child's exit to
// the verb's return while a grandchild holds the stdout pipe. The child
// ("hold", then "cat") starts the grandchild and waits for the end of its
// stdin, so the benchmark can watch its pid before letting it exit. proc
// kills the grandchild with the container; raw os/exec cannot return at
// all without WaitDelay, so raw returns after its WaitDelay (100 ms here,
// by construction) and leaves the grandchild behind (killed afterwards
// with its process group).
func BenchmarkExitToReturn(b *testing.B) {
	ctx := context.Background()
	sideBySide(b, func(b *testing.B) {
		var total time.Duration
		for b.Loop() {
			in, feed, err := os.Pipe()
			if err != nil {
				b.Fatal(err)
			}
			var out bytes.Buffer
			cmd := rawScript("hold", "cat")
			cmd.Stdin, cmd.Stdout, cmd.WaitDelay = in, &out, rawWaitDelay
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			in.Close()
			w := watchExit(b, cmd.Process.Pid)
			feed.Close()
			exitAt := w.exited(b)
			err = cmd.Wait()
			total += time.Since(exitAt)
			if !errors.Is(err, exec.ErrWaitDelay) {
				b.Fatalf("raw Wait: %v, want ErrWaitDelay", err)
			}
			killGroup(b, cmd.Process.Pid)
		}
		b.ReportMetric(ms(total)/float64(b.N), "ms-exit-to-return")
	}, func(b *testing.B, be contain.Backend) {
		var total time.Duration
		for b.Loop() {
			in, feed, err := os.Pipe()
			if err != nil {
				b.Fatal(err)
			}
			p, err := script("hold", "cat").Stdin(in).Backend(be).Start(ctx)
			if err != nil {
				b.Fatal(err)
			}
			w := watchExit(b, p.Pid())
			feed.Close()
			exitAt := w.exited(b)
			r, err := p.Wait(ctx)
			total += time.Since(exitAt)
			in.Close()
			if err != nil || !r.Success() {
				b.Fatal(err, r)
			}
		}
		b.ReportMetric(ms(total)/float64(b.N), "ms-exit-to-return")
	})
}

// BenchmarkTimeout is the latency from the deadline to the verb's return
// when the run times out, on a tree whose grandchild holds stdout
// ("hold", "block"). The deadline is the call's start plus the timeout,
// so spawning counts against both sides. proc uses Timeout; raw uses
// exec.CommandContext with the child leading its own process group,
// Cancel killing the group (the best raw os/exec can do for the tree) and
// a WaitDelay as the safety net.
func BenchmarkTimeout(b *testing.B) {
	sideBySide(b, func(b *testing.B) {
		var total time.Duration
		for b.Loop() {
			began := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
			cmd := exec.CommandContext(ctx, testchild.Exe(), "hold", "block")
			cmd.Env = testchild.ChildEnv(testchild.ModeScript)
			var out bytes.Buffer
			cmd.Stdout, cmd.WaitDelay = &out, rawWaitDelay
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
			err := cmd.Run()
			total += time.Since(began) - benchTimeout
			cancel()
			if err == nil || ctx.Err() == nil {
				b.Fatalf("raw run: %v, want a kill at the deadline", err)
			}
			killGroup(b, cmd.Process.Pid)
		}
		b.ReportMetric(ms(total)/float64(b.N), "ms-after-deadline")
	}, func(b *testing.B, be contain.Backend) {
		ctx := context.Background()
		c := script("hold", "block").Timeout(benchTimeout).Backend(be)
		var total time.Duration
		for b.Loop() {
			began := time.Now()
			r, err := c.Output(ctx)
			total += time.Since(began) - benchTimeout
			if err != nil || r.Outcome != proc.TimedOut {
				b.Fatal(err, r)
			}
		}
		b.ReportMetric(ms(total)/float64(b.N), "ms-after-deadline")
	})
}

// treeScript makes a tree of treeSize processes: sh and treeSize-1
// background sleeps, then says "ready" on stdout and waits.
var treeScript = `i=1; while [ $i -lt ` + strconv.Itoa(treeSize) + ` ]; do sleep 600 & i=$((i+1)); done; echo ready; wait`

// readySignal is a stdout sink that closes ready at the first byte.
type readySignal struct {
	once  sync.Once
	ready chan struct{}
}

func newReadySignal() *readySignal { return &readySignal{ready: make(chan struct{})} }

func (r *readySignal) Write(p []byte) (int, error) {
	r.once.Do(func() { close(r.ready) })
	return len(p), nil
}

func (r *readySignal) wait(b *testing.B) {
	b.Helper()
	select {
	case <-r.ready:
	case <-time.After(patience):
		b.Fatalf("the tree did not say ready within %v", patience)
	}
}

// BenchmarkKillTree is kill and confirm of a 500-process tree (sh and 499
// sleeps): proc's RunningProcess.Kill, which returns once the tree is
// dead and the run has ended, against raw killpg of a Setpgid group,
// polling /proc until no member is alive (zombies count as dead), then
// Wait. ms-kill-to-dead is the figure; ns/op includes building the tree.
func BenchmarkKillTree(b *testing.B) {
	sideBySide(b, func(b *testing.B) {
		var total time.Duration
		for b.Loop() {
			ready := newReadySignal()
			cmd := exec.Command("sh", "-c", treeScript)
			cmd.Stdout = ready
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			ready.wait(b)
			began := time.Now()
			if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
				b.Fatal(err)
			}
			awaitGroupDead(b, cmd.Process.Pid)
			_ = cmd.Wait()
			total += time.Since(began)
		}
		b.ReportMetric(ms(total)/float64(b.N), "ms-kill-to-dead")
	}, func(b *testing.B, be contain.Backend) {
		ctx := context.Background()
		var total time.Duration
		for b.Loop() {
			ready := newReadySignal()
			p, err := proc.Command("sh", "-c", treeScript).Stdout(proc.Tee(ready)).Backend(be).Start(ctx)
			if err != nil {
				b.Fatal(err)
			}
			ready.wait(b)
			began := time.Now()
			if err := p.Kill(ctx); err != nil {
				b.Fatal(err)
			}
			total += time.Since(began)
			if r, err := p.Wait(ctx); err != nil || r.Outcome != proc.Signaled {
				b.Fatal(err, r)
			}
		}
		b.ReportMetric(ms(total)/float64(b.N), "ms-kill-to-dead")
	})
}

// killGroup kills the process group pgid (a raw comparison's leftovers)
// and waits until no member is alive.
func killGroup(b *testing.B, pgid int) {
	b.Helper()
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		b.Fatal(err)
	}
	awaitGroupDead(b, pgid)
}

// awaitGroupDead scans /proc until no live process (zombies excluded) has
// process group pgid.
func awaitGroupDead(b *testing.B, pgid int) {
	b.Helper()
	deadline := time.Now().Add(patience)
	for time.Now().Before(deadline) {
		if groupLive(pgid) == 0 {
			return
		}
	}
	b.Fatalf("process group %d still has %d live members after %v", pgid, groupLive(pgid), patience)
}

func groupLive(pgid int) int {
	pids, err := sysproc.Pids()
	if err != nil {
		return -1
	}
	n := 0
	for _, p := range pids {
		st, err := sysproc.ReadStat(p)
		if err == nil && st.Pgrp == pgid && st.State != 'Z' && st.State != 'X' {
			n++
		}
	}
	return n
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
