package retry

import (
	"math"
	"slices"
	"testing"
	"time"
)

const ms = time.Millisecond

// delays returns the first n waits of b, feeding each back as prev the way
// Do does.
func delays(b Backoff, n int, rnd func() float64) []time.Duration {
	var out []time.Duration
	prev := time.Duration(0)
	for i := 1; i <= n; i++ {
		d := b.Delay(i, prev, rnd)
		out = append(out, d)
		prev = d
	}
	return out
}

func TestBackoffSequences(t *testing.T) {
	half := func() float64 { return 0.5 }
	tests := []struct {
		name string
		b    Backoff
		rnd  func() float64
		want []time.Duration
	}{
		{"constant", Constant{Interval: 250 * ms}, half,
			[]time.Duration{250 * ms, 250 * ms, 250 * ms}},
		{"constant full jitter", Constant{Interval: 200 * ms, Jitter: FullJitter}, seq(0, 0.25, 0.5, 0.999),
			[]time.Duration{0, 50 * ms, 100 * ms, 199800 * time.Microsecond}},
		{"constant equal jitter", Constant{Interval: 200 * ms, Jitter: EqualJitter}, seq(0, 0.5, 0.999),
			[]time.Duration{100 * ms, 150 * ms, 199900 * time.Microsecond}},
		{"constant zero", Constant{}, half,
			[]time.Duration{0, 0}},
		{"constant negative", Constant{Interval: -time.Second, Jitter: EqualJitter}, half,
			[]time.Duration{0, 0}},
		{"exponential", Exponential{Initial: 100 * ms, Factor: 2, Max: time.Second}, half,
			[]time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}},
		{"exponential factor 3", Exponential{Initial: 10 * ms, Factor: 3, Max: time.Second}, half,
			[]time.Duration{10 * ms, 30 * ms, 90 * ms, 270 * ms, 810 * ms, time.Second}},
		{"exponential fractional factor", Exponential{Initial: 100 * ms, Factor: 1.5, Max: time.Second}, half,
			[]time.Duration{100 * ms, 150 * ms, 225 * ms, 337500 * time.Microsecond}},
		{"exponential zero fields are the defaults", Exponential{}, half,
			[]time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 6400 * ms, 10 * time.Second, 10 * time.Second}},
		{"exponential factor below 1 is constant", Exponential{Initial: 100 * ms, Factor: 0.5, Max: time.Second}, half,
			[]time.Duration{100 * ms, 100 * ms, 100 * ms}},
		{"exponential full jitter", Exponential{Initial: 100 * ms, Factor: 2, Max: 300 * ms, Jitter: FullJitter}, seq(0.5, 0.5, 0.5, 0),
			[]time.Duration{50 * ms, 100 * ms, 150 * ms, 0}},
		{"exponential equal jitter", Exponential{Initial: 100 * ms, Factor: 2, Max: 300 * ms, Jitter: EqualJitter}, seq(0, 0.5, 0.5, 0.999),
			[]time.Duration{50 * ms, 150 * ms, 225 * ms, 299850 * time.Microsecond}},
		// Decorrelated: random in [Base, 3·prev], prev starting at Base,
		// capped at Max.
		{"decorrelated", Decorrelated{Base: 100 * ms, Max: time.Second}, seq(0.5, 0.5, 0.9, 0.5, 1),
			[]time.Duration{100 * ms, 200 * ms, 550 * ms, 550 * ms, time.Second}},
		{"decorrelated low draws stay at base", Decorrelated{Base: 100 * ms, Max: time.Second}, seq(0),
			[]time.Duration{100 * ms, 100 * ms, 100 * ms}},
		{"decorrelated zero fields are the defaults", Decorrelated{}, seq(1),
			[]time.Duration{100 * ms, 300 * ms, 900 * ms, 2700 * ms, 8100 * ms, 10 * time.Second}},
		{"decorrelated max below base", Decorrelated{Base: time.Second, Max: 10 * ms}, seq(0.5),
			[]time.Duration{time.Second, time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := delays(tt.b, len(tt.want), tt.rnd)
			if !slices.Equal(got, tt.want) {
				t.Errorf("delays = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestExponentialLargeAttemptSaturatesAtCap(t *testing.T) {
	b := Exponential{Initial: time.Second, Factor: 10, Max: time.Hour}
	for _, n := range []int{30, 1000, math.MaxInt} {
		if d := b.Delay(n, time.Hour, seq(0.5)); d != time.Hour {
			t.Errorf("Delay(%d) = %v, want the cap %v", n, d, time.Hour)
		}
	}
}

func TestFaultyRandIsClamped(t *testing.T) {
	for _, r := range []float64{-1, 2, math.NaN(), math.Inf(1), math.Inf(-1)} {
		for _, b := range []Backoff{
			Exponential{Initial: 100 * ms, Max: time.Second, Jitter: FullJitter},
			Exponential{Initial: 100 * ms, Max: time.Second, Jitter: EqualJitter},
			Decorrelated{Base: 100 * ms, Max: time.Second},
		} {
			for _, d := range delays(b, 8, seq(r)) {
				if d < 0 || d > time.Second {
					t.Errorf("%#v with Rand %v: delay %v outside [0, 1s]", b, r, d)
				}
			}
		}
	}
}

func TestJitterString(t *testing.T) {
	for j, want := range map[Jitter]string{NoJitter: "none", FullJitter: "full", EqualJitter: "equal", 7: "Jitter(7)"} {
		if got := j.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(j), got, want)
		}
	}
}

// FuzzDelayWithinCap checks the property every backoff promises: a delay
// is never negative and never past the cap, whatever the parameters,
// attempt number, previous delay and random draw.
func FuzzDelayWithinCap(f *testing.F) {
	f.Add(int64(100*ms), 2.0, int64(10*time.Second), 3, int64(0), 0.5, 1)
	f.Add(int64(math.MaxInt64), 1e300, int64(math.MaxInt64), math.MaxInt, int64(math.MaxInt64), 0.9999999, 2)
	f.Add(int64(-5), -3.0, int64(-1), -7, int64(-9), -1.0, 9)
	f.Add(int64(1), math.NaN(), int64(1), 0, int64(1), math.NaN(), 0)
	f.Fuzz(func(t *testing.T, initial int64, factor float64, limit int64, n int, prev int64, r float64, jitter int) {
		rnd := func() float64 { return r }
		j := Jitter(jitter)
		effCap := func(v, def time.Duration) time.Duration {
			if v <= 0 {
				return def
			}
			return v
		}
		e := Exponential{Initial: time.Duration(initial), Factor: factor, Max: time.Duration(limit), Jitter: j}
		if d := e.Delay(n, time.Duration(prev), rnd); d < 0 || d > effCap(e.Max, defaultMax) {
			t.Fatalf("%#v.Delay(%d) = %v: outside [0, cap]", e, n, d)
		}
		dc := Decorrelated{Base: time.Duration(initial), Max: time.Duration(limit)}
		dcap := max(effCap(dc.Max, defaultMax), effCap(dc.Base, defaultInitial))
		if d := dc.Delay(n, time.Duration(prev), rnd); d < 0 || d > dcap {
			t.Fatalf("%#v.Delay(%d, %d) = %v: outside [0, %v]", dc, n, prev, d, dcap)
		}
		c := Constant{Interval: time.Duration(initial), Jitter: j}
		if d := c.Delay(n, time.Duration(prev), rnd); d < 0 || d > max(c.Interval, 0) {
			t.Fatalf("%#v.Delay = %v: outside [0, Interval]", c, d)
		}
		p := Policy{Backoff: e, Rand: rnd}
		if d := p.Delay(n, time.Duration(prev), nil); d < 0 || d > effCap(e.Max, defaultMax) {
			t.Fatalf("Policy.Delay = %v: outside [0, cap]", d)
		}
	})
}
