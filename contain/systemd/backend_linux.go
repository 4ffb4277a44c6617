//go:build linux

package systemd

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/cgroupv2"
	"github.com/gotether/tether/internal/sysproc"
	"github.com/gotether/tether/internal/watchdog"
)

// The leaves the scope holds besides the containers: the watchdog's, and
// a moved owner's. Neither matches the cgroupv2 backend's
// tether-<pid>-<hex> pattern, so its sweep of dead owners' leaves never
// takes them for stale ones.
const (
	watchdogLeaf = "tether-watchdog"
	ownerLeaf    = "tether-owner"
)

// stopTimeout is how long systemd waits, when it stops the scope, between
// SIGTERM and SIGKILL.
const stopTimeout = 5 * time.Second

// leafControllers are the controllers the scope enables for the leaves
// when systemd delegated them: those tether's limits and statistics use.
var leafControllers = []string{"cpu", "memory", "pids"}

// scope is the process's delegated scope, once made.
type scope struct {
	mgr    manager
	unit   string // tether-<program>-<pid>-<hex>.scope
	cgroup string // its path in the hierarchy
	dir    string // cgroupRoot + cgroup
	// wdPid is the watchdog made a member at creation: while it lives,
	// the scope is populated and systemd keeps it.
	wdPid int
	// moved is set when the owner moved into dir/tether-owner.
	moved bool
	// enabled lists the controllers enabled for the leaves, and missing
	// those of leafControllers systemd did not delegate.
	enabled, missing []string
	cg               *cgroupv2.Backend
}

// shared is the process's scope (nil until the first NewContainer) and a
// token held while one is made, so concurrent NewContainer calls wait for
// one creation.
var shared struct {
	sc     atomic.Pointer[scope]
	making chan struct{}
}

func init() { shared.making = make(chan struct{}, 1) }

// hostProblem says why this host cannot give us a delegated cgroup v2
// scope, or returns nil.
func hostProblem() error {
	if !Booted() {
		return errors.New("systemd is not PID 1 here (/run/systemd/system is absent)")
	}
	var st unix.Statfs_t
	if err := unix.Statfs(cgroupRoot, &st); err != nil {
		return fmt.Errorf("cannot look at %s: %w", cgroupRoot, err)
	}
	if st.Type != unix.CGROUP2_SUPER_MAGIC {
		return fmt.Errorf("cgroup v2 is not the unified hierarchy: %s is not a cgroup2 mount, so systemd runs in legacy or hybrid mode and cannot delegate a cgroup v2 subtree (boot with systemd.unified_cgroup_hierarchy=1)", cgroupRoot)
	}
	return cgroupv2.KernelProblem()
}

// Availability reports whether a delegated scope can be had here and which
// limits it allows, without spawning anything and without creating the
// scope: it may connect to the manager and read its properties. Once this
// process has its scope, Availability reports on that scope and names it in
// Notes.
func (*Backend) Availability() contain.Availability {
	a := contain.Availability{Mechanism: contain.Systemd, ContainsSetsid: true, OwnerDeath: ownerDeath}
	unusable := func(why string) contain.Availability {
		a.Reason = why
		a.Limits = contain.UnsupportedLimits("backend not usable")
		return a
	}
	if err := hostProblem(); err != nil {
		return unusable(err.Error())
	}
	if sc := shared.sc.Load(); sc != nil && sc.alive() {
		ca := sc.cg.Availability()
		if ca.Usable {
			a.Usable = true
			a.Reason = fmt.Sprintf("%s delegated %s to this process; containers go under %s", sc.mgr, sc.unit, sc.dir)
			a.Limits = ca.Limits
			a.Notes = sc.notes()
			return a
		}
	}
	m := ownManager()
	ctx, cancel := context.WithTimeout(context.Background(), busTimeout)
	defer cancel()
	conn, ep, err := connect(ctx, m)
	if err != nil {
		return unusable(err.Error())
	}
	defer conn.Close()
	mcg, err := managerCgroup(conn)
	if err != nil {
		return unusable(fmt.Sprintf("%s answers on %s, but %v", m, ep.label, err))
	}
	a.Usable = true
	a.Reason = fmt.Sprintf("%s answers on %s; containers go in a transient scope with Delegate=yes that it makes on first use", m, ep.label)
	a.Limits = managerLimits(m, mcg)
	a.Notes = append(a.Notes, fmt.Sprintf("no scope yet: the first container creates %s; the limits above are those %s's cgroup (%s) offers, the scope's own are decided when it is made", scopePattern(), m, mcg))
	if own, err := ownCgroup(); err == nil && mustMove(m, own, mcg) {
		a.Notes = append(a.Notes, fmt.Sprintf("this process (not root) runs in %s, outside %s's tree: creating the scope moves it into <scope>/%s, so that it may spawn into the scope's leaves", own, m, ownerLeaf))
	}
	return a
}

