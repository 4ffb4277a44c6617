//go:build unix

package watchdog

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/gotether/tether/internal/sysproc"
)

// The registrations live in a table, a file the owner and the watchdog
// share (see newTable): tableMagic at offset 0, then one slot of
// slotSize bytes per registration, at offset slot*slotSize:
//
//	byte 0     state: 1 registered, 0 free
//	byte 1     kind: 'c' a cgroup directory, 'p' a process group
//	bytes 2-3  the payload's length, little-endian
//	bytes 4-   the payload: the directory's path, or the group id in decimal
//
// The owner writes a slot with two writes, the header and payload first
// and the state byte last, and frees it with one write of the state byte;
// the watchdog reads the table only once the owner has gone (EOF on the
// pipe), when nothing writes it any more. An owner killed between the two
// writes leaves the state 0: that registration did not happen, and its
// caller had not placed a process in the tree yet.
//
// A table, not messages: every message on the pipe woke the watchdog, a
// context switch that cost it about 60 us of CPU (measured from its
// schedstat on Linux 6.18, 2 cores), twice a run, on a machine whose
// other core runs the child. A write to the table wakes no one.
const (
	slotSize   = 4096
	slotHeader = 4
	// maxPayload bounds a cgroup path.
	maxPayload = slotSize - slotHeader
	// tableMagic opens a table, so that a watchdog never takes another
	// file for one.
	tableMagic = "tether-watchdog-table 2\n"
)

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
	// child of the owner inherits it; nil while no watchdog runs. Nothing
	// is written to it: its only message is the EOF of the owner's death
	// (or of Stop).
	w *os.File
	// table is the registration table, shared with the watchdog; nil
	// until the first watchdog starts. It outlives a watchdog that dies
	// (the next one is given the same table, with every live
	// registration in it) and is replaced by Stop.
	table *os.File
	// pid is the running watchdog's pid, 0 while none runs.
	pid int
	// reaped is closed once the running watchdog has exited and been
	// reaped (see reap); nil while none runs.
	reaped <-chan struct{}
	// slots holds the live registrations at index slot-1; a free slot is
	// the zero entry. free lists free slots for reuse, so slot numbers
	// (and the table) stay as small as the peak number of live
	// registrations.
	slots []entry
	free  []int
	live  int
	// gen counts Stops: a Registration from before a Stop must not
	// withdraw a later registration that reuses its slot number.
	gen int
	// buf is reused for every slot written.
	buf []byte
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
// has exited and been reaped is replaced here, and the new one is given
// the table with every live registration; one that is dying but not yet
// reaped (killed a moment ago) is taken for running, and replaced by the
// next registration that finds it reaped. A caller that needs the
// watchdog's process itself uses StartLive.
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
	if d.w != nil && !closed(d.reaped) && (!live || sysproc.Alive(d.pid)) {
		return nil
	}
	return d.restartLocked()
}

// ensureLocked makes sure a watchdog that has not been reaped runs.
func (d *dog) ensureLocked() error {
	if d.w != nil && !closed(d.reaped) {
		return nil
	}
	return d.restartLocked()
}

