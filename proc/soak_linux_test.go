//go:build linux

package proc_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/host"
	"github.com/gotether/tether/internal/sysproc"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// The soak test (issue 8): thousands of runs of every kind tether has,
// a seeded random mix over both Linux backends with bounded concurrency,
// each run checked for the outcome its kind must have, and afterwards
// nothing left: no process carrying the soak's marker, descriptors,
// goroutines and tether-* cgroups back to their baseline, the heap flat.
// It runs only when TETHER_SOAK_RUNS is set: `make soak` (CI: 2,000 runs;
// see docs/testing.md, "Soak", for the long run).

const (
	// soakMarkEnv is set, to a random value, on every Cmd the soak runs;
	// the children's children inherit it. The survivor scan looks for it.
	soakMarkEnv = "TETHER_SOAK_MARK"
	// soakWorkers bounds the concurrency: at most this many runs at once
	// (a group run has a few starters of its own inside).
	soakWorkers = 8
	// soakRunLimit bounds one run; a run that has not ended by then is a
	// hang, reported as its kind's failure (an unexpected cancellation).
	soakRunLimit = 2 * time.Minute
	// soakHeapSlack and soakHeapPerRun bound how much the heap in use
	// (after a GC) may grow from 10% of the runs to the end: 1 MiB plus
	// 256 bytes per run in between (1.4 MiB for 2,000 runs, 3.2 MiB for
	// 10,000). Measured growth is within ±0.1 MiB; a leak of 1 KiB per
	// run (one small Result) passes the bound from about 1,400 runs.
	soakHeapSlack  = 1 << 20
	soakHeapPerRun = 256
	// soakMaxReported is how many failures are reported one by one.
	soakMaxReported = 20
)

type soakKind int

const (
	soakNormal  soakKind = iota // exit 0, stdout and stderr as written
	soakFail                    // a non-zero exit code
	soakTimeout                 // a short Timeout on a blocking child (tree)
	soakCancel                  // the context cancelled mid-run (or Kill)
	soakHold                    // a grandchild holds stdout after the child exits
	soakHoldsid                 // the same after setsid: an escapee under pgid
	soakCap                     // large output through a capture cap
	soakStdin                   // StdinLines through cat (or head)
	soakStream                  // Start, then StdoutLines or Events
	soakGroup                   // concurrent starts into a group that closes
	soakKinds
)

var soakKindNames = [soakKinds]string{"normal", "fail", "timeout", "cancel", "hold", "holdsid", "cap", "stdin", "stream", "group"}

// soakWeights is the mix, in parts per run drawn. The test binary (a 13
// MB Go child) runs only where its script ops are needed: hold, holdsid,
// and some of cap, timeout, normal and fail; the rest are coreutils.
var soakWeights = [soakKinds]int{16, 12, 10, 10, 8, 6, 10, 10, 10, 8}

// The outcomes a run is counted under (a group run counts each member).
const (
	soakOutExit0        = "exit 0"
	soakOutExitCode     = "exit N≠0"
	soakOutTimedOut     = "timed out"
	soakOutCancelled    = "cancelled"
	soakOutKilled       = "killed"
	soakOutHolderDead   = "holder dead"
	soakOutEscapeeDead  = "escapee dead"
	soakOutEscapeeKill  = "escaped, killed by test"
	soakOutWhole        = "whole"
	soakOutTruncated    = "truncated"
	soakOutTooLarge     = "too large"
	soakOutEchoed       = "echoed"
	soakOutHead         = "head -n"
	soakOutAllLines     = "all lines"
	soakOutLateReader   = "late reader"
	soakOutBrokeEarly   = "broke early"
	soakOutMemberExit   = "member exited"
	soakOutMemberKilled = "member killed"
	soakOutRefused      = "start refused"
	soakOutSuspended    = "start refused: suspended"
	soakOutAfterClose   = "start after close refused"
	// soakOutDrainCut counts runs for which tether logged that it stopped
	// reading an output pipe still held open after the tree's death
	// (expected only for a setsid escapee under pgid).
	soakOutDrainCut = "drain cut"
)

// soakPlanned is one run of the plan, drawn from the seed up front so a
// seed reproduces the mix (not the interleaving).
type soakPlanned struct {
	index   int // in the whole plan, as failures report it
	kind    soakKind
	backend int    // index into soaker.backends
	seed    uint64 // the run's own choices
}

// soakStats is what the runs report, aggregated as they end. Everything
// is allocated before the heap is first measured except the label maps,
// whose handful of keys appear in the first runs.
type soakStats struct {
	mu        sync.Mutex
	durations [soakKinds][]time.Duration
	runs      [soakKinds]int
	perBack   [soakKinds][]int
	outcomes  [soakKinds]map[string]int
	failed    [soakKinds]int
	failures  []string
	nFailures int
}

type soaker struct {
	mark     string
	dir      string // pid files
	backends []contain.Backend
	contains []bool // the backend kills setsid escapees
	bin      map[string]string
	escapees atomic.Int64
	stats    *soakStats
}

