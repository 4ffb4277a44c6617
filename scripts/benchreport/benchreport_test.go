package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"
)

const module = "github.com/gotether/tether"

func load(t *testing.T, name string) *input {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in, err := parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// The table on stdout is in the format scripts/benchratio.go printed
// before it became a front for this program: testdata/real.table was the
// old benchratio's output for testdata/real.txt (two runs of `make bench`'s
// go test line on a few packages), byte for byte, until issue 17 changed
// the targets and gave the spawn's allocations rows of their own; only
// those lines differ from what benchratio printed.
func TestTableAsBenchratioPrintedIt(t *testing.T) {
	want, err := os.ReadFile("testdata/real.table")
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	printTable(&got, ratioRows(load(t, "real.txt")))
	if got.String() != string(want) {
		t.Errorf("table:\n%s\nwant:\n%s", got.String(), want)
	}
}

func TestParse(t *testing.T) {
	in := load(t, "synthetic.txt")
	if in.runs != 2 || in.cpu != "Test CPU" || in.goos != "linux" || in.goarch != "amd64" {
		t.Errorf("runs %d cpu %q goos %q goarch %q", in.runs, in.cpu, in.goos, in.goarch)
	}
	spawn := in.samples[key{module + "/proc", "BenchmarkSpawn", "cgroupv2"}]["ns/op"]
	if len(spawn) != 2 || spawn[0] != (obs{1, 0, 1300000}) || spawn[1] != (obs{2, 0, 2400000}) {
		t.Errorf("cgroupv2 spawn samples %v", spawn)
	}
	if got := in.samples[key{module + "/encoding", "BenchmarkLineReader", "ascii/bufio-scanner+valid"}]["MB/s"]; len(got) != 1 || got[0].v != 5000 {
		t.Errorf("scanner+valid MB/s %v", got)
	}
	if want := []string{"BenchmarkKillTree/pgid", "FAIL " + module + "/proc 20.1s"}; strings.Join(in.failures, "|") != strings.Join(want, "|") {
		t.Errorf("failures %q, want %q", in.failures, want)
	}
	if len(in.skips) != 1 || in.skips[0] != (skip{"BenchmarkSpawn/pgid", "pgid not usable here: testing"}) {
		t.Errorf("skips %+v", in.skips)
	}
}

func TestRatioRows(t *testing.T) {
	rows := ratioRows(load(t, "synthetic.txt"))
	got := map[string]ratioRow{}
	for _, r := range rows {
		got[r.name()] = r
	}
	var names []string
	for _, r := range rows {
		names = append(names, r.name())
	}
	// pgid's spawn, first seen in the second run, stays with its
	// benchmark; a spawn's allocations have a row of their own (a target
	// names that unit), right after its figure's.
	if got, want := strings.Join(names, " "), "proc.BenchmarkSpawn/cgroupv2 proc.BenchmarkSpawn/cgroupv2 allocs/op proc.BenchmarkSpawn/pgid proc.BenchmarkSpawn/pgid allocs/op proc.BenchmarkOwnerDeath/cgroupv2 proc.BenchmarkOwnerDeath/cgroupv2-unwatched proc.BenchmarkKillTree/pgid"; got != want {
		t.Errorf("rows %s, want %s", got, want)
	}
	s := got["proc.BenchmarkSpawn/cgroupv2"]
	if s.unit != "ns/op" || !s.isFigure || !near(s.ratio.med, 1.25) || !near(s.ratio.lo, 1.2) || !near(s.ratio.hi, 1.3) || s.met || !s.hasT || !near(s.missedBy(), 0.17) {
		t.Errorf("spawn cgroupv2 %+v", s)
	}
	// 142 allocations against 56 in both runs: 2.54 > 1.5.
	if a := got["proc.BenchmarkSpawn/cgroupv2 allocs/op"]; a.unit != "allocs/op" || a.isFigure || a.raw != 56 || a.tether != 142 || a.pairs != 2 ||
		!near(a.ratio.med, 142.0/56) || !a.hasT || a.met || a.t.limit != 1.5 || a.label() != "cgroupv2 allocs/op" {
		t.Errorf("spawn cgroupv2 allocs %+v", a)
	}
	// pgid skipped in the first run: its one sample pairs with the second
	// raw sample, not the first.
	if p := got["proc.BenchmarkSpawn/pgid"]; !near(p.ratio.med, 1.05) || p.pairs != 1 || !p.met {
		t.Errorf("spawn pgid %+v", p)
	}
	// Issue 17 holds the kill to raw's own figure: a ratio, 4 against ≤ 1.
	if k := got["proc.BenchmarkKillTree/pgid"]; k.unit != "ms-kill-to-dead" || k.tether != 240 || !near(k.ratio.med, 4) || k.met || !k.t.ratio || !near(k.missedBy(), 3) {
		t.Errorf("kill tree pgid %+v", k)
	}
	if o := got["proc.BenchmarkOwnerDeath/cgroupv2"]; o.hasT || !near(o.ratio.med, (1.2+1.15)/2) {
		t.Errorf("owner death %+v", o)
	}
}

func TestCostRows(t *testing.T) {
	rows := costRows(load(t, "synthetic.txt"))
	if len(rows) != 1 {
		t.Fatalf("rows %+v", rows)
	}
	c := rows[0]
	if c.backend != "cgroupv2" || c.unwatched != "cgroupv2-unwatched" || !near(c.cost.med, 125000) ||
		!near(c.cost.lo, 50000) || !near(c.cost.hi, 200000) || !near(c.raw, 1.5e6) {
		t.Errorf("cost %+v", c)
	}
	if want := (50000/1.2e6 + 200000/2.3e6) * 50; !near(c.pct.med, want) {
		t.Errorf("pct %v, want %v", c.pct.med, want)
	}
	// The container layer names its pair the other way round.
	in := &input{samples: map[key]map[string][]obs{
		{"x/cgroupv2", "BenchmarkSpawn", "cgroupv2"}:                     {"ns/op": {{1, 0, 100}}},
		{"x/cgroupv2", "BenchmarkSpawn", "cgroupv2-kill-on-owner-death"}: {"ns/op": {{1, 0, 130}}},
	}, order: []key{{"x/cgroupv2", "BenchmarkSpawn", "cgroupv2"}, {"x/cgroupv2", "BenchmarkSpawn", "cgroupv2-kill-on-owner-death"}}}
	if rows := costRows(in); len(rows) != 1 || rows[0].backend != "cgroupv2" || rows[0].cost.med != 30 || rows[0].k.sub != "cgroupv2-kill-on-owner-death" {
		t.Errorf("container layer %+v", rows)
	}
}

func TestLineAndOtherRows(t *testing.T) {
	in := load(t, "synthetic.txt")
	ls := lineRows(in)
	if len(ls) != 2 {
		t.Fatalf("line rows %+v", ls)
	}
	if a := ls[0]; a.data != "ascii" || !near(a.ratio.med, 0.9) || !near(a.ratioValid.med, 1.8) || !a.hasT || !a.met {
		t.Errorf("ascii %+v", a)
	}
	if u := ls[1]; u.data != "utf8" || !near(u.ratio.med, 0.2) || u.hasT {
		t.Errorf("utf8 %+v", u)
	}
	os := otherRows(in, ratioRows(in), costRows(in), ls)
	if len(os) != 1 || os[0].k.bench != "BenchmarkSpawnClose" {
		t.Fatalf("other rows %+v", os)
	}
	var units []string
	for _, m := range os[0].metrics {
		units = append(units, metricText(m))
	}
	if got, want := strings.Join(units, ", "), "15.0 ms/op, 9.00 ms (new-ns/run), 5.00 ms (sub-ns/run)"; got != want {
		t.Errorf("metrics %q, want %q", got, want)
	}
}

func TestVMLog(t *testing.T) {
	f, err := os.Open("testdata/vm.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	run, err := parseVMLog(f, regexp.MustCompile(`^(TestEnforced|TestLimit)`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range run.tests {
		got = append(got, x.name+" "+pkgName(x.pkg)+" "+x.result+" "+x.dur+" "+strings.Join(x.logs, "/"))
	}
	want := []string{
		"TestEnforcedMemoryMaxOOMKillsChild cgroupv2 PASS 0.12s OOM-killed 45ms after start; OOMKills 1, memory peak 33554432 of a 33554432 cap",
		"TestLimitsEnforced cgroupv2 PASS 1.50s ",
		"TestLimitsEnforced/memory cgroupv2 PASS 0.20s ",
		"TestLimitsEnforced/cpu cgroupv2 PASS 1.30s ",
		"TestLimitCPUQuotaHoldsSpinnerRun proc FAIL 4.00s cgroupv2 under a 0.5 CPU quota: 1s of CPU over 2s = 0.50 CPUs (windows: [0.50])",
		"TestLimitMaxProcessesHoldsForkBombRun proc SKIP 0.00s the pids limit cannot be enforced here: no | pipe",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("tests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !run.failed() || len(run.pkgs) != 2 || len(run.notes) != 1 {
		t.Errorf("failed %v pkgs %q notes %q", run.failed(), run.pkgs, run.notes)
	}
}

func TestReplaceSection(t *testing.T) {
	doc := "# Title\n\nhand-written\n\n" + beginMarker + "\nold\n" + endMarker + "\n\nafter\n"
	got, err := replaceSection(doc, beginMarker+"\nnew\n"+endMarker+"\n")
	if err != nil {
		t.Fatal(err)
	}
	if want := "# Title\n\nhand-written\n\n" + beginMarker + "\nnew\n" + endMarker + "\n\nafter\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if again, _ := replaceSection(got, beginMarker+"\nnew\n"+endMarker+"\n"); again != got {
		t.Errorf("not idempotent: %q", again)
	}
	for _, bad := range []string{"no markers\n", endMarker + "\n" + beginMarker + "\n", beginMarker + "\n", doc + doc} {
		if _, err := replaceSection(bad, "x"); err == nil {
			t.Errorf("replaceSection(%q) accepted", bad)
		}
	}
	if got, err := replaceSection("", "s"); err != nil || got != "s" {
		t.Errorf("empty doc: %q %v", got, err)
	}
}

// The chart is well-formed XML and shows every row's ratio; the section
// has every table, and its figures agree with the chart's.
func TestReport(t *testing.T) {
	for _, name := range []string{"real.txt", "synthetic.txt"} {
		t.Run(name, func(t *testing.T) {
			r := newReport(load(t, name), module)
			r.svgLink = "bench-ratios.svg"
			r.vm = vmInfo{skip: "no VM here", status: -1}
			svg := r.svg()
			d := xml.NewDecoder(strings.NewReader(svg))
			for {
				_, err := d.Token()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("chart is not well-formed: %v\n%s", err, svg)
				}
			}
			md := r.markdown()
			for _, row := range r.ratio {
				if !strings.Contains(svg, ">"+ratio(row.ratio.med)+"</tspan>") {
					t.Errorf("chart lacks %s's ratio %s", row.k.name(), ratio(row.ratio.med))
				}
				if !strings.Contains(md, "| "+ratio(row.ratio.med)+" |") {
					t.Errorf("section lacks %s's ratio %s", row.k.name(), ratio(row.ratio.med))
				}
			}
			for _, want := range []string{"](bench-ratios.svg)", "### The owner-death watchdog's cost", "Not run: no VM here.", "go test -run '^$' -bench '^("} {
				if !strings.Contains(md, want) {
					t.Errorf("section lacks %q", want)
				}
			}
			if !strings.HasPrefix(md, beginMarker+"\n") || !strings.HasSuffix(md, endMarker+"\n") {
				t.Error("section is not between the markers")
			}
		})
	}
	r := newReport(load(t, "synthetic.txt"), module)
	md := r.markdown()
	for _, want := range []string{
		"### tether ÷ raw os/exec, with issue 17's targets\n",
		"| proc.BenchmarkSpawn | cgroupv2 | ns/op | 1.50 ms | 1.85 ms | 1.25 | 1.20–1.30 | 2 | ratio ≤ 1.08 | **missed** by 0.17 |",
		"| proc.BenchmarkSpawn | cgroupv2 | allocs/op | 56.0 | 142 | 2.54 | 2.54–2.54 | 2 | ratio ≤ 1.50 | **missed** by 1.04 |",
		"| proc.BenchmarkKillTree | pgid | ms-kill-to-dead | 60.0 ms | 240 ms | 4.00 | 4.00–4.00 | 1 | ratio ≤ 1.00 | **missed** by 3.00 |",
		"Targets: 1 met, 4 missed (proc.BenchmarkSpawn/cgroupv2, proc.BenchmarkSpawn/cgroupv2 allocs/op, proc.BenchmarkSpawn/pgid allocs/op, proc.BenchmarkKillTree/pgid).",
		"### Where the time of the missed targets goes\n\nNot profiled: benchreport ran without -profile",
		"| proc.BenchmarkOwnerDeath | cgroupv2 | 1.50 ms | 1.75 ms | 1.62 ms | 125 µs | 50.0 µs to 200 µs | 6.4 % | 2 |",
		"| encoding.BenchmarkLineReader | ascii | 10000 MB/s | 5000 MB/s | 9000 MB/s | 0.90 | 0.90–0.90 | 1.80 | 1 | ratio ≥ 0.80 | met |",
		"**This run had failures**",
		"Skipped: `BenchmarkSpawn/pgid` (pgid not usable here: testing).",
		"  go test -run '^$' -bench '^BenchmarkSpawnClose$' -benchmem -count=1 ./contain/pgid/\n",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("section lacks %q:\n%s", want, md)
		}
	}
}

