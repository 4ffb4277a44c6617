package main

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Profiles of the missed targets (-profile): after the repetitions, every
// sub-benchmark that missed a target runs once more, alone, under a
// profiler, and the report shows where its time (or its allocations) go.
//
// A benchmark whose time is spent in the test process gets a CPU profile
// of that process (-cpuprofile), and, for a target on allocs/op or B/op, a
// second run with an exact allocation profile (-memprofile with
// -memprofilerate=1; not in the same run, since recording every
// allocation distorts the CPU profile). A whole-process start benchmark
// (startupCommands) spends its time in the processes it starts, where a
// profile of the test process sees nothing; it gets the startup breakdown
// instead (see startupProfile).

// profileBenchtime is the -benchtime of a CPU profile run: more than the
// default second, for enough samples at the profiler's 100 Hz.
const profileBenchtime = "3s"

// profileTop is the number of entries each listing keeps.
const profileTop = 15

// pprofHide hides, in a cumulative CPU listing, the frames every sample
// passes through and that say nothing of where the time goes: the test
// harness and the scheduler's own loop (which would head the listing with
// the whole profile under them).
const pprofHide = `^testing\.|^runtime\.(mcall|schedule|findRunnable|park_m|goexit0|goexit|systemstack|mstart|mstart0|mstart1|main)$`

// initTraceRuns and perfRuns are how many processes the startup
// breakdown traces and samples.
const (
	initTraceRuns = 20
	perfRuns      = 20
)

// runFunc runs a command in the current directory (the module root) with
// env added to the environment, and returns what it wrote on stdout and
// stderr. Tests replace it.
type runFunc func(env []string, name string, args ...string) (stdout, stderr []byte, err error)

func runCommand(env []string, name string, args ...string) ([]byte, []byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.Bytes(), errb.Bytes(), err
}

// profiler makes the profiles of one report.
type profiler struct {
	r      *report
	gocmd  string // the go command
	run    runFunc
	tmp    string                       // a scratch directory, removed by the caller
	lookup func(string) (string, error) // exec.LookPath; tests replace it
}

// profile is what the report shows of one missed sub-benchmark, or of
// every missed whole-process start at once.
type profile struct {
	title  string
	parts  []profilePart
	failed bool // a benchmark failed in its profile run
}

// profilePart is one listing and how it was made.
type profilePart struct {
	what string // what the listing is and what it shows
	cmd  string // the commands that made it, for a reader to run again
	text string // the listing ("" if it could not be made)
	err  string // why it could not be made
}

// miss is a sub-benchmark that missed a target, in one unit.
type miss struct {
	k    key
	unit string
	text string // "ns/op ratio 1.15, target ratio ≤ 1.05"
}

// misses are the missed targets of the report, in the order of its tables.
func (r *report) misses() []miss {
	var ms []miss
	for _, x := range r.ratio {
		if x.hasT && !x.met {
			v := ratio(x.value())
			if !x.t.ratio {
				v = value(x.unit, x.value())
			}
			what := x.unit
			if x.t.ratio {
				what += " ratio"
			}
			ms = append(ms, miss{x.k, x.unit, fmt.Sprintf("%s %s, target %s", what, v, targetText(x.t, x.unit))})
		}
	}
	for _, l := range r.lines {
		if l.hasT && !l.met {
			ms = append(ms, miss{l.k, "MB/s", fmt.Sprintf("MB/s ratio %s, target %s", ratio(l.ratio.med), targetText(l.t, "MB/s"))})
		}
	}
	return ms
}

// profiles profiles every missed target: one profile per sub-benchmark
// (its misses in every unit together), and one startup breakdown for all
// the whole-process start benchmarks that missed theirs.
func (p *profiler) profiles() []profile {
	var order []key
	byKey := map[key][]miss{}
	var startup []miss
	for _, m := range p.r.misses() {
		if _, ok := startupCommands[m.k.short()]; ok {
			startup = append(startup, m)
			continue
		}
		if _, ok := byKey[m.k]; !ok {
			order = append(order, m.k)
		}
		byKey[m.k] = append(byKey[m.k], m)
	}
	var out []profile
	for _, k := range order {
		out = append(out, p.benchProfile(k, byKey[k]))
	}
	if len(startup) > 0 {
		out = append(out, p.startupProfile(startup))
	}
	return out
}

