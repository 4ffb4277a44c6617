//go:build unix

package watchdog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gotether/tether/internal/sysproc"
)

// writeTimeout bounds one message to the watchdog. The watchdog drains the
// pipe as fast as it can, so the pipe (64 KiB on Linux) only fills if it
// is stopped (SIGSTOP cannot be ignored) or starved; a registration then
// fails instead of blocking a spawn forever.
const writeTimeout = 5 * time.Second

// pipeBuf is the largest write POSIX makes atomic on a pipe on every
// unix (PIPE_BUF is 512 on macOS and the BSDs, 4096 on Linux). A message
// longer than that is refused, so a message is never split and the
// watchdog never sees half of one followed by another. cgroup paths exist
// only on Linux, where the limit is 4096.
func pipeBuf() int {
	if runtime.GOOS == "linux" {
		return 4096
	}
	return 512
}

// kind is what a registration names.
type kind byte

const (
	cgroupKind kind = 'c'
	groupKind  kind = 'p'
)

// entry is one live registration, kept so that a restarted watchdog can
// be told everything again.
type entry struct {
	kind kind
	path string // cgroupKind
	pgid int    // groupKind
}

// dog is the owner's side of one watchdog. The package uses one, std.
type dog struct {
	mu sync.Mutex
	// w is the write end of the pipe, O_CLOEXEC (os.Pipe) so that no
	// child of the owner inherits it; nil while no watchdog runs.
	w *os.File
	// pid is the running watchdog's pid, 0 while none runs.
	pid int
	// reaped is closed once the running watchdog has exited and been
	// reaped (see reap); nil while none runs.
	reaped <-chan struct{}
	// slots holds the live registrations at index slot-1; a free slot is
	// the zero entry. free lists free slots for reuse, so slot numbers
	// stay as small as the peak number of live registrations.
	slots []entry
	free  []int
	live  int
	// gen counts Stops: a Registration from before a Stop must not
	// withdraw a later registration that reuses its slot number.
	gen int
	// buf is reused for every message.
	buf []byte
	// deferred holds withdrawals of cgroups not yet sent ("u SLOT"
	// lines): they go out in front of the next message. Each message
	// wakes the watchdog, a context switch that cost it about 60 us of
	// CPU (measured on Linux 6.18, 2 cores, from its schedstat), and a
	// cgroup's withdrawal comes once its directory is removed, when the
	// watchdog's write to it can only fail quietly: there is no hurry.
	// A process group's withdrawal is never deferred (its id may be
	// reused at once).
	deferred []byte
}

var std dog

// Registration is one tree registered with the watchdog. The zero value
// is not registered; Unregister on it does nothing.
type Registration struct{ slot, gen int }

// Registered reports whether r holds a live registration.
func (r *Registration) Registered() bool { return r.slot != 0 }

// Start makes sure the watchdog runs, starting it if needed. A backend
// that registers only later (a process group exists only once its leader
// has started) calls it at creation, so that a watchdog that cannot be
// started fails the creation rather than the spawn.
//
// It is cheap when the watchdog runs (no system call): a watchdog that
// has exited and been reaped is replaced here and told every live
// registration; one that is dying but not yet reaped (killed a moment
// ago) is taken for running, and replaced at the next message, whose
// write fails with EPIPE once its last thread is gone (see sendLocked).
// A caller that needs the watchdog's process itself, not only its pipe,
// uses StartLive.
func Start() error {
	return std.start(false)
}

// StartLive is Start for a caller that needs a live watchdog process
// from Pid (the systemd backend makes it a member of its scope): a
// watchdog whose leader thread is a zombie, or that is otherwise dying,
// is replaced too. It reads the watchdog's /proc entry, so it costs a
// few microseconds more than Start.
func StartLive() error {
	return std.start(true)
}

func (d *dog) start(live bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.w != nil {
		if !closed(d.reaped) && (!live || sysproc.Alive(d.pid)) {
			return nil
		}
		d.abandonLocked()
	}
	return d.startLocked()
}

// closed reports whether ch, a channel that is only ever closed, is.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// RegisterCgroup registers the cgroup directory dir: if the owner dies
// before r is unregistered, the watchdog writes "1" to dir/cgroup.kill,
// waits for the cgroup to empty and removes it, nested cgroups first. dir
// must be absolute and clean, must not contain a newline or end with a
// space, and must fit one atomic pipe write.
func RegisterCgroup(dir string) (Registration, error) {
	if !filepath.IsAbs(dir) || filepath.Clean(dir) != dir || dir == "/" ||
		strings.ContainsRune(dir, '\n') || strings.HasSuffix(dir, " ") {
		return Registration{}, fmt.Errorf("watchdog: refusing cgroup path %q: it must be absolute and clean, without a newline or a trailing space", dir)
	}
	if len(dir)+24 > pipeBuf() {
		return Registration{}, fmt.Errorf("watchdog: cgroup path is %d bytes, more than one atomic pipe write holds", len(dir))
	}
	return std.register(entry{kind: cgroupKind, path: dir})
}

