package contain

import (
	"fmt"
	"time"
)

// Optional is a measurement that a mechanism may not be able to take.
// Valid is false when the value is unavailable; Value is then zero and
// must not be read as a measurement.
type Optional[T any] struct {
	Value T
	Valid bool
}

// Some returns an available measurement.
func Some[T any](v T) Optional[T] { return Optional[T]{Value: v, Valid: true} }

// Get returns the value and whether it is available.
func (o Optional[T]) Get() (T, bool) { return o.Value, o.Valid }

// String prints the value, or "unavailable".
func (o Optional[T]) String() string {
	if !o.Valid {
		return "unavailable"
	}
	return fmt.Sprint(o.Value)
}

// Stats is a snapshot of a container's resource use.
type Stats struct {
	// Processes is the number of live members (zombies excluded).
	Processes int

	// CPU is the user plus system time of the tree. Where
	// CPUIncludesExited is true it includes members that already exited
	// (cgroup v2, Job Objects); otherwise only the live members' time.
	CPU Optional[time.Duration]
	// UserCPU and SystemCPU split CPU where the mechanism reports both.
	UserCPU   Optional[time.Duration]
	SystemCPU Optional[time.Duration]
	// CPUIncludesExited says whether CPU counts members that have exited.
	CPUIncludesExited bool

	// Memory is the tree's current memory use in bytes (cgroup v2
	// memory.current; the sum of members' resident set under pgid).
	Memory Optional[uint64]
	// MemoryPeak is the highest memory use seen, in bytes.
	MemoryPeak Optional[uint64]
	// OOMKills counts members killed by the out-of-memory killer.
	OOMKills Optional[uint64]
}