func missTexts(ms []miss) string {
	var s []string
	for _, m := range ms {
		s = append(s, m.text)
	}
	return strings.Join(s, "; ")
}

// benchPattern is the -bench pattern that runs exactly k's sub-benchmark.
func benchPattern(k key) string {
	parts := []string{"^" + regexp.QuoteMeta(k.bench) + "$"}
	if k.sub != "" {
		for _, s := range strings.Split(k.sub, "/") {
			parts = append(parts, "^"+regexp.QuoteMeta(s)+"$")
		}
	}
	return strings.Join(parts, "/")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// shown is a command line for the report: the scratch directory written
// $d, every word quoted as a shell needs.
func (p *profiler) shown(env []string, name string, args ...string) string {
	var w []string
	for _, s := range append(append(slices.Clone(env), name), args...) {
		w = append(w, strings.ReplaceAll(shellQuote(s), p.tmp, "$d"))
	}
	return strings.Join(w, " ")
}

// benchProfile re-runs k's sub-benchmark under the CPU profiler, and under
// the allocation profiler if it missed a target on allocations.
func (p *profiler) benchProfile(k key, ms []miss) profile {
	pr := profile{title: k.name() + ": " + missTexts(ms)}
	dir := pkgDir(p.r.module, k.pkg)
	bin := filepath.Join(p.tmp, path.Base(k.pkg)+".test")
	base := []string{"test", "-run", "^$", "-bench", benchPattern(k), "-benchmem", "-count=1", "-o", bin}

	cpu := filepath.Join(p.tmp, "cpu.prof")
	args := append(slices.Clone(base), "-benchtime", profileBenchtime, "-cpuprofile", cpu, dir)
	top := []string{"tool", "pprof", "-top", "-cum", "-nodecount=" + strconv.Itoa(profileTop), "-hide", pprofHide, bin, cpu}
	part := profilePart{
		what: fmt.Sprintf("CPU profile of the test process, the %d largest by cumulative time (the function and what it calls), "+
			"the test harness and the scheduler's loop hidden. It shows CPU only: time the run spends waiting "+
			"(for its child, for the kernel) is not in it, so the total is less than the wall time.", profileTop),
		cmd: p.shown(nil, p.gocmd, args...) + "\n" + p.shown(nil, p.gocmd, top...),
	}
	pr.failed = p.profileRun(&part, args, top) || pr.failed
	pr.parts = append(pr.parts, part)

	var memUnits []string
	for _, m := range ms {
		if m.unit == "allocs/op" || m.unit == "B/op" {
			memUnits = append(memUnits, m.unit)
		}
	}
	if len(memUnits) == 0 {
		return pr
	}
	mem := filepath.Join(p.tmp, "mem.prof")
	args = append(slices.Clone(base), "-memprofile", mem, "-memprofilerate=1", dir)
	index, what := "alloc_objects", "allocations"
	if !slices.Contains(memUnits, "allocs/op") {
		index, what = "alloc_space", "bytes allocated"
	}
	top = []string{"tool", "pprof", "-top", "-nodecount=" + strconv.Itoa(profileTop), "-sample_index=" + index, bin, mem}
	part = profilePart{
		what: fmt.Sprintf("Allocation profile (every allocation recorded), the %d functions that make the most %s "+
			"themselves, over the whole run: divide by the iterations on the benchmark's line for a figure per run "+
			"(set-up included, which is small beside them).", profileTop, what),
		cmd: p.shown(nil, p.gocmd, args...) + "\n" + p.shown(nil, p.gocmd, top...),
	}
	pr.failed = p.profileRun(&part, args, top) || pr.failed
	pr.parts = append(pr.parts, part)
	return pr
}

// profileRun runs the benchmark (args) and then pprof (top), and fills
// part with the benchmark's result line and pprof's listing. It says
// whether the benchmark itself failed.
func (p *profiler) profileRun(part *profilePart, args, top []string) bool {
	out, errb, err := p.run(nil, p.gocmd, args...)
	if err != nil {
		part.err = fmt.Sprintf("the profile run failed (%v): %s", err, lastLines(string(out)+string(errb), 12))
		return true
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "Benchmark") {
			lines = append(lines, strings.Join(strings.Fields(l), " "))
		}
	}
	out, errb, err = p.run(nil, p.gocmd, top...)
	if err != nil {
		part.err = fmt.Sprintf("go tool pprof failed (%v): %s", err, lastLines(string(errb), 6))
		return false
	}
	part.text = strings.Join(append(lines, trimPprof(string(out))), "\n")
	return false
}