// ownerDeath is Availability's OwnerDeath.
const ownerDeath = "with KillOnOwnerDeath: if the owner dies abruptly (even by SIGKILL), its watchdog process " +
	"(one per owner, a member of the scope in a leaf of its own) writes cgroup.kill to every registered container, " +
	"setsid and setpgid descendants included, removes their cgroups and exits; the scope is then empty and systemd collects it; " +
	"without it: the tree keeps running in the scope, which systemd keeps until it is empty"

// managerLimits says which limits a scope of m can have, from the
// controllers of the manager's own cgroup (mcg): systemd can delegate to
// a scope no controller its manager does not have. The scope's own are
// known once it is made.
func managerLimits(m manager, mcg string) []contain.LimitSupport {
	dir := filepath.Join(cgroupRoot, mcg)
	avail, err := readWords(filepath.Join(dir, "cgroup.controllers"))
	var out []contain.LimitSupport
	for _, k := range contain.AllLimitKinds {
		ctrl := cgroupv2.Controller(k)
		ls := contain.LimitSupport{Kind: k, Supported: err == nil && slices.Contains(avail, ctrl)}
		switch {
		case err != nil:
			ls.Reason = "cannot read the controllers of " + dir + ": " + err.Error()
		case !ls.Supported && m.user:
			ls.Reason = fmt.Sprintf("the %s controller is not delegated to %s (%s/cgroup.controllers: %q); an administrator can add it with a drop-in for user@.service setting Delegate= or DelegateControllers=", ctrl, m, dir, strings.Join(avail, " "))
		case !ls.Supported:
			ls.Reason = fmt.Sprintf("the %s controller is not available (%s/cgroup.controllers: %q)", ctrl, dir, strings.Join(avail, " "))
		}
		out = append(out, ls)
	}
	return out
}

// mustMove reports whether the owner must move into the scope: it is not
// root, and its cgroup (own) is outside the manager's tree (mcg), so the
// nearest common ancestor of its cgroup and the scope's belongs to root
// and clone3 into the scope would fail with EACCES.
func mustMove(m manager, own, mcg string) bool {
	return m.user && !within(own, mcg)
}

// within reports whether the hierarchy path p is cg or nested in it,
// comparing whole path elements.
func within(p, cg string) bool {
	if cg == "/" {
		return strings.HasPrefix(p, "/")
	}
	rest, ok := strings.CutPrefix(p, cg)
	return ok && (rest == "" || rest[0] == '/')
}

// NewContainer creates a container: a fresh leaf cgroup in the process's
// scope, with the limits applied, made by the cgroupv2 backend. The first
// NewContainer of the process makes the scope (see the package
// documentation); a later one that finds the scope gone makes a fresh one.
// Invalid limits fail before anything is made. It fails with a
// *contain.NotUsableError when no scope can be had, naming what is missing,
// and with a *contain.LimitError when a limit needs a controller systemd
// did not delegate; nothing is left behind on failure but the scope, which
// systemd collects once the owner exits.
func (*Backend) NewContainer(ctx context.Context, opts contain.Options) (contain.Container, error) {
	if err := contain.ValidateLimits(opts.Limits); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for fresh := false; ; fresh = true {
		sc, err := scopeFor(ctx)
		if err != nil {
			return nil, err
		}
		c, err := sc.cg.NewContainer(ctx, opts)
		if err == nil {
			return &container{Container: c}, nil
		}
		// The scope may have ended between the check in scopeFor and the
		// mkdir (systemd stops a scope that empties): once, look again.
		if !fresh && !sc.alive() {
			shared.sc.CompareAndSwap(sc, nil)
			continue
		}
		return nil, relabel(err)
	}
}

// scopeFor returns the process's scope, making it if there is none or
// if the one there has ended.
func scopeFor(ctx context.Context) (*scope, error) {
	if sc := shared.sc.Load(); sc != nil && sc.alive() {
		return sc, nil
	}
	select {
	case shared.making <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-shared.making }()
	if sc := shared.sc.Load(); sc != nil && sc.alive() {
		return sc, nil // made while we waited
	}
	sc, err := makeScope(ctx)
	if err != nil {
		return nil, err
	}
	shared.sc.Store(sc)
	return sc, nil
}

