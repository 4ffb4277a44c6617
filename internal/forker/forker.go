// Package forker starts commands that carry a parent-death signal from OS
// threads that never exit.
//
// Linux sends a child its parent-death signal (PR_SET_PDEATHSIG, Go's
// SysProcAttr.Pdeathsig) when the thread that forked it exits, not when
// the process does. A Go thread can exit while the program lives on: the
// runtime destroys the thread of a goroutine that ends while locked to it
// (runtime.LockOSThread without the matching unlock), and a goroutine
// that calls exec.Cmd.Start runs on whatever thread the scheduler gives
// it. A child forked on such a thread would be killed long before its
// owner dies.
//
// Start therefore runs exec.Cmd.Start, for a command that asks for a
// parent-death signal, on one of a small pool of goroutines each locked
// to its OS thread for ever. The pool is started on first use, holds as
// many workers as GOMAXPROCS was then (at least two), and its goroutines
// never return, so its threads never exit and the signal fires only when
// the whole process dies. A fork and exec is bounded work, so a few
// workers serve any number of callers; a caller waits for a free one.
//
// Everywhere else (other systems, commands without the signal) Start is
// exec.Cmd.Start on the caller's goroutine. FreeBSD's parent-death
// signal (procctl PROC_PDEATHSIG_CTL) follows the parent process, not a
// thread, so it needs no pool either.
//
// Tests that check for leaked goroutines must ignore the pool's: see
// WorkerFunc.
package forker

import (
	"fmt"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// WorkerFunc is the function every pool goroutine runs, for leak checkers
// such as goleak.IgnoreAnyFunction: the pool's goroutines live as long as
// the process, by design.
const WorkerFunc = "github.com/gotether/tether/internal/forker.worker"

// Start starts cmd as exec.Cmd.Start does. If cmd's SysProcAttr asks for a
// parent-death signal on a system where that signal follows the forking
// thread (Linux), the fork happens on a pool thread that never exits.
func Start(cmd *exec.Cmd) error {
	if !threadBound(cmd.SysProcAttr) {
		return cmd.Start()
	}
	return onPool(cmd)
}

// ParentDeathSignal returns the parent-death signal attr asks for, 0 for
// none or where the system has no such signal.
func ParentDeathSignal(attr *syscall.SysProcAttr) syscall.Signal {
	if attr == nil {
		return 0
	}
	return pdeathsig(attr)
}

// SetParentDeathSignal sets attr's parent-death signal to sig where the
// system has one (Linux, FreeBSD) and reports whether it did.
func SetParentDeathSignal(attr *syscall.SysProcAttr, sig syscall.Signal) bool {
	return setPdeathsig(attr, sig)
}

// job is one cmd.Start to run on the pool. done receives its error, or
// the value it panicked with.
type job struct {
	cmd  *exec.Cmd
	done chan result
}

type result struct {
	err      error
	panicked any
}

var (
	poolOnce sync.Once
	jobs     chan job
)

func onPool(cmd *exec.Cmd) error {
	poolOnce.Do(func() {
		jobs = make(chan job)
		for range max(2, runtime.GOMAXPROCS(0)) {
			go worker()
		}
	})
	j := job{cmd: cmd, done: make(chan result, 1)}
	jobs <- j
	r := <-j.done
	if r.panicked != nil {
		panic(fmt.Sprintf("forker: exec.Cmd.Start panicked: %v", r.panicked))
	}
	return r.err
}

// worker locks its goroutine to its thread and never unlocks or returns:
// a locked goroutine that returned would take its thread with it, and
// with the thread the parent-death signal would fire for every child
// forked on it.
func worker() {
	runtime.LockOSThread()
	for j := range jobs {
		j.done <- j.run()
	}
}

// run starts the command, turning a panic into a result: the worker must
// survive it (see worker).
func (j job) run() (r result) {
	defer func() {
		if p := recover(); p != nil {
			r = result{panicked: p}
		}
	}()
	return result{err: j.cmd.Start()}
}
