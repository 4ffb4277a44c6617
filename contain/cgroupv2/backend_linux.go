//go:build linux

package cgroupv2

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/watchdog"
)

// Backend creates cgroup v2 containers. It is safe for concurrent use.
type Backend struct {
	parent string // configured parent cgroup path in the hierarchy; "" = the owner's own cgroup

	sweepOnce sync.Once
	// site caches the last successful resolve for NewContainer: resolving
	// reads mountinfo and costs about 120 us, half of a container's
	// overhead. NewContainer re-resolves when creating the leaf fails, so a
	// changed mount is noticed on the next use.
	site atomic.Pointer[site]
}

// Option configures a Backend.
type Option func(*Backend)

// WithParent makes the backend create its cgroups under the cgroup at path
// (a path in the v2 hierarchy such as "/tether.slice", not a filesystem
// path) instead of under the owner's own cgroup. The cgroup must exist;
// otherwise Availability reports the backend unusable and NewContainer
// fails. A delegated parent with no processes of its own is what limits
// need when the owner does not run in the root cgroup.
func WithParent(path string) Option { return func(b *Backend) { b.parent = path } }

// New returns a cgroup v2 backend. It does no I/O; Availability discovers
// the hierarchy each time, NewContainer on first use and again whenever
// creating a cgroup where it was fails, so a backend stays right if mounts
// change.
func New(opts ...Option) *Backend {
	b := &Backend{}
	for _, o := range opts {
		o(b)
	}
	return b
}

// Mechanism returns contain.CgroupV2.
func (*Backend) Mechanism() contain.Mechanism { return contain.CgroupV2 }

// site is a resolved place to create containers: the backend's parent
// cgroup for NewContainer, a container's own cgroup for its subs (nested).
type site struct {
	h         hierarchy
	parentDir string
	nested    bool
}

// minKernel is the oldest kernel with both clone3 CLONE_INTO_CGROUP (5.7)
// and cgroup.kill (5.14).
var minKernel = [2]int{5, 14}

func kernelOK() (string, bool) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown", false
	}
	rel := unix.ByteSliceToString(u.Release[:])
	var maj, minor int
	if _, err := fmt.Sscanf(rel, "%d.%d", &maj, &minor); err != nil {
		return rel, false
	}
	return rel, maj > minKernel[0] || (maj == minKernel[0] && minor >= minKernel[1])
}

// resolve finds the hierarchy and the parent directory, or says exactly
// why the backend cannot be used.
func (b *Backend) resolve() (site, error) {
	if err := KernelProblem(); err != nil {
		return site{}, err
	}
	h, err := discover()
	if err != nil {
		return site{}, err
	}
	cg := h.own
	if b.parent != "" {
		if !strings.HasPrefix(b.parent, "/") || filepath.Clean(b.parent) != b.parent {
			return site{}, fmt.Errorf("configured parent %q is not a clean absolute cgroup path", b.parent)
		}
		cg = b.parent
	}
	dir, err := h.dirOf(cg)
	if err != nil {
		return site{}, err
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		what := "owner's cgroup"
		if b.parent != "" {
			what = "configured parent cgroup"
		}
		return site{}, fmt.Errorf("%s %s does not exist at %s", what, cg, dir)
	}
	if h.readOnly {
		return site{}, fmt.Errorf("the cgroup2 mount at %s is read-only (typical in containers): cannot create cgroups", h.mountpoint)
	}
	if err := unix.Access(dir, unix.W_OK); err != nil {
		return site{}, fmt.Errorf("cannot create cgroups under %s: %w (not root, and the cgroup is not delegated to this user)", dir, err)
	}
	if t, err := os.ReadFile(filepath.Join(dir, "cgroup.type")); err == nil && !strings.HasPrefix(string(t), "domain") {
		return site{}, fmt.Errorf("%s is a %s cgroup; leaf containers need a domain parent", dir, strings.TrimSpace(string(t)))
	}
	return site{h: h, parentDir: dir}, nil
}