func TestSoak(t *testing.T) {
	runsEnv := os.Getenv("TETHER_SOAK_RUNS")
	if runsEnv == "" {
		t.Skip("soak test: runs only with TETHER_SOAK_RUNS=N set (make soak: SOAK_RUNS, default 2000); TETHER_SOAK_SEED=S reproduces a mix")
	}
	total, err := strconv.Atoi(runsEnv)
	if err != nil || total < 10 {
		t.Fatalf("TETHER_SOAK_RUNS=%q: want a number of runs, at least 10", runsEnv)
	}
	var seed uint64
	if s := os.Getenv("TETHER_SOAK_SEED"); s != "" {
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("TETHER_SOAK_SEED=%q: want an unsigned integer", s)
		}
	} else {
		seed = uint64(time.Now().UnixNano()) % 1_000_000_000
	}
	t.Logf("soak: seed %d (reproduce the mix with TETHER_SOAK_SEED=%d), %d runs, %d workers", seed, seed, total, soakWorkers)

	s := &soaker{mark: soakRandomMark(t), dir: testchild.TempDir(t), bin: map[string]string{}}
	for _, name := range []string{"true", "false", "sh", "echo", "sleep", "cat", "head", "seq"} {
		p, err := exec.LookPath(name)
		if err != nil {
			t.Skipf("soak test needs %s on PATH: %v", name, err)
		}
		s.bin[name] = p
	}
	probe := host.Inspect()
	for _, b := range backends() {
		for _, a := range probe.Backends {
			if a.Mechanism == b.Mechanism() && a.Usable {
				s.backends = append(s.backends, b)
				s.contains = append(s.contains, b.Availability().ContainsSetsid)
			}
		}
	}
	if len(s.backends) == 0 {
		t.Fatal("no backend usable on this host")
	}
	var names []string
	for i, b := range s.backends {
		names = append(names, fmt.Sprintf("%s (setsid contained: %v)", b.Mechanism(), s.contains[i]))
	}
	t.Logf("soak: backends %s; marker %s=%s", strings.Join(names, ", "), soakMarkEnv, s.mark)

	// The plan, from the seed.
	rng := mrand.New(mrand.NewPCG(seed, seed^0x50a4))
	weightSum := 0
	for _, w := range soakWeights {
		weightSum += w
	}
	plan := make([]soakPlanned, total)
	for i := range plan {
		k, x := soakKind(0), rng.IntN(weightSum)
		for x >= soakWeights[k] {
			x -= soakWeights[k]
			k++
		}
		plan[i] = soakPlanned{index: i, kind: k, backend: rng.IntN(len(s.backends)), seed: rng.Uint64()}
	}
	// TETHER_SOAK_KINDS=cap,stream keeps only the runs of those kinds,
	// each with the same choices as in the whole mix: a failing run's
	// kind replays without the rest.
	if only := os.Getenv("TETHER_SOAK_KINDS"); only != "" {
		var keep [soakKinds]bool
		for name := range strings.SplitSeq(only, ",") {
			k := slices.Index(soakKindNames[:], strings.TrimSpace(name))
			if k < 0 {
				t.Fatalf("TETHER_SOAK_KINDS: unknown kind %q (kinds: %s)", name, strings.Join(soakKindNames[:], ", "))
			}
			keep[k] = true
		}
		plan = slices.DeleteFunc(plan, func(pl soakPlanned) bool { return !keep[pl.kind] })
		t.Logf("soak: only %s: %d of the %d runs", only, len(plan), total)
		if len(plan) == 0 {
			t.Fatal("no run of those kinds in the mix")
		}
	}
	runs := len(plan)

	// The survivor scan must see a marked process: one started here,
	// outside tether, is found, then killed and reaped.
	self := testchild.Command(testchild.ModeSleep)
	self.Env = append(self.Env, soakMarkEnv+"="+s.mark)
	if err := self.Start(); err != nil {
		t.Fatal(err)
	}
	found := slices.Contains(soakSurvivors(s.mark), self.Process.Pid)
	_ = self.Process.Kill()
	_ = self.Wait()
	if !found {
		t.Fatalf("the survivor scan did not find marked process %d", self.Process.Pid)
	}

	// Warm-up: one run of each kind on each backend, not counted, so
	// that what starts lazily (the owner-death watchdog, the cgroup
	// site) is in the baseline.
	before := soakMeasure()
	s.stats = newSoakStats(len(s.backends), 0)
	for k := range soakKinds {
		for b := range s.backends {
			s.execute(-1, soakPlanned{index: -1, kind: k, backend: b, seed: uint64(k)<<8 | uint64(b)})
		}
	}
	if s.stats.nFailures > 0 {
		t.Fatalf("the warm-up failed: %s", strings.Join(s.stats.failures, "\n"))
	}
	base, _ := soakSettle(before, 2*time.Second)
	s.escapees.Store(0)

	s.stats = newSoakStats(len(s.backends), runs)
	began := time.Now()
	tenth := max(runs/10, 1)
	s.runAll(plan[:tenth])
	if mid, ok := soakSettle(base, 30*time.Second); !ok {
		t.Errorf("not back to the baseline after the first %d runs: now %+v, baseline %+v", tenth, mid, base)
	}
	elapsed := time.Since(began)
	heapMid := soakHeap()
	began = time.Now()
	s.runAll(plan[tenth:])
	elapsed += time.Since(began)

	// Survivors first: every run has returned, so every tree must be
	// dead (the pgid escapees were killed and waited for by their runs).
	survivors := soakSurvivors(s.mark)
	for _, p := range survivors {
		t.Errorf("process %d (%s) carrying the soak's marker survived its run", p, soakComm(p))
	}
	if len(survivors) > 0 {
		testchild.KillPids(survivors...)
		testchild.WaitDead(t, patience, survivors...)
	}
	end, settled := soakSettle(base, 30*time.Second)
	heapEnd := soakHeap()

	st := s.stats
	for _, f := range st.failures {
		t.Error(f)
	}
	if st.nFailures > len(st.failures) {
		t.Errorf("... and %d more failed runs", st.nFailures-len(st.failures))
	}
	if !settled {
		t.Errorf("not back to the baseline at the end: now %+v, baseline %+v", end, base)
	}
	grew, bound := int64(heapEnd)-int64(heapMid), int64(soakHeapSlack+soakHeapPerRun*(runs-tenth))
	if grew > bound {
		t.Errorf("heap in use grew by %.2f MiB from %d runs to %d (bound %.2f MiB)", float64(grew)/(1<<20), tenth, runs, float64(bound)/(1<<20))
	}
	s.summary(t, seed, tenth, elapsed, base, end, heapMid, heapEnd, bound, len(survivors))
	if st.nFailures > 0 {
		t.Errorf("%d of %d runs failed; reproduce the mix with TETHER_SOAK_SEED=%d TETHER_SOAK_RUNS=%d (and TETHER_SOAK_KINDS=<kinds> for only the failing kinds)", st.nFailures, runs, seed, total)
	}
}

