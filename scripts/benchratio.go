//go:build ignore

// Benchratio reads `go test -bench` output on stdin and prints, for every
// benchmark that has a "raw-os-exec" sub-benchmark, the ratio of each
// other sub-benchmark (a tether backend) to it: proc ÷ raw, the median
// of the ratios of the repetitions paired in order (the i-th tether
// sample with the i-th raw one), next to the medians of the samples. It
// also checks issue 3's targets.
//
//	for i in 1 2 3 4 5; do go test -run '^$' -bench . ./...; done | go run scripts/benchratio.go
//
// The figure of each benchmark is its latency metric (a unit starting
// with "ms-") if it reports one, else MB/s, else runs/s, else ns/op.
package main

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

const baseline = "raw-os-exec"

// target is one of issue 3's performance targets.
type target struct {
	ratio bool    // compare the ratio (else the absolute figure)
	max   bool    // the value must be at most limit (else at least)
	limit float64 // the bound
}

// targets are keyed by "package-name.Benchmark/sub"; sub "*" is any backend.
var targets = map[string]target{
	"proc.BenchmarkSpawn/pgid":         {ratio: true, max: true, limit: 1.05},
	"proc.BenchmarkSpawn/cgroupv2":     {ratio: true, max: true, limit: 1.10},
	"proc.BenchmarkConcurrent/*":       {ratio: true, limit: 0.95},
	"proc.BenchmarkCapture/*":          {ratio: true, limit: 1.0},
	"proc.BenchmarkExitToReturn/*":     {max: true, limit: 50},
	"proc.BenchmarkTimeout/*":          {max: true, limit: 50},
	"proc.BenchmarkKillTree/*":         {max: true, limit: 200},
	"cgroupv2.BenchmarkSpawn/cgroupv2": {ratio: true, max: true, limit: 1.10},
	"cgroupv2.BenchmarkKillTree/*":     {max: true, limit: 200},
}

var gomaxprocs = regexp.MustCompile(`-\d+$`)

// key is one sub-benchmark of one package.
type key struct{ pkg, bench, sub string }

func main() {
	samples := map[key]map[string][]float64{} // unit -> values
	var order []key
	pkg := ""
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = path.Base(strings.TrimSpace(p))
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		bench, sub, _ := strings.Cut(gomaxprocs.ReplaceAllString(f[0], ""), "/")
		k := key{pkg, bench, sub}
		if samples[k] == nil {
			samples[k] = map[string][]float64{}
			order = append(order, k)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err == nil {
				samples[k][f[i+1]] = append(samples[k][f[i+1]], v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(1)
	}

	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "benchmark\tbackend\tmetric\traw os/exec\ttether\ttether÷raw\tn\ttarget\tverdict\t")
	missed := 0
	for _, k := range order {
		if k.sub == baseline {
			continue
		}
		raw, ok := samples[key{k.pkg, k.bench, baseline}]
		if !ok {
			continue
		}
		unit := figure(samples[k])
		p, r := median(samples[k][unit]), median(raw[unit])
		// Pair the i-th tether sample with the i-th raw one: with one
		// `go test -count=1` per repetition, as `make bench` runs them, the
		// two ran seconds apart, so a change of the host's load between
		// repetitions cancels out of their ratio.
		var ratios []float64
		for i, v := range samples[k][unit] {
			if i < len(raw[unit]) && raw[unit][i] != 0 {
				ratios = append(ratios, v/raw[unit][i])
			}
		}
		ratio := median(ratios)
		t, hasT := targets[k.pkg+"."+k.bench+"/"+k.sub]
		if !hasT {
			t, hasT = targets[k.pkg+"."+k.bench+"/*"]
		}
		tgt, verdict := "-", "-"
		if hasT {
			v, what := p, unit
			if t.ratio {
				v, what = ratio, "ratio"
			}
			op := "≥"
			ok := v >= t.limit
			if t.max {
				op, ok = "≤", v <= t.limit
			}
			tgt = fmt.Sprintf("%s %s %g", what, op, t.limit)
			verdict = "met"
			if !ok {
				verdict = "MISSED"
				missed++
			}
		}
		fmt.Fprintf(w, "%s.%s\t%s\t%s\t%s\t%s\t%.3f\t%d\t%s\t%s\t\n",
			k.pkg, k.bench, k.sub, unit, num(r), num(p), ratio, len(samples[k][unit]), tgt, verdict)
	}
	w.Flush()
	fmt.Println("(raw and tether: medians of n samples; tether÷raw: median of the n paired ratios;")
	fmt.Println(" for ns/op and ms-* lower is better, for MB/s and runs/s higher)")
	if missed > 0 {
		fmt.Printf("%d target(s) missed\n", missed)
	}
}

// figure picks the unit that says what a benchmark measures.
func figure(m map[string][]float64) string {
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

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func num(v float64) string {
	if v >= 1000 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}