// trimPprof drops the lines of a pprof listing that change every run or
// repeat the command (file, build ID, time, the filters).
func trimPprof(s string) string {
	var keep []string
	filters := false
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		switch {
		case strings.HasPrefix(l, "Active filters:"):
			filters = true
			continue
		case filters && strings.HasPrefix(l, " "):
			continue
		case strings.HasPrefix(l, "File:"), strings.HasPrefix(l, "Build ID:"), strings.HasPrefix(l, "Time:"):
			continue
		}
		filters = false
		keep = append(keep, l)
	}
	return strings.Join(keep, "\n")
}

// lastLines is the last n lines of s, on one line each.
func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// startupCommands are the whole-process start benchmarks, with the
// arguments tether runs with in a sub-benchmark (cmd/tether's
// bench_startup_linux_test.go: "auto" and the mechanisms run
// `tether run --mechanism SUB -- /bin/true`).
var startupCommands = map[string]func(sub string) []string{
	"tether.BenchmarkStartupRun":     func(sub string) []string { return []string{"run", "--mechanism", sub, "--", "/bin/true"} },
	"tether.BenchmarkStartupVersion": func(string) []string { return []string{"version"} },
}

// startupProfile is the breakdown of a whole-process start, for every
// start benchmark that missed its target:
//
//   - the wall and CPU time of each process measured in this run (the
//     benchmarks' own medians), from the cheapest to `tether run`, so that
//     each difference is one layer: the Go runtime's start (the reference
//     program against `timeout`), tether's binary and package
//     initialisation (`tether version` against the reference), and
//     run's own work (`tether run` against `tether version`);
//   - the binary's size and whether it is dynamically linked (the dynamic
//     loader runs before the Go runtime does);
//   - GODEBUG=inittrace=1 of `tether version`: what each package's
//     initialisation costs before main, medians of initTraceRuns runs;
//   - where perf is installed and allowed to sample, a CPU profile of
//     perfRuns processes of each missed command, by process and object
//     and by function, kernel included (exec, page faults, process
//     creation and exit are the kernel's).
func (p *profiler) startupProfile(ms []miss) profile {
	var texts []string
	for _, m := range ms {
		texts = append(texts, m.k.name()+" "+m.text)
	}
	pr := profile{title: "whole-process start: " + strings.Join(texts, "; ")}
	pr.parts = append(pr.parts, p.startupSplit(ms[0].k.pkg))

	exe := filepath.Join(p.tmp, "tether")
	// Built as make build builds the release binary, as the start
	// benchmarks build it.
	env := []string{"CGO_ENABLED=0"}
	build := []string{"build", "-trimpath", "-o", exe, pkgDir(p.r.module, ms[0].k.pkg)}
	buildCmd := p.shown(env, p.gocmd, build...)
	if out, errb, err := p.run(env, p.gocmd, build...); err != nil {
		pr.parts = append(pr.parts, profilePart{what: "The build of tether for the breakdown", cmd: buildCmd,
			err: fmt.Sprintf("go build failed (%v): %s", err, lastLines(string(out)+string(errb), 12))})
		return pr
	}
	pr.parts = append(pr.parts, p.initTrace(exe, buildCmd))

	seen := map[string]bool{}
	for _, m := range ms {
		args := startupCommands[m.k.short()](m.k.sub)
		c := strings.Join(args, " ")
		if seen[c] {
			continue
		}
		seen[c] = true
		pr.parts = append(pr.parts, p.perf(exe, buildCmd, args))
	}
	return pr
}

