//go:build unix

package watchdog

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// init turns this process into a watchdog when it was started as one,
// and never returns into the program then. It runs in every program that
// links this package, which is every program that can start a watchdog,
// so the owner's own binary can be re-executed as its watchdog.
//
// The check costs a string comparison in any other process. All three
// conditions must hold: argv[0] is the marker, the environment carries
// the protocol variable (set in the watchdog's environment only), and fd
// 3 is a pipe. tether starts its children with their program's name as
// argv[0] and descriptors 0, 1 and 2 only (unless the caller asks for
// more), so none of them can match by accident.
//
// The known cost of re-executing the owner: the init functions of the
// packages initialised before this one (those that do not import it,
// in Go's initialisation order) run in the watchdog too, before it takes
// over. One that blocks or exits keeps the watchdog from serving.
func init() {
	if len(os.Args) == 0 || os.Args[0] != marker {
		return
	}
	v, ok := os.LookupEnv(protocolEnv)
	if !ok {
		return
	}
	var st unix.Stat_t
	if err := unix.Fstat(pipeFd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return
	}
	if v != protocol {
		// Started as a watchdog by another build of this program: its
		// table may mean something else. Never run the program.
		unix.Exit(2)
	}
	table := os.NewFile(tableFd, "watchdog-table")
	magic := make([]byte, len(tableMagic))
	if _, err := table.ReadAt(magic, 0); err != nil || string(magic) != tableMagic {
		unix.Exit(2) // a watchdog without its table: never run the program either
	}
	serve(os.NewFile(pipeFd, "watchdog-pipe"), table)
	// Straight to exit_group: no deferred work of the program, and no
	// race-detector pause at exit.
	unix.Exit(0)
}

// settleTimeout bounds the wait for one killed cgroup to empty before it
// is removed.
const settleTimeout = 2 * time.Second

// serve is the watchdog. It waits for EOF on pipe (the owner's death, or
// Stop), then reads the registration table (see watchdog_unix.go) and
// kills every tree registered in it: one write of cgroup.kill or one
// kill of a process group each, in slot order; then, for each cgroup,
// it waits up to settleTimeout for "populated 0" and removes it, nested
// cgroups first. A slot whose state is not 1, whose kind is unknown or
// whose payload is malformed (a path that is not absolute, a process
// group below 2, which would hit the watchdog's own group or every
// process it may signal) is skipped. A failed kill or removal (a cgroup
// Close already removed, a group already gone) is skipped: the next
// tether owner on the host sweeps an empty cgroup left behind.
//
// Between the start and the EOF it does nothing at all: the owner writes
// registrations into the table, not to the pipe, so no registration
// wakes it.
func serve(pipe io.Reader, table *os.File) {
	// The owner started this process in a session of its own, so no
	// terminal signal reaches it; these cover a signal aimed at it by
	// mistake (a killall, a kill of a process group id it once led). It
	// ends only by EOF or SIGKILL.
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM)
	setName()
	_, _ = io.Copy(io.Discard, pipe) // until EOF: nothing is ever written
	regs := readTable(table)
	for _, r := range regs {
		switch r.kind {
		case groupKind:
			_ = unix.Kill(-r.pgid, unix.SIGKILL)
		case cgroupKind:
			killCgroup(r.path)
		}
	}
	for _, r := range regs {
		if r.kind == cgroupKind {
			settle(r.path, time.Now().Add(settleTimeout))
			removeTree(r.path)
		}
	}
}

// readTable returns the registrations in the table, in slot order.
func readTable(table *os.File) []entry {
	var regs []entry
	slot := make([]byte, slotSize)
	for off := int64(slotSize); ; off += slotSize {
		n, err := table.ReadAt(slot, off)
		if n < slotHeader {
			break
		}
		if e, ok := parseSlot(slot[:n]); ok {
			regs = append(regs, e)
		}
		if err != nil {
			break // the end of the table
		}
	}
	return regs
}

// parseSlot reads one slot of the table, or reports that it holds no
// registration to act on.
func parseSlot(b []byte) (entry, bool) {
	if len(b) < slotHeader || b[0] != 1 {
		return entry{}, false
	}
	n := int(binary.LittleEndian.Uint16(b[2:4]))
	if n > len(b)-slotHeader {
		return entry{}, false
	}
	payload := string(b[slotHeader : slotHeader+n])
	switch kind(b[1]) {
	case cgroupKind:
		if filepath.IsAbs(payload) {
			return entry{kind: cgroupKind, path: payload}, true
		}
	case groupKind:
		if pg, err := strconv.Atoi(payload); err == nil && pg > 1 {
			return entry{kind: groupKind, pgid: pg}, true
		}
	}
	return entry{}, false
}

func killCgroup(dir string) {
	f, err := os.OpenFile(filepath.Join(dir, "cgroup.kill"), os.O_WRONLY, 0)
	if err != nil {
		return
	}
	_, _ = f.WriteString("1")
	_ = f.Close()
}

// settle waits until the cgroup at dir reports "populated 0", it is gone,
// or the deadline passes.
func settle(dir string, deadline time.Time) {
	for wait := 100 * time.Microsecond; ; wait = min(2*wait, 10*time.Millisecond) {
		b, err := os.ReadFile(filepath.Join(dir, "cgroup.events"))
		if err != nil || !strings.Contains(string(b), "populated 1") || time.Now().After(deadline) {
			return
		}
		time.Sleep(wait)
	}
}

// removeTree removes the cgroup at dir and every cgroup nested in it,
// deepest first. rmdir is retried briefly: a cgroup whose last process
// has just died may refuse it (EBUSY) for a moment.
func removeTree(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.IsDir() {
			removeTree(filepath.Join(dir, e.Name()))
		}
	}
	for range 20 {
		err := unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
