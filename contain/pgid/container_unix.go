//go:build unix

package pgid

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/forker"
	"github.com/gotether/tether/internal/poll"
	"github.com/gotether/tether/internal/spawngate"
	"github.com/gotether/tether/internal/watchdog"
)

// container is one POSIX process group, led by the first command started
// in it, plus any adopted processes tracked one by one, plus the subs made
// in it by Sub, each a container with a group of its own. Its methods are
// safe for concurrent use.
//
// The group holds every descendant that stays in it; a descendant that
// calls setsid or setpgid leaves the group and is out of reach from then
// on. Use contain/cgroupv2 where that matters.
//
// # Locking
//
// Each container has four locks: teardown, held across a whole Kill or
// Close; gate, the spawn gate (see contain.Container), held shared by
// Start in the container and in every enclosing one from its checks until
// the child is recorded and registered, and exclusively by Freeze, Thaw
// and a Signal of a stop signal; spawn, which serialises the Starts of one
// container, so that a second command joins the group the first one
// leads instead of racing it to lead one; and mu, which guards the state
// and is never held across a wait. The order is gate, then spawn, then
// mu, and teardown before mu; a gate is never held while waiting for a
// teardown lock, nor a teardown lock while waiting for a gate. Among
// containers, a parent before its subs:
//
//   - An operation on a family (a container and its subs, recursively)
//     takes a snapshot of it, parents first, and then takes each member's
//     mu in turn, never two at once; a sub closed meanwhile is skipped.
//   - A container's Kill and Close hold its own teardown lock and take its
//     subs' mu locks, never their teardown locks.
//   - A sub's Close takes its parent's mu, to leave the parent's list,
//     only after it has released its own mu. No sub operation takes any
//     other lock of its parent.
//
// So no code holds two containers' mu at once, and no teardown lock is
// ever waited for while a mu is held. Code that comes to need two mu locks
// must take the parent's (the ancestor's) first.
type container struct {
	log *slog.Logger

	// teardown serialises Kill and Close, which wait; mu guards the state
	// below and is never held across a wait, so Signal, Pids and Stats
	// stay responsive while a teardown polls.
	teardown sync.Mutex
	gate     spawngate.Gate // nested in the parent's for a sub
	spawn    sync.Mutex
	mu       sync.Mutex

	// parent is the container Sub made this one in, nil for one made by
	// Backend.NewContainer. It never changes.
	parent *container
	// subs are the subs made in this container and not closed yet. A
	// sub's Close removes itself; this container's Close releases them
	// all and forgets them.
	subs map[*container]struct{}

	// pgid is the group's id, the leader's pid; 0 until Start has
	// recorded the leader.
	pgid int
	// leader is our own handle on the leader (on Linux a duplicate of the
	// pidfd os/exec holds, which outlives the caller's Wait).
	leader *handle
	// joined are the pids of later commands, the members known without a
	// process table.
	joined []int
	// adopted are processes tracked on their own.
	adopted []*handle
	// gone is latched once the group was seen without any member, zombies
	// included. From then on its id may be recycled for a stranger's
	// group, so it is never signalled, listed or joined again.
	gone bool
	// killed is set when Kill or Close begins: no new process enters.
	killed bool
	// closed is set once Close has confirmed death and released handles.
	closed bool
	// frozen is set from a successful Freeze until Thaw. It changes only
	// with gate held exclusively, so a holder of the gate sees it stable.
	frozen bool

	// watch is Options.KillOnOwnerDeath (for a sub, also its parent's
	// watch). reg is then the watchdog's registration of the group, made
	// by Start for the leader and withdrawn as soon as a kill has
	// confirmed the group dead.
	//
	// The watchdog kills by number (kill -KILL -pgid): it has no pidfd to
	// hold once the owner is dead. The residual risk: if the group empties
	// on its own (every member exits and the leader is reaped) while the
	// container is still open, its id is free for the kernel to reuse, and
	// should the owner then die before Kill or Close, the watchdog would
	// kill whatever group has that id by then. That needs the pid space to
	// wrap around in that window; proc closes the container as soon as the
	// run ends, which keeps the window short.
	watch bool
	reg   watchdog.Registration
}

var _ contain.Container = (*container)(nil)

// pollMin and pollMax bound the backoff of the waits in Kill, Freeze and
// Thaw. SIGKILL and SIGSTOP take effect within a scheduler tick, so the
// first checks come quickly. The cap is low because every run waits here
// at its end (a 20 ms cap made exit-to-return 12 ms with a grandchild
// holding stdout); a check costs one /proc scan.
const (
	pollMin = 50 * time.Microsecond
	pollMax = 2 * time.Millisecond
)