// RegisterGroup registers the process group pgid: if the owner dies before
// r is unregistered, the watchdog sends SIGKILL to the group. It kills by
// number: if the group has emptied and its id was reused by an unrelated
// group by then, that group is killed. Unregister as soon as the group is
// known to be gone. pgid must be greater than 1.
func RegisterGroup(pgid int) (Registration, error) {
	if pgid <= 1 {
		return Registration{}, fmt.Errorf("watchdog: refusing process group %d", pgid)
	}
	return std.register(entry{kind: groupKind, pgid: pgid})
}

// Unregister withdraws the registration and zeroes r; unregistering the
// zero Registration does nothing. If the watchdog has died meanwhile,
// there is nothing to withdraw and that is not an error.
//
// Once it returns, the owner's death no longer touches a process group.
// A cgroup's withdrawal goes out with the next message (it saves the
// watchdog a wake-up a run), and until then the watchdog may still
// write to the directory's cgroup.kill: unregister a cgroup only once
// its directory is removed (or its tree is dead and it is about to be).
// Stop sends the waiting withdrawals before it ends the watchdog; the
// owner's death, or an exit without Stop, does not, which matters only
// to a cgroup someone re-created at a removed one's path (whose name
// carries the owner's pid and 48 random bits) before the next message.
//
// An error means the message could not be delivered (the watchdog is
// stopped or starved): the registration is dropped on the owner's side,
// but the watchdog may still act on it if the owner dies.
func (r *Registration) Unregister() error {
	if r.slot == 0 {
		return nil
	}
	slot, gen := r.slot, r.gen
	*r = Registration{}
	return std.unregister(slot, gen)
}

// Stop ends the watchdog the way the owner's death would: it closes the
// pipe, so the watchdog kills every tree still registered, and waits until
// it has exited or ctx ends. A later registration starts a new watchdog.
// It is meant for tests and for owners that want to confirm, before they
// exit, that nothing is left.
func Stop(ctx context.Context) error {
	std.mu.Lock()
	defer std.mu.Unlock()
	if std.w == nil {
		return nil
	}
	pid, reaped := std.pid, std.reaped
	if len(std.deferred) > 0 {
		// The withdrawals still waiting go out before the EOF, so that
		// a stop leaves every withdrawn cgroup alone.
		_ = std.writeLocked(std.deferred)
	}
	std.abandonLocked()
	std.slots, std.free, std.live = nil, nil, 0
	std.gen++
	select {
	case <-reaped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("watchdog: pid %d has not exited after EOF: %w", pid, ctx.Err())
	}
}

// Pid returns the running watchdog's pid, or 0 when none runs.
func Pid() int {
	std.mu.Lock()
	defer std.mu.Unlock()
	return std.pid
}

// Registered returns the number of live registrations.
func Registered() int {
	std.mu.Lock()
	defer std.mu.Unlock()
	return std.live
}

func (d *dog) register(e entry) (Registration, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var slot int
	if n := len(d.free); n > 0 {
		slot = d.free[n-1]
		d.free = d.free[:n-1]
	} else {
		d.slots = append(d.slots, entry{})
		slot = len(d.slots)
	}
	d.slots[slot-1] = e
	d.live++
	if err := d.sendLocked(d.message(slot, e)); err != nil {
		d.releaseLocked(slot)
		return Registration{}, err
	}
	return Registration{slot: slot, gen: d.gen}, nil
}

func (d *dog) unregister(slot, gen int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if gen != d.gen || slot > len(d.slots) || d.slots[slot-1].kind == 0 {
		return nil // dropped by Stop
	}
	k := d.slots[slot-1].kind
	d.releaseLocked(slot)
	if d.w == nil {
		return nil
	}
	if k == cgroupKind {
		// The slot may be given out again before the line is sent:
		// the line goes first in the same write, so the watchdog
		// forgets the old entry before it reads the new one.
		d.deferred = withdrawal(d.deferred, slot)
		if len(d.deferred) <= pipeBuf()/2 {
			return nil
		}
		msg := d.deferred
		d.deferred = d.deferred[:0]
		return d.sendLocked(msg)
	}
	d.buf = withdrawal(d.buf[:0], slot)
	return d.sendLocked(d.buf)
}

