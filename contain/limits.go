package contain

import (
	"fmt"
	"math"
	"strconv"
)

// LimitKind names a resource limit.
type LimitKind string

// The limit kinds a container may enforce.
const (
	// MemoryLimit caps the memory of the whole tree, in bytes.
	MemoryLimit LimitKind = "memory"
	// ProcessLimit caps the number of live processes in the tree.
	ProcessLimit LimitKind = "processes"
	// CPULimit caps the CPU time of the whole tree, in cores (1.5 means one
	// and a half cores' worth of time per wall-clock second).
	CPULimit LimitKind = "cpu"
)

// AllLimitKinds lists every limit kind, in a stable order.
var AllLimitKinds = []LimitKind{MemoryLimit, ProcessLimit, CPULimit}

// Limit is one resource limit. Build it with MemoryMax, MaxProcesses or
// CPUQuota; the zero Limit is invalid.
type Limit struct {
	Kind  LimitKind
	Value float64
}

// MemoryMax limits the tree's memory to bytes. Swap is not allowed on top
// of it where the mechanism can forbid it (cgroup v2 sets memory.swap.max
// to 0).
func MemoryMax(bytes int64) Limit { return Limit{Kind: MemoryLimit, Value: float64(bytes)} }

// MaxProcesses limits the number of live processes in the tree to n,
// counting the direct child.
func MaxProcesses(n int) Limit { return Limit{Kind: ProcessLimit, Value: float64(n)} }

// CPUQuota limits the tree to cores CPUs' worth of time (a hard cap).
func CPUQuota(cores float64) Limit { return Limit{Kind: CPULimit, Value: cores} }

// String describes the limit without any secret (limits carry none).
func (l Limit) String() string {
	switch l.Kind {
	case MemoryLimit:
		return "memory max " + strconv.FormatFloat(l.Value, 'f', -1, 64) + " bytes"
	case ProcessLimit:
		return "max processes " + strconv.FormatFloat(l.Value, 'f', -1, 64)
	case CPULimit:
		return "cpu quota " + strconv.FormatFloat(l.Value, 'f', -1, 64) + " cores"
	}
	return fmt.Sprintf("limit %q %v", string(l.Kind), l.Value)
}

// MinCPUQuota is the smallest CPU quota accepted: one thousandth of a core,
// the finest cap both cgroup v2 (1 ms per 1 s) and Job Objects (0.01 %
// units of one machine) can express on small machines.
const MinCPUQuota = 0.001

// Validate checks one limit's value. It returns a *LimitError matching
// ErrInvalidLimit for zero, negative, NaN, infinite or fractional values
// (where a whole number is needed), and for unknown kinds.
func (l Limit) Validate() error {
	bad := func(why string) error {
		return &LimitError{Limit: l, Reason: why, Err: ErrInvalidLimit}
	}
	v := l.Value
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return bad("value is not a finite number")
	}
	switch l.Kind {
	case MemoryLimit, ProcessLimit:
		if v <= 0 {
			return bad("value must be positive")
		}
		if v != math.Trunc(v) || v > math.MaxInt64/2 {
			return bad("value must be a whole number in range")
		}
	case CPULimit:
		if v < MinCPUQuota {
			return bad("value must be at least " + strconv.FormatFloat(MinCPUQuota, 'f', -1, 64) + " cores")
		}
		if v > 1<<20 {
			return bad("value is out of range")
		}
	default:
		return bad("unknown limit kind")
	}
	return nil
}

// ValidateLimits checks every limit and that no kind appears twice. Backends
// call it first in NewContainer, so invalid input never creates anything.
func ValidateLimits(ls []Limit) error {
	seen := make(map[LimitKind]bool, len(ls))
	for _, l := range ls {
		if err := l.Validate(); err != nil {
			return err
		}
		if seen[l.Kind] {
			return &LimitError{Limit: l, Reason: "limit kind given twice", Err: ErrInvalidLimit}
		}
		seen[l.Kind] = true
	}
	return nil
}

// UnsupportedLimits is the Limits of an Availability whose backend can
// enforce no limit kind here: every kind, unsupported, for reason.
func UnsupportedLimits(reason string) []LimitSupport {
	out := make([]LimitSupport, 0, len(AllLimitKinds))
	for _, k := range AllLimitKinds {
		out = append(out, LimitSupport{Kind: k, Reason: reason})
	}
	return out
}

// RejectLimits validates ls and then, since the mechanism m enforces no
// limit here, fails on the first one with a *LimitError matching
// ErrUnsupported and naming reason. It returns nil for no limits.
func RejectLimits(m Mechanism, reason string, ls []Limit) error {
	if err := ValidateLimits(ls); err != nil {
		return err
	}
	if len(ls) > 0 {
		return &LimitError{Limit: ls[0], Mechanism: m, Reason: reason, Err: ErrUnsupported}
	}
	return nil
}