// Mechanism returns contain.PGID.
func (c *container) Mechanism() contain.Mechanism { return contain.PGID }

// Start starts cmd in the group. The first command gets
// SysProcAttr.Setpgid with Pgid 0, so it leads a new group whose id is its
// pid; later commands get Pgid set to that id. The fields are set on a
// copy of cmd.SysProcAttr, so a SysProcAttr shared between commands is
// left alone.
//
// If the caller set Setsid on the first command, Setpgid is not added (the
// pair fails at fork with EPERM): a session leader leads its own group
// too. A later command cannot both start a session and join the group, so
// Setsid there is an error, as is a caller-set Setpgid or Pgid that
// conflicts with the group. Nothing is spawned then.
//
// With KillOnOwnerDeath (of this container or of one it is a sub of),
// Start sets the parent-death signal (SysProcAttr.Pdeathsig) to SIGKILL
// where the OS has one and the caller set none (a caller's own is kept),
// and registers the group with the owner-death watchdog before it
// returns. The child is thereby tied to the owner from birth: Go sets the
// signal in the child before exec and kills the child at once if the
// owner has already died, and the fork runs on a thread that never exits
// (internal/forker), because Linux sends the signal when the forking
// thread ends. So an owner killed between the fork and the registration
// takes the child with it. What is not covered: a process the child
// forks before the registration (the child runs its own code from its
// exec until Start's registration, normally microseconds); a child that
// execs a set-user-ID or set-group-ID program, for which the kernel
// clears the signal; and, on macOS and the BSDs other than FreeBSD, which
// have no parent-death signal, the whole window from fork to
// registration, which is how long the exec takes.
//
// Starts of one container are serialised, so every command joins the
// group the first one leads. Start holds the spawn gates of this
// container and of every enclosing one (see contain.Container), so a
// Freeze never stops a child between fork and exec.
//
// Start fails with an error matching contain.ErrClosed after Kill or
// Close (of this container or of any container it is a sub of), even one
// that was frozen when it was killed, with one matching
// contain.ErrFrozen while this container or one it is a sub of is
// frozen, and with a plain error when the group has already ended
// (every member exited and was reaped): its id may have been recycled, so
// it can no longer be joined; use a new container. A later command can
// still fail with EPERM if the last member is reaped just before its
// fork. The started child is checked to really be in the group; if it is
// not, if the container was killed meanwhile, or if the watchdog cannot
// register the group, the child is killed and reaped before Start
// returns the error. The first command's leader gets the container's own
// handle (on Linux a duplicate of the pidfd, which stays valid after the
// caller's cmd.Wait).
func (c *container) Start(cmd *exec.Cmd) error {
	if cmd == nil {
		return errors.New("pgid: Start: nil command")
	}
	c.gate.Enter()
	defer c.gate.Leave()
	c.spawn.Lock()
	defer c.spawn.Unlock()
	for x := c; x != nil; x = x.parent {
		x.mu.Lock()
		frozen, killed := x.frozen, x.killed
		x.mu.Unlock()
		if killed {
			// Kill is terminal, and it leaves the frozen flag of a
			// container frozen at the time: thawing would not help.
			return closedError("Start")
		}
		if frozen {
			if x == c {
				return fmt.Errorf("pgid: Start: %w", contain.ErrFrozen)
			}
			return fmt.Errorf("pgid: Start: an enclosing container is frozen: %w", contain.ErrFrozen)
		}
	}
	c.mu.Lock()
	attr, err := c.attrLocked(cmd)
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if c.watch && forker.ParentDeathSignal(attr) == 0 {
		forker.SetParentDeathSignal(attr, syscall.SIGKILL)
	}
	orig := cmd.SysProcAttr
	cmd.SysProcAttr = attr
	if err := forker.Start(cmd); err != nil {
		cmd.SysProcAttr = orig // nothing was created: the caller's command is as it was
		return err
	}
	if err := c.record(cmd); err != nil {
		// The child runs outside the container, or unwatched: it must
		// not run on. record has killed it; reap it for the caller.
		_ = cmd.Wait()
		c.log.Debug("pgid: started child rejected", "pid", cmd.Process.Pid, "err", err)
		return err
	}
	return nil
}

