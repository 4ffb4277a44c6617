package main

import (
	"fmt"
	"io"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// baseline is the sub-benchmark every tether backend is compared with.
const baseline = "raw-os-exec"

// target is one of the issues' performance targets.
type target struct {
	ratio bool    // compare the ratio (else the absolute figure)
	max   bool    // the value must be at most limit (else at least)
	limit float64 // the bound
	issue int     // the issue that set it
}

// targets are keyed by "package-name.Benchmark/sub"; sub "*" is any
// backend. The package name is the import path's last element, so
// cmd/tether's benchmarks are "tether.Benchmark...". A key checks the
// benchmark's figure (see figure) unless it ends in "@unit", which names
// the unit it checks: "proc.BenchmarkSpawn/*@allocs/op" is the ratio of
// the allocations per run, in a row of its own.
//
// Issue 17's replace issue 3's where both had one: spawn, concurrency,
// the 500-process kill (a ratio to a raw process-group SIGKILL of the
// same tree instead of issue 3's absolute 200 ms, which does not travel
// between machines) and whole-process start. Issue 3's stay for capture,
// exit-to-return and timeout. Issue 3's 200 ms on
// cgroupv2.BenchmarkKillTree went without a replacement: that benchmark
// (a 4-process tree) has no raw-os-exec sub-benchmark, so the target was
// never checked. Issue 4's is the line reader against bufio.Scanner.
var targets = map[string]target{
	"proc.BenchmarkSpawn/pgid":                  {ratio: true, max: true, limit: 1.05, issue: 17},
	"proc.BenchmarkSpawn/cgroupv2":              {ratio: true, max: true, limit: 1.08, issue: 17},
	"proc.BenchmarkSpawn/*@allocs/op":           {ratio: true, max: true, limit: 1.5, issue: 17},
	"cgroupv2.BenchmarkSpawn/cgroupv2":          {ratio: true, max: true, limit: 1.08, issue: 17},
	"proc.BenchmarkConcurrent/*":                {ratio: true, limit: 0.95, issue: 17},
	"proc.BenchmarkKillTree/*":                  {ratio: true, max: true, limit: 1.0, issue: 17},
	"tether.BenchmarkStartupRun/*":              {ratio: true, max: true, limit: 2.0, issue: 17},
	"tether.BenchmarkStartupVersion/tether":     {ratio: true, max: true, limit: 1.5, issue: 17},
	"proc.BenchmarkCapture/*":                   {ratio: true, limit: 1.0, issue: 3},
	"proc.BenchmarkExitToReturn/*":              {max: true, limit: 50, issue: 3},
	"proc.BenchmarkTimeout/*":                   {max: true, limit: 50, issue: 3},
	"encoding.BenchmarkLineReader/ascii/tether": {ratio: true, limit: 0.8, issue: 4},
}

// targetFor returns the target of k's sub-benchmark in unit: a key naming
// the unit, else, if unit is the benchmark's figure, a key naming none.
// The sub-benchmark's own key wins over "*".
func targetFor(k key, unit string, isFigure bool) (target, bool) {
	names := []string{k.short() + "/" + k.sub + "@" + unit, k.short() + "/*@" + unit}
	if isFigure {
		names = append(names, k.short()+"/"+k.sub, k.short()+"/*")
	}
	for _, n := range names {
		if t, ok := targets[n]; ok {
			return t, true
		}
	}
	return target{}, false
}

// targetUnits are the units other than figure that targets name for k's
// sub-benchmark, sorted.
func targetUnits(k key, figure string) []string {
	var units []string
	for name := range targets {
		bench, unit, ok := strings.Cut(name, "@")
		if !ok || unit == figure || slices.Contains(units, unit) {
			continue
		}
		if bench == k.short()+"/"+k.sub || bench == k.short()+"/*" {
			units = append(units, unit)
		}
	}
	slices.Sort(units)
	return units
}

// text is the target as benchratio printed it ("ratio ≤ 1.1", "ms-kill-to-dead ≤ 200").
func (t target) text(unit string) string {
	what := unit
	if t.ratio {
		what = "ratio"
	}
	return fmt.Sprintf("%s %s %g", what, t.op(), t.limit)
}

func (t target) op() string {
	if t.max {
		return "≤"
	}
	return "≥"
}

func (t target) met(v float64) bool {
	if t.max {
		return v <= t.limit
	}
	return v >= t.limit
}

// figure picks the unit that says what a benchmark measures: its latency
// metric (a unit starting with "ms-") if it reports one, else MB/s, else
// runs/s, else ns/op.
func figure(m map[string][]obs) string {
	var units []string
	for u := range m {
		units = append(units, u)
	}
	slices.Sort(units)
	for _, u := range units {
		if strings.HasPrefix(u, "ms-") {
			return u
		}
	}
	for _, u := range []string{"MB/s", "runs/s"} {
		if _, ok := m[u]; ok {
			return u
		}
	}
	return "ns/op"
}

// higherBetter says whether a bigger figure in unit is better.
func higherBetter(unit string) bool { return unit == "MB/s" || unit == "runs/s" }

func values(o []obs) []float64 {
	v := make([]float64, len(o))
	for i, s := range o {
		v[i] = s.v
	}
	return v
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// spread is the median, minimum and maximum of v (NaN if v is empty).
type spread struct{ med, lo, hi float64 }

func spreadOf(v []float64) spread {
	if len(v) == 0 {
		return spread{math.NaN(), math.NaN(), math.NaN()}
	}
	return spread{median(v), slices.Min(v), slices.Max(v)}
}

// paired applies f to every sample of a and the sample of b taken in the
// same repetition (same block and rank), and returns the results f keeps.
func paired(a, b []obs, f func(x, y float64) (float64, bool)) []float64 {
	at := map[[2]int]float64{}
	for _, o := range b {
		at[[2]int{o.block, o.idx}] = o.v
	}
	var out []float64
	for _, o := range a {
		if y, ok := at[[2]int{o.block, o.idx}]; ok {
			if v, ok := f(o.v, y); ok {
				out = append(out, v)
			}
		}
	}
	return out
}

func ratioOf(x, y float64) (float64, bool) { return x / y, y != 0 }

func diffOf(x, y float64) (float64, bool) { return x - y, true }

// ratioRow is one line of the ratio table: a tether backend against the
// raw os/exec sub-benchmark of the same benchmark, in one unit.
type ratioRow struct {
	k           key // the tether sub-benchmark
	unit        string
	isFigure    bool    // unit is the benchmark's figure (else a unit a target names)
	raw, tether float64 // medians
	ratio       spread  // of the paired ratios
	pairs       int
	n           int // tether samples
	t           target
	hasT, met   bool
}

// missedBy is how far the row is from its target, in the target's terms.
func (r ratioRow) missedBy() float64 {
	return math.Abs(r.value() - r.t.limit)
}

// value is what the target is checked against.
func (r ratioRow) value() float64 {
	if r.t.ratio {
		return r.ratio.med
	}
	return r.tether
}

// label is the row's sub-benchmark, with its unit when that is not the
// benchmark's figure ("pgid allocs/op").
func (r ratioRow) label() string {
	if r.isFigure {
		return r.k.sub
	}
	return r.k.sub + " " + r.unit
}

// name is the row's sub-benchmark's name, with its unit when that is not
// the benchmark's figure ("proc.BenchmarkSpawn/pgid allocs/op").
func (r ratioRow) name() string {
	if r.isFigure {
		return r.k.name()
	}
	return r.k.name() + " " + r.unit
}

// ratioRows are the rows of every benchmark that has a raw-os-exec
// sub-benchmark, in the order of the input: one per sub-benchmark in its
// figure, then one per other unit a target names for it.
func ratioRows(in *input) []ratioRow {
	var rows []ratioRow
	for _, k := range in.order {
		if k.sub == baseline {
			continue
		}
		raw, ok := in.samples[key{k.pkg, k.bench, baseline}]
		if !ok {
			continue
		}
		fig := figure(in.samples[k])
		for _, unit := range append([]string{fig}, targetUnits(k, fig)...) {
			ts, ok := in.samples[k][unit]
			if !ok && unit != fig {
				continue // a target's unit the run did not report (no -benchmem)
			}
			ratios := paired(ts, raw[unit], ratioOf)
			r := ratioRow{
				k: k, unit: unit, isFigure: unit == fig,
				raw: median(values(raw[unit])), tether: median(values(ts)),
				ratio: spreadOf(ratios), pairs: len(ratios), n: len(ts),
			}
			r.t, r.hasT = targetFor(k, unit, r.isFigure)
			if r.hasT {
				r.met = r.t.met(r.value())
			}
			rows = append(rows, r)
		}
	}
	return rows
}

// printTable prints rows as scripts/benchratio.go always has.
func printTable(w io.Writer, rows []ratioRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "benchmark\tbackend\tmetric\traw os/exec\ttether\ttether÷raw\tn\ttarget\tverdict\t")
	missed := 0
	for _, r := range rows {
		tgt, verdict := "-", "-"
		if r.hasT {
			tgt, verdict = r.t.text(r.unit), "met"
			if !r.met {
				verdict = "MISSED"
				missed++
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%.3f\t%d\t%s\t%s\t\n",
			r.k.short(), r.k.sub, r.unit, num(zeroNaN(r.raw)), num(zeroNaN(r.tether)), zeroNaN(r.ratio.med), r.n, tgt, verdict)
	}
	tw.Flush()
	fmt.Fprintln(w, "(raw and tether: medians of n samples; tether÷raw: median of the n paired ratios;")
	fmt.Fprintln(w, " for ns/op and ms-* lower is better, for MB/s and runs/s higher)")
	if missed > 0 {
		fmt.Fprintf(w, "%d target(s) missed\n", missed)
	}
}

// zeroNaN is v, or 0 for NaN (benchratio's median of nothing).
func zeroNaN(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return v
}

func num(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// costRow is the owner-death watchdog's cost in one benchmark and
// backend: the watched sub-benchmark against its unwatched twin.
type costRow struct {
	k                     key    // the watched sub-benchmark
	backend               string // the mechanism
	unwatched             string // the twin's sub name
	unit                  string
	raw                   float64 // median of raw-os-exec, NaN if none
	watched, unwatchedMed float64
	cost                  spread // of the paired differences watched - unwatched
	pct                   spread // of the paired (watched - unwatched) / watched, in %
	n                     int
}

// Suffixes naming a watched/unwatched pair of sub-benchmarks: proc's
// "<backend>" and "<backend>-unwatched" (SurviveOwnerDeath), and the
// container layer's "<backend>-kill-on-owner-death" and "<backend>".
const (
	unwatchedSuffix = "-unwatched"
	watchedSuffix   = "-kill-on-owner-death"
)

// costRows pairs every sub-benchmark with its unwatched twin.
func costRows(in *input) []costRow {
	var rows []costRow
	for _, k := range in.order {
		var w, u key
		backend, ok := strings.CutSuffix(k.sub, unwatchedSuffix)
		if ok {
			w, u = key{k.pkg, k.bench, backend}, k
		} else if backend, ok = strings.CutSuffix(k.sub, watchedSuffix); ok {
			w, u = k, key{k.pkg, k.bench, backend}
		} else {
			continue
		}
		ws, us := in.samples[w], in.samples[u]
		if ws == nil || us == nil {
			continue
		}
		unit := figure(ws)
		r := costRow{
			k: w, backend: backend, unwatched: u.sub, unit: unit, raw: math.NaN(),
			watched: median(values(ws[unit])), unwatchedMed: median(values(us[unit])),
			cost: spreadOf(paired(ws[unit], us[unit], diffOf)),
			pct: spreadOf(paired(ws[unit], us[unit], func(x, y float64) (float64, bool) {
				return (x - y) / x * 100, x != 0
			})),
			n: len(ws[unit]),
		}
		if raw, ok := in.samples[key{k.pkg, k.bench, baseline}]; ok {
			r.raw = median(values(raw[unit]))
		}
		rows = append(rows, r)
	}
	return rows
}

// lineRow is one data set of a benchmark comparing tether's line reader
// with bufio.Scanner: sub-benchmarks "<data>/bufio-scanner",
// "<data>/bufio-scanner+valid" and "<data>/tether", in MB/s.
type lineRow struct {
	k                   key // the tether sub-benchmark
	data                string
	scanner, valid, tet float64 // medians, MB/s
	ratio, ratioValid   spread  // tether ÷ scanner, tether ÷ scanner+valid, paired
	n                   int
	t                   target
	hasT, met           bool
}

const (
	scannerSub = "bufio-scanner"
	validSub   = "bufio-scanner+valid"
	tetherSub  = "tether"
)

func lineRows(in *input) []lineRow {
	var rows []lineRow
	for _, k := range in.order {
		data, ok := strings.CutSuffix(k.sub, "/"+tetherSub)
		if !ok {
			continue
		}
		base := in.samples[key{k.pkg, k.bench, data + "/" + scannerSub}]
		if base == nil {
			continue
		}
		valid := in.samples[key{k.pkg, k.bench, data + "/" + validSub}]
		ts := in.samples[k]["MB/s"]
		r := lineRow{
			k: k, data: data,
			scanner: median(values(base["MB/s"])), valid: median(values(valid["MB/s"])), tet: median(values(ts)),
			ratio:      spreadOf(paired(ts, base["MB/s"], ratioOf)),
			ratioValid: spreadOf(paired(ts, valid["MB/s"], ratioOf)),
			n:          len(ts),
		}
		r.t, r.hasT = targetFor(k, "MB/s", true)
		if r.hasT {
			r.met = r.t.met(r.ratio.med)
		}
		rows = append(rows, r)
	}
	return rows
}

// otherRow is a benchmark in none of the tables above: its medians.
type otherRow struct {
	k       key
	metrics []metric
}

type metric struct {
	unit string
	med  float64
	n    int
}

// otherRows are the sub-benchmarks none of rs, cs and ls covers.
func otherRows(in *input, rs []ratioRow, cs []costRow, ls []lineRow) []otherRow {
	used := map[key]bool{}
	for _, r := range rs {
		used[r.k] = true
		used[key{r.k.pkg, r.k.bench, baseline}] = true
	}
	for _, c := range cs {
		used[c.k] = true
		used[key{c.k.pkg, c.k.bench, c.unwatched}] = true
	}
	for _, l := range ls {
		used[l.k] = true
		used[key{l.k.pkg, l.k.bench, l.data + "/" + scannerSub}] = true
		used[key{l.k.pkg, l.k.bench, l.data + "/" + validSub}] = true
	}
	var rows []otherRow
	for _, k := range in.order {
		if used[k] {
			continue
		}
		var units []string
		for u := range in.samples[k] {
			if u != "B/op" && u != "allocs/op" {
				units = append(units, u)
			}
		}
		// ns/op first, then the benchmark's own metrics.
		slices.SortFunc(units, func(a, b string) int {
			if (a == "ns/op") != (b == "ns/op") {
				if a == "ns/op" {
					return -1
				}
				return 1
			}
			return strings.Compare(a, b)
		})
		r := otherRow{k: k}
		for _, u := range units {
			r.metrics = append(r.metrics, metric{u, median(values(in.samples[k][u])), len(in.samples[k][u])})
		}
		rows = append(rows, r)
	}
	return rows
}

// pkgDir is the directory of import path pkg relative to the module root
// ("./proc/"), or pkg itself outside module.
func pkgDir(module, pkg string) string {
	if module != "" && pkg == module {
		return "./"
	}
	if rest, ok := strings.CutPrefix(pkg, module+"/"); ok && module != "" {
		return "./" + rest + "/"
	}
	return pkg
}

// benchCommands are the `go test` lines that run exactly the benchmarks of
// keys, one per package, in order of first appearance.
func benchCommands(module string, keys []key) []string {
	var pkgs []string
	names := map[string][]string{}
	for _, k := range keys {
		if _, ok := names[k.pkg]; !ok {
			pkgs = append(pkgs, k.pkg)
		}
		if !slices.Contains(names[k.pkg], k.bench) {
			names[k.pkg] = append(names[k.pkg], k.bench)
		}
	}
	var out []string
	for _, p := range pkgs {
		re := "^" + names[p][0] + "$"
		if len(names[p]) > 1 {
			re = "^(" + strings.Join(names[p], "|") + ")$"
		}
		out = append(out, fmt.Sprintf("go test -run '^$' -bench '%s' -benchmem -count=1 %s", re, pkgDir(module, p)))
	}
	return out
}

// pkgName is the last element of an import path.
func pkgName(p string) string { return path.Base(p) }
