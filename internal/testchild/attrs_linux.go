//go:build linux

package testchild

import (
	"errors"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// rlimitNames name the limits ModeAttrs reports, by Linux's RLIMIT_
// number.
var rlimitNames = map[string]int{
	"RLIMIT_CPU": unix.RLIMIT_CPU, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_DATA": unix.RLIMIT_DATA,
	"RLIMIT_STACK": unix.RLIMIT_STACK, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK,
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS, "RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE, "RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO,
	"RLIMIT_RTTIME": unix.RLIMIT_RTTIME,
}

// readAttrs reads the nice value (field 19 of /proc/self/stat, the main
// thread's), the umask (/proc/self/status), every resource limit and the
// OOM score adjustment.
func readAttrs(r *Report) {
	var errs []error
	if b, err := os.ReadFile("/proc/self/stat"); err != nil {
		errs = append(errs, err)
	} else {
		// The command name (field 2) may hold spaces: count from its end.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if n, err := strconv.Atoi(f[16]); err != nil {
			errs = append(errs, err)
		} else {
			r.Nice = &n
		}
	}
	if b, err := os.ReadFile("/proc/self/status"); err != nil {
		errs = append(errs, err)
	} else {
		for _, ln := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(ln, "Umask:"); ok {
				r.Umask = strings.TrimSpace(v)
			}
		}
	}
	r.Rlimits = map[string][2]uint64{}
	for name, res := range rlimitNames {
		var lim unix.Rlimit
		if err := unix.Getrlimit(res, &lim); err != nil {
			errs = append(errs, err)
			continue
		}
		r.Rlimits[name] = [2]uint64{lim.Cur, lim.Max}
	}
	if b, err := os.ReadFile("/proc/self/oom_score_adj"); err != nil {
		errs = append(errs, err)
	} else if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
		errs = append(errs, err)
	} else {
		r.OOMScoreAdj = &n
	}
	if err := errors.Join(errs...); err != nil {
		r.Err = err.Error()
	}
}
