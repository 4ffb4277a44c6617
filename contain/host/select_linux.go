//go:build linux

package host

import (
	"context"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/cgroupv2"
	"github.com/gotether/tether/contain/pgid"
	"github.com/gotether/tether/contain/systemd"
)

// The Linux backends. One of each, so that the report and the default
// speak of the same instances.
var (
	cgroupV2Backend = cgroupv2.New()
	systemdBackend  = systemd.New()
	pgidBackend     = pgid.New()
)

// facts are what the Linux choice depends on.
type facts struct {
	// booted: systemd is PID 1 (/run/systemd/system exists).
	booted bool
	// own is whether systemd delegated our own cgroup to us. Looked at
	// only when it can matter: systemd is PID 1 and cgroupv2 is usable.
	own systemd.Delegation
	// The backends' own verdicts. systemd's is looked at only when it can
	// matter (or for the report).
	cgroupV2, systemd, pgid contain.Availability
}

// gather looks at the host, spending a D-Bus round trip only where the
// choice needs it unless full (the report) asks for every backend.
func gather(full bool) facts {
	f := facts{booted: systemd.Booted(), cgroupV2: cgroupV2Backend.Availability(), pgid: pgidBackend.Availability()}
	if f.booted && f.cgroupV2.Usable {
		f.own = systemd.OwnDelegation(context.Background())
	}
	// The systemd backend matters unless our own delegated cgroup wins.
	ownWins := f.cgroupV2.Usable && f.own.Delegated
	if full || (f.booted && !ownWins) {
		f.systemd = systemdBackend.Availability()
	} else {
		f.systemd = contain.Availability{Mechanism: contain.Systemd, Reason: "not probed: the choice did not need it"}
	}
	return f
}

// decide is the Linux choice, as a pure function of the facts:
//
//	(a) systemd is PID 1, our own cgroup is delegated to us and writable: cgroupv2, in it;
//	(b) systemd is PID 1 and the manager answers: systemd (a delegated scope);
//	(c) no systemd, our own cgroup writable (bare root, a container's own
//	    cgroup namespace): cgroupv2;
//	(d) pgid, saying why the others were passed over.
//
// On a systemd host tether never creates cgroups in a cgroup systemd
// manages and did not delegate (systemd's single-writer rule), even as
// root: without a scope it falls back to pgid.
func decide(f facts) (m contain.Mechanism, usable bool, reason string) {
	var passed []string
	if f.booted {
		const pid1 = "systemd is PID 1 (/run/systemd/system exists)"
		if f.cgroupV2.Usable && f.own.Delegated {
			return contain.CgroupV2, true, pid1 + " and delegated this process's own cgroup to it (" + f.own.Reason + "); cgroupv2 is usable there: " + f.cgroupV2.Reason
		}
		var notOwn string
		if f.cgroupV2.Usable {
			notOwn = "this process's own cgroup is not delegated to it, so tether must not create cgroups there (" + f.own.Reason + ")"
		} else {
			notOwn = "this process may not create cgroups in its own (cgroupv2 not usable: " + f.cgroupV2.Reason + ")"
		}
		if f.systemd.Usable {
			return contain.Systemd, true, pid1 + "; " + notOwn + "; systemd is usable: " + f.systemd.Reason
		}
		passed = append(passed, pid1, notOwn, "systemd not usable ("+f.systemd.Reason+")")
	} else {
		const noPID1 = "systemd is not PID 1 (/run/systemd/system is absent)"
		if f.cgroupV2.Usable {
			return contain.CgroupV2, true, noPID1 + "; cgroupv2 is usable: " + f.cgroupV2.Reason
		}
		passed = append(passed, noPID1, "cgroupv2 not usable ("+f.cgroupV2.Reason+")")
	}
	if f.pgid.Usable {
		return contain.PGID, true, strings.Join(passed, "; ") + "; fell back to pgid, which does not hold descendants that call setsid and enforces no limit: " + f.pgid.Reason
	}
	first := contain.CgroupV2
	if f.booted {
		first = contain.Systemd
	}
	return first, false, "no backend is usable: " + strings.Join(append(passed, "pgid not usable ("+f.pgid.Reason+")"), "; ")
}

// survey gathers the facts and decides. The availabilities are listed
// in the report's order: cgroupv2, systemd, pgid, then jobobject.
func survey(full bool) (Selection, []contain.Availability) {
	f := gather(full)
	m, usable, reason := decide(f)
	backend := map[contain.Mechanism]contain.Backend{
		contain.CgroupV2: cgroupV2Backend, contain.Systemd: systemdBackend, contain.PGID: pgidBackend,
	}[m]
	sel := Selection{Backend: backend, Usable: usable, Reason: reason}
	avail := []contain.Availability{f.cgroupV2, f.systemd, f.pgid}
	if full {
		for _, b := range othersThan(cgroupV2Backend, systemdBackend, pgidBackend) {
			avail = append(avail, b.Availability())
		}
	}
	return sel, avail
}

func kernel() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return "Linux " + unix.ByteSliceToString(u.Release[:])
}
