//go:build linux

package sysproc

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"time"
	"unicode"

	"golang.org/x/sys/unix"
)

// Stat is the part of /proc/<pid>/stat tether uses.
type Stat struct {
	Pid     int
	Comm    string
	State   byte
	Ppid    int
	Pgrp    int
	Session int
	// UserTicks and SystemTicks are in clock ticks (ClockTick each).
	UserTicks   uint64
	SystemTicks uint64
	// StartTicks is the start time since boot, in clock ticks.
	StartTicks uint64
	// RSSPages is the resident set size in pages.
	RSSPages int64
}

// ClockTick is the unit of the tick fields: USER_HZ is 100 on every Linux
// architecture Go supports.
const ClockTick = 10 * time.Millisecond

// ReadStat parses /proc/<pid>/stat. It returns an error wrapping
// os.ErrNotExist when the process is gone.
//
// It reads into a buffer on the stack, with no os.File: a process group's
// teardown reads the stat of every process on the host, on each look, and
// os.ReadFile's file, buffer and extra fstat were most of that cost.
func ReadStat(pid int) (Stat, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/stat"
	var buf [1024]byte
	n, err := readSmall(path, buf[:])
	switch {
	case errors.Is(err, errTooBig):
		// A stat line longer than the buffer (it has never been seen:
		// the fields are numbers and the name at most 64 bytes).
		b, err := os.ReadFile(path)
		if err != nil {
			return Stat{}, err
		}
		return parseStat(b)
	case err != nil:
		return Stat{}, err
	}
	return parseStat(buf[:n])
}

var errTooBig = errors.New("sysproc: file larger than the buffer")

// readSmall reads the whole file at path into buf and returns its length,
// or errTooBig when it does not fit. Errors are *fs.PathError, as os's.
func readSmall(path string, buf []byte) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	for errors.Is(err, unix.EINTR) {
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return 0, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	n := 0
	for n < len(buf) {
		m, err := unix.Read(fd, buf[n:])
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case err != nil:
			return 0, &fs.PathError{Op: "read", Path: path, Err: err}
		case m == 0:
			return n, nil
		}
		n += m
	}
	return 0, errTooBig
}

var errBadStat = errors.New("sysproc: malformed /proc stat")

// fieldsInto fills f with the first len(f) fields of b, separated by
// white space as bytes.Fields separates them, and returns how many it
// found; unlike bytes.Fields it allocates nothing.
func fieldsInto(f [][]byte, b []byte) int {
	n := 0
	for n < len(f) {
		i := bytes.IndexFunc(b, isNotSpace)
		if i < 0 {
			break
		}
		b = b[i:]
		j := bytes.IndexFunc(b, unicode.IsSpace)
		if j < 0 {
			j = len(b)
		}
		f[n], b = b[:j], b[j:]
		n++
	}
	return n
}

func isNotSpace(r rune) bool { return !unicode.IsSpace(r) }

func parseStat(b []byte) (Stat, error) {
	// The command name is in parentheses and may itself contain spaces
	// and parentheses: split at the last ')'.
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 0 || closing < open || closing+2 >= len(b) {
		return Stat{}, errBadStat
	}
	s := Stat{Comm: string(b[open+1 : closing])}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return Stat{}, errBadStat
	}
	s.Pid = pid
	// f[0] is field 3 (state) of proc(5); the first 22 fields after the
	// name are all we read.
	var f [22][]byte
	if fieldsInto(f[:], b[closing+2:]) < len(f) || len(f[0]) != 1 {
		return Stat{}, errBadStat
	}
	s.State = f[0][0]
	num := func(i int) int64 {
		v, e := strconv.ParseInt(string(f[i]), 10, 64)
		if e != nil && err == nil {
			err = e
		}
		return v
	}
	// utime, stime and starttime are unsigned (%lu, %llu in proc(5)).
	unum := func(i int) uint64 {
		v, e := strconv.ParseUint(string(f[i]), 10, 64)
		if e != nil && err == nil {
			err = e
		}
		return v
	}
	s.Ppid = int(num(1))
	s.Pgrp = int(num(2))
	s.Session = int(num(3))
	s.UserTicks = unum(11)
	s.SystemTicks = unum(12)
	s.StartTicks = unum(19)
	s.RSSPages = num(21)
	if err != nil {
		return Stat{}, errBadStat
	}
	return s, nil
}

// Alive reports whether pid names a live process. A zombie (state Z) or a
// dead task (X) counts as dead: on these machines PID 1 reaps orphans up to
// two seconds late, and a zombie runs no code and holds no resource but its
// pid.
func Alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := unix.Kill(pid, 0); err != nil && err != unix.EPERM {
		return false
	}
	st, err := ReadStat(pid)
	if err != nil {
		return false
	}
	return st.State != 'Z' && st.State != 'X'
}

// Pids lists every pid in /proc.
func Pids() ([]int, error) {
	names, err := dirNames("/proc")
	if err != nil {
		return nil, err
	}
	pids := make([]int, 0, len(names))
	for _, n := range names {
		if n[0] < '0' || n[0] > '9' {
			continue
		}
		if p, err := strconv.Atoi(n); err == nil {
			pids = append(pids, p)
		}
	}
	return pids, nil
}

// PageSize is the size of a page, for RSSPages.
var PageSize = int64(os.Getpagesize())

// dirNames lists the entry names of a directory, unsorted (ReadDir would
// sort and stat them, which a /proc scan does not need).
func dirNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}
