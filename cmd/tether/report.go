package main

import (
	"syscall"
	"time"

	"github.com/gotether/tether/proc"
)

// runReport is what --json writes. Unknown values are null, never zero.
type runReport struct {
	Program   string  `json:"program"`
	Pid       *int    `json:"pid"`
	Mechanism *string `json:"mechanism"`
	// Outcome is proc's: "exited", "signaled", "timed out", "cancelled".
	Outcome  *string `json:"outcome"`
	ExitCode *int    `json:"exit_code"`
	// Signal ended the direct child (after a timeout or a stop, the one
	// tether sent).
	Signal   *string `json:"signal"`
	TimedOut bool    `json:"timed_out"`
	// Received is the signal tether received and forwarded as a stop.
	Received        *string  `json:"received_signal"`
	DurationMs      *float64 `json:"duration_ms"`
	CPUMs           *float64 `json:"cpu_ms"`
	PeakMemoryBytes *uint64  `json:"peak_memory_bytes"`
	// Status is tether's own exit status.
	Status int     `json:"status"`
	Error  *string `json:"error"`
}

func (rep *runReport) fill(r *proc.Result) {
	rep.Pid, rep.Mechanism = ptr(r.Pid), ptr(string(r.Mechanism))
	rep.Outcome = ptr(r.Outcome.String())
	if r.ExitCode >= 0 {
		// Also after a timeout or a stop, when PROGRAM exited by itself
		// during its grace period.
		rep.ExitCode = ptr(r.ExitCode)
	}
	if r.Signal != "" {
		rep.Signal = ptr(r.Signal)
		if n := signalNumber(r.Signal); n > 0 {
			// proc names a signal without a name of its own "signal
			// 40"; tether names it as --signal reads it (SIGRTMIN+6).
			rep.Signal = ptr(signalName(syscall.Signal(n)))
		}
	}
	rep.TimedOut = r.Outcome == proc.TimedOut
	rep.DurationMs = ptr(ms(r.Duration))
	if cpu, ok := r.Usage.CPU.Get(); ok {
		rep.CPUMs = ptr(ms(cpu))
	}
	if peak, ok := r.Usage.MemoryPeak.Get(); ok {
		rep.PeakMemoryBytes = ptr(peak)
	}
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func ptr[T any](v T) *T { return &v }
