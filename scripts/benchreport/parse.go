package main

import (
	"bufio"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// key is one sub-benchmark of one package: pkg is the import path, bench
// the top-level benchmark, sub the rest of the name after the first "/"
// ("" for a benchmark without sub-benchmarks).
type key struct{ pkg, bench, sub string }

// short is the benchmark's name as benchratio printed it: the package's
// last element, a dot, the top-level benchmark.
func (k key) short() string { return path.Base(k.pkg) + "." + k.bench }

// name is short plus the sub-benchmark.
func (k key) name() string {
	if k.sub == "" {
		return k.short()
	}
	return k.short() + "/" + k.sub
}

// obs is one sample of one metric, with where it was taken: block is the
// how-many-th `go test` run of its package in the input (each `pkg:` header
// starts one), idx its rank among the samples of the same metric of the
// same sub-benchmark in that block (more than 0 only under -count > 1).
// Samples of two sub-benchmarks with the same block and idx ran seconds
// apart, so they are the ones paired.
type obs struct {
	block, idx int
	v          float64
}

// skip is a sub-benchmark that skipped itself, with the reason it logged.
type skip struct{ name, reason string }

// input is what parse read.
type input struct {
	samples  map[key]map[string][]obs // unit -> samples
	order    []key                    // by first appearance of the benchmark, then of the sub
	cpu      string                   // the "cpu:" header
	goos     string
	goarch   string
	failures []string // "--- FAIL: X" names and "FAIL <pkg>" lines
	skips    []skip
	runs     int // the most `go test` runs of one package: the repetitions
}

var gomaxprocs = regexp.MustCompile(`-\d+$`)

// parse reads `go test -bench` output, any number of runs of any number of
// packages concatenated, and ignores every line it does not know.
func parse(r io.Reader) (*input, error) {
	in := &input{samples: map[key]map[string][]obs{}}
	blocks := map[string]int{} // package -> runs seen so far
	type slot struct {
		k     key
		unit  string
		block int
	}
	rank := map[slot]int{}
	pkg, block := "", 0
	skipping := -1 // index in in.skips of a skip whose reason may follow
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if skipping >= 0 {
			if msg, ok := logText(line); ok {
				in.skips[skipping].reason = msg
			}
			skipping = -1
		}
		trimmed := strings.TrimSpace(line)
		if h, v, ok := strings.Cut(line, ": "); ok && !strings.HasPrefix(line, " ") {
			switch h {
			case "pkg":
				pkg = strings.TrimSpace(v)
				blocks[pkg]++
				block = blocks[pkg]
				in.runs = max(in.runs, block)
				continue
			case "cpu":
				in.cpu = strings.TrimSpace(v)
				continue
			case "goos":
				in.goos = strings.TrimSpace(v)
				continue
			case "goarch":
				in.goarch = strings.TrimSpace(v)
				continue
			}
		}
		if name, ok := strings.CutPrefix(trimmed, "--- FAIL: "); ok {
			in.failures = append(in.failures, strings.Fields(name)[0])
			continue
		}
		if name, ok := strings.CutPrefix(trimmed, "--- SKIP: "); ok {
			in.skips = append(in.skips, skip{name: strings.Fields(name)[0]})
			skipping = len(in.skips) - 1
			continue
		}
		if strings.HasPrefix(line, "FAIL\t") {
			in.failures = append(in.failures, strings.Join(strings.Fields(line), " "))
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
		if in.samples[k] == nil {
			in.samples[k] = map[string][]obs{}
			in.order = append(in.order, k)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			s := slot{k, f[i+1], block}
			in.samples[k][f[i+1]] = append(in.samples[k][f[i+1]], obs{block: block, idx: rank[s], v: v})
			rank[s]++
		}
	}
	// Keep the sub-benchmarks of one benchmark together, even when one
	// first appeared in a later run (because it skipped or failed before).
	first := map[[2]string]int{}
	for i, k := range in.order {
		if _, ok := first[[2]string{k.pkg, k.bench}]; !ok {
			first[[2]string{k.pkg, k.bench}] = i
		}
	}
	slices.SortStableFunc(in.order, func(a, b key) int {
		return first[[2]string{a.pkg, a.bench}] - first[[2]string{b.pkg, b.bench}]
	})
	return in, sc.Err()
}

// logText returns the message of a t.Log/b.Log line ("    file.go:12: msg").
func logText(line string) (string, bool) {
	if !strings.HasPrefix(line, " ") {
		return "", false
	}
	loc, msg, ok := strings.Cut(strings.TrimSpace(line), ": ")
	if !ok || !strings.Contains(loc, ".go:") || strings.ContainsAny(loc, " \t") {
		return "", false
	}
	return msg, true
}
