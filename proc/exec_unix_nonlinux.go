//go:build unix && !linux

package proc

// The unix set (exec_unix.go) on the systems other than Linux: macOS,
// the BSDs, and whatever else builds with the unix tag (Solaris, AIX).
// Cmd.ParentDeathSignal is Linux's PR_SET_PDEATHSIG, so it is refused
// here, and so are the process attributes that only Linux can give a
// child before its program runs (attrs.go).

import (
	"os/exec"
	"syscall"

	"github.com/gotether/tether/internal/forker"
)

// pdeathsigSupported: only Linux has PR_SET_PDEATHSIG.
const pdeathsigSupported = false

func setPdeathsig(*syscall.SysProcAttr, syscall.Signal) {}

// maxSignal is the highest signal number accepted here: the classic
// signals every BSD and macOS has.
const maxSignal = 31

// fionread is FIONREAD, _IOR('f', 127, int), the same on macOS and the
// BSDs (x/sys/unix does not export it).
const fionread = 0x4004667f

// checkAttrs refuses the attributes this system cannot give a child
// before its program runs: its limits, nice value and umask are the
// process's, and can be set on another process only once it runs.
func (c *Cmd) checkAttrs() error {
	a := c.attrs
	switch {
	case len(a.rlimits) > 0:
		return unsupported(c.name, "resource limits (Rlimit)", "only Linux can set a child's limits before its program runs")
	case a.niceSet:
		return unsupported(c.name, "a nice value", "only Linux can set a child's nice value before its program runs")
	case a.oomSet:
		return unsupported(c.name, "an OOM score adjustment", "only Linux has oom_score_adj")
	case a.umaskSet:
		return unsupported(c.name, "a umask", "the umask is the whole process's here; only Linux has one per thread")
	}
	return nil
}

// apply sets argv[0] and the extra files on ecmd; nothing is left for
// the forker.
func (a attrSpec) apply(_ string, ecmd *exec.Cmd) (*forker.Attrs, error) {
	a.applyCommon(ecmd)
	return nil, nil
}
