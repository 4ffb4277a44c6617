//go:build linux

package sysproc

import (
	"bytes"
	"fmt"
	"testing"
)

// fuzzStatSeeds are /proc/<pid>/stat lines: real ones from the project's
// machines (cat, PID 1, a kernel thread) and commands whose names hold
// the characters that make the format tricky.
var fuzzStatSeeds = []string{
	"26964 (cat) R 26962 26962 21853 0 -1 4194304 100 0 0 0 0 0 0 0 20 0 1 0 757276 3133440 382 18446744073709551615 94523416899584 94523416919465 140722783214720 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94523416935472 94523416937088 94523491307520 140722783222271 140722783222291 140722783222291 140722783223787 0\n",
	"1 (systemd) S 0 0 0 0 -1 4194560 124157 268419399 0 26037 539 2932 270384 153118 20 0 13 0 24 49483776 4281 18446744073709551615 1 1 0 0 0 0 0 4096 1256 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
	"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 5 0 0 20 0 1 0 2 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
	"4242 (a) (b c)) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 555 1000 25 18446744073709551615\n",
	"77 () (x) Z 1 77 77 0 -1 4227084 0 0 0 0 0 0 0 0 20 0 1 0 9 0 0 18446744073709551615\n",
	"78 (new\nline) t 1 78 78 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 10 0 -3 0\n",
	"79 ((((((((((((((() X 1 79 79 0 -1 0 0 0 0 0 1 2 0 0 20 0 1 0 10 0 0 0\n",
	"80 (x) S 1 80 80 0 -1 0 0 0 0 0 18446744073709551615 9223372036854775808 0 0 20 0 1 0 18446744073709551614 0 9223372036854775807 0\n",
	"81 (x) S 1 80 80 0 -1 0 0 0 0 0 -1 -2 0 0 20 0 1 0 -3 0 0 0\n",
	"82 (x) SS 1 2 3\n",
	"83 (x)",
	"(x) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22\n",
	"x (y) S 1",
	"",
}

// FuzzParseStat parses any bytes as a stat file: it never panics; what
// it accepts has the command between the first '(' and the last ')', and
// a stat line written back from the parsed fields parses the same.
func FuzzParseStat(f *testing.F) {
	for _, s := range fuzzStatSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseStat(data)
		if err != nil {
			if st != (Stat{}) {
				t.Fatalf("%q: rejected (%v) with %+v", data, err, st)
			}
			return
		}
		open, closing := bytes.IndexByte(data, '('), bytes.LastIndexByte(data, ')')
		if st.Comm != string(data[open+1:closing]) {
			t.Fatalf("%q: comm %q", data, st.Comm)
		}
		again, err := parseStat(fuzzStatLine(st))
		if err != nil || again != st {
			t.Fatalf("%q: parsed %+v, written back as %q: %+v, %v", data, st, fuzzStatLine(st), again, err)
		}
	})
}

// fuzzStatLine writes s as the kernel writes /proc/<pid>/stat, with the
// fields tether does not read set to other values.
func fuzzStatLine(s Stat) []byte {
	return fmt.Appendf(nil, "%d (%s) %s %d %d %d 34816 4242 4194560 100 0 7 0 %d %d 5 6 20 0 1 0 %d 3133440 %d 18446744073709551615 94523416899584 94523416919465 140722783214720 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0 94523416935472 94523416937088 94523491307520 140722783222271 140722783222291 140722783222291 140722783223787 0\n",
		s.Pid, s.Comm, []byte{s.State}, s.Ppid, s.Pgrp, s.Session, s.UserTicks, s.SystemTicks, s.StartTicks, s.RSSPages)
}

// FuzzStatFields writes a stat line from any field values, with any
// command name (any bytes: the kernel escapes nothing, and a name may
// hold spaces, parentheses and newlines), and checks that every field is
// read back; the unsigned tick counts over their whole range.
func FuzzStatFields(f *testing.F) {
	f.Add(int32(26964), "cat", uint8(0), int32(26962), int32(26962), int32(21853), uint64(0), uint64(0), uint64(757276), int64(382))
	f.Add(int32(1), "a) (b c)", uint8(1), int32(0), int32(0), int32(0), uint64(539), uint64(2932), uint64(24), int64(4281))
	f.Add(int32(2), ") S 1 2 3 (", uint8(3), int32(0), int32(0), int32(0), uint64(1<<63), uint64(1<<64-1), uint64(1<<63-1), int64(-1))
	f.Add(int32(3), "", uint8(5), int32(-1), int32(1<<31-1), int32(-1<<31), uint64(0), uint64(0), uint64(0), int64(-1<<63))
	f.Add(int32(4), "new\nline\t(", uint8(7), int32(1), int32(1), int32(1), uint64(1), uint64(1), uint64(1), int64(1<<63-1))
	f.Fuzz(func(t *testing.T, pid int32, comm string, state uint8, ppid, pgrp, session int32, utime, stime, start uint64, rss int64) {
		want := Stat{
			Pid: int(pid), Comm: comm, State: "RSDZTtXxKWPI"[int(state)%12],
			Ppid: int(ppid), Pgrp: int(pgrp), Session: int(session),
			UserTicks: utime, SystemTicks: stime, StartTicks: start, RSSPages: rss,
		}
		line := fuzzStatLine(want)
		got, err := parseStat(line)
		if err != nil || got != want {
			t.Fatalf("%q: parsed %+v, %v; want %+v", line, got, err, want)
		}
	})
}
