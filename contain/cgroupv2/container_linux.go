//go:build linux

package cgroupv2

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/forker"
	"github.com/gotether/tether/internal/spawngate"
	"github.com/gotether/tether/internal/sysproc"
	"github.com/gotether/tether/internal/watchdog"
)

// container is one cgroup: a leaf made by Backend.NewContainer, or a sub
// made by Sub inside another container's cgroup.
//
// Locking. closeMu serialises Close and the release of a sub by an
// enclosing Close; gate is the spawn gate (see contain.Container): Start
// holds it shared, from its checks until clone3 has returned, in this
// container and in every enclosing one, while Freeze, Thaw and a
// non-kill Signal hold it exclusively; mu guards the state below it. The
// locks are taken in one order: every closeMu before every gate, every
// gate before every mu, and among locks of the same kind an enclosing
// container's before its subs'. Nothing that holds a gate takes a
// closeMu, and no gate is held across anything but a spawn, a freeze, a
// thaw or a signal, so the gates never wait for a teardown. An enclosing
// container never waits for a sub while the sub waits for it: a sub's
// Close drops its own mu before it takes its parent's mu to leave the
// parent's list, and an enclosing Close takes a sub's closeMu only while
// it holds no mu.
type container struct {
	dir string
	log *slog.Logger

	// h is the hierarchy dir lives in, and cgpath dir's path in it as
	// /proc/<pid>/cgroup shows it: holds compares whole path elements,
	// so a sub's members are recognised as the enclosing container's.
	h      hierarchy
	cgpath string

	// parent is the enclosing container of a sub, nil for NewContainer's.
	parent *container
	// covered is set when a watchdog registration of this cgroup or of an
	// enclosing one kills it on the owner's death: cgroup.kill is
	// recursive, so a sub of a covered container registers nothing.
	covered bool

	closeMu sync.Mutex // serialises Close (and release)
	// gate is the spawn gate: shared for Start, exclusive for Freeze,
	// Thaw and a non-kill Signal. A sub's is nested in its parent's.
	gate spawngate.Gate
	// reg is the owner-death watchdog's registration of dir, with
	// KillOnOwnerDeath; withdrawn by Close once dir is removed. Guarded
	// by closeMu.
	reg watchdog.Registration
	// lock is the ownership lock of a container NewContainer made (see
	// makeLockedLeaf), held until Close has removed dir; -1 for a sub (its
	// top container's lock covers it). Guarded by closeMu.
	lock int

	mu sync.Mutex
	fd int // O_PATH descriptor of dir, for clone3; -1 once closed
	// killed is set once cgroup.kill was written here or in an enclosing
	// cgroup (a kill reaches the subtree): never place a process here
	// again.
	killed bool
	// empty is set once a killed cgroup was seen unpopulated: nothing can
	// enter it again, so it stays empty and need not be read again.
	empty  bool
	closed bool
	// frozen is set while the container is frozen on the caller's
	// request (Freeze until Thaw). Changed only with gate held
	// exclusively, so it is stable for a holder of the gate.
	frozen bool
	// subs are the open subs made by Sub. A sub leaves the set when it is
	// closed, so a long-lived container running many subs in turn holds
	// only the live ones.
	subs map[*container]struct{}

	// hasMemory records, at creation, whether the memory controller's
	// files exist: they cannot appear later (the parent's subtree_control
	// is fixed while this leaf lives), and three failed opens per Stats
	// were measurable.
	hasMemory bool
	// memoryLimited: the container has a memory limit of its own.
	memoryLimited bool
	// memoryTried is set once delegateMemory has run. Guarded by mu.
	memoryTried bool
}

func (c *container) Mechanism() contain.Mechanism { return contain.CgroupV2 }

func (c *container) String() string { return "cgroupv2 " + c.dir }

// usable returns ErrClosed once the container was killed or closed.
// Called with c.mu held.
func (c *container) usable() error {
	if c.killed || c.closed {
		return fmt.Errorf("contain: cgroupv2 %s: %w", c.dir, contain.ErrClosed)
	}
	return nil
}