// Availability reports whether cgroup v2 containers can be made here,
// where, and which limits the parent cgroup can enforce. It creates nothing
// and removes nothing.
func (b *Backend) Availability() contain.Availability {
	a := contain.Availability{
		Mechanism:      contain.CgroupV2,
		ContainsSetsid: true,
		OwnerDeath:     ownerDeath,
	}
	s, err := b.resolve()
	if err != nil {
		a.Reason = err.Error()
		a.Limits = contain.UnsupportedLimits("backend not usable")
		return a
	}
	// The site NewContainer would resolve again: a program that asks
	// first (the host's default selection does) pays for one look at
	// mountinfo, not two.
	b.site.Store(&s)
	a.Usable = true
	a.Reason = fmt.Sprintf("cgroup2 (%s layout) mounted at %s; containers go under %s", s.h.layout(), s.h.mountpoint, s.parentDir)
	for _, k := range contain.AllLimitKinds {
		why := s.limitProblem(k)
		a.Limits = append(a.Limits, contain.LimitSupport{Kind: k, Supported: why == "", Reason: why})
	}
	if stale, orphans := scanStale(s.parentDir); stale+len(orphans) > 0 {
		a.Notes = append(a.Notes, fmt.Sprintf("%d empty cgroup(s) of dead tether owners will be removed by the next container creation", stale))
		if len(orphans) > 0 {
			a.Notes = append(a.Notes, fmt.Sprintf("%d cgroup(s) of dead tether owners still hold running processes: %s", len(orphans), strings.Join(orphans, ", ")))
		}
	}
	return a
}

// ownerDeath is Availability's OwnerDeath: what happens with and without
// contain.Options.KillOnOwnerDeath.
const ownerDeath = "with KillOnOwnerDeath: if the owner dies abruptly (even by SIGKILL), its watchdog process " +
	"(one per owner, outside every container, in a session of its own) writes cgroup.kill, so the whole tree dies, " +
	"setsid and setpgid descendants included, and then removes the cgroup once it is empty; " +
	"without it: the tree keeps running in its cgroup, and the next tether process on this host removes the cgroup once it is empty"

// limitProblem says why limit kind k cannot be enforced under the parent,
// or "" when it can.
func (s site) limitProblem(k contain.LimitKind) string {
	ctrl := Controller(k)
	avail, err := readWords(filepath.Join(s.parentDir, "cgroup.controllers"))
	if err != nil {
		return "cannot read cgroup.controllers: " + err.Error()
	}
	if !contains(avail, ctrl) {
		why := fmt.Sprintf("the %s controller is not available in %s (cgroup.controllers: %q)", ctrl, s.parentDir, strings.Join(avail, " "))
		switch {
		case s.h.layout() == "hybrid":
			why += "; on this hybrid host cgroup v1 holds it"
		case s.nested:
			why += "; a sub's limit needs it in the enclosing container's cgroup, which NewContainer enables when that container has a limit of the same kind"
		}
		return why
	}
	enabled, _ := readWords(filepath.Join(s.parentDir, "cgroup.subtree_control"))
	if contains(enabled, ctrl) || s.parentDir == s.h.mountpoint {
		return ""
	}
	// Enabling a controller for the children needs the parent to have no
	// processes of its own ("no internal processes").
	if procs, _ := readWords(filepath.Join(s.parentDir, "cgroup.procs")); len(procs) > 0 {
		return fmt.Sprintf("enabling %s in %s/cgroup.subtree_control needs that cgroup to hold no processes, and it holds %d (%s)", ctrl, s.parentDir, len(procs), s.internalHint())
	}
	return ""
}

// internalHint says how to avoid processes in the cgroup whose
// subtree_control must change.
func (s site) internalHint() string {
	if s.nested {
		return "a container whose subs have limits must place every process through a sub, none directly"
	}
	return "run the owner in a leaf and configure a parent with WithParent"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// NewContainer creates a fresh leaf cgroup with the limits applied. It
// fails with a *contain.NotUsableError when the backend cannot be used
// here, and with a *contain.LimitError when a limit is invalid or the
// parent cannot enforce it; nothing is left behind on failure.
func (b *Backend) NewContainer(ctx context.Context, opts contain.Options) (contain.Container, error) {
	if err := contain.ValidateLimits(opts.Limits); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, err := b.cachedSite(false)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = discard
	}
	b.sweepOnce.Do(func() { sweep(s.parentDir, log) })

	res, err := s.resources(opts.Limits)
	if err != nil {
		return nil, err
	}
	prefix := leafPrefix()
	dir, lock, err := makeLockedLeaf(s.parentDir, prefix)
	if err != nil {
		// The hierarchy may have changed since it was cached: look again.
		if s, err = b.cachedSite(true); err != nil {
			return nil, err
		}
		if dir, lock, err = makeLockedLeaf(s.parentDir, prefix); err != nil {
			return nil, fmt.Errorf("contain: cgroupv2: %w", err)
		}
	}
	c, err := s.open(dir, res, opts.Limits, opts.KillOnOwnerDeath, log)
	if err != nil {
		unlock(&lock)
		return nil, err
	}
	c.lock = lock
	c.covered = opts.KillOnOwnerDeath
	if debugging(log) {
		log.Debug("tether: cgroup created", "mechanism", contain.CgroupV2, "path", dir, "limits", len(opts.Limits), "kill_on_owner_death", opts.KillOnOwnerDeath)
	}
	return c, nil
}

