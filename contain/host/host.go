// Package host picks the default containment backend for the running OS
// and reports, without spawning anything, what every backend can do here.
//
// It is the one place that knows every backend (so it cannot live in
// contain itself). The choice per OS sits in build-tagged files:
//
//   - Linux: cgroupv2, or pgid when cgroup v2 is not usable, with the
//     reason recorded;
//   - Windows: jobobject;
//   - macOS and the BSDs: pgid.
//
// Nothing registers itself in init; importing host links every backend
// that can run on the target OS.
//
//	sel := host.Default()
//	fmt.Println(sel.Backend.Mechanism(), sel.Reason)
package host

import (
	"fmt"
	"runtime"
	"strings"
	"sync"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/watchdog"
)

// Selection is the default backend and why it was chosen.
type Selection struct {
	// Backend is the chosen backend. It is never nil: when no candidate is
	// usable it is the first candidate, whose New fails with
	// contain.ErrNotUsable and the reason.
	Backend contain.Backend
	// Usable is false when no candidate is usable on this host.
	Usable bool
	// Reason says why this backend was chosen, including why every
	// preferred one was passed over.
	Reason string
}

var defaultSel = sync.OnceValue(func() Selection { return choose(candidates()) })

// Default returns the backend the SDK uses when the user chooses none. The
// probe runs once per process: the host's cgroup mounts and kernel do not
// change under a running program. Use Report for a fresh look.
func Default() Selection { return defaultSel() }

// choose takes the first usable candidate, recording why each one before
// it was passed over.
func choose(cands []contain.Backend) Selection {
	var passed []string
	for _, b := range cands {
		a := b.Probe()
		if a.Usable {
			reason := fmt.Sprintf("%s is usable: %s", a.Mechanism, a.Reason)
			if len(passed) > 0 {
				reason = strings.Join(passed, "; ") + "; fell back to " + reason
			}
			return Selection{Backend: b, Usable: true, Reason: reason}
		}
		passed = append(passed, fmt.Sprintf("%s not usable (%s)", a.Mechanism, a.Reason))
	}
	return Selection{Backend: cands[0], Reason: "no backend is usable: " + strings.Join(passed, "; ")}
}

// Report is the host report `tether doctor` prints.
type Report struct {
	OS     string `json:"os"`
	Arch   string `json:"arch"`
	Kernel string `json:"kernel"`
	// Backends lists every backend tether has, usable or not, with why.
	Backends []contain.Availability `json:"backends"`
	// Default is the mechanism chosen when the user chooses none, and
	// DefaultReason why.
	Default       contain.Mechanism `json:"default"`
	DefaultUsable bool              `json:"default_usable"`
	DefaultReason string            `json:"default_reason"`
	// LimitsEnforceable is true when the default backend can enforce every
	// limit kind here.
	LimitsEnforceable bool `json:"limits_enforceable"`
	// SetsidContained is true when, under the default backend, a
	// descendant that calls setsid (or detaches) is still contained.
	SetsidContained bool `json:"setsid_contained"`
	// OwnerDeath says what happens to a tree under the default backend
	// when its owner dies abruptly.
	OwnerDeath string `json:"owner_death"`
	// Watchdog says which owner-death watchdog this program gets: the
	// binary it re-executes, or why none can start. WatchdogUsable is
	// false in the second case; then, under cgroupv2 and pgid, every run
	// and group fails with proc.ErrContainment unless it opts out of the
	// watchdog (SurviveOwnerDeath). Windows needs none.
	Watchdog       string `json:"watchdog"`
	WatchdogUsable bool   `json:"watchdog_usable"`
}

// Probe builds a fresh report. It spawns nothing and changes nothing.
func Probe() Report {
	cands := candidates()
	sel := choose(cands)
	r := Report{OS: runtime.GOOS, Arch: runtime.GOARCH, Kernel: kernel()}
	for _, b := range allBackends(cands) {
		a := b.Probe()
		r.Backends = append(r.Backends, a)
		if b == sel.Backend {
			r.LimitsEnforceable = a.Usable && a.LimitsSupported()
			r.SetsidContained = a.ContainsSetsid
			r.OwnerDeath = a.OwnerDeath
		}
	}
	r.Default, r.DefaultUsable, r.DefaultReason = sel.Backend.Mechanism(), sel.Usable, sel.Reason
	r.Watchdog, r.WatchdogUsable = watchdog.Describe()
	return r
}

// allBackends is the candidates followed by the backends that cannot run
// on this OS at all, so a report always lists all three.
func allBackends(cands []contain.Backend) []contain.Backend {
	return append(append([]contain.Backend{}, cands...), others()...)
}