// alive reports whether the scope still stands: its watchdog's leaf is
// populated, so systemd has not found the scope empty (and the
// directory is there), and the watchdog itself is not dying. A dead
// watchdog leaves its cgroup as it exits, before it is reaped, so a
// zombie it may still be for a moment would pass kill(pid, 0), not the
// first check; but its leader thread turns zombie while its other
// threads are still leaving the cgroup, and in that moment only the
// second check sees it (as a user in the VM, 2 of 8 containers made
// together right after the watchdog's SIGKILL went into the old scope).
// A pid reused after the watchdog was reaped cannot pass: its leaf is
// empty by then.
func (sc *scope) alive() bool {
	b, err := os.ReadFile(filepath.Join(sc.dir, watchdogLeaf, "cgroup.events"))
	return err == nil && strings.Contains(string(b), "populated 1") && sysproc.Alive(sc.wdPid)
}

// makeScope asks the manager for a delegated scope holding the watchdog
// (and the owner, when it must move), waits for the job, then moves them
// into leaves of their own and enables the controllers for the leaves.
func makeScope(ctx context.Context) (*scope, error) {
	if err := hostProblem(); err != nil {
		return nil, &contain.NotUsableError{Mechanism: contain.Systemd, Reason: err.Error()}
	}
	if err := watchdog.StartLive(); err != nil {
		return nil, fmt.Errorf("contain: systemd: the scope's first member, the owner-death watchdog: %w", err)
	}
	sc := &scope{mgr: ownManager(), wdPid: watchdog.Pid()}
	ctx, cancel := context.WithTimeout(ctx, busTimeout)
	defer cancel()
	conn, _, err := connect(ctx, sc.mgr)
	if err != nil {
		return nil, &contain.NotUsableError{Mechanism: contain.Systemd, Reason: err.Error()}
	}
	defer conn.Close()
	mcg, err := managerCgroup(conn)
	if err != nil {
		return nil, fmt.Errorf("contain: systemd: %w", err)
	}
	own, err := ownCgroup()
	if err != nil {
		return nil, fmt.Errorf("contain: systemd: %w", err)
	}
	sc.moved = mustMove(sc.mgr, own, mcg)
	pids := []uint32{uint32(sc.wdPid)}
	if sc.moved {
		pids = append(pids, uint32(os.Getpid()))
	}
	if sc.unit, err = scopeName(); err != nil {
		return nil, fmt.Errorf("contain: systemd: %w", err)
	}
	props := []sd.Property{
		sd.PropDescription(fmt.Sprintf("tether containers of %s (pid %d)", filepath.Base(os.Args[0]), os.Getpid())),
		sd.PropPids(pids...),
		{Name: "Delegate", Value: dbus.MakeVariant(true)},
		// Collected when it ends, even if it failed, so no unit is left
		// behind for `systemctl reset-failed`.
		{Name: "CollectMode", Value: dbus.MakeVariant("inactive-or-failed")},
		// Stopping the scope (systemctl stop, logout, shutdown) sends
		// SIGTERM to everything in it, then SIGKILL after this: the
		// watchdog ignores SIGTERM, so with systemd's default of 90 s
		// every stop would wait that long for it.
		{Name: "TimeoutStopUSec", Value: dbus.MakeVariant(uint64(stopTimeout / time.Microsecond))},
	}
	done := make(chan string, 1) // buffered: go-systemd sends while holding a lock
	if _, err := conn.StartTransientUnitContext(ctx, sc.unit, "fail", props, done); err != nil {
		return nil, fmt.Errorf("contain: systemd: %s refused the scope %s: %w", sc.mgr, sc.unit, err)
	}
	select {
	case res := <-done:
		if res != "done" {
			return nil, fmt.Errorf("contain: systemd: the job starting %s ended %q (systemd's journal says why)", sc.unit, res)
		}
	case <-ctx.Done():
		return nil, fmt.Errorf("contain: systemd: waiting for %s to start %s: %w", sc.mgr, sc.unit, ctx.Err())
	}
	if sc.cgroup, err = unitCgroup(ctx, conn, sc.unit); err != nil {
		return nil, fmt.Errorf("contain: systemd: %w", err)
	}
	sc.dir = filepath.Join(cgroupRoot, sc.cgroup)
	if err := sc.settle(); err != nil {
		// The watchdog (and the owner) are in the scope already; it stays
		// and is collected once they have left or ended.
		return nil, fmt.Errorf("contain: systemd: setting up %s: %w", sc.unit, err)
	}
	sc.cg = cgroupv2.New(cgroupv2.WithParent(sc.cgroup))
	return sc, nil
}