// withdrawal appends the line that unregisters slot to b.
func withdrawal(b []byte, slot int) []byte {
	b = append(b, "u "...)
	b = strconv.AppendInt(b, int64(slot), 10)
	return append(b, '\n')
}

func (d *dog) releaseLocked(slot int) {
	d.slots[slot-1] = entry{}
	d.free = append(d.free, slot)
	d.live--
}

// message formats the registration of e in slot into d.buf.
func (d *dog) message(slot int, e entry) []byte {
	b := append(d.buf[:0], byte(e.kind), ' ')
	b = strconv.AppendInt(b, int64(slot), 10)
	b = append(b, ' ')
	if e.kind == cgroupKind {
		b = append(b, e.path...)
	} else {
		b = strconv.AppendInt(b, int64(e.pgid), 10)
	}
	d.buf = append(b, '\n')
	return d.buf
}

// sendLocked delivers msg, with the deferred withdrawals in front of it
// (in the same write when they fit in one, else in a write of their own
// just before), starting the watchdog if none runs.
func (d *dog) sendLocked(msg []byte) error {
	if n := len(d.deferred); n > 0 {
		if n+len(msg) <= pipeBuf() {
			msg = append(d.deferred, msg...)
			d.deferred = d.deferred[:0]
		} else {
			pending := d.deferred
			d.deferred = d.deferred[:0]
			if err := d.deliverLocked(pending); err != nil {
				return err
			}
		}
	}
	return d.deliverLocked(msg)
}

// deliverLocked writes msg, starting the watchdog if none runs. If the
// watchdog has died (EPIPE: nobody holds the read end any more), a new
// one is started and told every live registration, msg's included, which
// the caller has already recorded.
func (d *dog) deliverLocked(msg []byte) error {
	if d.w != nil {
		err := d.writeLocked(msg)
		if !errors.Is(err, syscall.EPIPE) {
			return err
		}
		d.abandonLocked()
	}
	return d.startLocked()
}

func (d *dog) writeLocked(msg []byte) error {
	if err := d.w.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return fmt.Errorf("watchdog: %w", err)
	}
	if _, err := d.w.Write(msg); err != nil {
		return fmt.Errorf("watchdog (pid %d) is not reading its pipe: %w", d.pid, err)
	}
	return nil
}

// abandonLocked closes the write end, which is EOF for a watchdog that
// still runs, and forgets it.
func (d *dog) abandonLocked() {
	_ = d.w.Close()
	d.w, d.pid, d.reaped = nil, 0, nil
	// A new watchdog knows none of the old slots: a withdrawal meant for
	// the old one would drop a live registration reusing its slot.
	d.deferred = d.deferred[:0]
}

// startLocked starts a watchdog and tells it every live registration.
//
// It does not wait for the watchdog to run: it returns once the kernel
// has executed the binary, and the watchdog reads the registrations
// from the pipe whenever its runtime is up. If the owner dies before
// that, the pipe still holds them, and EOF comes after them.
func (d *dog) startLocked() error {
	exe, err := executable()
	if err != nil {
		return &StartError{Err: err}
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return &StartError{Exe: exe, Err: plain(err)}
	}
	defer null.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return &StartError{Exe: exe, Err: err}
	}
	// The owner's environment (the re-executed program sees what the
	// owner saw: GODEBUG, GOMAXPROCS and the like), with the protocol
	// marker and a variable that names the owner for anyone listing
	// processes.
	env := append(os.Environ(), protocolEnv+"="+protocol, ownerEnv+"="+strconv.Itoa(os.Getpid()))
	attr := &os.ProcAttr{
		// Not the owner's working directory, which it would otherwise pin.
		Dir: "/",
		Env: env,
		// Standard streams on the null device, so the watchdog never holds
		// a pipe or terminal of the owner's (a caller reading the owner's
		// output to EOF must not wait for it); the read end as fd 3.
		// StartProcess passes these and nothing else: every other
		// descriptor of the owner is close-on-exec.
		Files: []*os.File{null, null, null, r},
	}
	p, reaped, err := spawn(exe, attr)
	_ = r.Close()
	if err != nil {
		_ = w.Close()
		return &StartError{Exe: exe, Err: plain(err)}
	}
	d.w, d.pid, d.reaped = w, p, reaped
	for i, e := range d.slots {
		if e.kind == 0 {
			continue
		}
		if err := d.writeLocked(d.message(i+1, e)); err != nil {
			d.abandonLocked()
			return err
		}
	}
	return nil
}