// open makes the fresh cgroup dir, just created under s.parentDir, a
// container: it writes res (the limits, from s.resources), opens the
// descriptor clone3 needs and, if register is set, registers dir with the
// owner-death watchdog. NewContainer and Sub both finish this way. On
// failure it removes dir and leaves nothing behind.
func (s site) open(dir string, res []limitWrite, limits []contain.Limit, register bool, log *slog.Logger) (*container, error) {
	c := &container{dir: dir, fd: -1, lock: -1, log: log, h: s.h}
	c.cgpath = path.Join(s.h.mountRoot, strings.TrimPrefix(dir, s.h.mountpoint))
	for _, l := range limits {
		if l.Kind == contain.MemoryLimit {
			c.memoryLimited = true
		}
	}
	if err := writeLimits(dir, res); err != nil {
		_ = removeTree(dir)
		return nil, err
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = removeTree(dir)
		return nil, fmt.Errorf("contain: cgroupv2: opening %s: %w", dir, err)
	}
	c.fd = fd
	c.hasMemory = unix.Faccessat(fd, "memory.current", unix.F_OK, 0) == nil
	// Registered last, when nothing can fail any more, and before the
	// caller can place a process: no member ever runs unwatched.
	if register {
		if c.reg, err = watchdog.RegisterCgroup(dir); err != nil {
			_ = unix.Close(fd)
			_ = removeTree(dir)
			return nil, fmt.Errorf("contain: cgroupv2: KillOnOwnerDeath: %w", err)
		}
	}
	return c, nil
}

// debugging reports whether log takes debug records. A run's path asks
// first: the arguments of a record the logger discards are still boxed,
// allocations on every run.
func debugging(log *slog.Logger) bool { return log.Enabled(context.Background(), slog.LevelDebug) }

// discard is the logger of a container made without one, shared: one per
// container would cost allocations on every run.
var discard = slog.New(slog.DiscardHandler)

// cachedSite returns the cached site, resolving it when there is none or
// when fresh is set.
func (b *Backend) cachedSite(fresh bool) (site, error) {
	if s := b.site.Load(); s != nil && !fresh {
		return *s, nil
	}
	s, err := b.resolve()
	if err != nil {
		b.site.Store(nil)
		return site{}, &contain.NotUsableError{Mechanism: contain.CgroupV2, Reason: err.Error()}
	}
	b.site.Store(&s)
	return s, nil
}

// limitWrite is one interface file write that sets a limit.
type limitWrite struct {
	limit contain.Limit // the limit it sets: named by the error if it fails
	file  string
	value string
	// ifPresent skips the write when the file does not exist:
	// memory.swap.max is absent on a kernel without swap accounting
	// (swapaccount=0 or no swap support), where there is no swap to
	// forbid.
	ifPresent bool
}

