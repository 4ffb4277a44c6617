package main

import (
	"fmt"
	"math"
	"strings"
)

// The chart's geometry, in px.
const (
	chartW    = 1070
	rowH      = 24
	barH      = 14
	rowsTop   = 112 // the first row's top
	nameX     = 12  // the benchmark's name, left-aligned
	backendX  = 396 // the backend's name, right-aligned
	plotL     = 410 // the plot's left edge: ratio 0
	plotR     = 790 // its right edge: ratio xmax
	annotateX = 802 // the ratio and the verdict
)

const (
	colourMet    = "#2e7d32"
	colourMissed = "#c62828"
	colourNone   = "#78909c"
	fontFamily   = "DejaVu Sans, Verdana, Arial, sans-serif"
)

// svg draws the ratio rows as horizontal bars of tether ÷ raw, with the
// 1.0 line, each row's range of paired ratios, and the marks of the
// ratio targets. Bars beyond the axis are cut, and say so.
func (r *report) svg() string {
	rows := r.ratio
	xmax := axisMax(rows)
	x := func(v float64) float64 { return plotL + (plotR-plotL)*math.Min(math.Max(v, 0), xmax)/xmax }
	bottom := rowsTop + len(rows)*rowH
	height := bottom + 78

	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img" font-family="%s" font-size="13">`+"\n",
		chartW, height, chartW, height, fontFamily)
	title := "tether ÷ raw os/exec, per benchmark and backend"
	p("<title>%s</title>\n", esc(title))
	p(`<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", chartW, height)
	p(`<text x="%d" y="26" font-size="17" font-weight="bold">%s</text>`+"\n", nameX, esc(title))
	sub := fmt.Sprintf("median of %d paired repetitions", r.count())
	if r.f.commit != "" {
		sub += ", commit " + r.f.commit
	}
	if !r.f.start.IsZero() {
		sub += ", " + r.f.start.UTC().Format("2006-01-02")
	}
	if r.f.loadStart != "" {
		sub += fmt.Sprintf(", load %s → %s", firstField(r.f.loadStart), firstField(r.f.loadEnd))
	}
	sub += "; " + r.cpuText()
	p(`<text x="%d" y="46" font-size="12" fill="#333">%s</text>`+"\n", nameX, esc(sub))

	// Legend.
	ly := 70
	lx := nameX
	for _, l := range []struct{ colour, text string }{{colourMet, "target met"}, {colourMissed, "target missed"}, {colourNone, "no target"}} {
		p(`<rect x="%d" y="%d" width="14" height="%d" fill="%s"/>`+"\n", lx, ly-11, barH-2, l.colour)
		p(`<text x="%d" y="%d" font-size="12">%s</text>`+"\n", lx+19, ly, esc(l.text))
		lx += 19 + 7*len(l.text) + 18
	}
	p(`<path d="M%d %d v14 M%d %d h10 l-5 6 z" stroke="#111" stroke-width="2.5" fill="#111"/>`+"\n", lx+5, ly-12, lx, ly-18)
	p(`<text x="%d" y="%d" font-size="12">ratio target</text>`+"\n", lx+16, ly)
	lx += 110
	p(`<path d="M%d %d h26 M%d %d v8 M%d %d v8" stroke="#111" stroke-width="1.2"/>`+"\n", lx, ly-5, lx, ly-9, lx+26, ly-9)
	p(`<text x="%d" y="%d" font-size="12">range of the paired ratios</text>`+"\n", lx+32, ly)
	p(`<text x="%d" y="%d" font-size="12" fill="#333">↓ lower is better (time), ↑ higher is better (throughput); 1.0 = as fast as raw os/exec</text>`+"\n", nameX, ly+20)

	// Grid and axis labels, top and bottom.
	step := 0.25
	if xmax > 2 {
		step = 0.5
	}
	for v := 0.0; v <= xmax+1e-9; v += step {
		if math.Abs(v-1) < 1e-9 {
			continue // the 1.0 line is drawn over the bars
		}
		p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#dddddd"/>`+"\n", x(v), rowsTop-4, x(v), bottom+4)
	}
	for v := 0.0; v <= xmax+1e-9; v += step {
		if math.Abs(v-1) < 1e-9 {
			continue // labelled with the 1.0 line
		}
		label := fmt.Sprintf("%g", v)
		p(`<text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="#444">%s</text>`+"\n", x(v), rowsTop-8, label)
		p(`<text x="%.1f" y="%d" font-size="11" text-anchor="middle" fill="#444">%s</text>`+"\n", x(v), bottom+17, label)
	}

	// Rows.
	group, prev := 0, ""
	for i, row := range rows {
		top := rowsTop + i*rowH
		mid := float64(top) + rowH/2.0
		name := row.k.short()
		if name != prev {
			group++
		}
		if group%2 == 0 {
			p(`<rect x="0" y="%d" width="%d" height="%d" fill="#f3f5f8"/>`+"\n", top, chartW, rowH)
		}
		if name != prev {
			arrow := "↓"
			if higherBetter(row.unit) {
				arrow = "↑"
			}
			label := strings.Replace(name, ".Benchmark", ".", 1) + " " + arrow
			p(`<text x="%d" y="%.1f" font-weight="bold">%s</text>`+"\n", nameX, mid+4.5, esc(label))
			prev = name
		}
		p(`<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", backendX, mid+4.5, esc(row.label()))
		colour := colourNone
		if row.hasT {
			colour = colourMissed
			if row.met {
				colour = colourMet
			}
		}
		v := row.ratio.med
		if !math.IsNaN(v) {
			p(`<rect x="%d" y="%.1f" width="%.1f" height="%d" fill="%s"/>`+"\n", plotL, mid-barH/2.0, x(v)-plotL, barH, colour)
			if v > xmax {
				// Cut: two white slashes near the end.
				cx := float64(plotR) - 10
				p(`<path d="M%.1f %.1f l6 -%d M%.1f %.1f l6 -%d" stroke="#ffffff" stroke-width="2"/>`+"\n",
					cx, mid+barH/2.0, barH, cx+5, mid+barH/2.0, barH)
			}
			if row.ratio.hi > row.ratio.lo {
				lo, hi := x(row.ratio.lo), x(row.ratio.hi)
				p(`<path d="M%.1f %.1f H%.1f M%.1f %.1f v8 M%.1f %.1f v8" stroke="#111" stroke-width="1.2"/>`+"\n",
					lo, mid, hi, lo, mid-4, hi, mid-4)
			}
		}
		if row.hasT && row.t.ratio && row.t.limit <= xmax {
			tx := x(row.t.limit)
			p(`<path d="M%.1f %.1f V%.1f M%.1f %.1f h10 l-5 6 z" stroke="#111" stroke-width="2.5" fill="#111"/>`+"\n",
				tx, float64(top)+3, float64(top+rowH)-2, tx-5, float64(top)+1)
		}
		p(`<text x="%d" y="%.1f" font-size="12"><tspan font-weight="bold">%s</tspan>%s</text>`+"\n",
			annotateX, mid+4.5, esc(ratio(v)), esc(annotation(row)))
	}
	// The 1.0 line, over the bars.
	p(`<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000" stroke-width="1.6"/>`+"\n", x(1), rowsTop-4, x(1), bottom+4)
	for _, y := range []int{rowsTop - 8, bottom + 17} {
		p(`<text x="%.1f" y="%d" font-size="11" text-anchor="middle" font-weight="bold">1</text>`+"\n", x(1), y)
	}

	cy := bottom + 40
	p(`<text x="%d" y="%d" font-size="12" fill="#333">%s</text>`+"\n", nameX, cy,
		esc(fmt.Sprintf("make bench BENCH_COUNT=%d: %d × go test -run '^$' -bench . -benchmem -count=1 ./..., then scripts/benchreport;", r.count(), r.count())))
	p(`<text x="%d" y="%d" font-size="12" fill="#333">%s</text>`+"\n", nameX, cy+18,
		esc("the numbers are in docs/benchmarks.md; bars past the axis are cut (two white slashes), their value is on the right."))
	p("</svg>\n")
	return b.String()
}

// annotation is what follows a row's ratio: its target and verdict.
func annotation(row ratioRow) string {
	if !row.hasT {
		return ""
	}
	verdict := "met"
	if !row.met {
		verdict = "missed"
	}
	if row.t.ratio {
		return fmt.Sprintf("  %s %.2f: %s", row.t.op(), row.t.limit, verdict)
	}
	return fmt.Sprintf("  (%s %s %s: %s)", value(row.unit, row.tether), row.t.op(), limitText(row.unit, row.t.limit), verdict)
}

// axisMax is the ratio at the right edge: the largest ratio, range end or
// ratio target rounded up to a half, at least 1.5 and at most 3.
func axisMax(rows []ratioRow) float64 {
	m := 1.0
	for _, r := range rows {
		for _, v := range []float64{r.ratio.med, r.ratio.hi} {
			if !math.IsNaN(v) {
				m = math.Max(m, v)
			}
		}
		if r.hasT && r.t.ratio {
			m = math.Max(m, r.t.limit)
		}
	}
	return math.Min(math.Max(math.Ceil(m*2)/2, 1.5), 3)
}

func (r *report) cpuText() string {
	if r.f.cpus == "" {
		return "CPUs not given"
	}
	return r.f.cpus + " CPUs"
}

func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return "?"
}

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")

func esc(s string) string { return xmlEscaper.Replace(s) }