func TestFormats(t *testing.T) {
	for _, c := range []struct {
		unit string
		v    float64
		want string
	}{
		{"ns/op", 638123, "638 µs"},
		{"ns/op", 1453212, "1.45 ms"},
		{"ns/op", -65400, "−65.4 µs"},
		{"ns/op", 512, "512 ns"},
		{"ms-kill-to-dead", 0.97, "970 µs"},
		{"ms-exit-to-return", 100.5, "100 ms"},
		{"runs/s", 1888, "1888 runs/s"},
		{"MB/s", 1406.2, "1406 MB/s"},
		{"new-ns/run", 9e6, "9.00 ms"},
		{"ns/op", math.NaN(), "–"},
	} {
		if got := value(c.unit, c.v); got != c.want {
			t.Errorf("value(%q, %v) = %q, want %q", c.unit, c.v, got, c.want)
		}
	}
	if got := benchCommands(module, []key{{module + "/proc", "BenchmarkA", "x"}, {module + "/proc", "BenchmarkA", "y"}, {"other/mod", "BenchmarkB", ""}}); strings.Join(got, "\n") !=
		"go test -run '^$' -bench '^BenchmarkA$' -benchmem -count=1 ./proc/\ngo test -run '^$' -bench '^BenchmarkB$' -benchmem -count=1 other/mod" {
		t.Errorf("commands %q", got)
	}
}
