package containtest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/testchild"
)

// The parts a re-executed test binary plays (see roleEnv).
const (
	roleOwner       = "owner"
	roleFrozenStart = "frozen-start"
)

// linePrefix marks the lines a helper writes for the suite on its
// stdout, among whatever the testing package prints.
const linePrefix = "containtest: "

// playRole plays the part the environment asked for, in the re-executed
// test binary, instead of running the suite.
func (s *suite) playRole(t *testing.T, name string) {
	t.Helper()
	s.a = s.b.Availability()
	if !s.a.Usable {
		t.Fatalf("asked to play %q, but %s is not usable here: %s", name, s.b.Mechanism(), s.a.Reason)
	}
	r := s.begin(t)
	switch name {
	case roleOwner:
		playOwner(r)
	case roleFrozenStart:
		playFrozenStart(r)
	default:
		t.Fatalf("unknown role %q", name)
	}
}

// helperCommand returns a command that runs the test binary to play
// role: the test that called TestBackend, alone.
func (r *run) helperCommand(role string, verbose bool) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		r.t.Fatalf("the test binary cannot be re-executed: %v", err)
	}
	args := []string{"-test.run=" + r.runPattern, "-test.count=1"}
	if verbose {
		args = append(args, "-test.v")
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(testchild.CleanEnv(childEnv, roleEnv), roleEnv+"="+role)
	return cmd
}

// runHelper runs the test binary to play role to its end, within limit,
// and returns its output; it fails the subtest if the helper fails, says
// nothing of success, or hangs (it is then killed by pid).
func (r *run) runHelper(role string, limit time.Duration) string {
	r.t.Helper()
	cmd := r.helperCommand(role, true)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	// A child of a hung helper may hold the output pipe; Wait must not
	// wait for it for ever once the helper has died.
	cmd.WaitDelay = r.o.Patience
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("starting the helper: %v", err)
	}
	r.record(cmd.Process.Pid)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		text := out.String()
		if err != nil || !strings.Contains(text, linePrefix+"ok\n") {
			r.t.Fatalf("the helper playing %q failed (%v):\n%s", role, err, text)
		}
		return text
	case <-time.After(limit):
	}
	_ = cmd.Process.Kill()
	err := <-done
	r.t.Fatalf("the helper playing %q hung: still running after %v, killed (%v):\n%s", role, limit, err, out.String())
	return ""
}

// playFrozenStart checks, in a helper process, that a Start into a
// frozen container fails at once with ErrFrozen and spawns nothing,
// whether the container is frozen itself or through an enclosing one at
// any depth, and whether the sub was ever used or not; that a frozen sub
// does not stop its parent's Start; that the runtime still collects
// garbage afterwards; and that Start works again after Thaw, and after a
// Freeze that was not confirmed. It prints "ok" when all of that holds.
func playFrozenStart(r *run) {
	p := r.newContainer(contain.Options{})
	s := r.newSub(p, contain.Options{})
	ss := r.newSub(s, contain.Options{})
	fresh := r.newSub(p, contain.Options{})
	// Every container but fresh holds a sleeping member throughout: a
	// container whose members have all ended may not be joined again.
	own := r.sleeper(p)
	mid := r.sleeper(s)
	deep := r.sleeper(ss)
	refused := func(what string, c contain.Container) {
		r.t.Helper()
		began := time.Now()
		r.wantRefused(what, c, contain.ErrFrozen)
		if took := time.Since(began); took > 2*time.Second {
			r.t.Errorf("%s: the refused Start took %v, want it at once", what, took)
		}
	}

	if err := ss.Freeze(r.ctx()); err != nil {
		r.t.Fatalf("Freeze of a sub of a sub: %v", err)
	}
	refused("a frozen sub of a sub", ss)
	r.exitIn("the parent of a frozen sub", s, 0)
	r.exitIn("the top container while a sub of a sub is frozen", p, 0)
	if err := ss.Thaw(r.ctx()); err != nil {
		r.t.Fatalf("Thaw: %v", err)
	}
	r.exitIn("a thawed sub of a sub", ss, 0)

	if err := p.Freeze(r.ctx()); err != nil {
		r.t.Fatalf("Freeze of the top container: %v", err)
	}
	for _, x := range []struct {
		name string
		c    contain.Container
	}{{"a frozen container", p}, {"a sub of a frozen container", s}, {"a sub of a sub of a frozen container", ss}, {"an unused sub of a frozen container", fresh}} {
		refused(x.name, x.c)
	}
	runtime.GC() // a child stuck between fork and exec would hang this
	r.wantPids("the frozen container after the refused Starts", p, own.pid, mid.pid, deep.pid)
	if err := p.Thaw(r.ctx()); err != nil {
		r.t.Fatalf("Thaw: %v", err)
	}
	for name, c := range map[string]contain.Container{"thawed top container": p, "its sub": s, "its sub of a sub": ss, "its unused sub": fresh} {
		r.exitIn(name, c, 0)
	}
	if !r.t.Failed() {
		fmt.Println(linePrefix + "ok")
	}
}

