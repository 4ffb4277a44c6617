package main

import (
	"errors"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gotether/tether/internal/testchild"
)

// cmd/tether is package main: its benchmarks' keys take the import path's
// last element, so "tether.BenchmarkStartupRun/*" is theirs; a key with
// "@unit" checks that unit only, and a plain key the figure only.
func TestTargetKeys(t *testing.T) {
	in := load(t, "startup.txt")
	rows := ratioRows(in)
	got := map[string]ratioRow{}
	for _, r := range rows {
		got[r.name()] = r
	}
	for _, name := range []string{"tether.BenchmarkStartupRun/auto", "tether.BenchmarkStartupRun/cgroupv2", "tether.BenchmarkStartupRun/pgid"} {
		if r, ok := got[name]; !ok || !r.hasT || r.t.limit != 2.0 || !r.t.ratio || !r.t.max || r.met {
			t.Errorf("%s: %+v (present %v)", name, r, ok)
		}
	}
	if r := got["tether.BenchmarkStartupVersion/tether"]; !r.hasT || r.t.limit != 1.5 || r.met || !near(r.ratio.med, (3757254/1486784.0+2858480/1387209.0)/2) {
		t.Errorf("version %+v", r)
	}
	// The startup benchmarks name no allocation target: no allocs/op rows.
	for name := range got {
		if strings.HasPrefix(name, "tether.") && strings.Contains(name, "allocs/op") {
			t.Errorf("unexpected row %s", name)
		}
	}
	k := key{module + "/proc", "BenchmarkSpawn", "pgid"}
	if tg, ok := targetFor(k, "allocs/op", false); !ok || tg.limit != 1.5 {
		t.Errorf("spawn pgid allocs/op: %+v %v", tg, ok)
	}
	if tg, ok := targetFor(k, "ns/op", true); !ok || tg.limit != 1.05 {
		t.Errorf("spawn pgid ns/op: %+v %v", tg, ok)
	}
	if _, ok := targetFor(k, "B/op", false); ok {
		t.Error("a plain key checked a unit that is not the figure")
	}
	if got := targetUnits(k, "ns/op"); !slices.Equal(got, []string{"allocs/op"}) {
		t.Errorf("target units %q", got)
	}
	if got := targetUnits(key{module + "/proc", "BenchmarkConcurrent", "pgid"}, "runs/s"); len(got) != 0 {
		t.Errorf("concurrent target units %q", got)
	}
}

// fakeRun answers the profiler's commands from canned outputs and records
// them.
type fakeRun struct {
	calls   []string
	failGo  bool // go test fails
	perfErr error
}

func (f *fakeRun) run(env []string, name string, args ...string) ([]byte, []byte, error) {
	call := strings.Join(append(append(slices.Clone(env), name), args...), " ")
	f.calls = append(f.calls, call)
	read := func(file string) []byte {
		b, err := os.ReadFile("testdata/" + file)
		if err != nil {
			panic(err)
		}
		return b
	}
	switch {
	case name == "go" && args[0] == "test":
		if f.failGo {
			return []byte("--- FAIL: BenchmarkSpawn/pgid\n    bench_test.go:1: boom\nFAIL\n"), nil, errors.New("exit status 1")
		}
		return []byte("goos: linux\nBenchmarkSpawn/pgid-2   \t 100\t 1000 ns/op\nPASS\n"), nil, nil
	case name == "go" && args[0] == "tool":
		return read("pprof-cpu.txt"), nil, nil
	case name == "go" && args[0] == "build":
		// A real file for binaryFacts: this test's own source.
		src, _ := os.ReadFile("profile_test.go")
		return nil, nil, os.WriteFile(args[slices.Index(args, "-o")+1], src, 0o644)
	case len(env) > 0 && env[0] == "GODEBUG=inittrace=1":
		return []byte("tether (devel)\n"), read("inittrace.txt"), nil
	case name == "/usr/bin/perf" && args[0] == "record":
		return nil, nil, f.perfErr
	case name == "/usr/bin/perf" && args[0] == "report" && slices.Contains(args, "--children"):
		return read("perf-children.txt"), nil, nil
	case name == "/usr/bin/perf" && args[0] == "report":
		return read("perf-dso.txt"), nil, nil
	}
	return nil, nil, errors.New("unexpected command " + call)
}