// Start starts cmd with the child born in the cgroup: clone3 with
// CLONE_INTO_CGROUP, through a copy of cmd.SysProcAttr with UseCgroupFD
// and CgroupFD set to a duplicate of the container's descriptor, held
// only for the spawn. The child also leads a process group of its own
// (Setpgid, Pgid 0), so that a signal it sends to its group (kill 0, a
// shell's "trap 'kill 0' EXIT") stays in its tree and a signal to the
// owner's group (a terminal's Ctrl-C, an outer killpg) does not reach it;
// a caller's Setsid is kept instead, since a session leader leads its
// own group anyway. It fails, spawning nothing, if the caller already
// set UseCgroupFD, a Setpgid with a Pgid of another group, or Setsid
// together with Setpgid (which fails at fork with EPERM).
//
// Start holds the spawn gate of this container and of every enclosing
// one, shared, until clone3 has returned. It fails with an error
// matching contain.ErrClosed after Kill or Close (of this container or
// an enclosing one), and with one matching contain.ErrFrozen while this
// container or an enclosing one is frozen by Freeze. It also refuses,
// with contain.ErrFrozen, a cgroup that cgroup.events says is frozen,
// which covers a freeze from outside tether (systemctl freeze, a write
// to an enclosing cgroup's cgroup.freeze): the kernel reports the
// effective state there, enclosing cgroups included. A freeze from
// outside that begins between that read and clone3 is not excluded (no
// gate reaches it); docs/containment.md says what then happens.
//
// A parent-death signal in cmd.SysProcAttr is kept, and the fork then
// happens on a thread that never exits (see internal/forker). The
// cgroup needs none: with KillOnOwnerDeath it was registered with the
// watchdog when it was made, before any process could enter it.
//
// If the container (or an enclosing one) is killed while the child is
// being created, the child is born into a killed cgroup: Linux 6.18 kills
// it at birth, older kernels do not, so Start kills it, reaps it and
// returns an error matching contain.ErrClosed.
func (c *container) Start(cmd *exec.Cmd) error {
	if cmd == nil {
		return errors.New("contain: cgroupv2: Start: nil command")
	}
	// Copy before changing: a SysProcAttr shared between commands (or
	// containers) must not carry this cgroup into another spawn.
	attr := contain.CopySysProcAttr(cmd)
	switch {
	case attr.UseCgroupFD:
		return errors.New("contain: cgroupv2: Start: cmd.SysProcAttr.UseCgroupFD is already set; the container places the child itself")
	case attr.Setsid && attr.Setpgid:
		return errors.New("contain: cgroupv2: Start: cmd.SysProcAttr sets both Setsid and Setpgid, which fails at fork with EPERM")
	case attr.Setpgid && attr.Pgid != 0:
		return fmt.Errorf("contain: cgroupv2: Start: cmd.SysProcAttr.Pgid is %d, but the child must lead a process group of its own (Pgid 0)", attr.Pgid)
	case !attr.Setsid:
		attr.Setpgid, attr.Pgid = true, 0
	}
	c.gate.Enter()
	defer c.gate.Leave()
	fd, err := c.spawnFD()
	if err != nil {
		return err
	}
	attr.UseCgroupFD, attr.CgroupFD = true, fd
	orig := cmd.SysProcAttr
	cmd.SysProcAttr = attr
	err = forker.Start(cmd)
	_ = unix.Close(fd)
	c.mu.Lock()
	killed := c.killed || c.closed
	c.mu.Unlock()
	if err != nil {
		cmd.SysProcAttr = orig // nothing was created: the caller's command is as it was
		if killed {
			// Killed or closed (this container or an enclosing one)
			// while the child was being placed: clone3 found the
			// directory removed (ENOENT) or the cgroup dying (ENODEV).
			// That is the race Start documents, not a spawn failure.
			return fmt.Errorf("contain: cgroupv2 %s: closed while the child was starting (%w): %w", c.dir, err, contain.ErrClosed)
		}
		return err
	}
	if killed {
		_ = writeFile(c.dir, "cgroup.kill", "1") // its children too, if it had time to fork
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("contain: cgroupv2 %s: killed while the child was starting: %w", c.dir, contain.ErrClosed)
	}
	return nil
}

