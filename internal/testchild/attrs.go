package testchild

import "os"

// ModeAttrs reports the process attributes the helper was started with,
// as one Report: its argv[0] (Arg0) and, where the system has them, its
// nice value, umask, resource limits, OOM score adjustment and (Windows)
// priority class, and its working directory. It reads them first thing in main, before it opens a
// file or starts a process. A value the helper could not read is absent
// and Err says why.
const ModeAttrs = "attrs"

// runAttrs writes the ModeAttrs report.
func runAttrs() int {
	r := Report{Pid: os.Getpid(), Ppid: os.Getppid(), Arg0: os.Args[0]}
	readAttrs(&r)
	if wd, err := os.Getwd(); err == nil {
		r.Cwd = wd
	}
	if err := writeReport(r); err != nil {
		return 3
	}
	return 0
}
