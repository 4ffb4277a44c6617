package proc

import (
	"context"
	"os"
	"strings"
)

// Detach starts c as a process meant to outlive its owner (the daemon a
// CLI leaves running) and returns only its pid. It is the one escape
// hatch from containment, named loudly on purpose: the process is in no
// container, is never registered with the owner-death watchdog, and tether
// never signals it again. Everything else tether starts dies with its run
// or group.
//
// The process gets a session of its own on unix (setsid), and on Windows
// a new process group without a console (DETACHED_PROCESS), breaking away
// from the owner's Job Object where that job allows it. An outer
// container that holds the owner itself (a cgroup, a job without
// breakaway) still holds the detached process: Detach escapes tether, not
// the host's own containment.
//
// Whatever needs tether to stay attached is refused with an error
// matching ErrUnsupported before anything is spawned: a timeout, a grace
// period, retries, limits, stdin of any kind, capturing or teeing output,
// line callbacks, an idle timeout, a parent-death signal and a terminal's
// foreground (Cmd.Foreground). Output goes to the null device unless c
// sends it explicitly to Inherit, Discard, ToFile or AppendFile (stderr
// also to ToStdout, where stdout goes). c's runner is ignored. The
// process attributes (Rlimit, Nice, OOMScoreAdj, Umask, ExtraFiles,
// Arg0) apply as to any run. While the owner lives, the detached process
// is reaped when it exits, so it never lingers as a zombie.
func Detach(ctx context.Context, c *Cmd) (int, error) {
	if err := c.entry(ctx); err != nil {
		return 0, err
	}
	var refused []string
	if c.timeout > 0 {
		refused = append(refused, "a timeout")
	}
	if c.grace.set {
		refused = append(refused, "a grace period")
	}
	if c.retry.policy != nil || c.retry.output {
		refused = append(refused, "retries")
	}
	if len(c.limits) > 0 {
		refused = append(refused, "limits")
	}
	if c.stdin.kind != stdinNone {
		refused = append(refused, "stdin")
	}
	for _, s := range []struct {
		name string
		spec outSpec
	}{{"stdout", c.stdout}, {"stderr", c.stderr}} {
		if s.spec.set && s.spec.captures() {
			refused = append(refused, "capturing "+s.name)
		}
	}
	if len(c.lines.onLine) > 0 {
		refused = append(refused, "line callbacks")
	}
	if c.lines.idle > 0 {
		refused = append(refused, "an idle timeout")
	}
	if c.sys.pdeathsig != 0 {
		refused = append(refused, "a parent-death signal")
	}
	if c.sys.foreground != nil {
		refused = append(refused, "a terminal's foreground")
	}
	if c.term.set {
		refused = append(refused, "a terminal")
	}
	if len(refused) > 0 {
		return 0, unsupported(c.name, "Detach with "+strings.Join(refused, ", "), "a detached process has no owner to enforce them")
	}
	pr, err := prepare(ctx, c)
	if err != nil {
		return 0, err
	}
	ecmd := pr.ecmd
	var files childFiles
	defer files.close()
	var stdout *os.File
	for _, s := range []struct {
		spec  outSpec
		owner *os.File
		set   func(*os.File)
	}{
		{c.stdout, os.Stdout, func(f *os.File) { ecmd.Stdout, stdout = f, f }},
		{c.stderr, os.Stderr, func(f *os.File) { ecmd.Stderr = f }},
	} {
		if s.spec.mode == modeStdout {
			if stdout != nil {
				s.set(stdout) // 2>&1; else both go to the null device
			}
			continue
		}
		if !s.spec.set {
			continue // the null device
		}
		f, _, err := s.spec.open(s.owner)
		if err != nil {
			return 0, &StartError{Program: c.name, Err: err}
		}
		files.keep(f, s.owner)
		if f != nil {
			s.set(f)
		}
	}
	if err := startBound(startDetached, ecmd, pr.attrs); err != nil {
		return 0, startError(c.name, err)
	}
	pid := ecmd.Process.Pid
	go func() { _, _ = ecmd.Process.Wait() }()
	pr.log.Warn("tether: detached: this process is in no container and outlives its owner", append([]any{"program", c.name, "pid", pid}, pr.logged...)...)
	return pid, nil
}