// spawnFD checks, for Start and with the gates held, that a child may be
// placed here now, and returns a duplicate of the cgroup's descriptor for
// clone3: a concurrent Close may close the container's own at any moment,
// and its number could then name another file by the time clone3 runs.
func (c *container) spawnFD() (int, error) {
	for x := c.parent; x != nil; x = x.parent {
		x.mu.Lock()
		frozen := x.frozen
		x.mu.Unlock()
		if frozen {
			return -1, fmt.Errorf("contain: cgroupv2 %s: enclosing container %s is frozen: %w", c.dir, x.dir, contain.ErrFrozen)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usable(); err != nil {
		return -1, err
	}
	if c.frozen {
		return -1, fmt.Errorf("contain: cgroupv2 %s: %w", c.dir, contain.ErrFrozen)
	}
	if frozenNow(c.dir) {
		return -1, fmt.Errorf("contain: cgroupv2 %s: frozen from outside (cgroup.events says frozen 1): %w", c.dir, contain.ErrFrozen)
	}
	fd, err := unix.FcntlInt(uintptr(c.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("contain: cgroupv2: duplicating the cgroup descriptor: %w", err)
	}
	return fd, nil
}

// Adopt moves the running process pid (not its existing children) into the
// cgroup; its later children are born inside. It holds a pidfd across the
// move, and fails if the process exited meanwhile, so a recycled pid is
// not silently adopted.
func (c *container) Adopt(pid int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usable(); err != nil {
		return err
	}
	if pid <= 0 {
		return &contain.NoSuchProcessError{Pid: pid}
	}
	pfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		if errors.Is(err, unix.ESRCH) {
			return &contain.NoSuchProcessError{Pid: pid}
		}
		return fmt.Errorf("contain: cgroupv2: adopt pid %d: %w", pid, err)
	}
	defer unix.Close(pfd)
	// Writing a pid to cgroup.procs moves that process, all its threads,
	// and nothing else; a pid that names no process is ESRCH.
	if err := writeFile(c.dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return &contain.NoSuchProcessError{Pid: pid}
		}
		return fmt.Errorf("contain: cgroupv2: adopt pid %d: %w", pid, err)
	}
	if exited(pfd) {
		return fmt.Errorf("contain: cgroupv2: pid %d exited during adoption: %w", pid, &contain.NoSuchProcessError{Pid: pid})
	}
	return nil
}

// exited reports whether the process behind a pidfd has exited (a pidfd
// polls readable once its process is a zombie or gone).
func exited(pfd int) bool {
	fds := []unix.PollFd{{Fd: int32(pfd), Events: unix.POLLIN}}
	n, err := unix.Poll(fds, 0)
	return err == nil && n > 0
}

// Signal sends sig to every member. os.Kill writes cgroup.kill: atomic
// over the whole subtree and against concurrent forks; it makes the
// container terminal. Any other signal is delivered with the cgroup
// frozen, so a process forked while the members are listed cannot miss
// it; each member is signalled through a pidfd after checking it is
// still in this cgroup, so a recycled pid is never hit.
//
// That freeze holds the spawn gate exclusively, so a concurrent Start
// waits for the Signal instead of spawning into the frozen cgroup, and
// the thaw always follows, whatever happens in between. A container that
// Freeze holds needs no freeze of its own (nothing in it runs, so
// nothing forks, and Start refuses it) and is left frozen. A container
// frozen by an enclosing one or from outside is frozen once more on its
// own account, since the enclosing freeze may end during the call, and
// its own flag is cleared again afterwards.
func (c *container) Signal(sig os.Signal) error {
	s, ok := sig.(syscall.Signal)
	if !ok {
		return contain.Unsupported(contain.CgroupV2, "signal "+sig.String(), "not a syscall.Signal")
	}
	if s == syscall.SIGKILL {
		return c.writeKill()
	}
	c.gate.Lock()
	defer c.gate.Unlock()
	c.mu.Lock()
	closed, userFrozen := c.closed, c.frozen
	c.mu.Unlock()
	if closed {
		return fmt.Errorf("contain: cgroupv2 %s: %w", c.dir, contain.ErrClosed)
	}
	if !userFrozen {
		// Frozen already by an enclosing cgroup: the thaw of our own
		// flag cannot be confirmed while that lasts, so it is not
		// waited for.
		already := frozenNow(c.dir)
		// Bounded: a task in uninterruptible sleep can delay "frozen 1";
		// the signal is still delivered, only the fork guarantee is lost.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		if err := c.setFrozen(ctx, true); err != nil {
			c.log.Debug("tether: freeze before signal not confirmed", "path", c.dir, "err", err)
		}
		cancel()
		defer c.thawAfter(!already)
	}
	pids, err := c.Pids()
	if err != nil {
		return err
	}
	var errs []error
	for _, pid := range pids {
		if err := c.signalMember(pid, s); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// thawAfter clears the freeze that Signal or a failed Freeze set: it
// writes cgroup.freeze 0 and, with confirm, waits up to a second for
// "frozen 0". The write is what matters (it is the container's own
// wish); a confirmation that does not come (an enclosing cgroup froze
// meanwhile) is logged.
func (c *container) thawAfter(confirm bool) {
	if err := writeFile(c.dir, "cgroup.freeze", "0"); err != nil {
		c.log.Debug("tether: thaw not written", "path", c.dir, "err", err)
		return
	}
	if !confirm {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := waitEvent(ctx, c.dir, "frozen", 0); err != nil {
		c.log.Debug("tether: thaw not confirmed", "path", c.dir, "err", err)
	}
}

func (c *container) signalMember(pid int, s syscall.Signal) error {
	pfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil // gone since it was listed
	}
	defer unix.Close(pfd)
	if !c.holds(pid) {
		return nil
	}
	if err := unix.PidfdSendSignal(pfd, s, nil, 0); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("contain: cgroupv2: signal pid %d: %w", pid, err)
	}
	return nil
}

// holds reports whether pid's cgroup is this container or nested in it
// (a sub's, at any depth): its path is c.cgpath or starts with it and a
// slash. Whole path elements are compared, so neither a sibling whose
// name merely shares a prefix nor a same-named cgroup elsewhere matches.
func (c *container) holds(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return false
	}
	own, ok := sysproc.CgroupV2Path(b)
	if !ok {
		return false
	}
	return within(own, c.cgpath)
}