// attrLocked returns a copy of cmd.SysProcAttr that makes the child lead
// the group (no group yet) or join it, or the reason it cannot.
func (c *container) attrLocked(cmd *exec.Cmd) (*syscall.SysProcAttr, error) {
	if c.killed {
		return nil, closedError("Start")
	}
	attr := contain.CopySysProcAttr(cmd)
	if c.pgid == 0 {
		switch {
		case attr.Setsid && attr.Setpgid:
			return nil, errors.New("pgid: Start: SysProcAttr sets both Setsid and Setpgid, which fails at fork with EPERM")
		case attr.Setsid:
			// A session leader's group id is its pid: the group exists.
		case attr.Setpgid && attr.Pgid != 0:
			return nil, fmt.Errorf("pgid: Start: SysProcAttr.Pgid is %d, but the first command must lead a new group (Pgid 0)", attr.Pgid)
		default:
			attr.Setpgid, attr.Pgid = true, 0
		}
		return attr, nil
	}
	if c.gone || !c.viewLocked().held {
		return nil, fmt.Errorf("pgid: Start: process group %d has ended (every member exited), so it cannot be joined; use a new container", c.pgid)
	}
	switch {
	case attr.Setsid:
		return nil, fmt.Errorf("pgid: Start: SysProcAttr.Setsid would start a new session, so the command could not join process group %d", c.pgid)
	case attr.Setpgid && attr.Pgid != c.pgid:
		return nil, fmt.Errorf("pgid: Start: SysProcAttr asks for process group %d, but this container's group is %d", attr.Pgid, c.pgid)
	}
	attr.Setpgid, attr.Pgid = true, c.pgid
	return attr, nil
}

// record records the started cmd: the first one becomes the group's
// leader and, with watch, the group is registered with the watchdog;
// later ones join the list of members. If the child is not in the group,
// the container was killed meanwhile or the registration failed, it kills
// the child (and, for a leader, its group) and returns why; the caller
// reaps it.
func (c *container) record(cmd *exec.Cmd) error {
	pid := cmd.Process.Pid
	c.mu.Lock()
	defer c.mu.Unlock()
	reject := func(err error) error {
		_ = cmd.Process.Kill()
		return err
	}
	if c.killed {
		return reject(closedError("Start"))
	}
	want := c.pgid
	if want == 0 {
		want = pid
	}
	if pg, err := unix.Getpgid(pid); err != nil || pg != want {
		if err != nil {
			return reject(fmt.Errorf("pgid: Start: cannot confirm process %d is in group %d: %w", pid, want, err))
		}
		return reject(fmt.Errorf("pgid: Start: process %d is in group %d, not in the container's group %d", pid, pg, want))
	}
	if c.pgid != 0 {
		c.joined = append(c.joined, pid)
		if c.debugging() {
			c.log.Debug("pgid: command joined the group", "pid", pid, "pgid", c.pgid)
		}
		return nil
	}
	leader := leaderHandle(cmd.Process)
	if c.watch {
		reg, err := watchdog.RegisterGroup(pid)
		if err != nil {
			// The group would run unwatched: it must not run on. The
			// leader is our unreaped child, so its id still names this
			// group.
			if sent, _ := leader.signalGroup(unix.SIGKILL); !sent {
				_ = unix.Kill(-pid, unix.SIGKILL)
			}
			leader.close()
			c.log.Debug("pgid: group not registered with the watchdog; killed", "pgid", pid, "err", err)
			return fmt.Errorf("pgid: Start: KillOnOwnerDeath: %w", err)
		}
		c.reg = reg
	}
	c.pgid = pid
	c.leader = leader
	if c.debugging() {
		c.log.Debug("pgid: group leader started", "pgid", pid, "pidfd_group_signal", c.leader.groupSignal, "watched", c.watch)
	}
	return nil
}

