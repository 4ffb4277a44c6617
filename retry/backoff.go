package retry

import (
	"math"
	"strconv"
	"time"
)

// Backoff computes the wait before a retry. Implementations are stateless
// values: everything a delay depends on comes in as arguments, so one
// Backoff can serve many concurrent retry loops, and starting over (a
// supervisor resetting after a healthy run) is just calling it with n = 1
// and prev = 0 again.
//
// Delay returns the wait before retry n (n = 1 is the wait after the first
// attempt failed). prev is the wait that preceded the previous attempt (0
// before the first retry). rnd returns a number in [0, 1); it is the
// policy's Rand, so jitter is deterministic when that is. A Delay must not
// be negative; [Policy] treats a negative one as zero.
type Backoff interface {
	Delay(n int, prev time.Duration, rnd func() float64) time.Duration
}

// Jitter spreads delays randomly so that many clients that failed together
// do not retry together. The zero value is NoJitter.
type Jitter int

// The jitter modes. With d the delay before jitter and r a random number in
// [0, 1):
const (
	// NoJitter waits exactly d.
	NoJitter Jitter = iota
	// FullJitter waits r·d: anywhere from 0 to d. It spreads retries the
	// most and is what the default policy uses.
	FullJitter
	// EqualJitter waits d/2 + r·d/2: at least half of d.
	EqualJitter
)

// String returns the mode's name.
func (j Jitter) String() string {
	switch j {
	case NoJitter:
		return "none"
	case FullJitter:
		return "full"
	case EqualJitter:
		return "equal"
	}
	return "Jitter(" + strconv.Itoa(int(j)) + ")"
}

// apply jitters d. An unknown mode leaves d as it is.
func (j Jitter) apply(d time.Duration, rnd func() float64) time.Duration {
	switch j {
	case FullJitter:
		return scale(d, unit(rnd))
	case EqualJitter:
		half := d / 2
		return half + scale(d-half, unit(rnd))
	}
	return d
}

// Defaults for the zero fields of the backoffs.
const (
	defaultInitial = 100 * time.Millisecond
	defaultFactor  = 2
	defaultMax     = 10 * time.Second
)

// Constant waits the same Interval before every retry, then applies
// Jitter. An Interval of zero or less retries at once.
type Constant struct {
	Interval time.Duration
	Jitter   Jitter
}

// Delay implements Backoff.
func (c Constant) Delay(_ int, _ time.Duration, rnd func() float64) time.Duration {
	return c.Jitter.apply(max(c.Interval, 0), rnd)
}

// Exponential waits Initial·Factor^(n-1) before retry n, capped at Max,
// then applies Jitter (so a jittered delay never exceeds Max either).
//
// Zero fields take the defaults: Initial 100 ms, Factor 2, Max 10 s (a
// negative Max also means 10 s). A Factor below 1 is treated as 1 (delays never shrink); a negative Initial
// as zero. For no cap, set Max to a large value such as 24 hours: there is
// no hidden limit other than Max.
type Exponential struct {
	Initial time.Duration
	Factor  float64
	Max     time.Duration
	Jitter  Jitter
}

// Delay implements Backoff.
func (e Exponential) Delay(n int, _ time.Duration, rnd func() float64) time.Duration {
	initial, factor, limit := e.Initial, e.Factor, e.Max
	if initial == 0 {
		initial = defaultInitial
	}
	if factor == 0 {
		factor = defaultFactor
	}
	if limit <= 0 {
		limit = defaultMax
	}
	initial = max(initial, 0)
	if factor < 1 || math.IsNaN(factor) {
		factor = 1
	}
	n = max(n, 1)
	// In floating point, so a large n saturates at the cap instead of
	// overflowing.
	d := float64(initial) * math.Pow(factor, float64(n-1))
	var delay time.Duration
	if d >= float64(limit) || math.IsInf(d, 0) || math.IsNaN(d) {
		delay = limit
	} else {
		delay = time.Duration(d)
	}
	return min(e.Jitter.apply(delay, rnd), limit)
}

// Decorrelated is the "decorrelated jitter" backoff: each wait is random
// between Base and three times the previous wait, capped at Max. Waits grow
// roughly exponentially but each depends on the last, which spreads
// clients apart even when they started together.
//
// Zero or negative fields take the defaults: Base 100 ms, Max 10 s. A Max
// below Base is raised to Base.
type Decorrelated struct {
	Base time.Duration
	Max  time.Duration
}

// Delay implements Backoff.
func (d Decorrelated) Delay(_ int, prev time.Duration, rnd func() float64) time.Duration {
	base, limit := d.Base, d.Max
	if base <= 0 {
		base = defaultInitial
	}
	if limit <= 0 {
		limit = defaultMax
	}
	limit = max(limit, base)
	upper := limit
	if prev < limit/3 {
		upper = max(prev*3, base)
	}
	return min(base+scale(upper-base, unit(rnd)), limit)
}

// unit draws from rnd and forces the result into [0, 1], so a faulty
// random source cannot produce a negative delay or one past the cap.
func unit(rnd func() float64) float64 {
	r := rnd()
	if !(r > 0) { // also NaN
		return 0
	}
	return min(r, 1)
}

// scale returns d·f for f in [0, 1], never more than d: rounding near the
// largest Duration must not overflow into a negative one.
func scale(d time.Duration, f float64) time.Duration {
	x := float64(d) * f
	if x >= float64(d) {
		return d
	}
	return time.Duration(x)
}