// startupSplit is the table of the start benchmarks' medians in this run.
func (p *profiler) startupSplit(pkg string) profilePart {
	type proc struct{ what, bench, sub string }
	procs := []proc{
		{"timeout 10 /bin/true (tether run's reference)", "BenchmarkStartupRun", baseline},
		{"refversion: a Go program printing its version (tether version's reference)", "BenchmarkStartupVersion", baseline},
		{"tether version", "BenchmarkStartupVersion", "tether"},
	}
	for _, k := range p.r.in.order {
		if k.pkg == pkg && k.bench == "BenchmarkStartupRun" && k.sub != baseline {
			procs = append(procs, proc{"tether run --mechanism " + k.sub + " -- /bin/true", k.bench, k.sub})
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%10s %10s  %s\n", "wall", "CPU", "process")
	wall := map[string]float64{}
	for _, x := range procs {
		s := p.r.in.samples[key{pkg, x.bench, x.sub}]
		if s == nil {
			fmt.Fprintf(&b, "%10s %10s  %s (not in this run)\n", "–", "–", x.what)
			continue
		}
		w, c := median(values(s["ns/op"])), median(values(s["cpu-ns/op"]))
		wall[x.bench+"/"+x.sub] = w
		fmt.Fprintf(&b, "%10s %10s  %s\n", value("ns/op", w), value("ns/op", c), x.what)
	}
	b.WriteString("\n")
	diff := func(what, a, b string) string {
		x, okA := wall[a]
		y, okB := wall[b]
		if !okA || !okB {
			return ""
		}
		return fmt.Sprintf("%10s  %s\n", value("ns/op", x-y), what)
	}
	b.WriteString(diff("tether version − refversion: tether's binary and its packages' initialisation",
		"BenchmarkStartupVersion/tether", "BenchmarkStartupVersion/"+baseline))
	for _, x := range procs[3:] {
		b.WriteString(diff("tether run --mechanism "+x.sub+" − tether version: run's own work (the backend, the watchdog, starting and reaping /bin/true, the teardown)",
			x.bench+"/"+x.sub, "BenchmarkStartupVersion/tether"))
	}
	for _, x := range procs[3:] {
		b.WriteString(diff("tether run --mechanism "+x.sub+" − timeout: what the target asks to shrink",
			x.bench+"/"+x.sub, "BenchmarkStartupRun/"+baseline))
	}
	return profilePart{
		what: "Where a whole-process start goes, from this run's own samples (medians; wall is the ns/op of " +
			"os/exec's Run of the process, CPU its user + system time with the children it waited for: not " +
			"tether's owner-death watchdog, which tether does not wait for); then differences of wall times.",
		text: strings.TrimRight(b.String(), "\n"),
	}
}

// initLine is one line of GODEBUG=inittrace=1:
// "init pkg @0.52 ms, 0.031 ms clock, 1024 bytes, 12 allocs".
var initLine = regexp.MustCompile(`^init (\S+) @([0-9.]+) ms, ([0-9.]+) ms clock, (\d+) bytes, (\d+) allocs`)

// initRun is one process's package initialisation.
type initRun struct {
	clock  map[string]float64 // ms per package
	bytes  map[string]float64
	allocs map[string]float64
	order  []string
	end    float64 // ms from the runtime's start to the end of the last init
}

// parseInitTrace reads the inittrace lines of one run.
func parseInitTrace(s string) initRun {
	r := initRun{clock: map[string]float64{}, bytes: map[string]float64{}, allocs: map[string]float64{}}
	for _, l := range strings.Split(s, "\n") {
		m := initLine.FindStringSubmatch(strings.TrimSpace(l))
		if m == nil {
			continue
		}
		at, _ := strconv.ParseFloat(m[2], 64)
		c, _ := strconv.ParseFloat(m[3], 64)
		by, _ := strconv.ParseFloat(m[4], 64)
		al, _ := strconv.ParseFloat(m[5], 64)
		if _, ok := r.clock[m[1]]; !ok {
			r.order = append(r.order, m[1])
		}
		r.clock[m[1]] += c
		r.bytes[m[1]] += by
		r.allocs[m[1]] += al
		r.end = math.Max(r.end, at+c)
	}
	return r
}

// initTable is the packages of runs by median clock, the largest first,
// with the medians of the totals.
func initTable(runs []initRun, top int) string {
	var pkgs []string
	seen := map[string]bool{}
	for _, r := range runs {
		for _, p := range r.order {
			if !seen[p] {
				seen[p] = true
				pkgs = append(pkgs, p)
			}
		}
	}
	med := func(f func(initRun) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		return median(v)
	}
	type row struct {
		pkg                  string
		clock, bytes, allocs float64
	}
	rows := make([]row, len(pkgs))
	for i, p := range pkgs {
		rows[i] = row{p, med(func(r initRun) float64 { return r.clock[p] }), med(func(r initRun) float64 { return r.bytes[p] }),
			med(func(r initRun) float64 { return r.allocs[p] })}
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		switch {
		case a.clock > b.clock:
			return -1
		case a.clock < b.clock:
			return 1
		}
		return 0
	})
	sum := med(func(r initRun) float64 {
		s := 0.0
		for _, c := range r.clock {
			s += c
		}
		return s
	})
	var b strings.Builder
	fmt.Fprintf(&b, "%d packages initialised; their init functions take %.2f ms in all; the last one ends %.2f ms after the runtime's start\n",
		len(pkgs), sum, med(func(r initRun) float64 { return r.end }))
	fmt.Fprintf(&b, "%10s %10s %8s  %s\n", "clock ms", "bytes", "allocs", "package")
	for i, r := range rows {
		if i == top {
			break
		}
		fmt.Fprintf(&b, "%10.3f %10.0f %8.0f  %s\n", r.clock, r.bytes, r.allocs, r.pkg)
	}
	return strings.TrimRight(b.String(), "\n")
}

// initTrace runs `tether version` initTraceRuns times with
// GODEBUG=inittrace=1 and describes the binary.
func (p *profiler) initTrace(exe, buildCmd string) profilePart {
	env := []string{"GODEBUG=inittrace=1"}
	part := profilePart{
		what: fmt.Sprintf("What runs before tether's main: the binary, then the %d packages whose initialisation costs most "+
			"(GODEBUG=inittrace=1 of `tether version`, medians of %d runs; clock is the init functions' own wall time). "+
			"The tracing writes a line per package, so the end of the last init is later than without it.",
			profileTop, initTraceRuns),
		cmd: buildCmd + "\n" + fmt.Sprintf("for i in $(seq %d); do %s; done", initTraceRuns, p.shown(env, filepath.Join(p.tmp, "tether"), "version")),
	}
	var runs []initRun
	for range initTraceRuns {
		_, errb, err := p.run(env, exe, "version")
		if err != nil {
			part.err = fmt.Sprintf("tether version failed (%v): %s", err, lastLines(string(errb), 6))
			return part
		}
		runs = append(runs, parseInitTrace(string(errb)))
	}
	part.text = binaryFacts(exe) + "\n" + initTable(runs, profileTop)
	return part
}

// binaryFacts is the size of exe and how it is linked.
func binaryFacts(exe string) string {
	st, err := os.Stat(exe)
	if err != nil {
		return "binary: " + err.Error()
	}
	s := fmt.Sprintf("binary: %.1f MB", float64(st.Size())/1e6)
	f, err := elf.Open(exe)
	if err != nil {
		return s
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			b := make([]byte, prog.Filesz)
			if _, err := prog.ReadAt(b, 0); err == nil {
				libs, _ := f.ImportedLibraries()
				return s + fmt.Sprintf(", dynamically linked (the loader %s runs first, and loads %s)",
					strings.TrimRight(string(b), "\x00"), strings.Join(libs, ", "))
			}
		}
	}
	return s + ", statically linked"
}

