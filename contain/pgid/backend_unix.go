//go:build unix

package pgid

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/forker"
	"github.com/gotether/tether/internal/watchdog"
)

// Availability reports the backend usable on every unix host, without
// spawning anything: process groups need no privilege and no set-up. Reason
// names how the group is signalled here: through the leader's pidfd with
// PIDFD_SIGNAL_PROCESS_GROUP on Linux 6.9 and later (read from uname), or
// with killpg while the group still has a member everywhere else. Every
// limit kind is reported unsupported, and ContainsSetsid is false.
func (*Backend) Availability() contain.Availability {
	return contain.Availability{
		Mechanism:      contain.PGID,
		Usable:         true,
		Reason:         probeReason(),
		Limits:         contain.UnsupportedLimits(noLimits),
		ContainsSetsid: false,
		// Checked on Linux 6.18: a running group got no signal at all when
		// its owner was SIGKILLed; a stopped (frozen) one got SIGHUP then
		// SIGCONT, the POSIX rule for a newly orphaned group.
		OwnerDeath: ownerDeath,
		Notes: append([]string{
			"a descendant that calls setsid or setpgid leaves the group and escapes",
			"an adopted process is tracked on its own: its descendants are not covered",
			ownerDeathWindow(),
		}, platformNotes()...),
	}
}

// ownerDeath is Availability's OwnerDeath: what happens with and without
// contain.Options.KillOnOwnerDeath.
const ownerDeath = "with KillOnOwnerDeath: if the owner dies abruptly (even by SIGKILL), its watchdog process " +
	"(one per owner, in a session of its own) sends SIGKILL to the process group; " +
	"descendants that left the group with setsid or setpgid survive, and the group is killed by number, so if it had " +
	"already emptied and an unrelated process group had been given the same id (the pid space wrapped around) before " +
	"the container was killed or closed, that group would be killed instead; " +
	"without it: the group survives an abrupt owner death, nothing kills it " +
	"(one exception: if a member is stopped, as after Freeze, the kernel sends the newly orphaned group SIGHUP then SIGCONT, " +
	"which ends only members that do not catch or ignore SIGHUP)"

// ownerDeathWindow says what covers a child, with KillOnOwnerDeath,
// between its fork and the registration of its group with the watchdog
// (the end of Start).
func ownerDeathWindow() string {
	if forker.Supported {
		return "with KillOnOwnerDeath, from fork until its group is registered with the watchdog (before Start returns) " +
			"a child is held by a parent-death signal (SIGKILL), so an owner that dies in that window takes it along; " +
			"not covered: a process the child forks before the registration (microseconds after its exec), " +
			"and a child that execs a set-user-ID or set-group-ID program, for which the kernel clears the signal"
	}
	return "with KillOnOwnerDeath, an owner that dies between a child's fork and the registration of its group " +
		"with the watchdog (before Start returns; about as long as the exec takes) leaves that child and its group running: " +
		"this system has no parent-death signal to close that window"
}

// NewContainer creates an empty container: the group itself is born with
// the first command (Start makes that child the leader), so NewContainer
// touches nothing in the OS. Any limit fails NewContainer with a
// *contain.LimitError: invalid ones match contain.ErrInvalidLimit, valid
// ones contain.ErrUnsupported, since a process group cannot enforce any.
//
// With KillOnOwnerDeath, NewContainer makes sure the owner's watchdog runs
// (see internal/watchdog) and fails if it cannot be started; the group is
// registered with it by the Start of the leader, before that Start returns.
func (*Backend) NewContainer(_ context.Context, opts contain.Options) (contain.Container, error) {
	c, err := makeContainer(opts, opts.KillOnOwnerDeath)
	if err != nil {
		return nil, err
	}
	if c.debugging() {
		c.log.Debug("pgid: container created", "kill_on_owner_death", c.watch)
	}
	return c, nil
}

// discard is the logger of a container made without one: one for all, as
// a logger per container would cost allocations on every run.
var discard = slog.New(slog.DiscardHandler)

// makeContainer checks opts and makes an empty container, for NewContainer
// and for Sub: every limit is rejected, and with watch the owner's watchdog
// must run (the group is registered with it by the leader's Start).
func makeContainer(opts contain.Options, watch bool) (*container, error) {
	if err := contain.RejectLimits(contain.PGID, noLimits, opts.Limits); err != nil {
		return nil, err
	}
	if watch {
		if err := watchdog.Start(); err != nil {
			return nil, fmt.Errorf("pgid: KillOnOwnerDeath: %w", err)
		}
	}
	log := opts.Logger
	if log == nil {
		log = discard
	}
	return &container{log: log, watch: watch}, nil
}
