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
// The pool also gives a child, on Linux, the attributes Go's SysProcAttr
// has no field for (Attrs: resource limits, a nice value, an OOM score
// adjustment, a umask), before the program runs a single instruction:
// the caller binds them to the command (Bind) before the command's
// container calls Start. A umask is per thread here once a thread stops
// sharing its filesystem attributes (unshare CLONE_FS), so such a fork
// runs on a worker of its own whose umask is set for that fork alone;
// the other attributes are set on the child itself, stopped at its exec
// (see attrs_linux.go).
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
//
// If attributes are bound to cmd (Bind), Start applies them as it
// starts it, or fails: a child that was started but could not be given
// them is killed and reaped before Start returns, having run nothing of
// its program.
func Start(cmd *exec.Cmd) error {
	a := bound(cmd)
	switch {
	case a != nil:
		return startWith(cmd, a)
	case threadBound(cmd.SysProcAttr):
		return onPool(cmd, nil, &jobs)
	}
	return cmd.Start()
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

// Attrs are attributes of a child that Go's SysProcAttr cannot express,
// applied by Start to a command they are bound to (Bind). Only Linux has
// them (Supported); elsewhere Start fails for a command that has any.
type Attrs struct {
	// Rlimits are set with prlimit(2) on the child stopped at its exec.
	Rlimits []Rlimit
	// Nice, when SetNice, is the child's nice value (setpriority(2) on
	// the child stopped at its exec).
	Nice    int
	SetNice bool
	// OOMScoreAdj, when SetOOMScoreAdj, is written to the child's
	// /proc/<pid>/oom_score_adj while it is stopped at its exec.
	OOMScoreAdj    int
	SetOOMScoreAdj bool
	// Umask, when SetUmask, is the child's file mode creation mask, set
	// on the forking thread for that fork alone.
	Umask    uint32
	SetUmask bool
}

// Rlimit is one resource limit: Resource is the system's RLIMIT_ number,
// Name its name for errors ("RLIMIT_NOFILE").
type Rlimit struct {
	Resource int
	Name     string
	Cur, Max uint64
}

// binding is a Bind registration: the attributes and whether a Start
// applied them.
type binding struct {
	attrs   *Attrs
	applied bool
}

var (
	bindMu   sync.Mutex
	bindings = map[*exec.Cmd]*binding{}
)

// Bind makes the next Start of cmd apply a. A container's Start calls
// Start with the caller's *exec.Cmd, so a caller binds the attributes
// and then hands cmd to the container. The returned function withdraws
// the binding and reports whether a Start applied the attributes: false
// means cmd was started some other way (a backend that does not fork
// through Start) or not at all, and its child, if any, runs without
// them.
func Bind(cmd *exec.Cmd, a Attrs) (withdraw func() (applied bool)) {
	b := &binding{attrs: &a}
	bindMu.Lock()
	bindings[cmd] = b
	bindMu.Unlock()
	return func() bool {
		bindMu.Lock()
		defer bindMu.Unlock()
		delete(bindings, cmd)
		return b.applied
	}
}

// bound returns the attributes bound to cmd, nil for none, and marks
// them applied: Start either applies them or fails.
func bound(cmd *exec.Cmd) *Attrs {
	bindMu.Lock()
	defer bindMu.Unlock()
	b := bindings[cmd]
	if b == nil {
		return nil
	}
	b.applied = true
	return b.attrs
}

// job is one cmd.Start to run on the pool, with the attributes to apply
// (nil for none) and, for a umask, the owner's working and root
// directories. done receives its error, or the value it panicked with.
type job struct {
	cmd   *exec.Cmd
	attrs *Attrs
	fs    *ownerFS
	done  chan result
}

type result struct {
	err      error
	panicked any
}

// pool is a set of workers, started on first use.
type pool struct {
	once  sync.Once
	jobs  chan job
	setup func() error // run once on each worker's locked thread
}

// jobs serve every fork that needs only a thread that never exits.
var jobs pool

func onPool(cmd *exec.Cmd, a *Attrs, p *pool) error {
	p.once.Do(func() {
		p.jobs = make(chan job)
		n := max(2, runtime.GOMAXPROCS(0))
		if p.setup != nil {
			// A umask fork is rare: two threads serve them.
			n = 2
		}
		for range n {
			go worker(p, nil)
		}
	})
	j := job{cmd: cmd, attrs: a, done: make(chan result, 1)}
	if a != nil && a.SetUmask {
		fs, err := openOwnerFS()
		if err != nil {
			return err
		}
		defer fs.close()
		j.fs = fs
	}
	p.jobs <- j
	r := <-j.done
	if r.panicked != nil {
		panic(fmt.Sprintf("forker: exec.Cmd.Start panicked: %v", r.panicked))
	}
	return r.err
}

// worker locks its goroutine to its thread and never unlocks or returns:
// a locked goroutine that returned would take its thread with it, and
// with the thread the parent-death signal would fire for every child
// forked on it. A pool with a setup runs it once on the thread first; if
// it fails, every job the worker takes fails with its error. The setup
// changes the thread for good, so it is never run on the process's main
// thread, whose attributes the system shows as the process's own (Linux:
// /proc/<pid>/cwd and status): a worker that finds itself there starts
// its replacement and, once that holds another thread, lets the main
// thread go. locked, if not nil, is closed once the worker holds its
// thread.
func worker(p *pool, locked chan<- struct{}) {
	runtime.LockOSThread()
	if locked != nil {
		close(locked)
	}
	if p.setup != nil && onMainThread() {
		next := make(chan struct{})
		go worker(p, next)
		<-next
		runtime.UnlockOSThread()
		return
	}
	var err error
	if p.setup != nil {
		err = p.setup()
	}
	for j := range p.jobs {
		if err != nil {
			j.done <- result{err: err}
			continue
		}
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
	return result{err: startOnThread(j)}
}

// AttrError reports an attribute that the system refused to give the
// child (a lower nice value or a higher hard limit without the
// privilege, ...). The child was killed before its program ran.
type AttrError struct {
	// What names the attribute and its value ("nice value -5").
	What string
	Err  error
}

func (e *AttrError) Error() string { return "setting the child's " + e.What + ": " + e.Err.Error() }

// Unwrap returns the system's error.
func (e *AttrError) Unwrap() error { return e.Err }