// within reports whether the hierarchy path p is cg or nested in it.
func within(p, cg string) bool {
	rest, ok := strings.CutPrefix(p, cg)
	return ok && (rest == "" || rest[0] == '/')
}

// frozenNow reports whether cgroup.events in dir says "frozen 1".
func frozenNow(dir string) bool {
	kv, err := readKV(filepath.Join(dir, "cgroup.events"))
	return err == nil && kv.get("frozen") == 1
}

func (c *container) writeKill() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("contain: cgroupv2 %s: %w", c.dir, contain.ErrClosed)
	}
	if c.killed {
		// cgroup.kill already fired. Linux 6.18 kills a child cloned into
		// a killed cgroup at birth, but older kernels let it live
		// (measured on Debian 12's 6.1, in make test-vm's VM): a child
		// whose clone3 raced the kill is killed again here.
		if !populated(c.dir) {
			return nil
		}
		c.empty = false
		if err := writeFile(c.dir, "cgroup.kill", "1"); err != nil {
			if vanished(err) {
				c.empty = true
				return nil
			}
			return fmt.Errorf("contain: cgroupv2: writing cgroup.kill again: %w", err)
		}
		c.log.Debug("tether: cgroup populated after its kill; killed again", "path", c.dir)
		return nil
	}
	// An empty cgroup needs no kill: the usual end of a run, where the
	// direct child exited and left nothing behind. Marking it killed
	// keeps the rule that it is never reused. Not with open subs: a child
	// prepared for one of them may be starting right now, and only
	// cgroup.kill is atomic against that; it is one write anyway.
	if len(c.subs) == 0 && !populated(c.dir) {
		c.killed, c.empty = true, true
		return nil
	}
	if err := writeFile(c.dir, "cgroup.kill", "1"); err != nil {
		if !vanished(err) {
			return fmt.Errorf("contain: cgroupv2: writing cgroup.kill: %w", err)
		}
		// Removed under us, which the kernel allows only once a cgroup
		// is empty: systemd removes the cgroups of a scope it stopped.
		// Nothing lives in it, and nothing can enter it again.
		c.empty = true
	}
	c.killed = true
	c.subsKilled()
	return nil
}

// subsKilled records in every open sub, at every depth, that an enclosing
// cgroup was killed: the kill reached them, and the kernel would kill a
// child placed in them now at birth, so they refuse new processes and
// subs from here on. Called with c.mu held; it takes each sub's mu in
// turn, enclosing before nested.
func (c *container) subsKilled() {
	for s := range c.subs {
		s.mu.Lock()
		s.killed = true
		s.subsKilled()
		s.mu.Unlock()
	}
}