func newSoakStats(nBackends, total int) *soakStats {
	st := &soakStats{}
	for k := range soakKinds {
		st.durations[k] = make([]time.Duration, 0, total)
		st.perBack[k] = make([]int, nBackends)
		st.outcomes[k] = map[string]int{}
	}
	return st
}

// runAll runs the planned runs on soakWorkers workers and returns once all
// have ended.
func (s *soaker) runAll(plan []soakPlanned) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range soakWorkers {
		wg.Go(func() {
			for i := range next {
				s.execute(plan[i].index, plan[i])
			}
		})
	}
	for i := range plan {
		next <- i
	}
	close(next)
	wg.Wait()
}

// execute runs one planned run and records its duration and outcomes,
// or its failure.
func (s *soaker) execute(i int, pl soakPlanned) {
	ctx, cancel := context.WithTimeout(context.Background(), soakRunLimit)
	defer cancel()
	run := &soakRun{s: s, ctx: ctx, rng: mrand.New(mrand.NewPCG(pl.seed, uint64(pl.kind))), b: s.backends[pl.backend],
		setsidContained: s.contains[pl.backend], i: i, warn: soakWarnings{mu: new(sync.Mutex), msgs: new([]string)}}
	run.log = slog.New(run.warn)
	began := time.Now()
	err := soakKindFunc(pl.kind)(run)
	d := time.Since(began)
	warnings := run.warn.list()
	for _, w := range warnings {
		if strings.Contains(w, "stopped reading") {
			run.out = append(run.out, soakOutDrainCut+" ("+string(run.b.Mechanism())+")")
		}
	}

	st := s.stats
	st.mu.Lock()
	defer st.mu.Unlock()
	st.runs[pl.kind]++
	st.perBack[pl.kind][pl.backend]++
	st.durations[pl.kind] = append(st.durations[pl.kind], d)
	for _, o := range run.out {
		st.outcomes[pl.kind][o]++
	}
	if err != nil {
		st.failed[pl.kind]++
		st.nFailures++
		if len(st.failures) < soakMaxReported {
			msg := fmt.Sprintf("run %d (%s on %s, %v): %v", i, soakKindNames[pl.kind], run.b.Mechanism(), d.Round(time.Millisecond), err)
			if len(warnings) > 0 {
				msg += fmt.Sprintf(" [tether warned: %s]", strings.Join(warnings, "; "))
			}
			st.failures = append(st.failures, msg)
		}
	}
}

// soakRunFunc runs one run of a kind; it appends the outcomes it saw to
// run.out and returns an error when one is not what the kind must give.
type soakRunFunc func(run *soakRun) error

func soakKindFunc(k soakKind) soakRunFunc {
	switch k {
	case soakNormal:
		return soakRunNormal
	case soakFail:
		return soakRunFail
	case soakTimeout:
		return soakRunTimeout
	case soakCancel:
		return soakRunCancel
	case soakHold:
		return soakRunHold
	case soakHoldsid:
		return soakRunHoldsid
	case soakCap:
		return soakRunCap
	case soakStdin:
		return soakRunStdin
	case soakStream:
		return soakRunStream
	case soakGroup:
		return soakRunGroup
	}
	panic("soak: unknown kind")
}

// soakRun is one run under way: its choices, its backend, the outcomes
// it saw, and the warnings tether logged for it.
type soakRun struct {
	s               *soaker
	ctx             context.Context
	rng             *mrand.Rand
	b               contain.Backend
	setsidContained bool // the backend kills setsid escapees
	i               int  // index in the plan (negative: the warm-up)
	out             []string
	log             *slog.Logger
	warn            soakWarnings
}

// cmd is a marked command of a tool found on PATH, logging to the run.
func (run *soakRun) cmd(tool string, args ...string) *proc.Cmd {
	return proc.Command(run.s.bin[tool], args...).SetEnv(soakMarkEnv, run.s.mark).Logger(run.log)
}

// script is a marked ModeScript child of the test binary, logging to the
// run.
func (run *soakRun) script(ops ...string) *proc.Cmd {
	return script(ops...).SetEnv(soakMarkEnv, run.s.mark).Logger(run.log)
}

// pidFile is a fresh path for the run's pid file.
func (run *soakRun) pidFile() string {
	return filepath.Join(run.s.dir, fmt.Sprintf("run%d-%x.pids", run.i, run.rng.Uint32()))
}

// soakWarnings is a slog handler that keeps the Warn records tether logs
// for a run (a teardown not confirmed, a drain cut short, ...): a failed
// run's report shows them, and the table counts drains cut short.
type soakWarnings struct {
	mu   *sync.Mutex
	msgs *[]string
}

func (h soakWarnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h soakWarnings) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.msgs = append(*h.msgs, r.Message)
	return nil
}

func (h soakWarnings) WithAttrs([]slog.Attr) slog.Handler { return h }

func (h soakWarnings) WithGroup(string) slog.Handler { return h }

func (h soakWarnings) list() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(*h.msgs)
}

// readSoakPids reads and removes a pid file written by a script's pids op.
func readSoakPids(path string) (map[string]int, error) {
	b, err := os.ReadFile(path)
	_ = os.Remove(path)
	_ = os.Remove(path + ".tmp")
	if err != nil {
		return nil, err
	}
	pids := map[string]int{}
	for ln := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		role, p, _ := strings.Cut(ln, " ")
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("bad pid file line %q", ln)
		}
		pids[role] = n
	}
	return pids, nil
}