// linuxCommands skips a test that checks the text of the commands a
// profile shows: make bench profiles on Linux (perf, a POSIX shell), and
// the paths in those commands are a Linux host's.
func linuxCommands(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("make bench makes its profiles on Linux; the commands' text, with Windows paths, is not what it shows")
	}
}

func newProfiler(t *testing.T, in *input, f *fakeRun, perf bool) *profiler {
	r := newReport(in, module)
	return &profiler{r: r, gocmd: "go", run: f.run, tmp: testchild.TempDir(t), lookup: func(string) (string, error) {
		if !perf {
			return "", errors.New("not found")
		}
		return "/usr/bin/perf", nil
	}}
}

// Every missed sub-benchmark is re-run alone under the CPU profiler, and
// one that missed an allocation target once more under the exact
// allocation profiler; the listings lose the lines that change every run.
func TestBenchProfiles(t *testing.T) {
	linuxCommands(t)
	f := &fakeRun{}
	p := newProfiler(t, load(t, "synthetic.txt"), f, false)
	prs := p.profiles()
	var titles []string
	for _, pr := range prs {
		titles = append(titles, pr.title)
	}
	want := []string{
		"proc.BenchmarkSpawn/cgroupv2: ns/op ratio 1.25, target ratio ≤ 1.08; allocs/op ratio 2.54, target ratio ≤ 1.50",
		"proc.BenchmarkSpawn/pgid: allocs/op ratio 2.54, target ratio ≤ 1.50",
		"proc.BenchmarkKillTree/pgid: ms-kill-to-dead ratio 4.00, target ratio ≤ 1.00",
	}
	if !slices.Equal(titles, want) {
		t.Fatalf("profiles:\n%s\nwant:\n%s", strings.Join(titles, "\n"), strings.Join(want, "\n"))
	}
	if n := len(prs[0].parts); n != 2 || len(prs[2].parts) != 1 {
		t.Fatalf("parts %d and %d, want CPU and allocations, then CPU alone", n, len(prs[2].parts))
	}
	cpu, mem := prs[0].parts[0], prs[0].parts[1]
	for _, want := range []string{
		"go test -run '^$' -bench '^BenchmarkSpawn$/^cgroupv2$' -benchmem -count=1 -o $d/proc.test -benchtime 3s -cpuprofile $d/cpu.prof ./proc/\n",
		"go tool pprof -top -cum -nodecount=15 -hide",
	} {
		if !strings.Contains(cpu.cmd, want) {
			t.Errorf("CPU command lacks %q:\n%s", want, cpu.cmd)
		}
	}
	if !strings.Contains(mem.cmd, "-memprofile $d/mem.prof -memprofilerate=1 ./proc/") || !strings.Contains(mem.cmd, "-sample_index=alloc_objects") ||
		strings.Contains(mem.cmd, "-cpuprofile") {
		t.Errorf("allocation commands:\n%s", mem.cmd)
	}
	if !strings.HasPrefix(cpu.text, "BenchmarkSpawn/pgid-2 100 1000 ns/op\nType: cpu\nDuration:") ||
		strings.Contains(cpu.text, "Build ID") || strings.Contains(cpu.text, "hide=") ||
		!strings.Contains(cpu.text, "github.com/gotether/tether/proc.(*RunningProcess).monitor") {
		t.Errorf("CPU listing:\n%s", cpu.text)
	}
	mems := 0
	for _, c := range f.calls {
		if strings.Contains(c, "-memprofile") {
			mems++
			if strings.Contains(c, "KillTree") {
				t.Error("a target on time got an allocation profile")
			}
		}
	}
	if mems != 2 {
		t.Errorf("%d allocation profile runs, want 2:\n%s", mems, strings.Join(f.calls, "\n"))
	}
	// A sub-benchmark's name is quoted for the -bench regexp.
	if got := benchPattern(key{"x", "BenchmarkLineReader", "ascii/bufio-scanner+valid"}); got != `^BenchmarkLineReader$/^ascii$/^bufio-scanner\+valid$` {
		t.Errorf("pattern %s", got)
	}

	// A benchmark that fails in its profile run is a failure, shown.
	f = &fakeRun{failGo: true}
	p = newProfiler(t, load(t, "synthetic.txt"), f, false)
	prs = p.profiles()
	if !prs[0].failed || !strings.Contains(prs[0].parts[0].err, "boom") || prs[0].parts[0].text != "" {
		t.Errorf("failed run: %+v", prs[0])
	}
}