// perfInclusiveTop is the number of entries of perf's inclusive listing:
// more than profileTop, since the frames every sample passes through
// (the runtime's entry points, main) take the first lines.
const perfInclusiveTop = 25

// perf samples perfRuns processes of tether with args, with their call
// chains, every process on the CPU counted (the loop's shell, tether, the
// program it runs and the watchdog it starts), and lists the CPU time by
// process and object, then by function inclusively (the function and
// everything under it, the kernel's work included).
func (p *profiler) perf(exe, buildCmd string, args []string) profilePart {
	data := filepath.Join(p.tmp, "perf.data")
	loop := fmt.Sprintf(`for i in $(seq %d); do "$0" "$@" >/dev/null 2>&1 || exit; done`, perfRuns)
	rec := append([]string{"record", "-q", "-g", "-e", "cpu-clock", "-F", "10000", "-o", data, "--", "sh", "-c", loop, exe}, args...)
	byObj := []string{"report", "-i", data, "--stdio", "--no-children", "--sort", "comm,dso", "-g", "none"}
	bySym := []string{"report", "-i", data, "--stdio", "--children", "--sort", "comm,sym", "-g", "none"}
	part := profilePart{
		what: fmt.Sprintf("CPU profile of %d processes of `tether %s` by perf (cpu-clock at 10 kHz, call chains, kernel "+
			"included): first the %d largest by process and object (own time; [kernel.kallsyms] is the kernel's work "+
			"for the process: exec, page faults, fork, exit), then the %d largest Go and C functions by inclusive time "+
			"(Children: the function and all it calls, the kernel's work on its behalf included; Self: its own). "+
			"exe and tether-watchdog are tether's owner-death watchdog, which re-executes /proc/self/exe and then "+
			"names itself; runtime.doInit1 is the packages' initialisation. CPU only: the wall time also has waits.",
			perfRuns, strings.Join(args, " "), profileTop, perfInclusiveTop),
		cmd: buildCmd + "\n" + p.shown(nil, "perf", rec...) + "\n" + p.shown(nil, "perf", byObj...) + "\n" + p.shown(nil, "perf", bySym...),
	}
	perf, err := p.lookup("perf")
	if err != nil {
		part.err = "perf is not installed (on Debian: apt-get install linux-perf)"
		return part
	}
	if out, errb, err := p.run(nil, perf, rec...); err != nil {
		part.err = fmt.Sprintf("perf record failed (%v): %s", err, lastLines(string(out)+string(errb), 6))
		return part
	}
	var texts []string
	for i, rep := range [][]string{byObj, bySym} {
		out, errb, err := p.run(nil, perf, rep...)
		if err != nil {
			part.err = fmt.Sprintf("perf report failed (%v): %s", err, lastLines(string(errb), 6))
			return part
		}
		if i == 0 {
			texts = append(texts, perfTop(string(out), profileTop, false))
		} else {
			texts = append(texts, perfTop(string(out), perfInclusiveTop, true))
		}
	}
	part.text = strings.Join(texts, "\n\n")
	return part
}