func soakWord(rng *mrand.Rand) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 1+rng.IntN(24))
	for i := range b {
		b[i] = letters[rng.IntN(len(letters))]
	}
	return string(b)
}

// soakExited checks a Result that must be an exit with code.
func soakExited(r *proc.Result, err error, code int) error {
	switch {
	case err != nil:
		return fmt.Errorf("error %s, want an exit with code %d", soakErrText(err), code)
	case r == nil:
		return fmt.Errorf("no Result, want an exit with code %d", code)
	case r.Outcome != proc.Exited || r.ExitCode != code:
		return fmt.Errorf("outcome %v code %d signal %q, want an exit with code %d", r.Outcome, r.ExitCode, r.Signal, code)
	case r.Success() != (code == 0):
		return fmt.Errorf("Success() = %v for code %d", r.Success(), code)
	}
	return nil
}

// soakErrText is err's text for a failure message, where err may be nil.
func soakErrText(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

func soakExitLabel(code int) string {
	if code == 0 {
		return soakOutExit0
	}
	return soakOutExitCode
}

func soakRunNormal(run *soakRun) error {
	ctx, rng, b, out := run.ctx, run.rng, run.b, &run.out
	a, e := soakWord(rng), soakWord(rng)
	var c *proc.Cmd
	wantOut, wantErr := "", ""
	switch rng.IntN(5) {
	case 0:
		c = run.cmd("true")
	case 1:
		c, wantOut = run.cmd("echo", a), a+"\n"
	case 2:
		c, wantOut, wantErr = run.cmd("sh", "-c", `printf %s "$1"; printf %s "$2" >&2`, "sh", a, e), a, e
	case 3:
		c, wantOut, wantErr = run.script("out", a, "err", e), a, e
	default:
		// The Run verb: trimmed stdout, a non-zero exit is an error.
		got, err := run.cmd("echo", a).Backend(b).Run(ctx)
		if err != nil || got != a {
			return fmt.Errorf("Run = %q, %s; want %q", got, soakErrText(err), a)
		}
		*out = append(*out, soakOutExit0)
		return nil
	}
	r, err := c.Backend(b).Output(ctx)
	if err := soakExited(r, err, 0); err != nil {
		return err
	}
	if string(r.Stdout) != wantOut || string(r.Stderr) != wantErr {
		return fmt.Errorf("stdout %q stderr %q, want %q and %q", r.Stdout, r.Stderr, wantOut, wantErr)
	}
	*out = append(*out, soakOutExit0)
	return nil
}

func soakRunFail(run *soakRun) error {
	ctx, rng, b, out := run.ctx, run.rng, run.b, &run.out
	code := 1 + rng.IntN(125)
	var c *proc.Cmd
	const why = "failing on purpose"
	wantErr := why
	switch rng.IntN(4) {
	case 0:
		c, code, wantErr = run.cmd("false"), 1, ""
	case 1:
		c = run.script("err", why, "exit", strconv.Itoa(code))
	default:
		c = run.cmd("sh", "-c", `printf %s "$1" >&2; exit "$2"`, "sh", why, strconv.Itoa(code))
	}
	c = c.Backend(b)
	if rng.IntN(3) == 0 {
		// The Run verb: the failure is an *ExitError carrying the code.
		_, err := c.Run(ctx)
		var ee *proc.ExitError
		if !errors.As(err, &ee) || ee.Outcome != proc.Exited || ee.Code != code || !errors.Is(err, proc.ErrExit) {
			return fmt.Errorf("Run error %s, want an *ExitError with code %d", soakErrText(err), code)
		}
		*out = append(*out, soakOutExitCode)
		return nil
	}
	r, err := c.Output(ctx)
	if err := soakExited(r, err, code); err != nil {
		return err
	}
	if !errors.Is(r.Err(), proc.ErrExit) || string(r.Stderr) != wantErr {
		return fmt.Errorf("Err() = %s, stderr %q, want ErrExit and %q", soakErrText(r.Err()), r.Stderr, wantErr)
	}
	*out = append(*out, soakOutExitCode)
	return nil
}

func soakRunTimeout(run *soakRun) error {
	ctx, rng, b, out := run.ctx, run.rng, run.b, &run.out
	d := time.Duration(1+rng.IntN(40)) * time.Millisecond
	var c *proc.Cmd
	pids := ""
	switch rng.IntN(3) {
	case 0:
		c = run.cmd("sleep", "60")
	case 1:
		// A grandchild (the background sleep) holds stdout too.
		c = run.cmd("sh", "-c", "sleep 60 & sleep 60")
	default:
		pids = run.pidFile()
		c = run.script("hold", "pids", pids, "block")
	}
	if rng.IntN(3) == 0 {
		c = c.Grace(syscall.SIGTERM, time.Duration(1+rng.IntN(20))*time.Millisecond)
	}
	r, err := c.Timeout(d).Backend(b).Output(ctx)
	if err != nil || r == nil || r.Outcome != proc.TimedOut || !errors.Is(r.Err(), proc.ErrTimeout) {
		return fmt.Errorf("Output = %+v, %s; want a timeout after %v", r, soakErrText(err), d)
	}
	*out = append(*out, soakOutTimedOut)
	if pids != "" {
		// The pid file exists only if the child got that far.
		tree, err := readSoakPids(pids)
		if err == nil {
			for role, p := range tree {
				if sysproc.Alive(p) {
					return fmt.Errorf("%s %d alive after the timeout", role, p)
				}
			}
			*out = append(*out, soakOutHolderDead)
		}
	}
	return nil
}

func soakRunCancel(run *soakRun) error {
	ctx, rng, b, out := run.ctx, run.rng, run.b, &run.out
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	variant := rng.IntN(4)
	if variant == 0 {
		// Output, cancelled from an OnLine callback once the child is
		// surely running.
		c := run.cmd("sh", "-c", "echo ready; exec sleep 60").OnLine(func(l proc.Line) {
			if l.Text == "ready" {
				cancel()
			}
		})
		r, err := c.Backend(b).Output(cctx)
		if err := soakCancelled(r, err); err != nil {
			return err
		}
		if string(r.Stdout) != "ready\n" {
			return fmt.Errorf("stdout %q, want what came before the cancellation", r.Stdout)
		}
		*out = append(*out, soakOutCancelled)
		return nil
	}
	c := run.cmd("sleep", "60")
	if rng.IntN(2) == 0 {
		c = run.cmd("sh", "-c", "sleep 60 & sleep 60")
	}
	p, err := c.Backend(b).Start(cctx)
	if err != nil {
		return fmt.Errorf("Start: %w", err)
	}
	switch variant {
	case 1:
		cancel()
	case 2:
		// At a random point of the run (this is the mix, not a wait).
		t := time.AfterFunc(time.Duration(rng.IntN(15_000))*time.Microsecond, cancel)
		defer t.Stop()
	default:
		// Kill: the tree dies, the Result says Signaled.
		if err := p.Kill(ctx); err != nil {
			return fmt.Errorf("Kill: %w", err)
		}
		r, err := p.Wait(ctx)
		if err != nil || r == nil || r.Outcome != proc.Signaled {
			return fmt.Errorf("Wait after Kill = %+v, %s; want Signaled", r, soakErrText(err))
		}
		if sysproc.Alive(p.Pid()) {
			return fmt.Errorf("pid %d alive after Kill", p.Pid())
		}
		*out = append(*out, soakOutKilled)
		return nil
	}
	r, err := p.Wait(ctx)
	if err := soakCancelled(r, err); err != nil {
		return err
	}
	if sysproc.Alive(p.Pid()) {
		return fmt.Errorf("pid %d alive after the cancellation", p.Pid())
	}
	*out = append(*out, soakOutCancelled)
	return nil
}

func soakCancelled(r *proc.Result, err error) error {
	if r == nil || r.Outcome != proc.Cancelled || !errors.Is(err, proc.ErrCancelled) || !errors.Is(err, context.Canceled) {
		return fmt.Errorf("got %+v, %s; want Cancelled, an error matching ErrCancelled and context.Canceled", r, soakErrText(err))
	}
	return nil
}

func soakRunHold(run *soakRun) error {
	ctx, rng, b, out := run.ctx, run.rng, run.b, &run.out
	code := []int{0, 0, 3}[rng.IntN(3)]
	pids := run.pidFile()
	r, err := run.script("hold", "pids", pids, "out", "done", "exit", strconv.Itoa(code)).Backend(b).Output(ctx)
	tree, perr := readSoakPids(pids)
	if err := soakExited(r, err, code); err != nil {
		return err
	}
	if string(r.Stdout) != "done" {
		return fmt.Errorf("stdout %q, want %q", r.Stdout, "done")
	}
	if perr != nil {
		return fmt.Errorf("pid file: %w", perr)
	}
	for role, p := range tree {
		if sysproc.Alive(p) {
			return fmt.Errorf("%s %d alive after Output returned", role, p)
		}
	}
	*out = append(*out, soakExitLabel(code), soakOutHolderDead)
	return nil
}

func soakRunHoldsid(run *soakRun) error {
	ctx, b, out := run.ctx, run.b, &run.out
	pids := run.pidFile()
	r, err := run.script("holdsid", "pids", pids, "out", "done").Backend(b).Output(ctx)
	tree, perr := readSoakPids(pids)
	escapee := tree["holdsid"]
	escaped := escapee > 0 && sysproc.Alive(escapee)
	if escaped && !run.setsidContained {
		// Under pgid the escapee survives by design: kill it ourselves
		// (once: a dead escapee's pid may be reused), whatever else this
		// run got wrong. It blocks forever, so the pid is still its own.
		testchild.KillPids(escapee)
		run.s.escapees.Add(1)
		if !soakPoll(patience, func() bool { return !sysproc.Alive(escapee) }) {
			return fmt.Errorf("escapee %d alive %v after SIGKILL", escapee, patience)
		}
	}
	if err := soakExited(r, err, 0); err != nil {
		return err
	}
	if string(r.Stdout) != "done" {
		return fmt.Errorf("stdout %q, want %q", r.Stdout, "done")
	}
	if perr != nil || escapee == 0 {
		return fmt.Errorf("pid file %v: %s", tree, soakErrText(perr))
	}
	if sysproc.Alive(tree["child"]) {
		return fmt.Errorf("child %d alive after Output returned", tree["child"])
	}
	switch {
	case run.setsidContained && escaped:
		return fmt.Errorf("setsid escapee %d alive after Output returned under %s", escapee, b.Mechanism())
	case run.setsidContained:
		*out = append(*out, soakOutExit0, soakOutEscapeeDead)
	case !escaped:
		return fmt.Errorf("setsid grandchild %d dead when Output returned under %s: it did not escape", escapee, b.Mechanism())
	default:
		*out = append(*out, soakOutExit0, soakOutEscapeeKill)
	}
	return nil
}

// soakLines is what the script op "lines n" writes.
func soakLines(n int) []byte {
	var b bytes.Buffer
	for k := 1; k <= n; k++ {
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(k))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func soakRunCap(run *soakRun) error {
	ctx, rng, b, out := run.ctx, run.rng, run.b, &run.out
	policy := []proc.CapPolicy{proc.KeepHead, proc.KeepTail, proc.CapFail}[rng.IntN(3)]
	limit := int64(1+rng.IntN(1024)) << (rng.IntN(11)) // 1 B to 1 MiB
	var c *proc.Cmd
	var full []byte // nil: n bytes of 'x'
	var n int64
	if rng.IntN(2) == 0 {
		n = int64(rng.IntN(4 << 20))
		c = run.script("outn", strconv.FormatInt(n, 10))
	} else {
		lines := rng.IntN(100_000)
		full = soakLines(lines)
		n = int64(len(full))
		c = run.script("lines", strconv.Itoa(lines))
	}
	r, err := c.CapStdout(limit, policy).Backend(b).Output(ctx)
	content := func(got []byte, from int64) error {
		if full == nil {
			if len(bytes.Trim(got, "x")) != 0 {
				return errors.New("captured bytes other than the child's")
			}
			return nil
		}
		if !bytes.Equal(got, full[from:from+int64(len(got))]) {
			return fmt.Errorf("captured %d bytes that are not the child's bytes from offset %d", len(got), from)
		}
		return nil
	}
	if policy == proc.CapFail && n > limit {
		if r == nil {
			return fmt.Errorf("%d bytes through a CapFail cap of %d: no Result, error %s", n, limit, soakErrText(err))
		}
		if !errors.Is(err, proc.ErrOutputTooLarge) || r.Success() || !r.StdoutTruncated || int64(len(r.Stdout)) != limit {
			return fmt.Errorf("%d bytes through a CapFail cap of %d: error %s (want ErrOutputTooLarge), outcome %v code %d, Success %v, truncated %v, kept %d, total %d",
				n, limit, soakErrText(err), r.Outcome, r.ExitCode, r.Success(), r.StdoutTruncated, len(r.Stdout), r.StdoutTotal)
		}
		if err := content(r.Stdout, 0); err != nil {
			return err
		}
		*out = append(*out, soakOutTooLarge)
		return nil
	}
	if err := soakExited(r, err, 0); err != nil {
		return err
	}
	want := min(n, limit)
	if int64(len(r.Stdout)) != want || r.StdoutTotal != n || r.StdoutTruncated != (n > limit) {
		return fmt.Errorf("%d bytes through a cap of %d (policy %d): kept %d, total %d, truncated %v", n, limit, policy, len(r.Stdout), r.StdoutTotal, r.StdoutTruncated)
	}
	from := int64(0)
	if policy == proc.KeepTail {
		from = n - want
	}
	if err := content(r.Stdout, from); err != nil {
		return err
	}
	if n > limit {
		*out = append(*out, soakOutTruncated)
	} else {
		*out = append(*out, soakOutWhole)
	}
	return nil
}

func soakRunStdin(run *soakRun) error {
	ctx, rng, b, out := run.ctx, run.rng, run.b, &run.out
	lines := make([]string, rng.IntN(3000))
	// Drawn byte by byte, so the halves of "é" make some lines invalid
	// UTF-8: stdin and stdout are bytes, never decoded.
	const chars = "abcdefghijklmnopqrstuvwxyz0123456789 \t-é"
	for k := range lines {
		var sb strings.Builder
		for range rng.IntN(120) {
			sb.WriteByte(chars[rng.IntN(len(chars))])
		}
		lines[k] = sb.String()
	}
	c, keep, label := run.cmd("cat"), len(lines), soakOutEchoed
	switch rng.IntN(4) {
	case 0:
		// The child stops reading early: the feeder must not hang.
		keep = rng.IntN(len(lines) + 1)
		c, label = run.cmd("head", "-n", strconv.Itoa(keep)), soakOutHead
	case 1:
		c = run.script("cat")
	}
	r, err := c.StdinLines(slices.Values(lines)).Backend(b).Output(ctx)
	if err := soakExited(r, err, 0); err != nil {
		return err
	}
	var want strings.Builder
	for _, l := range lines[:keep] {
		want.WriteString(l)
		want.WriteByte('\n')
	}
	if string(r.Stdout) != want.String() {
		return fmt.Errorf("echoed %d bytes, want %d (%d of %d lines)", len(r.Stdout), want.Len(), keep, len(lines))
	}
	*out = append(*out, label)
	return nil
}

func soakRunStream(run *soakRun) error {
	ctx, rng, b, out := run.ctx, run.rng, run.b, &run.out
	n := 1 + rng.IntN(3000)
	p, err := run.cmd("seq", strconv.Itoa(n)).Backend(b).Start(ctx)
	if err != nil {
		return fmt.Errorf("Start: %w", err)
	}
	// A reader that starts late gets the last 1000 lines first, so it
	// sees a contiguous run of lines ending at n, from line 1 if n <= 1000.
	var first, last int64
	check := func(l proc.Line) error {
		if l.Stream != proc.Stdout || l.Text != strconv.FormatInt(l.Seq, 10) || (last != 0 && l.Seq != last+1) {
			return fmt.Errorf("line %+v after line %d", l, last)
		}
		if first == 0 {
			first = l.Seq
		}
		last = l.Seq
		return nil
	}
	stopAt, variant := int64(0), rng.IntN(3)
	var lineErr error
	var final *proc.Result
	switch variant {
	case 0, 1:
		if variant == 1 {
			stopAt = 1 + rng.Int64N(int64(n))
		}
		for l := range p.StdoutLines() {
			if lineErr = check(l); lineErr != nil || (stopAt > 0 && last >= stopAt) {
				break
			}
		}
	default:
		seen := 0
		for ev := range p.Events() {
			seen++
			switch {
			case seen == 1 && ev.Kind != proc.EventStarted:
				lineErr = fmt.Errorf("first event %v, want EventStarted", ev.Kind)
			case ev.Kind == proc.EventLine:
				lineErr = check(ev.Line)
			case ev.Kind == proc.EventExited:
				final = ev.Result
			}
			if lineErr != nil {
				break
			}
		}
	}
	r, err := p.Wait(ctx)
	if lineErr != nil {
		return lineErr
	}
	if err := soakExited(r, err, 0); err != nil {
		return err
	}
	if variant == 2 && final != r {
		return errors.New("the last event did not carry the run's Result")
	}
	var want bytes.Buffer
	for k := 1; k <= n; k++ {
		want.WriteString(strconv.Itoa(k))
		want.WriteByte('\n')
	}
	if r.Streams.Stdout.Lines != int64(n) || !bytes.Equal(r.Stdout, want.Bytes()) || r.StdoutTruncated {
		return fmt.Errorf("seq %d: %d lines counted, captured %d of %d bytes (truncated %v), the reader saw lines %d to %d",
			n, r.Streams.Stdout.Lines, len(r.Stdout), want.Len(), r.StdoutTruncated, first, last)
	}
	switch {
	case stopAt > 0:
		*out = append(*out, soakOutBrokeEarly)
	case last != int64(n) || (n <= 1000 && first != 1):
		return fmt.Errorf("read lines %d to %d of %d", first, last, n)
	case first > 1:
		*out = append(*out, soakOutLateReader)
	default:
		*out = append(*out, soakOutAllLines)
	}
	return nil
}

// soakRunGroup starts members into one group from several goroutines while
// another closes it (Close, or Shutdown) after a random number of
// starts: every start either fails with ErrClosed or its tree is dead
// and its run ended when Close returns; starts afterwards fail with
// ErrClosed.
func soakRunGroup(run *soakRun) error {
	ctx, rng, b, out := run.ctx, run.rng, run.b, &run.out
	g, err := proc.NewGroup(ctx, proc.GroupOptions{Backend: b})
	if err != nil {
		return fmt.Errorf("NewGroup: %w", err)
	}
	starters, perStarter := 2+rng.IntN(3), 2+rng.IntN(5)
	closeAfter := int32(1 + rng.IntN(starters*perStarter))
	shutdown := rng.IntN(4) == 0
	// A third of the groups are suspended and resumed (and sent SIGCONT)
	// while the starters run: a Start then fails with ErrSuspended, or
	// waits for a Signal, but never spawns into the frozen tree.
	suspend := rng.IntN(3) == 0
	suspendRng := mrand.New(mrand.NewPCG(rng.Uint64(), 1<<32))
	type member struct {
		p    *proc.RunningProcess
		code int // -1: never exits by itself
	}
	var (
		mu       sync.Mutex
		members  []member
		errs     []error
		labels   []string
		started  atomic.Int32
		ready    = make(chan struct{})
		once     sync.Once
		wg       sync.WaitGroup
		allEnded = make(chan struct{})
	)
	fail := func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}
	for w := range starters {
		r := mrand.New(mrand.NewPCG(rng.Uint64(), uint64(w)))
		wg.Go(func() {
			for range perStarter {
				var c *proc.Cmd
				code := -1
				switch r.IntN(4) {
				case 0:
					c, code = run.cmd("true"), 0
				case 1:
					c, code = run.cmd("sh", "-c", "exit 3"), 3
				case 2:
					c = run.cmd("sh", "-c", "sleep 60 & sleep 60")
				default:
					c = run.cmd("sleep", "60")
				}
				p, err := g.Start(ctx, c)
				if errors.Is(err, proc.ErrClosed) {
					mu.Lock()
					labels = append(labels, soakOutRefused)
					mu.Unlock()
					return
				}
				if errors.Is(err, proc.ErrSuspended) {
					mu.Lock()
					labels = append(labels, soakOutSuspended)
					mu.Unlock()
					continue
				}
				if err != nil {
					fail(fmt.Errorf("Start in the group: %w", err))
					return
				}
				mu.Lock()
				members = append(members, member{p, code})
				mu.Unlock()
				if started.Add(1) == closeAfter {
					once.Do(func() { close(ready) })
				}
			}
		})
	}
	go func() { wg.Wait(); close(allEnded) }()
	stopSuspending, suspended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(suspended)
		for i := 0; suspend; i++ {
			select {
			case <-stopSuspending:
				return
			default:
			}
			if err := g.Suspend(ctx); err != nil {
				fail(fmt.Errorf("Suspend: %w", err))
				return
			}
			if i%2 == 0 {
				if err := g.Signal(syscall.SIGCONT); err != nil {
					fail(fmt.Errorf("Signal(SIGCONT) of the suspended group: %w", err))
				}
			}
			time.Sleep(time.Duration(suspendRng.IntN(2000)) * time.Microsecond)
			if err := g.Resume(ctx); err != nil {
				fail(fmt.Errorf("Resume: %w", err))
				return
			}
			if err := g.Signal(syscall.SIGCONT); err != nil {
				fail(fmt.Errorf("Signal(SIGCONT): %w", err))
			}
			time.Sleep(time.Duration(suspendRng.IntN(2000)) * time.Microsecond)
		}
	}()
	select {
	case <-ready:
	case <-allEnded:
	}
	close(stopSuspending)
	<-suspended
	if shutdown {
		if _, err := g.Shutdown(ctx, time.Duration(1+rng.IntN(20))*time.Millisecond); err != nil {
			fail(fmt.Errorf("Shutdown: %w", err))
		}
	} else if err := g.Close(ctx); err != nil {
		fail(fmt.Errorf("Close: %w", err))
	}
	// Close has returned: the starters stop at their next Start, which
	// fails; every member they started (before Close) has ended.
	<-allEnded
	for _, m := range members {
		select {
		case <-m.p.Done():
		default:
			fail(fmt.Errorf("member %d's run not ended when Close returned", m.p.Pid()))
			continue
		}
		if sysproc.Alive(m.p.Pid()) {
			fail(fmt.Errorf("member %d alive after Close", m.p.Pid()))
		}
		r, err := m.p.Wait(ctx)
		switch {
		case err != nil || r == nil:
			fail(fmt.Errorf("member Wait = %+v, %s", r, soakErrText(err)))
		case r.Outcome == proc.Signaled:
			*out = append(*out, soakOutMemberKilled)
		case r.Outcome == proc.Exited && r.ExitCode == m.code:
			*out = append(*out, soakOutMemberExit)
		default:
			fail(fmt.Errorf("member (exit code %d when not killed): outcome %v code %d", m.code, r.Outcome, r.ExitCode))
		}
	}
	*out = append(*out, labels...)
	if _, err := g.Start(ctx, run.cmd("true")); !errors.Is(err, proc.ErrClosed) {
		fail(fmt.Errorf("Start after Close: %s, want ErrClosed", soakErrText(err)))
	} else {
		*out = append(*out, soakOutAfterClose)
	}
	if _, err := g.Output(ctx, run.cmd("true")); !errors.Is(err, proc.ErrClosed) {
		fail(fmt.Errorf("Output after Close: %s, want ErrClosed", soakErrText(err)))
	}
	if err := g.Close(ctx); err != nil {
		fail(fmt.Errorf("second Close: %w", err))
	}
	return errors.Join(errs...)
}