// The startup benchmarks get one breakdown: this run's medians layer by
// layer, the binary and its packages' initialisation, and perf's profile
// of each missed command, or why there is none.
func TestStartupProfile(t *testing.T) {
	linuxCommands(t)
	for _, perf := range []bool{false, true} {
		f := &fakeRun{}
		in := load(t, "startup.txt")
		p := newProfiler(t, in, f, perf)
		prs := p.profiles()
		var st *profile
		for i := range prs {
			if strings.HasPrefix(prs[i].title, "whole-process start") {
				st = &prs[i]
			} else if strings.HasPrefix(prs[i].title, "tether.") {
				t.Errorf("a start benchmark got a CPU profile: %s", prs[i].title)
			}
		}
		if st == nil {
			t.Fatalf("no startup profile among %d", len(prs))
		}
		// The split, the init trace, then perf for run auto, cgroupv2,
		// pgid and version.
		if len(st.parts) != 6 {
			t.Fatalf("%d parts", len(st.parts))
		}
		split := st.parts[0].text
		for _, want := range []string{
			"   1.75 ms    1.61 ms  timeout 10 /bin/true (tether run's reference)\n",
			"   3.31 ms    3.44 ms  tether version\n",
			"   7.22 ms    6.07 ms  tether run --mechanism auto -- /bin/true\n",
			"   1.87 ms  tether version − refversion",
			"   5.47 ms  tether run --mechanism auto − timeout",
		} {
			if !strings.Contains(split, want) {
				t.Errorf("split lacks %q:\n%s", want, split)
			}
		}
		trace := st.parts[1]
		for _, want := range []string{
			"97 packages initialised; their init functions take 1.34 ms in all; the last one ends 3.70 ms after the runtime's start",
			"     0.120        312        7  internal/godebug\n",
			"binary: 0.0 MB",
		} {
			if !strings.Contains(trace.text, want) {
				t.Errorf("init trace lacks %q:\n%s", want, trace.text)
			}
		}
		if !strings.Contains(trace.cmd, "CGO_ENABLED=0 go build -trimpath -o $d/tether ./cmd/tether/") || !strings.Contains(trace.cmd, "GODEBUG=inittrace=1 $d/tether version") {
			t.Errorf("init trace commands:\n%s", trace.cmd)
		}
		auto := st.parts[2]
		if !strings.Contains(auto.cmd, "$d/tether run --mechanism auto -- /bin/true") {
			t.Errorf("perf command:\n%s", auto.cmd)
		}
		if !perf {
			if !strings.Contains(auto.err, "perf is not installed") || auto.text != "" {
				t.Errorf("without perf: %+v", auto)
			}
			continue
		}
		byObj, bySym, _ := strings.Cut(auto.text, "\n\n")
		if !strings.HasPrefix(byObj, "  Overhead  Command          Shared Object\n    43.94%  tether           [kernel.kallsyms]\n") ||
			strings.Count(byObj, "\n") != profileTop || strings.Contains(auto.text, "Samples:") {
			t.Errorf("perf listing by object:\n%s", byObj)
		}
		if !strings.HasPrefix(bySym, "  Children      Self  Command          Symbol\n    29.79%") ||
			strings.Contains(bySym, "[k]") || !strings.Contains(bySym, "[.] main.main") {
			t.Errorf("perf listing:\n%s", auto.text)
		}
	}
}