// restartLocked replaces the watchdog, if one ran, with a new one.
func (d *dog) restartLocked() error {
	if d.w != nil {
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
// space, and must fit a slot of the table (4092 bytes).
func RegisterCgroup(dir string) (Registration, error) {
	if !filepath.IsAbs(dir) || filepath.Clean(dir) != dir || dir == "/" ||
		strings.ContainsRune(dir, '\n') || strings.HasSuffix(dir, " ") {
		return Registration{}, fmt.Errorf("watchdog: refusing cgroup path %q: it must be absolute and clean, without a newline or a trailing space", dir)
	}
	if len(dir) > maxPayload {
		return Registration{}, fmt.Errorf("watchdog: cgroup path is %d bytes, more than a registration holds (%d)", len(dir), maxPayload)
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
// zero Registration does nothing. Once it returns, the owner's death no
// longer touches the tree. If the watchdog has died meanwhile, there is
// nothing to withdraw and that is not an error. An error means the
// table could not be written: the registration is dropped on the owner's
// side, but the watchdog may still act on it if the owner dies.
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
// it has exited or ctx ends. A later registration starts a new watchdog,
// with a new table. It is meant for tests and for owners that want to
// confirm, before they exit, that nothing is left.
func Stop(ctx context.Context) error {
	std.mu.Lock()
	defer std.mu.Unlock()
	if std.w == nil {
		return nil
	}
	pid, reaped := std.pid, std.reaped
	std.abandonLocked()
	// The stopped watchdog reads this table after its EOF: it is left to
	// it, and the next watchdog gets a table of its own.
	_ = std.table.Close()
	std.table = nil
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

// register records e in a free slot of the table, with a watchdog
// running (started, or replaced if it was reaped) before the slot is
// written: from the write on, the owner's death kills the tree.
func (d *dog) register(e entry) (Registration, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.ensureLocked(); err != nil {
		return Registration{}, err
	}
	var slot int
	if n := len(d.free); n > 0 {
		slot = d.free[n-1]
		d.free = d.free[:n-1]
	} else {
		d.slots = append(d.slots, entry{})
		slot = len(d.slots)
	}
	if err := d.writeSlotLocked(slot, e); err != nil {
		d.free = append(d.free, slot)
		return Registration{}, err
	}
	d.slots[slot-1] = e
	d.live++
	return Registration{slot: slot, gen: d.gen}, nil
}

func (d *dog) unregister(slot, gen int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if gen != d.gen || slot > len(d.slots) || d.slots[slot-1].kind == 0 {
		return nil // dropped by Stop
	}
	d.slots[slot-1] = entry{}
	d.free = append(d.free, slot)
	d.live--
	if _, err := d.table.WriteAt([]byte{0}, slotOffset(slot)); err != nil {
		return fmt.Errorf("watchdog: withdrawing a registration: %w", err)
	}
	return nil
}

func slotOffset(slot int) int64 { return int64(slot) * slotSize }

// writeSlotLocked writes e into slot: the kind, length and payload, then
// the state byte that makes it count.
func (d *dog) writeSlotLocked(slot int, e entry) error {
	b := append(d.buf[:0], 0, byte(e.kind), 0, 0)
	if e.kind == cgroupKind {
		b = append(b, e.path...)
	} else {
		b = strconv.AppendInt(b, int64(e.pgid), 10)
	}
	binary.LittleEndian.PutUint16(b[2:4], uint16(len(b)-slotHeader))
	d.buf = b
	off := slotOffset(slot)
	if _, err := d.table.WriteAt(b[1:], off+1); err != nil {
		return fmt.Errorf("watchdog: writing a registration: %w", err)
	}
	if _, err := d.table.WriteAt([]byte{1}, off); err != nil {
		return fmt.Errorf("watchdog: writing a registration: %w", err)
	}
	return nil
}

// abandonLocked closes the write end, which is EOF for a watchdog that
// still runs, and forgets it. The table stays: it holds the live
// registrations for the next watchdog.
func (d *dog) abandonLocked() {
	_ = d.w.Close()
	d.w, d.pid, d.reaped = nil, 0, nil
}

// startLocked starts a watchdog, giving it the table (made now if there
// is none) with every live registration in it.
//
// It does not wait for the watchdog to run: it returns once the kernel
// has executed the binary. If the owner dies before the watchdog's
// runtime is up, the EOF waits in the pipe, and the table holds the
// registrations.
func (d *dog) startLocked() error {
	exe, err := executable()
	if err != nil {
		return &StartError{Err: err}
	}
	if d.table == nil {
		t, err := newTable()
		if err == nil {
			if _, err = t.WriteAt([]byte(tableMagic), 0); err != nil {
				_ = t.Close()
			}
		}
		if err != nil {
			return &StartError{Exe: exe, Err: fmt.Errorf("the registration table: %w", plain(err))}
		}
		d.table = t
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
		// output to EOF must not wait for it); the pipe's read end as fd
		// 3, the table as fd 4. StartProcess passes these and nothing
		// else: every other descriptor of the owner is close-on-exec.
		Files: []*os.File{null, null, null, r, d.table},
	}
	p, reaped, err := spawn(exe, attr)
	_ = r.Close()
	if err != nil {
		_ = w.Close()
		return &StartError{Exe: exe, Err: plain(err)}
	}
	d.w, d.pid, d.reaped = w, p, reaped
	return nil
}
