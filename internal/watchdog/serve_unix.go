//go:build unix

package watchdog

import (
	"bufio"
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
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
// argv[0] and descriptors 0, 1 and 2 only, so none of them can match.
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
		// messages may mean something else. Never run the program.
		unix.Exit(2)
	}
	serve(os.NewFile(pipeFd, "watchdog-pipe"))
	// Straight to exit_group: no deferred work of the program, and no
	// race-detector pause at exit.
	unix.Exit(0)
}

// settleTimeout bounds the wait for one killed cgroup to empty before it
// is removed.
const settleTimeout = 2 * time.Second

// serve is the watchdog. It reads the owner's messages from pipe until
// EOF, then kills every tree still registered and removes the killed
// cgroups.
//
// Protocol, one line per message, fields separated by single spaces:
//
//	c SLOT PATH   register the cgroup directory PATH (absolute) in SLOT
//	p SLOT PGID   register the process group PGID in SLOT
//	u SLOT        unregister SLOT
//
// SLOT is a small positive integer the owner allocates and reuses. PATH
// is the rest of the line, verbatim (the owner refuses a newline in it).
// Every line is written by a single write of at most PIPE_BUF bytes,
// which the kernel makes atomic; a last line cut off by the owner's death
// has no newline and is never acted on. A malformed line is skipped, and
// so is a PGID below 2: killing group 0 or -1 would hit the watchdog's
// own group or every process it may signal.
//
// On EOF it first kills everything (one write or kill per tree), then,
// for each cgroup, waits up to settleTimeout for "populated 0" and
// removes it, nested cgroups first. A failed kill or removal (a cgroup
// Close already removed, a group already gone) is skipped: the next tether
// owner on the host sweeps an empty cgroup left behind.
func serve(pipe *os.File) {
	// The owner started this process in a session of its own, so no
	// terminal signal reaches it; these cover a signal aimed at it by
	// mistake (a killall, a kill of a process group id it once led). It
	// ends only by EOF or SIGKILL.
	signal.Ignore(syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM)
	setName()
	table := map[int]string{} // slot -> "c" + path or "p" + pgid
	rd := bufio.NewReader(pipe)
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			break // EOF, or a cut-off last line
		}
		op, rest, _ := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
		slotText, arg, _ := strings.Cut(rest, " ")
		slot, err := strconv.Atoi(slotText)
		if err != nil || slot <= 0 {
			continue
		}
		switch op {
		case "c":
			if filepath.IsAbs(arg) {
				table[slot] = op + arg
			}
		case "p":
			if pg, err := strconv.Atoi(arg); err == nil && pg > 1 {
				table[slot] = op + arg
			}
		case "u":
			delete(table, slot)
		}
	}
	_ = pipe.Close()
	slots := make([]int, 0, len(table))
	for slot := range table {
		slots = append(slots, slot)
	}
	sort.Ints(slots)
	for _, slot := range slots {
		t := table[slot]
		switch t[0] {
		case 'p':
			pg, _ := strconv.Atoi(t[1:])
			_ = unix.Kill(-pg, unix.SIGKILL)
		case 'c':
			killCgroup(t[1:])
		}
	}
	for _, slot := range slots {
		if t := table[slot]; t[0] == 'c' {
			settle(t[1:], time.Now().Add(settleTimeout))
			removeTree(t[1:])
		}
	}
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