// ---- measurements ----

type soakCounts struct{ fds, goroutines, cgroups int }

func soakMeasure() soakCounts {
	ents, _ := os.ReadDir("/proc/self/fd")
	return soakCounts{fds: len(ents), goroutines: runtime.NumGoroutine(), cgroups: len(testchild.TetherCgroups())}
}

// soakSettle polls until every count is at most base's, or timeout has
// passed; it returns the last counts and whether they got there.
func soakSettle(base soakCounts, timeout time.Duration) (soakCounts, bool) {
	var now soakCounts
	ok := soakPoll(timeout, func() bool {
		now = soakMeasure()
		return now.fds <= base.fds && now.goroutines <= base.goroutines && now.cgroups <= base.cgroups
	})
	return now, ok
}

// soakPoll calls cond until it returns true (true) or timeout has passed
// (false).
func soakPoll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(wait)
	}
}

func soakHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

func soakMiB(b uint64) float64 { return float64(b) / (1 << 20) }

func soakRandomMark(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// soakSurvivors lists the live processes whose environment carries the
// soak's marker (a zombie counts as dead).
func soakSurvivors(mark string) []int {
	want := []byte(soakMarkEnv + "=" + mark + "\x00")
	var out []int
	pids, _ := sysproc.Pids()
	for _, p := range pids {
		env, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/environ")
		if err == nil && bytes.Contains(append(env, 0), want) && sysproc.Alive(p) {
			out = append(out, p)
		}
	}
	return out
}

func soakComm(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	return strings.TrimSpace(string(b))
}

// soakPercentile returns the p-th percentile of sorted durations.
func soakPercentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}