// Kill writes cgroup.kill and waits for cgroup.events "populated 0".
func (c *container) Kill(ctx context.Context) error {
	start := time.Now()
	if err := c.writeKill(); err != nil {
		return err
	}
	c.mu.Lock()
	empty := c.empty
	c.mu.Unlock()
	if empty {
		return nil
	}
	for {
		// SIGKILL lands within milliseconds; a cgroup still populated
		// after rekillAfter holds a child born after the kill (a clone3
		// that raced it, which kernels before 6.x let live): kill again.
		wctx, cancel := context.WithTimeout(ctx, rekillAfter)
		err := waitEvent(wctx, c.dir, "populated", 0)
		cancel()
		if err == nil {
			break
		}
		// A concurrent Close may have removed the cgroup meanwhile: the
		// kernel refuses to remove a populated one, so gone means empty.
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV) {
			return nil
		}
		if ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
			pids, _ := c.Pids()
			return &contain.TeardownError{Mechanism: contain.CgroupV2, Remaining: pids, Err: err}
		}
		if err := c.writeKill(); err != nil {
			return err
		}
	}
	c.mu.Lock()
	c.empty = true
	c.mu.Unlock()
	if debugging(c.log) {
		c.log.Debug("tether: cgroup killed", "path", c.dir, "confirmed_after", time.Since(start))
	}
	return nil
}

// rekillAfter is how long Kill waits for "populated 0" before it writes
// cgroup.kill again.
const rekillAfter = 100 * time.Millisecond

// Freeze writes cgroup.freeze 1 and waits until cgroup.events says
// "frozen 1". It holds the spawn gate exclusively meanwhile (so it waits
// for the Starts in flight into this container and its subs, and none
// begins), and from its success until Thaw, Start here or in any sub
// fails with contain.ErrFrozen. A freeze not confirmed before ctx ends
// (a ctx that has already ended included) is rolled back: cgroup.freeze
// is written 0 again, so the container is left unfrozen and usable, and
// the error wraps ctx's.
func (c *container) Freeze(ctx context.Context) error {
	// Frozen already by an enclosing cgroup: the rollback's thaw could
	// not be confirmed while that lasts.
	var already bool
	return c.gate.Freeze(func() error {
		already = frozenNow(c.dir)
		return c.setFrozen(ctx, true)
	}, func() { c.thawAfter(!already) }, func() { c.recordFrozen(true) })
}

// Thaw writes cgroup.freeze 0 and waits until cgroup.events says "frozen
// 0". Once the write is done the container no longer counts as frozen
// by Freeze, even if the confirmation then fails (an enclosing cgroup
// still frozen holds it: Start then still fails with contain.ErrFrozen,
// because cgroup.events says so).
func (c *container) Thaw(ctx context.Context) error {
	c.gate.Lock()
	defer c.gate.Unlock()
	err := c.setFrozen(ctx, false)
	if err == nil || !errors.Is(err, errFreezeWrite) {
		c.recordFrozen(false)
	}
	return err
}

// recordFrozen records whether the container is frozen by its own
// Freeze (until Thaw), which Start refuses.
func (c *container) recordFrozen(on bool) {
	c.mu.Lock()
	c.frozen = on
	c.mu.Unlock()
}

// errFreezeWrite marks a setFrozen that could not write cgroup.freeze.
var errFreezeWrite = errors.New("writing cgroup.freeze")

// setFrozen writes cgroup.freeze and waits for cgroup.events to confirm
// it. A freeze (on) is not confirmed once ctx has ended, even by a first
// look that would see it: Freeze then rolls it back, which makes the
// outcome of a Freeze with an ended ctx not depend on how fast the
// members stopped.
func (c *container) setFrozen(ctx context.Context, on bool) error {
	if c.isClosed() {
		return fmt.Errorf("contain: cgroupv2 %s: %w", c.dir, contain.ErrClosed)
	}
	v, want := "0", uint64(0)
	if on {
		v, want = "1", 1
	}
	if err := writeFile(c.dir, "cgroup.freeze", v); err != nil {
		return fmt.Errorf("contain: cgroupv2: %w: %w", errFreezeWrite, err)
	}
	if on {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("contain: cgroupv2: freeze=1 not confirmed: %w", err)
		}
	}
	if err := waitEvent(ctx, c.dir, "frozen", want); err != nil {
		return fmt.Errorf("contain: cgroupv2: freeze=%s not confirmed: %w", v, err)
	}
	return nil
}

// Pids lists the processes in the cgroup and any nested cgroup. Exited
// processes leave cgroup.procs at exit, before they are reaped, so zombies
// are never listed.
func (c *container) Pids() ([]int, error) {
	if c.isClosed() {
		return nil, fmt.Errorf("contain: cgroupv2 %s: %w", c.dir, contain.ErrClosed)
	}
	out, err := treeProcs(c.dir, nil)
	if err != nil {
		return nil, fmt.Errorf("contain: cgroupv2: %w", err)
	}
	return out, nil
}