// Adopt tracks the running process pid. A running process cannot be moved
// into the group (setpgid only works on one's own child before it execs),
// so it is tracked on its own and included in Signal, Kill, Freeze, Thaw,
// Pids and Stats. Its descendants, existing or future, are NOT covered,
// unless they happen to be in the group anyway.
//
// On Linux the container holds a pidfd for it, so a recycled pid never
// reaches a stranger; elsewhere it holds only the pid, which the OS may
// reuse once the process has exited and been reaped.
//
// Adopt fails with a *contain.NoSuchProcessError when pid names no live
// process (a zombie counts as dead on Linux), with an error matching
// contain.ErrClosed after Kill or Close (of this container or of any
// container it is a sub of), and with a plain error for the
// calling process itself, which Kill would otherwise kill.
func (c *container) Adopt(pid int) error {
	if pid <= 0 {
		return &contain.NoSuchProcessError{Pid: pid}
	}
	if pid == os.Getpid() {
		return errors.New("pgid: Adopt: cannot adopt the calling process")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.killed {
		return closedError("Adopt")
	}
	h, err := adoptHandle(pid)
	if err != nil {
		return err
	}
	c.adopted = append(c.adopted, h)
	c.log.Debug("pgid: process adopted", "pid", pid)
	return nil
}

// Signal sends sig to the group, to every adopted process, and to every
// sub's members (recursively). Only syscall.Signal values (os.Kill and
// os.Interrupt among them) can be sent; anything else returns an error
// matching contain.ErrUnsupported.
//
// A group is signalled in the way that cannot hit a stranger's group
// where the OS allows: on Linux 6.9 and later through the leader's pidfd
// (PIDFD_SIGNAL_PROCESS_GROUP), elsewhere with killpg but only while the
// group still has a member (see signalGroupLocked). A group that has no
// member left is not signalled and that is not an error. Signal after a
// successful Close returns an error matching contain.ErrClosed; after Kill
// it still reaches whatever Kill could not confirm dead. The first error
// is returned, but every target is tried.
//
// A stop signal (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU) is sent with the
// spawn gate held exclusively, as Freeze does, so that it never stops a
// child of a concurrent Start between its fork and its exec; that Start
// waits for the Signal. SIGCONT takes the gate too, so that it waits for
// a Freeze or Thaw in progress instead of undoing it half-way. A stop
// signal sent to the group from outside tether cannot be excluded this
// way.
func (c *container) Signal(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return contain.Unsupported(contain.PGID, "Signal", fmt.Sprintf("signal %v is not a POSIX signal", sig))
	}
	if jobControl(s) {
		// A child that joins the group between its fork and its exec
		// would stop there and hold the thread that forked it: no
		// Start may be in flight while a stop signal goes out. SIGCONT
		// waits too, rather than undo a Freeze or Thaw in progress.
		c.gate.Lock()
		defer c.gate.Unlock()
	}
	if c.isClosed() {
		return closedError("Signal")
	}
	return signalFamily(c.family(), s, nil)
}

// jobControl reports whether sig stops a process that has not changed its
// disposition (as a child between fork and exec has not), or continues
// one.
func jobControl(sig syscall.Signal) bool {
	switch sig {
	case unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU, unix.SIGCONT:
		return true
	}
	return false
}