func TestParseInitTrace(t *testing.T) {
	r := parseInitTrace("init a @0.10 ms, 0.20 ms clock, 10 bytes, 1 allocs\nnot a trace line\ninit b @0.50 ms, 0.05 ms clock, 0 bytes, 0 allocs\ninit a @0.60 ms, 0.01 ms clock, 5 bytes, 2 allocs\n")
	if !slices.Equal(r.order, []string{"a", "b"}) || !near(r.clock["a"], 0.21) || r.bytes["a"] != 15 || r.allocs["a"] != 3 || !near(r.end, 0.61) {
		t.Errorf("%+v", r)
	}
	runs := []initRun{
		parseInitTrace("init a @0 ms, 0.10 ms clock, 0 bytes, 0 allocs\ninit b @0.2 ms, 0.30 ms clock, 0 bytes, 0 allocs"),
		parseInitTrace("init a @0 ms, 0.40 ms clock, 0 bytes, 0 allocs\ninit b @0.5 ms, 0.20 ms clock, 0 bytes, 0 allocs"),
		parseInitTrace("init a @0 ms, 0.50 ms clock, 0 bytes, 0 allocs"),
	}
	// Medians: a 0.40, b 0.20 (absent counts 0); sums 0.40, 0.60, 0.50;
	// ends 0.50, 0.70, 0.50.
	got := initTable(runs, 1)
	want := "2 packages initialised; their init functions take 0.50 ms in all; the last one ends 0.50 ms after the runtime's start\n" +
		"  clock ms      bytes   allocs  package\n     0.400          0        0  a"
	if got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

// The section folds each profile, and says so when there was none.
func TestProfileSection(t *testing.T) {
	r := newReport(load(t, "synthetic.txt"), module)
	p := &profiler{r: r, gocmd: "go", run: (&fakeRun{}).run, tmp: testchild.TempDir(t), lookup: func(string) (string, error) { return "", errors.New("no") }}
	r.profiles, r.profiled = p.profiles(), true
	md := r.markdown()
	for _, want := range []string{
		"### Where the time of the missed targets goes\n",
		"<details><summary>proc.BenchmarkSpawn/cgroupv2: ns/op ratio 1.25, target ratio ≤ 1.08; allocs/op ratio 2.54, target ratio ≤ 1.50</summary>\n\nCPU profile",
		"```sh\ngo test -run '^$' -bench '^BenchmarkKillTree$/^pgid$'",
		"```text\nBenchmarkSpawn/pgid-2 100 1000 ns/op\nType: cpu\n",
		"</details>\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("section lacks %q", want)
		}
	}
	if strings.Count(md, "<details>") != 3 || strings.Count(md, "</details>") != 3 {
		t.Errorf("%d profiles folded, want 3", strings.Count(md, "<details>"))
	}
}

func TestPerfTop(t *testing.T) {
	got := perfTop("# comment\n#\n# Overhead  Command\n# ........  .......\n#\n    40.00%  tether  \n    20.00%  exe\n    10.00%  true\n", 2, false)
	if want := "  Overhead  Command\n    40.00%  tether\n    20.00%  exe"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	got = perfTop("# Children  Self  Command  Symbol\n    30%  0%  tether  [.] runtime.main\n    25%  1%  tether  [k] do_syscall_64\n    20%  0%  tether  [.] main.main\n", 2, true)
	if want := "  Children  Self  Command  Symbol\n    30%  0%  tether  [.] runtime.main\n    20%  0%  tether  [.] main.main"; got != want {
		t.Errorf("user only: got %q, want %q", got, want)
	}
}