// treeProcs appends the pids in dir's cgroup.procs and in every nested
// cgroup's. containerd's Manager.Procs walks with filepath.Walk, which
// stats each of the ~30 interface files of every cgroup: 300 us for one
// leaf, on every Stats and every teardown. ReadDir's entry types need no
// stat.
func treeProcs(dir string, out []int) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return out, err
	}
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil {
			out = append(out, pid)
		}
	}
	// cgroup.stat counts nested cgroups: skip the directory read (about
	// 30 entries) in the common case of a leaf.
	if kv, err := readKV(filepath.Join(dir, "cgroup.stat")); err == nil && kv.get("nr_descendants") == 0 {
		return out, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return out, err
	}
	for _, e := range ents {
		if e.IsDir() {
			var err error
			if out, err = treeProcs(filepath.Join(dir, e.Name()), out); err != nil && !vanished(err) {
				return out, err
			}
		}
	}
	return out, nil
}

// vanished reports whether err says a cgroup was removed while it was
// read (a sub closed meanwhile): it then holds no process.
func vanished(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENODEV)
}

// Stats reads cpu.stat (present even without the cpu controller, and
// counting members that already exited), memory.current, memory.peak and
// memory.events where the memory controller is enabled.
func (c *container) Stats() (contain.Stats, error) {
	c.mu.Lock()
	empty := c.empty
	c.mu.Unlock()
	st := contain.Stats{CPUIncludesExited: true}
	if !empty {
		// After a confirmed kill the count is zero: skip the listing.
		pids, err := c.Pids()
		if err != nil {
			return contain.Stats{}, err
		}
		st.Processes = len(pids)
	}
	if kv, err := readKV(filepath.Join(c.dir, "cpu.stat")); err == nil {
		us := func(k string) contain.Optional[time.Duration] {
			v, ok := kv.lookup(k)
			if !ok {
				return contain.Optional[time.Duration]{}
			}
			return contain.Some(time.Duration(v) * time.Microsecond)
		}
		st.CPU, st.UserCPU, st.SystemCPU = us("usage_usec"), us("user_usec"), us("system_usec")
	}
	if !c.hasMemory {
		return st, nil
	}
	if v, err := readUint(filepath.Join(c.dir, "memory.current")); err == nil {
		st.Memory = contain.Some(v)
	}
	if v, err := readUint(filepath.Join(c.dir, "memory.peak")); err == nil {
		st.MemoryPeak = contain.Some(v)
	}
	if kv, err := readKV(filepath.Join(c.dir, "memory.events")); err == nil {
		st.OOMKills = contain.Some(kv.get("oom_kill"))
	}
	return st, nil
}

// isClosed reports whether Close has succeeded.
func (c *container) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// Close kills the tree, confirms it is gone, removes the cgroup and closes
// the descriptor.
func (c *container) Close(ctx context.Context) error {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	if c.isClosed() {
		return nil
	}
	if err := c.Kill(ctx); err != nil {
		return err
	}
	// The whole tree is confirmed dead, and Kill made c refuse new subs.
	// Release the open subs before removing their directories: a sub's
	// own Close in progress finishes first (release waits for it), and
	// none starts to remove anything afterwards, so the removal below is
	// the only one walking the tree.
	c.mu.Lock()
	subs := c.subs
	c.subs = nil
	c.mu.Unlock()
	for s := range subs {
		s.release()
	}
	// No descriptor of this tree is left to clone3 into. A child whose
	// clone3 began before the kill may still be born after it, and
	// kernels before 6.x let it live in the killed cgroup (the directory
	// is then busy): kill and confirm again until the tree can go.
	c.mu.Lock()
	if c.fd >= 0 {
		_ = unix.Close(c.fd)
		c.fd = -1
	}
	c.mu.Unlock()
	for {
		err := removeTree(c.dir)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EBUSY) || ctx.Err() != nil {
			return fmt.Errorf("contain: cgroupv2: removing %s: %w", c.dir, err)
		}
		if err := c.Kill(ctx); err != nil {
			return err
		}
	}
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	unlock(&c.lock)
	// Withdrawn only now: until the directory is gone, the owner's death
	// must still kill whatever is in it. Should the owner die in between,
	// the watchdog writes to a directory that no longer exists, which
	// fails quietly. A failed withdrawal leaves the same harmless write
	// behind, so it is logged, not returned: the tree is confirmed dead.
	if err := c.reg.Unregister(); err != nil {
		c.log.Debug("tether: watchdog registration not withdrawn", "path", c.dir, "err", err)
	}
	if p := c.parent; p != nil {
		p.mu.Lock()
		delete(p.subs, c)
		p.mu.Unlock()
	}
	if debugging(c.log) {
		c.log.Debug("tether: cgroup removed", "path", c.dir)
	}
	return nil
}