// signalFamily sends sig to every container in nodes (their groups and
// adopted processes). views, aligned with nodes, is a recent look at their
// groups, which the killpg path needs; when it is nil and some group must
// be signalled with killpg, one scan of all of them is taken first. A
// container closed meanwhile is skipped. The first error is returned.
func signalFamily(nodes []*container, sig syscall.Signal, views []groupView) error {
	if views == nil && needKillpg(nodes) {
		views = scanFamily(nodes)
	}
	var first error
	for i, n := range nodes {
		var v groupView
		if views != nil {
			v = views[i]
		}
		n.mu.Lock()
		err := n.signalAllLocked(sig, v)
		n.mu.Unlock()
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

// needKillpg reports whether some container in nodes has a group that can
// only be signalled with killpg.
func needKillpg(nodes []*container) bool {
	for _, n := range nodes {
		n.mu.Lock()
		need := n.pgid != 0 && !n.gone && !n.leader.groupSignal
		n.mu.Unlock()
		if need {
			return true
		}
	}
	return false
}

// signalAllLocked signals the group and the adopted processes; v is a
// recent look at the group (see signalGroupLocked).
func (c *container) signalAllLocked(sig syscall.Signal, v groupView) error {
	err := c.signalGroupLocked(sig, v)
	for _, h := range c.adopted {
		if e := h.signal(sig); e != nil && err == nil {
			err = fmt.Errorf("pgid: signal adopted process %d: %w", h.pid, e)
		}
	}
	return err
}

// signalGroupLocked signals every member of the group without ever
// reaching a group that is not ours.
//
// A group id is a pid, and the kernel cannot hand it to a new process
// (and so to a new group) while any process, zombie or not, is still in
// the group. With a pidfd for the leader and PIDFD_SIGNAL_PROCESS_GROUP,
// the kernel resolves the group from the pidfd's struct pid, not from the
// number, so a recycled id is never hit, even after the leader was reaped.
// Without it (Linux before 6.9, macOS, the BSDs) killpg is sent only when
// v, a look at the group taken just before, saw that it still had a
// member.
//
// Residual race of the killpg path: between that look and killpg the last
// member could exit and be reaped, and the freed id be taken by a new
// process that makes itself a group leader. The look is one scan shared by
// a container and all its subs, taken by the same call or, during Kill, by
// the previous check (at most pollMax before, plus the time the scan
// takes), so the race needs the pid space to wrap around within a few
// milliseconds, and the stranger to be one we may signal; it is not
// excluded, only improbable.
func (c *container) signalGroupLocked(sig syscall.Signal, v groupView) error {
	if c.pgid == 0 || c.gone {
		return nil
	}
	if sent, err := c.leader.signalGroup(sig); sent {
		if errors.Is(err, unix.ESRCH) {
			c.gone = true
			return nil
		}
		if err != nil {
			return fmt.Errorf("pgid: signal process group %d through its leader's pidfd: %w", c.pgid, err)
		}
		return nil
	}
	if !v.held {
		return nil
	}
	switch err := unix.Kill(-c.pgid, sig); {
	case errors.Is(err, unix.ESRCH):
		c.gone = true
	case err != nil:
		return fmt.Errorf("pgid: killpg %d: %w", c.pgid, err)
	}
	return nil
}

// Kill sends SIGKILL to the group, every adopted process and every sub's
// members (recursively), and waits until each is confirmed dead,
// re-sending SIGKILL on every check so that a member forked while the
// first signal was in flight dies too. A zombie counts as dead.
//
// On Linux a member is found by scanning /proc for the group id, so
// zombies are seen and ignored; one scan per check covers the container
// and all its subs, however many there are. On macOS and the BSDs there
// is no /proc: a group counts as dead when kill(-pgid, 0) fails with
// ESRCH, which a zombie member prevents. Orphaned zombies are reaped by
// init; but the leader and later commands are the caller's own children,
// so off Linux Kill confirms only once the caller has reaped them with
// cmd.Wait (call it concurrently, as proc does). The container never reaps
// them itself: that would steal the exit status from cmd.Wait.
//
// If ctx ends first, Kill returns a *contain.TeardownError (matching
// contain.ErrTeardownNotConfirmed and ctx's error) listing the members
// still alive; off Linux that list holds only the members it knows. Kill
// is terminal for the container and every sub: Start, Adopt and Sub
// fail with contain.ErrClosed from the moment it begins. It may be called
// again, for example after a timeout.
//
// A command whose Start is in flight when Kill begins (past its checks,
// not yet recorded) may outlive Kill's return by that window: its Start
// then kills it and fails, as it does for a container killed meanwhile.
func (c *container) Kill(ctx context.Context) error {
	c.teardown.Lock()
	defer c.teardown.Unlock()
	_, err := c.kill(ctx)
	return err
}

// kill marks c and its subs killed, kills them and confirms their death.
// It returns the family it killed, c first.
func (c *container) kill(ctx context.Context) ([]*container, error) {
	nodes := c.markKilled()
	start := time.Now()
	var lastErr error
	var views []groupView
	remaining, err := c.await(ctx, func() ([]int, bool) {
		if err := signalFamily(nodes, unix.SIGKILL, views); err != nil {
			lastErr = err
		}
		views = scanFamily(nodes)
		left, settled, _ := collect(nodes, views)
		return left, len(left) == 0 && settled
	})
	if err != nil {
		c.log.Debug("pgid: kill not confirmed", "remaining", len(remaining), "subs", len(nodes)-1, "signal_err", lastErr)
		return nil, &contain.TeardownError{Mechanism: contain.PGID, Remaining: remaining, Err: err}
	}
	if c.debugging() {
		c.log.Debug("pgid: kill confirmed", "elapsed", time.Since(start), "subs", len(nodes)-1)
	}
	// Every group is dead, so its id may be reused from now on: withdraw
	// it from the watchdog at once rather than at Close. A failed
	// withdrawal is logged, not returned: the kill itself is confirmed.
	// And it stays dead (no member is alive to fork, and nothing may
	// join a killed container), so it is latched gone: a later Kill,
	// Close, Pids or Stats need not scan /proc for it again (at most
	// zombies are left, waiting for init), which cost a large tree's
	// teardown several scans of 5 ms and more each.
	for _, n := range nodes {
		n.mu.Lock()
		n.gone = true
		pgid, werr := n.pgid, n.reg.Unregister()
		n.mu.Unlock()
		if werr != nil {
			n.log.Debug("pgid: watchdog registration not withdrawn", "pgid", pgid, "err", werr)
		}
	}
	return nodes, nil
}

// markKilled marks c and every sub not yet closed (recursively) killed,
// so that none accepts a new process or sub from now on, and returns
// them, parents before their subs. Sub adds a sub to its parent's list
// under the parent's mu after checking killed, and killed is set here
// under that mu before the list is read: a racing Sub either fails with
// ErrClosed or its sub is in the list returned.
func (c *container) markKilled() []*container {
	return c.walk(true)
}

// family returns c and every sub not yet closed (recursively), parents
// before their subs: a snapshot, taken one mu at a time.
func (c *container) family() []*container {
	return c.walk(false)
}

func (c *container) walk(markKilled bool) []*container {
	nodes := []*container{c}
	for i := 0; i < len(nodes); i++ {
		n := nodes[i]
		n.mu.Lock()
		if markKilled {
			n.killed = true
		}
		for s := range n.subs {
			nodes = append(nodes, s)
		}
		n.mu.Unlock()
	}
	return nodes
}

// scanFamily looks at the groups of every container in nodes at once (on
// Linux one pass over /proc, see scanGroups), latches gone where a group
// has ended, and returns the views aligned with nodes. A container without
// a group to look at (nothing started yet, ended, or closed) gets the zero
// view; nil means every view is the zero one.
func scanFamily(nodes []*container) []groupView {
	var targets []groupTarget
	var at []int
	for i, n := range nodes {
		n.mu.Lock()
		if n.pgid != 0 && !n.gone {
			targets = append(targets, n.targetLocked())
			at = append(at, i)
		}
		n.mu.Unlock()
	}
	if len(targets) == 0 {
		// Nothing to look at (the common end of a run: the group was
		// found empty when it was signalled): every view is the zero
		// one, which nil stands for.
		return nil
	}
	views := make([]groupView, len(nodes))
	for k, v := range scanGroups(targets) {
		i := at[k]
		views[i] = v
		if v.gone {
			// An ended group stays ended (nothing can join a group that
			// has no process), so a latch from a slightly older look is
			// still true.
			n := nodes[i]
			n.mu.Lock()
			n.gone = true
			n.mu.Unlock()
		}
	}
	return views
}

// collect gathers, from a scan of nodes' groups, the live members of all
// of them (the groups' and the adopted processes still alive), sorted and
// without duplicates; settled reports whether every group can count as
// dead (see settledLocked); err is the first error of the scan.
func collect(nodes []*container, views []groupView) (live []int, settled bool, err error) {
	settled = true
	for i, n := range nodes {
		var v groupView
		if views != nil {
			v = views[i]
		}
		live = append(live, v.live...)
		n.mu.Lock()
		for _, h := range n.adopted {
			if !h.exited() {
				live = append(live, h.pid)
			}
		}
		settled = settled && n.settledLocked(v)
		n.mu.Unlock()
		if v.err != nil && err == nil {
			err = v.err
		}
	}
	slices.Sort(live)
	return slices.Compact(live), settled, err
}

// Freeze sends SIGSTOP to the group, every adopted process and every
// sub's members (recursively), and returns once they are stopped,
// re-sending it on every check so that a member forked meanwhile stops
// too. A sub made while Freeze runs is not covered.
//
// Freeze holds the spawn gate exclusively (see contain.Container): it
// waits for the Starts in flight into this container and its subs, none
// begins while it runs, and from its success until Thaw every Start here
// or in a sub fails with contain.ErrFrozen. A SIGSTOP that reached a child
// between its fork and its exec would hold the thread that forked it.
//
// On Linux every thread of every live member must show state T (stopped)
// or t (stopped by a tracer) in /proc, or wait in the kernel for a vfork
// child (a shell starting a command) that the freeze stopped before its
// exec: such a thread runs nothing until its child does, and never shows
// T while the child is stopped (cgroup v2's freezer counts it as frozen
// for the same reason). Off Linux nothing can be observed:
// Freeze returns once SIGSTOP has been delivered to the groups. SIGSTOP
// cannot be caught, blocked or ignored, so a member stops before it next
// runs its own code, but a member inside a slow system call may not have
// stopped yet when Freeze returns.
//
// A stopped member still dies on Kill. If ctx ends before the freeze is
// confirmed (a ctx that has already ended included), Freeze rolls it
// back, sending SIGCONT to everything it sent SIGSTOP to, and returns an
// error wrapping ctx's error; the container is then not frozen. It fails
// with an error matching contain.ErrClosed after Kill or Close.
func (c *container) Freeze(ctx context.Context) error {
	return c.gate.Freeze(func() error {
		return c.stopOrContinue(ctx, "Freeze", unix.SIGSTOP, true)
	}, c.rollbackFreeze, func() { c.recordFrozen(true) })
}

// rollbackFreeze sends SIGCONT to everything an unconfirmed Freeze
// stopped and waits up to a second for them to run.
func (c *container) rollbackFreeze() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := c.stopOrContinue(ctx, "Freeze rollback", unix.SIGCONT, false); err != nil {
		c.log.Debug("pgid: rollback of an unconfirmed freeze not confirmed", "err", err)
	}
}

// Thaw sends SIGCONT to the group, every adopted process and every sub's
// members (recursively), and returns once none of them is stopped (on
// Linux: no thread in state T). A member stopped by a tracer (state t) is
// the tracer's to resume and does not hold Thaw back. Off Linux, Thaw
// returns once SIGCONT is delivered. If ctx ends first, Thaw returns an
// error wrapping ctx's error. It fails with an error matching
// contain.ErrClosed after Kill or Close. Once SIGCONT has been sent, the
// container no longer counts as frozen, even if the confirmation fails:
// Start works again.
func (c *container) Thaw(ctx context.Context) error {
	c.gate.Lock()
	defer c.gate.Unlock()
	err := c.stopOrContinue(ctx, "Thaw", unix.SIGCONT, false)
	if !errors.Is(err, contain.ErrClosed) {
		c.recordFrozen(false)
	}
	return err
}

// recordFrozen records whether the container is frozen by its own
// Freeze (until Thaw), which Start here and in every sub refuses.
func (c *container) recordFrozen(on bool) {
	c.mu.Lock()
	c.frozen = on
	c.mu.Unlock()
}

// stopOrContinue sends sig to the family until every member is stopped
// (stop) or none is. A stop is not confirmed once ctx has ended, even by a
// check that would see it: the caller then rolls it back, so the outcome
// of a Freeze with an ended ctx does not depend on how fast the members
// stopped.
func (c *container) stopOrContinue(ctx context.Context, op string, sig syscall.Signal, stop bool) error {
	var sigErr error
	var closed bool
	nodes := c.family()
	var views []groupView
	left, err := c.await(ctx, func() ([]int, bool) {
		c.mu.Lock()
		killed := c.killed
		c.mu.Unlock()
		if killed {
			closed = true
			return nil, true
		}
		sigErr = signalFamily(nodes, sig, views)
		views = scanFamily(nodes)
		live, _, _ := collect(nodes, views)
		var notYet []int
		for _, p := range live {
			if !settledStop(p, stop) {
				notYet = append(notYet, p)
			}
		}
		return notYet, len(notYet) == 0 && (!stop || ctx.Err() == nil)
	})
	switch {
	case closed:
		return closedError(op)
	case err != nil && sigErr != nil:
		return fmt.Errorf("pgid: %s not confirmed for %d member(s): %w (last signal error: %w)", op, len(left), err, sigErr)
	case err != nil:
		return fmt.Errorf("pgid: %s not confirmed for %d member(s): %w", op, len(left), err)
	}
	c.log.Debug("pgid: "+op+" confirmed", "subs", len(nodes)-1, "signal_err", sigErr)
	return sigErr
}

// await calls check until it reports done or ctx ends, backing off from
// pollMin to pollMax. It returns check's last list and ctx's error.
func (c *container) await(ctx context.Context, check func() ([]int, bool)) ([]int, error) {
	var left []int
	err := poll.Until(ctx, pollMin, pollMax, func() (bool, error) {
		var done bool
		left, done = check()
		return done, nil
	})
	if err != nil {
		return left, err
	}
	return nil, nil
}

// Pids lists the live members, sorted: those of the group, the adopted
// processes and every sub (recursively). On Linux a group's members are
// every process in it found in /proc (zombies excluded), found by one scan
// for the container and all its subs; an adopted process is listed until
// it exits. Off Linux, where there is no process table to scan, it lists
// the members the containers know (the commands they started and the
// adopted processes) that kill(pid, 0) finds, zombies included;
// descendants are in the groups but not listed. The error is non-nil only
// when /proc cannot be read. After Close the list is empty.
func (c *container) Pids() ([]int, error) {
	nodes := c.family()
	live, _, err := collect(nodes, scanFamily(nodes))
	return live, err
}

// Stats reports the live members' count (the subs' included, as Pids
// lists them) and, on Linux, the sum of their CPU time (user and system,
// from /proc) and resident memory. The CPU time of members that already
// exited is lost (CPUIncludesExited is false), so CPU can go down.
// MemoryPeak and OOMKills are always unavailable: a process group has no
// accounting. Off Linux only Processes is reported, counting the members
// Pids lists. The error is non-nil only when /proc cannot be read.
func (c *container) Stats() (contain.Stats, error) {
	pids, err := c.Pids()
	if err != nil {
		return contain.Stats{}, err
	}
	return statsOf(pids), nil
}

// debugging reports whether the container's logger takes debug records.
// A hot path asks first: the arguments of a record the logger discards
// are still boxed, a few allocations on every run.
func (c *container) debugging() bool {
	return c.log.Enabled(context.Background(), slog.LevelDebug)
}

// isClosed reports whether Close has succeeded.
func (c *container) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Close kills the group, every adopted process and every sub's members
// (recursively), confirms their death as Kill does, and then releases the
// handles the container and every sub still open hold (their pidfds on
// Linux; os.Process values of the caller are never released, since the
// caller still waits on them). A sub's Close also removes it from its
// parent's list, so the parent never lists, signals or counts it again.
//
// It is idempotent: after it has succeeded, later calls return nil at
// once, and so does the first Close of a sub released this way. If death
// cannot be confirmed before ctx ends it returns a *contain.TeardownError
// and keeps every handle, so it may be called again. Concurrent calls are
// serialised.
func (c *container) Close(ctx context.Context) error {
	c.teardown.Lock()
	defer c.teardown.Unlock()
	if c.isClosed() {
		return nil
	}
	nodes, err := c.kill(ctx)
	if err != nil {
		return err
	}
	// No sub can be added after markKilled, so nodes is the whole family.
	// A sub that its own Close released meanwhile is skipped.
	for _, n := range nodes {
		n.release(n != c)
	}
	if p := c.parent; p != nil {
		p.mu.Lock()
		delete(p.subs, c)
		if len(p.subs) == 0 {
			p.subs = nil // let a big map go once the subs are gone
		}
		p.mu.Unlock()
	}
	return nil
}

// release closes c's handles and marks it closed, unless it already is.
// byParent says an ancestor's Close does it.
func (c *container) release(byParent bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	if c.leader != nil {
		c.leader.close()
	}
	for _, h := range c.adopted {
		h.close()
	}
	c.adopted = nil
	c.joined = nil
	c.subs = nil
	c.gone = true
	c.closed = true
	if byParent {
		c.log.Debug("pgid: sub closed with its parent")
	} else {
		c.log.Debug("pgid: container closed")
	}
}

// Sub creates a container nested in c: an empty container whose group is
// born with its first command, as with Backend.NewContainer, and which c
// tracks from then on. The sub's members are c's members too: c's Signal,
// Kill, Freeze, Thaw, Pids and Stats cover them, while the sub's own
// Signal, Kill and Close reach only the sub's group, its adopted processes
// and its own subs (subs nest to any depth). c and its other subs live on.
//
// Killing c kills every sub, and the kill is terminal for them too: their
// Start, Adopt and Sub fail with contain.ErrClosed. Closing c also
// releases every sub still open; a sub's own Close afterwards returns nil.
// A sub's Close removes it from c's list, so that a container that hosts
// many runs over its life does not accumulate their old group ids: once
// closed, a sub's group id is never signalled, listed or counted again.
//
// Limits are rejected as NewContainer rejects them (process groups enforce
// none). With opts.KillOnOwnerDeath, or when c was made with it (its
// promise covers its subs' members, as a cgroup's recursive kill would),
// the sub's group is registered with the owner's watchdog when its leader
// starts and withdrawn once a kill has confirmed it dead, exactly as for a
// container from NewContainer. opts.Logger is the sub's own; nil means no
// logging.
//
// Sub fails with an error matching contain.ErrClosed once c has been
// killed or closed. A Sub that races c's Kill or Close either fails so, or
// its sub is killed with c (see Kill for a command whose Start is in
// flight at that moment).
func (c *container) Sub(_ context.Context, opts contain.Options) (contain.Container, error) {
	c.mu.Lock()
	killed := c.killed
	c.mu.Unlock()
	if killed {
		return nil, closedError("Sub")
	}
	s, err := makeContainer(opts, opts.KillOnOwnerDeath || c.watch)
	if err != nil {
		return nil, err
	}
	s.parent = c
	s.gate.Nest(&c.gate)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.killed {
		return nil, closedError("Sub")
	}
	if c.subs == nil {
		c.subs = make(map[*container]struct{})
	}
	c.subs[s] = struct{}{}
	s.log.Debug("pgid: sub created", "kill_on_owner_death", s.watch, "parent_pgid", c.pgid)
	return s, nil
}

// viewLocked looks at c's group alone (see scanGroups) and latches c.gone
// when it has ended.
func (c *container) viewLocked() groupView {
	if c.pgid == 0 || c.gone {
		return groupView{}
	}
	v := scanGroups([]groupTarget{c.targetLocked()})[0]
	if v.gone {
		c.gone = true
	}
	return v
}

// settledLocked reports whether the group itself, seen as v, can count as
// dead. On Linux the /proc scan sees zombies and skips them, so no live
// member is enough; off Linux a zombie is indistinguishable from a live
// member, and only an empty group (kill(-pgid, 0) fails with ESRCH)
// counts.
func (c *container) settledLocked(v groupView) bool {
	if c.pgid == 0 || c.gone {
		return true
	}
	return v.err == nil && (zombiesVisible || !v.held)
}

// groupView is one look at a group.
type groupView struct {
	// live are the members alive now. On Linux every member, zombies
	// excluded; off Linux the known members that still exist.
	live []int
	// held is true when some process, zombie or not, still has the
	// group's id, so the id cannot have been recycled.
	held bool
	// gone is true when the group has ended: no process has its id any
	// more, or the id may have been recycled. It is never signalled,
	// listed or joined again.
	gone bool
	// err is set when the process table could not be read; held is then
	// true, since nothing could be ruled out.
	err error
}

func closedError(op string) error {
	return fmt.Errorf("pgid: %s: %w", op, contain.ErrClosed)
}