// perfTop is the first n entries of a perf report --stdio, with its
// column header and without its other comment lines; without the
// kernel's functions ("[k]") if userOnly.
func perfTop(s string, n int, userOnly bool) string {
	var keep []string
	entries := 0
	for _, l := range strings.Split(s, "\n") {
		head, isComment := strings.CutPrefix(l, "#")
		switch {
		case isComment && (strings.HasPrefix(strings.TrimSpace(head), "Overhead") || strings.HasPrefix(strings.TrimSpace(head), "Children")):
			keep = append(keep, " "+strings.TrimRight(head, " "))
			continue
		case isComment || strings.TrimSpace(l) == "", userOnly && strings.Contains(l, " [k] "):
			continue
		}
		keep = append(keep, strings.TrimRight(l, " "))
		if entries++; entries == n {
			break
		}
	}
	return strings.Join(keep, "\n")
}

// profileAll makes the profiles of r's missed targets with the go command
// gocmd, in a scratch directory it removes; it reports whether a
// benchmark failed in its profile run.
func profileAll(r *report, gocmd string, run runFunc) (bool, error) {
	tmp, err := os.MkdirTemp("", "benchreport-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	p := &profiler{r: r, gocmd: gocmd, run: run, tmp: tmp, lookup: exec.LookPath}
	r.profiles = p.profiles()
	r.profiled = true
	failed := false
	for _, pr := range r.profiles {
		failed = failed || pr.failed
	}
	return failed, nil
}

// errProfileRun is returned when a benchmark failed in its profile run.
var errProfileRun = errors.New("a benchmark failed in its profile run (see the profiles)")