// playOwner is an owner that the suite kills: it makes containers with
// KillOnOwnerDeath, fills them, prints "member PID" for every process
// they must hold, "escapee PID" for a grandchild that left and that the
// backend does not contain, and "ready"; then it blocks until killed (or
// until its stdin ends: the suite is gone).
//
//	A (KillOnOwnerDeath)        a tree child
//	B (KillOnOwnerDeath)        a sleeping child
//	  B1 (KillOnOwnerDeath)     a tree child
//	  B2                        nothing; covered by B
//	    B2a                     a sleeping child; covered by B
func playOwner(r *run) {
	kood := contain.Options{KillOnOwnerDeath: true}
	a := r.newContainer(kood)
	b := r.newContainer(kood)
	b1 := r.newSub(b, kood)
	b2 := r.newSub(b, contain.Options{})
	b2a := r.newSub(b2, contain.Options{})
	var members, escapees []int
	for _, c := range []contain.Container{a, b1} {
		tr, _ := r.startTree(c)
		members = append(members, tr.contained(r.a)...)
		if !r.a.ContainsSetsid {
			escapees = append(escapees, tr.escapees()...)
		}
	}
	members = append(members, r.sleeper(b).pid, r.sleeper(b2a).pid)
	var lines []string
	for _, p := range members {
		lines = append(lines, "member "+strconv.Itoa(p))
	}
	for _, p := range escapees {
		lines = append(lines, "escapee "+strconv.Itoa(p))
	}
	lines = append(lines, "ready")
	for _, ln := range lines {
		fmt.Println(linePrefix + ln)
	}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(3)
	}()
	for {
		time.Sleep(time.Hour)
	}
}

// testOwnerDeath: when the owner dies abruptly (SIGKILL; TerminateProcess
// on Windows) without closing anything, every tree it made with
// KillOnOwnerDeath dies, subs included, whether they asked for it
// themselves or are covered by their parent.
func testOwnerDeath(r *run) {
	cmd := r.helperCommand(roleOwner, false)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { _ = stdin.Close() })
	pr, pw, err := os.Pipe()
	if err != nil {
		r.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	r.t.Cleanup(func() { _ = pr.Close() })
	err = cmd.Start()
	_ = pw.Close()
	if err != nil {
		r.t.Fatalf("starting the owner: %v", err)
	}
	owner := r.reap(cmd, func() { _ = cmd.Process.Kill() })

	type report struct {
		members, escapees []int
		text              string
		ready             bool
	}
	got := make(chan report, 1)
	go func() {
		var rep report
		var text strings.Builder
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			ln := sc.Text()
			text.WriteString(ln + "\n")
			rest, ok := strings.CutPrefix(ln, linePrefix)
			if !ok {
				continue
			}
			if rest == "ready" {
				rep.ready = true
				break
			}
			word, num, _ := strings.Cut(rest, " ")
			n, err := strconv.Atoi(num)
			if err != nil {
				continue
			}
			switch word {
			case "member":
				rep.members = append(rep.members, n)
			case "escapee":
				rep.escapees = append(rep.escapees, n)
			}
		}
		rep.text = text.String()
		got <- rep
	}()
	var rep report
	select {
	case rep = <-got:
	case <-time.After(3 * r.o.Patience):
		r.t.Fatalf("the owner did not report its trees within %v", 3*r.o.Patience)
	}
	r.record(rep.members...)
	r.record(rep.escapees...)
	r.t.Cleanup(func() { killPids(rep.escapees...) })
	if !rep.ready {
		r.t.Fatalf("the owner ended before it was ready (Wait: %v):\n%s", owner.wait(), rep.text)
	}
	r.aliveNow("a member before its owner's death", rep.members...)

	began := time.Now()
	if err := cmd.Process.Kill(); err != nil {
		r.t.Fatal(err)
	}
	r.waitDead("every member to die with its owner", rep.members...)
	r.t.Logf("owner killed: its %d members in 2 containers and 3 subs dead %v later", len(rep.members), time.Since(began))
	if err := owner.wait(); !killedBy(err, os.Kill) {
		r.t.Errorf("the owner's Wait = %v, want killed", err)
	}
}
