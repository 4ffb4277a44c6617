//go:build linux

package proc

// Linux's refinements of the unix set (exec_unix.go): a parent-death
// signal, 64 signals, TIOCINQ for the bytes queued in a pipe, and every
// process attribute (attrs.go), given by the forker.

import (
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gotether/tether/internal/forker"
)

// pdeathsigSupported: Linux has PR_SET_PDEATHSIG.
const pdeathsigSupported = true

func setPdeathsig(attr *syscall.SysProcAttr, sig syscall.Signal) { attr.Pdeathsig = sig }

// maxSignal is the highest signal number Linux has (real-time signals
// run up to 64).
const maxSignal = 64

// fionread asks how many bytes a pipe holds (TIOCINQ is FIONREAD).
const fionread = unix.TIOCINQ

// checkAttrs: Linux can give a child every attribute before its program
// runs (see attrs.go).
func (c *Cmd) checkAttrs() error { return nil }

// apply sets argv[0] and the extra files on ecmd and returns the
// attributes the forker gives the child (nil for none).
func (a attrSpec) apply(_ string, ecmd *exec.Cmd) (*forker.Attrs, error) {
	a.applyCommon(ecmd)
	fa := forker.Attrs{
		Nice: a.nice, SetNice: a.niceSet,
		OOMScoreAdj: a.oom, SetOOMScoreAdj: a.oomSet,
		Umask: uint32(a.umask), SetUmask: a.umaskSet,
	}
	for _, l := range a.rlimits {
		fa.Rlimits = append(fa.Rlimits, forker.Rlimit{Resource: rlimitNumbers[l.res], Name: l.res.String(), Cur: l.soft, Max: l.hard})
	}
	if len(fa.Rlimits) == 0 && !fa.SetNice && !fa.SetOOMScoreAdj && !fa.SetUmask {
		return nil, nil
	}
	return &fa, nil
}

// rlimitNumbers maps each Resource to Linux's RLIMIT_ number, which
// differs between architectures (MIPS and SPARC order some differently).
var rlimitNumbers = [...]int{
	RlimitCPU: unix.RLIMIT_CPU, RlimitFileSize: unix.RLIMIT_FSIZE, RlimitData: unix.RLIMIT_DATA,
	RlimitStack: unix.RLIMIT_STACK, RlimitCore: unix.RLIMIT_CORE, RlimitRSS: unix.RLIMIT_RSS,
	RlimitNProc: unix.RLIMIT_NPROC, RlimitNoFile: unix.RLIMIT_NOFILE, RlimitMemLock: unix.RLIMIT_MEMLOCK,
	RlimitAS: unix.RLIMIT_AS, RlimitLocks: unix.RLIMIT_LOCKS, RlimitSigPending: unix.RLIMIT_SIGPENDING,
	RlimitMsgQueue: unix.RLIMIT_MSGQUEUE, RlimitNice: unix.RLIMIT_NICE, RlimitRTPrio: unix.RLIMIT_RTPRIO,
	RlimitRTTime: unix.RLIMIT_RTTIME,
}