// resources turns limits into the interface file writes that set them,
// enabling the controllers in the parent's subtree_control first. The
// writes are the limits' own, in their order: memory.max and
// memory.swap.max "0" (a memory limit forbids swap on top of it),
// pids.max, and cpu.max as "quota period".
func (s site) resources(ls []contain.Limit) ([]limitWrite, error) {
	if len(ls) == 0 {
		return nil, nil
	}
	res := make([]limitWrite, 0, len(ls)+1)
	for _, l := range ls {
		if why := s.limitProblem(l.Kind); why != "" {
			return nil, &contain.LimitError{Limit: l, Mechanism: contain.CgroupV2, Reason: why, Err: contain.ErrUnsupported}
		}
		ctrl := Controller(l.Kind)
		enabled, _ := readWords(filepath.Join(s.parentDir, "cgroup.subtree_control"))
		if !contains(enabled, ctrl) {
			if err := writeFile(s.parentDir, "cgroup.subtree_control", "+"+ctrl); err != nil {
				why := fmt.Sprintf("enabling %s in %s: %v", ctrl, s.parentDir, err)
				if errors.Is(err, unix.EBUSY) {
					// A process entered since limitProblem looked.
					why += fmt.Sprintf(" (cgroup v2 enables controllers for child cgroups only in a cgroup that holds no process directly; %s)", s.internalHint())
				}
				return nil, &contain.LimitError{Limit: l, Mechanism: contain.CgroupV2, Reason: why, Err: contain.ErrUnsupported}
			}
		}
		// Validate has made every value a whole, positive, finite number
		// (a CPU quota at least MinCPUQuota), so no write says "max".
		switch l.Kind {
		case contain.MemoryLimit:
			res = append(res,
				limitWrite{limit: l, file: "memory.max", value: strconv.FormatInt(int64(l.Value), 10)},
				limitWrite{limit: l, file: "memory.swap.max", value: "0", ifPresent: true})
		case contain.ProcessLimit:
			res = append(res, limitWrite{limit: l, file: "pids.max", value: strconv.FormatInt(int64(l.Value), 10)})
		case contain.CPULimit:
			quota, period := cpuMax(l.Value)
			res = append(res, limitWrite{limit: l, file: "cpu.max", value: strconv.FormatInt(quota, 10) + " " + strconv.FormatUint(period, 10)})
		}
	}
	return res, nil
}

// writeLimits makes the writes of resources in dir, a fresh cgroup, and
// stops at the first that fails. The kernel checks each value as it is
// written (pids.max above 4194304, the 64-bit pid limit, is EINVAL), and
// the controller's files exist only once the parent enables it, so the
// failure is a *contain.LimitError naming the limit whose write failed,
// matching ErrUnsupported, with the write's *os.PathError in its reason.
func writeLimits(dir string, res []limitWrite) error {
	for _, w := range res {
		err := writeFile(dir, w.file, w.value)
		if err == nil || w.ifPresent && errors.Is(err, os.ErrNotExist) {
			continue
		}
		return &contain.LimitError{Limit: w.limit, Mechanism: contain.CgroupV2, Reason: "writing the limits failed: " + err.Error(), Err: contain.ErrUnsupported}
	}
	return nil
}

// cpuMax converts cores to cpu.max's quota and period in microseconds. The
// kernel wants a quota of at least 1 ms, so tiny quotas get a longer
// period (up to the 1 s maximum).
func cpuMax(cores float64) (quota int64, period uint64) {
	period = 100_000
	quota = int64(cores*float64(period) + 0.5)
	if quota < 1000 {
		period = 1_000_000
		quota = max(1000, int64(cores*float64(period)+0.5))
	}
	return quota, period
}

// leafPrefix starts the name of every cgroup NewContainer makes:
// tether-<owner pid>-, which tells a human whose it is. Ownership itself is
// the lock (see makeLockedLeaf): a pid names no process across pid
// namespaces, and names another one once it is reused.
func leafPrefix() string { return "tether-" + strconv.Itoa(os.Getpid()) + "-" }

// makeLeaf creates a fresh cgroup under parent named prefix and random hex.
// Mkdir (not MkdirAll) so an existing directory is never adopted: a reused
// cgroup could be one that was killed.
func makeLeaf(parent, prefix string) (string, error) {
	var rnd [6]byte
	for range 5 {
		if _, err := rand.Read(rnd[:]); err != nil {
			return "", err
		}
		dir := filepath.Join(parent, prefix+hex.EncodeToString(rnd[:]))
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", err
		}
	}
	return "", errors.New("could not find a free cgroup name")
}

// makeLockedLeaf is makeLeaf for NewContainer's containers, which the sweep
// of every tether owner on the host examines: it returns the directory with
// an exclusive flock held on it through lock, a read-only descriptor of the
// directory (close-on-exec, so no child holds it). The lock says "owned"
// for as long as the owner holds it, in any pid namespace, and the kernel
// drops it when the owner dies, however it dies.
//
// A sweeper may see the directory between mkdir and flock, take it for
// stale (its lock is free) and remove it. So once locked, the directory
// must still be the one at that path (same device and inode); if it is
// not, or a sweeper holds the lock, the attempt is abandoned and made
// again under a new name.
func makeLockedLeaf(parent, prefix string) (dir string, lock int, err error) {
	for range 5 {
		if dir, err = makeLeaf(parent, prefix); err != nil {
			return "", -1, err
		}
		lock, err = lockDir(dir)
		if err == nil {
			var held, there unix.Stat_t
			if unix.Fstat(lock, &held) == nil && unix.Stat(dir, &there) == nil && held.Dev == there.Dev && held.Ino == there.Ino {
				return dir, lock, nil
			}
			unlock(&lock)
		} else if !errors.Is(err, unix.EWOULDBLOCK) && !vanished(err) {
			_ = unix.Rmdir(dir)
			return "", -1, fmt.Errorf("locking %s: %w", dir, err)
		}
		// Lost to a sweeper: it removes the directory, or has already.
		_ = unix.Rmdir(dir)
	}
	return "", -1, errors.New("could not create a cgroup that no concurrent sweep removed")
}

