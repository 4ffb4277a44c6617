package proc

import (
	"context"
	"time"

	"github.com/gotether/tether/contain"
)

// Sample is one reading of a tree's resource use, as its container
// reported it: RunningProcess.Profile keeps them, Group.Samples yields
// them.
type Sample struct {
	// Time is when the reading was taken.
	Time time.Time
	// Stats is what the container reported (see contain.Stats: what a
	// mechanism cannot measure is marked unavailable, never zero).
	Stats contain.Stats
	// Err is set when the reading failed. Group.Samples yields such a
	// sample and goes on; Profile leaves failed readings out.
	Err error
}

// Profile is a running tree's resource use sampled over time.
type Profile struct {
	Duration time.Duration
	// CPU is the tree's CPU time at the end of the profile: the last
	// sample's, or, when the run ended and its mechanism counts exited
	// members (cgroup v2, Job Objects), the run's final figure
	// (Result.Usage.CPU).
	CPU        contain.Optional[time.Duration]
	PeakMemory contain.Optional[uint64] // the highest seen (or the container's own peak)
	Samples    []Sample
}

// add records one sample.
func (prof *Profile) add(st contain.Stats) {
	prof.Samples = append(prof.Samples, Sample{Time: time.Now(), Stats: st})
	if st.CPU.Valid {
		prof.CPU = st.CPU
	}
	prof.notePeak(st)
}

// finish takes the run's final usage, measured once its tree was dead
// and before its container was released.
func (prof *Profile) finish(u contain.Stats) {
	if u.CPUIncludesExited && u.CPU.Valid {
		prof.CPU = u.CPU
	}
	prof.notePeak(u)
}

func (prof *Profile) notePeak(st contain.Stats) {
	peak := st.MemoryPeak
	if m, ok := st.Memory.Get(); ok && (!peak.Valid || m > peak.Value) {
		peak = contain.Some(m)
	}
	if v, ok := peak.Get(); ok && (!prof.PeakMemory.Valid || v > prof.PeakMemory.Value) {
		prof.PeakMemory = contain.Some(v)
	}
}

// Profile samples the tree's CPU and memory every interval until the run
// ends or ctx ends, from the container (cgroup v2 and Job Objects measure
// the whole tree, exited members included; process groups sum the live
// members on Linux). It does not stop the run. Samples stop when the run's
// container is being released; a run that ended contributes its final
// usage to CPU and PeakMemory.
func (p *RunningProcess) Profile(ctx context.Context, interval time.Duration) (*Profile, error) {
	if ctx == nil {
		return nil, nilContext(p.cmd.name, "Profile")
	}
	if interval <= 0 {
		return nil, &InvalidError{Program: p.cmd.name, Reason: "profile interval must be positive"}
	}
	began := time.Now()
	prof := &Profile{}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if st, ok := p.liveStats(); ok {
			prof.add(st)
		}
		if testHookProfiled != nil {
			testHookProfiled()
		}
		select {
		case <-ctx.Done():
			prof.Duration = time.Since(began)
			return prof, ctx.Err()
		case <-p.done:
			if r := p.report().result; r != nil {
				prof.finish(r.Usage)
			}
			prof.Duration = time.Since(began)
			return prof, nil
		case <-t.C:
		}
	}
}

// testHookProfiled, when set by a test, runs after every look Profile
// takes at the container.
var testHookProfiled func()