// release closes a sub whose enclosing container's Close has confirmed
// the whole tree dead and is about to remove the directories: it closes
// the descriptor, withdraws the sub's own watchdog registration and
// releases the sub's subs. The sub's Close afterwards returns nil.
func (c *container) release() {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed, c.killed, c.empty = true, true, true
	if c.fd >= 0 {
		_ = unix.Close(c.fd)
		c.fd = -1
	}
	subs := c.subs
	c.subs = nil
	c.mu.Unlock()
	for s := range subs {
		s.release()
	}
	if err := c.reg.Unregister(); err != nil {
		c.log.Debug("tether: watchdog registration not withdrawn", "path", c.dir, "err", err)
	}
	c.log.Debug("tether: sub released by the enclosing container's Close", "path", c.dir)
}

// Sub creates a cgroup nested in this one, named sub-<random>, with
// opts.Limits written to it, and returns it as a container of its own.
// Limits take NewContainer's path: the controllers must be available here
// and are enabled in this cgroup's subtree_control first, which the kernel
// allows only while this cgroup holds no process directly. With
// opts.KillOnOwnerDeath the sub is registered with the watchdog unless this
// container or an enclosing one is (their kill reaches the sub).
// opts.Logger defaults to this container's logger.
//
// The sub is created and listed with c.mu held, so a concurrent Kill or
// Close of this container either comes first (Sub fails with ErrClosed)
// or finds the sub listed and kills, releases and removes it.
func (c *container) Sub(ctx context.Context, opts contain.Options) (contain.Container, error) {
	if err := contain.ValidateLimits(opts.Limits); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = c.log
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usable(); err != nil {
		return nil, err
	}
	c.delegateMemory()
	s := site{h: c.h, parentDir: c.dir, nested: true}
	res, err := s.resources(opts.Limits)
	if err != nil {
		return nil, err
	}
	dir, err := makeLeaf(c.dir, subPrefix)
	if err != nil {
		return nil, fmt.Errorf("contain: cgroupv2: %w", err)
	}
	register := opts.KillOnOwnerDeath && !c.covered
	sub, err := s.open(dir, res, opts.Limits, register, log)
	if err != nil {
		return nil, err
	}
	sub.parent = c
	sub.gate.Nest(&c.gate)
	sub.covered = c.covered || register
	if c.subs == nil {
		c.subs = make(map[*container]struct{})
	}
	c.subs[sub] = struct{}{}
	log.Debug("tether: sub cgroup created", "mechanism", contain.CgroupV2, "path", dir, "limits", len(opts.Limits),
		"kill_on_owner_death", opts.KillOnOwnerDeath, "registered", register)
	return sub, nil
}

// delegateMemory enables the memory controller for the subs of a
// container that has a memory limit, once, so that every sub has its own
// memory.current, memory.peak and memory.events: a run in a group whose
// memory limit killed it then reports its own OOM kill, not only the
// group. It fails (and is skipped) while c holds a process directly, and
// once it succeeded c can hold processes only through subs (cgroup v2's
// no-internal-processes rule), as the doc of Sub asks of a container with
// subs. Best effort: without it a sub's memory figures are unavailable,
// never wrong. Called with c.mu held.
func (c *container) delegateMemory() {
	if c.memoryTried || !c.memoryLimited {
		return
	}
	c.memoryTried = true
	avail, err := readWords(filepath.Join(c.dir, "cgroup.controllers"))
	if err != nil || !contains(avail, "memory") {
		return
	}
	if err := writeFile(c.dir, "cgroup.subtree_control", "+memory"); err != nil {
		c.log.Debug("tether: memory controller not delegated to subs", "path", c.dir, "err", err)
	}
}

// subPrefix starts the name of every sub's cgroup.
const subPrefix = "sub-"