// lockDir opens dir and takes an exclusive flock on it without waiting.
// It fails with EWOULDBLOCK when another open description holds it (in
// this process or any other).
func lockDir(dir string) (int, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		_ = unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// unlock closes the lock descriptor *fd, if any, which drops the lock.
func unlock(fd *int) {
	if *fd >= 0 {
		_ = unix.Close(*fd)
		*fd = -1
	}
}

// staleName matches the name of a container's cgroup,
// tether-<owner pid>-<random hex>. It is compiled on first use, not at
// package initialisation, which every program linking the package
// (tether run, tether version) paid for.
var staleName = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^tether-([0-9]+)-[0-9a-f]+$`) })

// scanStale counts the cgroups under parent whose owner is dead: empty ones
// (to sweep) and populated ones (orphaned trees, reported, never killed:
// their owner ran without the owner-death watchdog, or it could not kill
// them).
func scanStale(parent string) (empty int, orphans []string) {
	for _, dir := range candidates(parent) {
		lock, err := lockDir(dir)
		if err != nil {
			continue // owned (locked), or gone
		}
		if populated(dir) {
			orphans = append(orphans, dir)
		} else {
			empty++
		}
		unlock(&lock)
	}
	return empty, orphans
}

// candidates lists the directories under parent named like NewContainer's
// containers, whoever made them.
func candidates(parent string) []string {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && staleName().MatchString(e.Name()) {
			out = append(out, filepath.Join(parent, e.Name()))
		}
	}
	return out
}

func populated(dir string) bool {
	kv, err := readKV(filepath.Join(dir, "cgroup.events"))
	return err != nil || kv.get("populated") != 0
}

// sweep removes the cgroups of dead owners under parent (left by owners
// that crashed or were SIGKILLed) whose whole subtree is empty: the
// container's cgroup and its subs' at every depth, deepest first.
//
// An owner is dead when the lock on its container's directory is free
// (see makeLockedLeaf): the name's pid is not consulted, since it names
// another process, or none, in another pid namespace or once reused. The
// sweep holds the lock while it removes, so an owner creating that
// directory at the same moment cannot take it and makes another.
//
// It never kills: a tree with a live process anywhere in it ("populated"
// counts descendants) is left whole, and Availability reports it. It runs
// once per backend.
func sweep(parent string, log *slog.Logger) {
	for _, dir := range candidates(parent) {
		lock, err := lockDir(dir)
		if err != nil {
			continue // owned (locked), or gone
		}
		if !populated(dir) {
			n, err := removeEmptyTree(dir)
			if err != nil {
				log.Debug("tether: stale cgroup not removed", "path", dir, "removed_nested", n, "err", err)
			} else {
				log.Debug("tether: stale cgroup removed", "path", dir, "cgroups", n)
			}
		}
		unlock(&lock)
	}
}

// removeEmptyTree removes dir and every cgroup nested in it, deepest
// first, and returns how many it removed. It uses rmdir alone, which the
// kernel refuses for a cgroup that holds a process or a child cgroup, so
// it cannot kill anything; it does not wait either, and stops at the first
// cgroup it cannot remove (one that became populated is not a stale
// one). A cgroup someone else removed meanwhile (another owner's sweep)
// counts as done.
func removeEmptyTree(dir string) (int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if vanished(err) {
			return 0, nil
		}
		return 0, err
	}
	n := 0
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		k, err := removeEmptyTree(filepath.Join(dir, e.Name()))
		n += k
		if err != nil {
			return n, err
		}
	}
	if err := unix.Rmdir(dir); err != nil {
		if vanished(err) {
			return n, nil
		}
		return n, &os.PathError{Op: "rmdir", Path: dir, Err: err}
	}
	return n + 1, nil
}
