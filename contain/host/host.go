// Package host picks the default containment backend for the running OS
// and reports, without spawning anything, what every backend can do here.
//
// It is the one place that knows every backend (so it cannot live in
// contain itself). The choice per OS sits in build-tagged files:
//
//   - Linux: never a cgroup that systemd manages unless systemd
//     delegated it to us. With systemd as PID 1: cgroupv2 in our own
//     cgroup when systemd delegated it to this process and we may write
//     it, else systemd (a delegated scope asked for over D-Bus); without
//     systemd: cgroupv2 where our cgroup is writable (bare root, a
//     container's own cgroup namespace); pgid last. The reason is
//     recorded, and the decision is a pure function of the host's facts;
//     docs/containment.md has the table;
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
	"slices"
	"strings"
	"sync"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/cgroupv2"
	"github.com/gotether/tether/contain/jobobject"
	"github.com/gotether/tether/contain/pgid"
	"github.com/gotether/tether/contain/systemd"
	"github.com/gotether/tether/internal/watchdog"
)

// Selection is the default backend and why it was chosen.
type Selection struct {
	// Backend is the chosen backend. It is never nil: when no candidate is
	// usable it is the first candidate, whose NewContainer fails with
	// contain.ErrNotUsable and the reason.
	Backend contain.Backend
	// Usable is false when no candidate is usable on this host.
	Usable bool
	// Reason says why this backend was chosen, including why every
	// preferred one was passed over.
	Reason string
}

var defaultSel = sync.OnceValue(func() Selection {
	sel, _ := survey(false)
	return sel
})

// Default returns the backend the SDK uses when the user chooses none. The
// probe runs once per process: the host's cgroup mounts, kernel and
// service manager do not change under a running program. Use Inspect for a
// fresh look.
func Default() Selection { return defaultSel() }

// chooseFrom takes the first usable candidate, recording why each one
// before it was passed over. It probes the candidates in order and stops
// at the first usable one, unless full is set: then it probes every
// candidate and every other backend too, and returns their availability
// in that order, for the report.
func chooseFrom(cands, others []contain.Backend, full bool) (Selection, []contain.Availability) {
	var (
		avail  []contain.Availability
		passed []string
		sel    *Selection
	)
	for _, b := range cands {
		if sel != nil && !full {
			break
		}
		a := b.Availability()
		avail = append(avail, a)
		switch {
		case sel != nil:
		case a.Usable:
			reason := fmt.Sprintf("%s is usable: %s", a.Mechanism, a.Reason)
			if len(passed) > 0 {
				reason = strings.Join(passed, "; ") + "; fell back to " + reason
			}
			sel = &Selection{Backend: b, Usable: true, Reason: reason}
		default:
			passed = append(passed, fmt.Sprintf("%s not usable (%s)", a.Mechanism, a.Reason))
		}
	}
	if sel == nil {
		sel = &Selection{Backend: cands[0], Reason: "no backend is usable: " + strings.Join(passed, "; ")}
	}
	if full {
		for _, b := range others {
			avail = append(avail, b.Availability())
		}
	}
	return *sel, avail
}

// every returns a fresh instance of every backend tether has, in the
// order the report lists those this OS does not prefer.
func every() []contain.Backend {
	return []contain.Backend{cgroupv2.New(), systemd.New(), pgid.New(), jobobject.New()}
}

// othersThan returns every backend whose mechanism none of listed has.
func othersThan(listed ...contain.Backend) []contain.Backend {
	var out []contain.Backend
	for _, b := range every() {
		if !slices.ContainsFunc(listed, func(l contain.Backend) bool { return l.Mechanism() == b.Mechanism() }) {
			out = append(out, b)
		}
	}
	return out
}

// Report is the host report `tether doctor` prints.
type Report struct {
	OS     string `json:"os"`
	Arch   string `json:"arch"`
	Kernel string `json:"kernel"`
	// Backends lists every backend tether has, usable or not, with why:
	// those that can run on this OS first, in order of preference.
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

// Inspect builds a fresh report. It spawns nothing and changes nothing (on
// a systemd host it may ask systemd over D-Bus, which creates nothing).
func Inspect() Report {
	sel, avail := survey(true)
	r := Report{OS: runtime.GOOS, Arch: runtime.GOARCH, Kernel: kernel(), Backends: avail}
	for _, a := range avail {
		if a.Mechanism == sel.Backend.Mechanism() {
			r.LimitsEnforceable = a.Usable && a.LimitsSupported()
			r.SetsidContained = a.ContainsSetsid
			r.OwnerDeath = a.OwnerDeath
		}
	}
	r.Default, r.DefaultUsable, r.DefaultReason = sel.Backend.Mechanism(), sel.Usable, sel.Reason
	r.Watchdog, r.WatchdogUsable = watchdog.Describe()
	return r
}