func soakRound(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

func (s *soaker) summary(t *testing.T, seed uint64, tenth int, elapsed time.Duration, base, end soakCounts, heapMid, heapEnd uint64, bound int64, survivors int) {
	t.Helper()
	st := s.stats
	var buf bytes.Buffer
	w := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	head := "kind\truns"
	for _, b := range s.backends {
		head += "\t" + string(b.Mechanism())
	}
	fmt.Fprintln(w, head+"\tfailed\tp50\tp99\tmax\toutcomes")
	sum := 0
	for k := range soakKinds {
		if st.runs[k] == 0 {
			continue
		}
		d := slices.Clone(st.durations[k])
		slices.Sort(d)
		row := fmt.Sprintf("%s\t%d", soakKindNames[k], st.runs[k])
		for _, n := range st.perBack[k] {
			row += fmt.Sprintf("\t%d", n)
		}
		labels := make([]string, 0, len(st.outcomes[k]))
		for l, n := range st.outcomes[k] {
			labels = append(labels, fmt.Sprintf("%s %d", l, n))
		}
		slices.Sort(labels)
		maxD := time.Duration(0)
		if len(d) > 0 {
			maxD = d[len(d)-1]
		}
		row += fmt.Sprintf("\t%d\t%v\t%v\t%v\t%s", st.failed[k], soakRound(soakPercentile(d, 50)), soakRound(soakPercentile(d, 99)), soakRound(maxD), strings.Join(labels, ", "))
		fmt.Fprintln(w, row)
		sum += st.runs[k]
	}
	_ = w.Flush()
	fmt.Fprintf(&buf, "total: %d runs (%d failed) in %v, %.1f runs/s, %d workers, seed %d\n", sum, st.nFailures, elapsed.Round(10*time.Millisecond), float64(sum)/elapsed.Seconds(), soakWorkers, seed)
	w = tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "\tbaseline\tend")
	fmt.Fprintf(w, "fds\t%d\t%d\n", base.fds, end.fds)
	fmt.Fprintf(w, "goroutines\t%d\t%d\n", base.goroutines, end.goroutines)
	fmt.Fprintf(w, "tether-* cgroups\t%d\t%d\n", base.cgroups, end.cgroups)
	fmt.Fprintf(w, "heap in use\t%.2f MiB (after %d runs)\t%.2f MiB (%+.2f MiB; bound +%.2f MiB)\n", soakMiB(heapMid), tenth, soakMiB(heapEnd), (float64(heapEnd)-float64(heapMid))/(1<<20), float64(bound)/(1<<20))
	fmt.Fprintf(w, "survivors\t\t%d (setsid escapees under pgid, killed by the test: %d)\n", survivors, s.escapees.Load())
	_ = w.Flush()
	for ln := range strings.SplitSeq(strings.TrimRight(buf.String(), "\n"), "\n") {
		t.Log("soak| " + ln)
	}
}