// settle moves the watchdog, and a moved owner, from the scope into
// leaves of their own, so that the scope holds no process directly, then
// enables the delegated controllers for the leaves.
func (sc *scope) settle() error {
	if err := moveInto(filepath.Join(sc.dir, watchdogLeaf), sc.wdPid); err != nil {
		return err
	}
	if sc.moved {
		if err := moveInto(filepath.Join(sc.dir, ownerLeaf), os.Getpid()); err != nil {
			return err
		}
	}
	avail, err := readWords(filepath.Join(sc.dir, "cgroup.controllers"))
	if err != nil {
		return err
	}
	for _, c := range leafControllers {
		if !slices.Contains(avail, c) {
			sc.missing = append(sc.missing, c)
			continue
		}
		if err := writeFile(filepath.Join(sc.dir, "cgroup.subtree_control"), "+"+c); err != nil {
			return fmt.Errorf("enabling the %s controller for the leaves: %w", c, err)
		}
		sc.enabled = append(sc.enabled, c)
	}
	return nil
}

// moveInto makes the leaf dir, if it does not exist, and moves pid there.
func moveInto(dir string, pid int) error {
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return writeFile(filepath.Join(dir, "cgroup.procs"), strconv.Itoa(pid))
}

// notes are Availability's Notes about a scope that exists.
func (sc *scope) notes() []string {
	n := []string{fmt.Sprintf("scope %s (cgroup %s), made by %s; its watchdog, pid %d, is in %s/%s", sc.unit, sc.cgroup, sc.mgr, sc.wdPid, sc.unit, watchdogLeaf)}
	if sc.moved {
		n = append(n, fmt.Sprintf("this process moved into %s/%s when the scope was made (it may spawn into the scope's leaves only from inside the user manager's tree)", sc.unit, ownerLeaf))
	}
	if len(sc.missing) > 0 {
		n = append(n, fmt.Sprintf("systemd delegated no %s controller to the scope", strings.Join(sc.missing, ", ")))
	}
	return n
}

// scopeName is a fresh tether-<program>-<pid>-<hex>.scope: systemctl
// lists it under the program's name, and the random part keeps a fresh
// scope of the same owner from colliding with one that is still being
// collected.
func scopeName() (string, error) {
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", err
	}
	return fmt.Sprintf("tether-%s-%d-%s.scope", unitWord(filepath.Base(os.Args[0])), os.Getpid(), hex.EncodeToString(rnd[:])), nil
}

// scopePattern describes the name scopeName makes, for Availability.
func scopePattern() string {
	return fmt.Sprintf("tether-%s-%d-<random>.scope", unitWord(filepath.Base(os.Args[0])), os.Getpid())
}

// unitWord makes s usable inside a unit name: characters other than
// ASCII letters, digits, '_' and '.' become '_' (a '-' is kept out too,
// so the fields stay apart), and it is cut to 64 bytes.
func unitWord(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.'
		if !ok {
			b[i] = '_'
		}
	}
	if len(b) > 64 {
		b = b[:64]
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}

// relabel names this backend, not the cgroupv2 backend it uses, in the
// typed errors a caller inspects (a limit systemd did not delegate, a
// scope that cannot be used).
func relabel(err error) error {
	if err == nil {
		return nil
	}
	var le *contain.LimitError
	if errors.As(err, &le) && le.Mechanism == contain.CgroupV2 {
		le.Mechanism = contain.Systemd
	}
	var ne *contain.NotUsableError
	if errors.As(err, &ne) && ne.Mechanism == contain.CgroupV2 {
		ne.Mechanism = contain.Systemd
	}
	var te *contain.TeardownError
	if errors.As(err, &te) && te.Mechanism == contain.CgroupV2 {
		te.Mechanism = contain.Systemd
	}
	var ue *contain.UnsupportedError
	if errors.As(err, &ue) && ue.Mechanism == contain.CgroupV2 {
		ue.Mechanism = contain.Systemd
	}
	return err
}

// writeFile writes one value to a cgroup interface file (which exists:
// the flags os.WriteFile adds change nothing there, as for a shell's >).
func writeFile(path, value string) error { return os.WriteFile(path, []byte(value), 0o644) }

func readWords(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return strings.Fields(string(b)), nil
}
