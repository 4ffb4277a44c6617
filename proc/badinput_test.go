package proc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/encoding"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
	"github.com/gotether/tether/proc/supervise"
	"github.com/gotether/tether/proctest"
	"github.com/gotether/tether/retry"
)

// badCase is one kind of bad input in TestBadInputCatalogue.
//
// A case with cmd builds a bad command and is fed to every entry point
// that takes a Cmd (badEntryPoints); a case with call calls one entry
// point itself and returns its error. Either way the error must match
// every sentinel in is (errors.Is), none in not, and be every typed error
// in as (errors.As); with ok, the call must succeed instead.
//
// Every command a case builds is the test binary as a helper that counts
// its runs in a file (or, for a program that cannot be the helper, a
// program that could not run anyway), and runs on a backend that counts
// the containers made, closed and started in. A case must leave the run
// count at runs (0: the bad input spawned nothing), every container it
// made closed, and no child placed in one except those runs.
type badCase struct {
	name string
	// skip, if set and not "", is why the case cannot be expressed here.
	skip func() string

	cmd  func(t *testing.T, k *badKit) *proc.Cmd
	call func(t *testing.T, k *badKit) error

	is  []error
	not []error
	as  []any // pointers to typed-error variables, for errors.As
	ok  bool
	// runs is how many times the helper ran during a call case.
	runs int
	// transient: retry.TransientStart retries the error (it says nothing
	// ran, and a retry may succeed). No other bad input may be retried.
	transient bool
	// detachRefused: Detach refuses the command for what it sets (a
	// limit, stdin, a grace, ...) before looking further, with
	// ErrUnsupported instead of the case's error.
	detachRefused bool
}

// TestBadInputCatalogue feeds every public entry point every kind of bad
// input (issue 8, item 5) and checks that each gets a typed error, that
// nothing was spawned for it, and that nothing leaked: no container left
// open, no descriptor (Linux), and, as for every test of the package, no
// goroutine, process or cgroup (testchild.Main checks those at the end).
// docs/errors.md describes every error met here.
func TestBadInputCatalogue(t *testing.T) {
	files := testchild.TempDir(t)
	busy, busyFile := writeExe(t, files, "busy.exe", 0o755, true)
	defer busyFile.Close()
	var noExec string
	if runtime.GOOS != "windows" {
		noExec, _ = writeExe(t, files, "noexec", 0o644, false)
	}
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		k := newBadKit(t, b, busy, noExec)
		k.runs = filepath.Join(k.dir, "runs-warm-up")
		// Whatever opens once and for good (the owner-death watchdog, a
		// cgroup handle) does so now, before the descriptors are counted.
		if _, err := k.script("out", "warm").Output(k.ctx); err != nil {
			t.Fatal("warm-up run:", err)
		}
		if _, err := k.g.Output(k.ctx, k.script("out", "warm")); err != nil {
			t.Fatal("warm-up run in the group:", err)
		}
		fds := openFds(t)
		for i, c := range badCases() {
			t.Run(c.name, func(t *testing.T) {
				if c.skip != nil {
					if why := c.skip(); why != "" {
						t.Skip(why)
					}
				}
				k.runs = filepath.Join(k.dir, "runs-"+strconv.Itoa(i))
				k.ctx = ctxFor(t, 3*patience)
				if c.cmd != nil {
					k.feedEveryEntryPoint(t, c)
					return
				}
				before := k.counts()
				err := c.call(t, k)
				checkBadErr(t, "", err, c.ok, c.is, c.not, c.as, c.transient)
				k.checkCounts(t, "", before, c.runs, false)
			})
		}
		checkFds(t, fds)
	})
}

// badEntryPoints are the entry points that take a Cmd. Each returns the
// error it got; a result it should not have returned (a Result, a
// process, a pid) is an error of the test.
var badEntryPoints = []struct {
	name string
	run  func(ctx context.Context, k *badKit, c *proc.Cmd) error
}{
	{"Output", func(ctx context.Context, _ *badKit, c *proc.Cmd) error {
		r, err := c.Output(ctx)
		return noValue(r, err)
	}},
	{"Run", func(ctx context.Context, _ *badKit, c *proc.Cmd) error {
		out, err := c.Run(ctx)
		return noValue(out, err)
	}},
	{"RunBytes", func(ctx context.Context, _ *badKit, c *proc.Cmd) error {
		out, err := c.RunBytes(ctx)
		return noValue(out, err)
	}},
	{"Exec", func(ctx context.Context, _ *badKit, c *proc.Cmd) error { return c.Exec(ctx) }},
	{"Checked", func(ctx context.Context, _ *badKit, c *proc.Cmd) error {
		r, err := c.Checked(ctx)
		return noValue(r, err)
	}},
	{"ExitCode", func(ctx context.Context, _ *badKit, c *proc.Cmd) error {
		code, err := c.ExitCode(ctx)
		return noValue(code, err)
	}},
	{"Probe", func(ctx context.Context, _ *badKit, c *proc.Cmd) error {
		yes, err := c.Probe(ctx)
		return noValue(yes, err)
	}},
	{"Parse", func(ctx context.Context, _ *badKit, c *proc.Cmd) error {
		n, err := proc.Parse(ctx, c, strconv.Atoi)
		return noValue(n, err)
	}},
	{"Retry", func(ctx context.Context, _ *badKit, c *proc.Cmd) error {
		out, err := c.Retry(retry.Policy{MaxAttempts: 1}).Run(ctx)
		return noValue(out, err)
	}},
	{"Start", func(ctx context.Context, _ *badKit, c *proc.Cmd) error {
		p, err := c.Start(ctx)
		return noProcess(ctx, p, err)
	}},
	{"FirstLine", func(ctx context.Context, _ *badKit, c *proc.Cmd) error {
		l, err := c.FirstLine(ctx, func(proc.Line) bool { return true })
		return noValue(l, err)
	}},
	{"Group.Start", func(ctx context.Context, k *badKit, c *proc.Cmd) error {
		p, err := k.g.Start(ctx, c)
		return noProcess(ctx, p, err)
	}},
	{"Group.Output", func(ctx context.Context, k *badKit, c *proc.Cmd) error {
		r, err := k.g.Output(ctx, c)
		return noValue(r, err)
	}},
	{"OutputAll", func(ctx context.Context, _ *badKit, c *proc.Cmd) error {
		rs, err := proc.OutputAll(ctx, []*proc.Cmd{c}, 1)
		var ie *proc.IndexedError
		if err != nil && (!errors.As(err, &ie) || ie.Index != 0) {
			return fmt.Errorf("test: the error is not an *IndexedError for command 0: %w", err)
		}
		return noValue(rs[0], err)
	}},
	{"Pipe", func(ctx context.Context, k *badKit, c *proc.Cmd) error {
		// The second stage is the counting helper: it must not run
		// either.
		r, err := proc.Pipe(c, k.script()).Output(ctx)
		return noValue(r, err)
	}},
	{"Supervise", func(ctx context.Context, _ *badKit, c *proc.Cmd) error {
		s := supervise.Start(ctx, c, supervise.Options{Restart: supervise.Never})
		wctx, cancel := context.WithTimeout(ctx, patience)
		defer cancel()
		st, err := s.Wait(wctx)
		if wctx.Err() != nil {
			_ = s.Stop(context.Background(), 0)
			return fmt.Errorf("test: the supervision did not end: %+v", st)
		}
		if st.Pid != 0 || st.Last != nil {
			return fmt.Errorf("test: the supervisor ran something: %+v (%w)", st, err)
		}
		return err
	}},
	{"Detach", func(ctx context.Context, _ *badKit, c *proc.Cmd) error {
		pid, err := proc.Detach(ctx, c)
		if pid != 0 {
			testchild.KillPids(pid)
		}
		return noValue(pid, err)
	}},
}

// feedEveryEntryPoint builds c's command and gives it to every entry
// point, each in a subtest.
func (k *badKit) feedEveryEntryPoint(t *testing.T, c badCase) {
	t.Helper()
	cmd := c.cmd(t, k)
	bad := slices.ContainsFunc(c.is, func(s error) bool {
		return errors.Is(s, proc.ErrInvalid) || errors.Is(s, contain.ErrInvalidLimit) || errors.Is(s, proc.ErrUnsupported)
	})
	for _, e := range badEntryPoints {
		t.Run(e.name, func(t *testing.T) {
			before := k.counts()
			err := e.run(k.ctx, k, cmd)
			is, as := c.is, c.as
			switch {
			case e.name == "Detach" && c.detachRefused:
				is, as = []error{proc.ErrUnsupported}, []any{new(*contain.UnsupportedError)}
			case e.name == "Supervise" && bad:
				// No restart can help: it must give up at once.
				is, as = slices.Concat(is, []error{supervise.ErrGaveUp}), slices.Concat(as, []any{new(*supervise.GaveUpError)})
			}
			checkBadErr(t, e.name, err, false, is, c.not, as, c.transient)
			k.checkCounts(t, e.name, before, 0, bad || (e.name == "Detach" && c.detachRefused))
		})
	}
}

func badCases() []badCase {
	invalid := func() []any { return []any{new(*proc.InvalidError)} }
	badLimit := func() []any { return []any{new(*contain.LimitError)} }
	unixOnly := func(why string) func() string {
		return func() string {
			if runtime.GOOS == "windows" {
				return why
			}
			return ""
		}
	}
	windowsOnly := func(why string) func() string {
		return func() string {
			if runtime.GOOS != "windows" {
				return why
			}
			return ""
		}
	}
	validation := []error{proc.ErrStart, proc.ErrNotFound} // never for malformed input
	limit := func(name string, l ...contain.Limit) badCase {
		return badCase{name: name, cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().Limits(l...) },
			is: []error{contain.ErrInvalidLimit}, not: append(validation, proc.ErrContainment), as: badLimit(), detachRefused: true}
	}
	return []badCase{
		// ---- the program ----
		{name: "empty program", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.helper("") },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid()},
		{name: "NUL in the program", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.helper(testchild.Exe() + "\x00x") },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid()},
		{name: "missing program", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.helper(filepath.Join(k.dir, "missing")) },
			is: []error{proc.ErrNotFound, fs.ErrNotExist}, not: []error{proc.ErrStart}, as: []any{new(*proc.NotFoundError)}},
		{name: "program not on PATH", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.helper("tether-no-such-program") },
			is: []error{proc.ErrNotFound, exec.ErrNotFound}, not: []error{proc.ErrStart}, as: []any{new(*proc.NotFoundError)}},
		{name: "program is a directory", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.helper(k.emptyDir) },
			is: []error{proc.ErrStart, fs.ErrPermission}, not: []error{proc.ErrNotFound}, as: []any{new(*proc.StartError)}},
		{name: "program without the execute bit", skip: unixOnly("Windows has no execute bit: whether a file runs depends on its extension"),
			cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.helper(k.noExec) },
			is:  []error{proc.ErrStart, fs.ErrPermission}, not: []error{proc.ErrNotFound}, as: []any{new(*proc.StartError)}},
		{name: "program open for writing",
			cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.helper(k.busy) },
			is:  []error{proc.ErrStart, errBusy()}, not: []error{proc.ErrNotFound}, as: []any{new(*proc.StartError)}, transient: true},
		{name: "argument list too long", skip: tooLongSkip,
			cmd: func(_ *testing.T, k *badKit) *proc.Cmd {
				// 8 MiB: past Linux's limit of a quarter of the stack
				// rlimit (2 MiB by default), past its 6 MiB cap when
				// the stack is unlimited, and far past Windows' 32767
				// characters. The slice shares one string: the bytes
				// are only copied by exec.
				arg := strings.Repeat("a", 1<<10-1)
				return k.script().WithArgs(slices.Repeat([]string{arg}, 8<<10)...)
			},
			is: []error{proc.ErrStart, errTooLong()}, not: []error{proc.ErrNotFound}, as: []any{new(*proc.StartError)}},
		{name: "batch file argument cmd.exe would expand", skip: windowsOnly("only Windows runs a .bat file through cmd.exe"),
			cmd: func(t *testing.T, k *badKit) *proc.Cmd {
				bat := filepath.Join(k.dir, "ran.bat")
				if err := os.WriteFile(bat, []byte("@echo 1> \""+k.runs+"\"\r\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return proc.Command(bat, "%PATH%").Backend(k.b)
			},
			is: []error{proc.ErrInvalid}, not: validation, as: invalid()},

		// ---- arguments, environment, directory ----
		{name: "NUL in an argument", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script("out", "a\x00b") },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid()},
		{name: "NUL in an environment name", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().SetEnv("K\x00", "v") },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid()},
		{name: "NUL in an environment value", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().SetEnv("K", "v\x00w") },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid()},
		{name: "environment entry without a name", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().SetEnv("", "v") },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid()},
		{name: "environment name with =", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().SetEnv("A=B", "v") },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid()},
		{name: "unset of an empty name", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().UnsetEnv("") },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid()},
		{name: "inherit an empty name", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().InheritEnv("PATH", "") },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid()},
		{name: "NUL in the directory", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().Dir(k.emptyDir + "\x00") },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid()},
		{name: "missing directory", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().Dir(filepath.Join(k.dir, "gone")) },
			is: []error{proc.ErrStart, fs.ErrNotExist}, not: []error{proc.ErrNotFound}, as: []any{new(*proc.DirError)}},
		{name: "directory is a file", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().Dir(k.aFile) },
			is: []error{proc.ErrStart, syscall.ENOTDIR}, not: []error{proc.ErrNotFound}, as: []any{new(*proc.DirError)}},

		// ---- durations, caps, callbacks, stdin ----
		{name: "negative timeout", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().Timeout(-1) },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid()},
		{name: "negative grace", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().Grace(os.Kill, -time.Second) },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid(), detachRefused: true},
		{name: "grace without a signal", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().Grace(nil, time.Second) },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid(), detachRefused: true},
		{name: "negative idle timeout", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().IdleTimeout(-time.Second) },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid()},
		{name: "negative capture cap", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().CapStdout(-1, proc.KeepHead) },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid()},
		{name: "unknown cap policy", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().CapStderr(1, proc.CapPolicy(99)) },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid()},
		{name: "negative maximum line", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().MaxLine(-1) },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid()},
		{name: "nil Tee writer", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().Stdout(proc.Tee(nil)) },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid(), detachRefused: true},
		{name: "nil OnLine callback", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().OnLine(nil) },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid(), detachRefused: true},
		{name: "nil stdin reader", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().Stdin(nil) },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid(), detachRefused: true},
		{name: "one-shot stdin reader reused", cmd: func(t *testing.T, k *badKit) *proc.Cmd {
			c := k.script("cat").Stdin(strings.NewReader("once"))
			if out, err := c.Run(k.ctx); err != nil || out != "once" || k.ran() != 1 {
				t.Fatalf("first run: %q, %v, %d runs", out, err, k.ran())
			}
			return c
		}, is: []error{proc.ErrInvalid}, not: validation, as: invalid(), detachRefused: true},

		// ---- limits ----
		limit("memory max zero", contain.MemoryMax(0)),
		limit("memory max negative", contain.MemoryMax(-1)),
		limit("max processes negative", contain.MaxProcesses(-1)),
		limit("cpu quota NaN", contain.CPUQuota(math.NaN())),
		limit("cpu quota +Inf", contain.CPUQuota(math.Inf(1))),
		limit("cpu quota negative", contain.CPUQuota(-1)),
		limit("limit kind twice", contain.MaxProcesses(4), contain.MaxProcesses(5)),
		{name: "NewGroup with an invalid limit", call: func(_ *testing.T, k *badKit) error {
			g, err := proc.NewGroup(k.ctx, proc.GroupOptions{Backend: k.b, Limits: []contain.Limit{contain.CPUQuota(math.NaN())}})
			if g != nil {
				_ = g.Close(k.ctx)
			}
			return err
		}, is: []error{proc.ErrStart, proc.ErrContainment, contain.ErrInvalidLimit}, as: []any{new(*proc.StartError), new(*contain.LimitError)}},

		// ---- options this system cannot honour ----
		{name: "option unsupported here", cmd: func(_ *testing.T, k *badKit) *proc.Cmd {
			if runtime.GOOS == "windows" {
				return k.script().Setsid()
			}
			return k.script().WindowsCreationFlags(0x08000000) // CREATE_NO_WINDOW
		}, is: []error{proc.ErrUnsupported}, not: validation, as: []any{new(*contain.UnsupportedError)}},
		{name: "terminal foreground on Windows", skip: windowsOnly("unix has terminals with a foreground process group"),
			cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().Foreground(os.Stdin) },
			is:  []error{proc.ErrUnsupported}, not: validation, as: []any{new(*contain.UnsupportedError)}, detachRefused: true},
		{name: "terminal foreground with setsid",
			cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().Setsid().Foreground(os.Stdin) },
			is:  []error{proc.ErrInvalid}, not: validation, as: invalid(), detachRefused: true},
		{name: "graceful signal on Windows", skip: windowsOnly("unix can send any signal"),
			cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().Grace(os.Interrupt, time.Second) },
			is:  []error{proc.ErrUnsupported}, not: validation, as: []any{new(*contain.UnsupportedError)}, detachRefused: true},
		{name: "Detach with a timeout", call: func(_ *testing.T, k *badKit) error {
			pid, err := proc.Detach(k.ctx, k.script().Timeout(time.Minute))
			return noValue(pid, err)
		}, is: []error{proc.ErrUnsupported}, not: validation, as: []any{new(*contain.UnsupportedError)}},
		{name: "Detach with a parent-death signal", call: func(_ *testing.T, k *badKit) error {
			pid, err := proc.Detach(k.ctx, k.script().ParentDeathSignal(syscall.SIGKILL))
			return noValue(pid, err)
		}, is: []error{proc.ErrUnsupported}, not: validation, as: []any{new(*contain.UnsupportedError)}},
		{name: "Detach capturing stdout", call: func(_ *testing.T, k *badKit) error {
			pid, err := proc.Detach(k.ctx, k.script().Stdout(proc.Capture()))
			return noValue(pid, err)
		}, is: []error{proc.ErrUnsupported}, not: validation, as: []any{new(*contain.UnsupportedError)}},

		// ---- process attributes ----
		{name: "rlimit soft above hard", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().Rlimit(proc.RlimitCore, 2, 1) },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid()},
		{name: "unknown rlimit", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().Rlimit(proc.Resource(99), 1, 1) },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid()},
		{name: "nice above 19", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().Nice(20) },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid()},
		{name: "nice below -20", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().Nice(-21) },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid()},
		{name: "OOM score adjustment out of range", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().OOMScoreAdj(1001) },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid()},
		{name: "umask beyond the permission bits", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().Umask(0o1022) },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid()},
		{name: "NUL in argv[0]", cmd: func(_ *testing.T, k *badKit) *proc.Cmd { return k.script().Arg0("a\x00b") },
			is: []error{proc.ErrInvalid}, not: validation, as: invalid()},
		{name: "closed extra file", cmd: func(t *testing.T, k *badKit) *proc.Cmd {
			f, err := os.Open(k.aFile)
			if err != nil {
				t.Fatal(err)
			}
			_ = f.Close()
			return k.script().ExtraFiles(f)
		}, is: []error{proc.ErrInvalid}, not: validation, as: invalid()},
		{name: "attribute unsupported here", skip: func() string {
			if runtime.GOOS == "linux" {
				return "Linux gives a child every process attribute"
			}
			return ""
		}, cmd: func(_ *testing.T, k *badKit) *proc.Cmd {
			if runtime.GOOS == "windows" {
				return k.script().Umask(0o022)
			}
			return k.script().Rlimit(proc.RlimitCore, 0, 0)
		}, is: []error{proc.ErrUnsupported}, not: validation, as: []any{new(*contain.UnsupportedError)}},

		// ---- groups ----
		{name: "closed group: Start", call: func(t *testing.T, k *badKit) error {
			g := k.closedGroup(t)
			p, err := g.Start(k.ctx, k.script())
			return noProcess(k.ctx, p, err)
		}, is: []error{proc.ErrClosed, proc.ErrStart}, not: []error{proc.ErrContainment}, as: []any{new(*proc.StartError)}},
		{name: "closed group: Output", call: func(t *testing.T, k *badKit) error {
			r, err := k.closedGroup(t).Output(k.ctx, k.script())
			return noValue(r, err)
		}, is: []error{proc.ErrClosed, proc.ErrStart}, not: []error{proc.ErrContainment}, as: []any{new(*proc.StartError)}},
		{name: "closed group: runner", call: func(t *testing.T, k *badKit) error {
			out, err := k.script().Runner(k.closedGroup(t)).Run(k.ctx)
			return noValue(out, err)
		}, is: []error{proc.ErrClosed, proc.ErrStart}, as: []any{new(*proc.StartError)}},
		{name: "closed group: Adopt", call: func(t *testing.T, k *badKit) error {
			g := k.closedGroup(t)
			cmd := testchild.Command(testchild.ModeSleep)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			wait := testchild.Reap(t, cmd, func(context.Context) error { return cmd.Process.Kill() })
			a, err := g.Adopt(k.ctx, cmd.Process.Pid)
			if !testchild.Alive(cmd.Process.Pid) {
				t.Error("Adopt on a closed group killed the process")
			}
			_ = cmd.Process.Kill()
			_ = wait()
			return noValue(a, err)
		}, is: []error{proc.ErrClosed}},
		{name: "Adopt of the calling process", call: func(_ *testing.T, k *badKit) error {
			a, err := k.g.Adopt(k.ctx, os.Getpid())
			return noValue(a, err)
		}, is: []error{proc.ErrInvalid}, as: invalid()},
		{name: "Adopt of pid 1", call: func(_ *testing.T, k *badKit) error {
			a, err := k.g.Adopt(k.ctx, 1)
			return noValue(a, err)
		}, is: []error{proc.ErrInvalid}, as: invalid()},
		{name: "Adopt of pid 0", call: func(_ *testing.T, k *badKit) error {
			a, err := k.g.Adopt(k.ctx, 0)
			return noValue(a, err)
		}, is: []error{contain.ErrNoSuchProcess}, not: []error{proc.ErrInvalid}, as: []any{new(*contain.NoSuchProcessError)}},
		{name: "Adopt of a negative pid", call: func(_ *testing.T, k *badKit) error {
			a, err := k.g.Adopt(k.ctx, -1)
			return noValue(a, err)
		}, is: []error{contain.ErrNoSuchProcess}, not: []error{proc.ErrInvalid}, as: []any{new(*contain.NoSuchProcessError)}},
		{name: "group killed by Signal: Start", call: func(t *testing.T, k *badKit) error {
			g, err := proc.NewGroup(k.ctx, proc.GroupOptions{Backend: k.b})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := g.Close(k.ctx); err != nil {
					t.Error("Close:", err)
				}
			}()
			if err := g.Signal(os.Kill); err != nil {
				t.Fatal("Signal(os.Kill):", err)
			}
			p, err := g.Start(k.ctx, k.script())
			return noProcess(k.ctx, p, err)
		}, is: []error{proc.ErrClosed, proc.ErrStart}, as: []any{new(*proc.StartError)}},
		{name: "closed group: second Close", call: func(t *testing.T, k *badKit) error {
			return k.closedGroup(t).Close(k.ctx)
		}, ok: true},
		{name: "closed group: Shutdown", call: func(t *testing.T, k *badKit) error {
			rep, err := k.closedGroup(t).Shutdown(k.ctx, time.Second)
			if !rep.Drained || rep.Escalated || rep.Before != 0 {
				t.Errorf("Shutdown of a closed group reports %+v", rep)
			}
			return err
		}, ok: true},

		// ---- a run that has ended ----
		{name: "Wait after Kill", call: func(t *testing.T, k *badKit) error {
			p, err := k.script("block").Start(k.ctx)
			if err != nil {
				t.Fatal(err)
			}
			testchild.Poll(t, patience, "the helper to run", func() bool { return k.ran() == 1 })
			if err := p.Kill(k.ctx); err != nil {
				t.Fatal("Kill:", err)
			}
			r, err := p.Wait(k.ctx)
			if r == nil || r.Outcome != proc.Signaled || r.Signal != "SIGKILL" || r.Success() {
				t.Errorf("Result after Kill: %+v", r)
			}
			return err
		}, ok: true, runs: 1},
		{name: "Kill after the run ended", call: func(t *testing.T, k *badKit) error {
			p, err := k.script("out", "done").Start(k.ctx)
			if err != nil {
				t.Fatal(err)
			}
			<-p.Done()
			err = p.Kill(k.ctx)
			if r, werr := p.Wait(k.ctx); werr != nil || r.Outcome != proc.Exited || r.ExitCode != 0 || r.StdoutText() != "done" {
				t.Errorf("Result after a late Kill: %+v, %v", r, werr)
			}
			return err
		}, ok: true, runs: 1},
		{name: "Signal after the run ended", call: func(t *testing.T, k *badKit) error {
			p, err := k.script().Start(k.ctx)
			if err != nil {
				t.Fatal(err)
			}
			<-p.Done()
			return p.Signal(os.Kill)
		}, is: []error{proc.ErrClosed}, runs: 1},

		{name: "stdin write without InteractiveStdin", call: func(t *testing.T, k *badKit) error {
			p, err := k.script().Start(k.ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Stdin().Write([]byte("x"))
			<-p.Done()
			return err
		}, is: []error{proc.ErrInvalid}, as: invalid(), runs: 1},
		{name: "stdin write after Close", call: func(t *testing.T, k *badKit) error {
			p, err := k.script("cat").InteractiveStdin().Start(k.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Stdin().Close(); err != nil {
				t.Fatal(err)
			}
			err = p.Stdin().WriteLine("late")
			<-p.Done()
			return err
		}, is: []error{proc.ErrClosed}, runs: 1},
		{name: "stdin control character out of range", call: func(t *testing.T, k *badKit) error {
			p, err := k.script("cat").InteractiveStdin().Start(k.ctx)
			if err != nil {
				t.Fatal(err)
			}
			err = p.Stdin().SendControl('1')
			_ = p.Stdin().Close()
			<-p.Done()
			return err
		}, is: []error{proc.ErrInvalid}, as: invalid(), runs: 1},

		// ---- fan-out, wait, pipes, supervision ----
		{name: "OutputAll with a nil Cmd", call: func(t *testing.T, k *badKit) error {
			rs, err := proc.OutputAll(k.ctx, []*proc.Cmd{nil}, 1)
			if len(rs) != 1 || rs[0] != nil {
				t.Errorf("results %v", rs)
			}
			return err
		}, is: []error{proc.ErrInvalid}, not: validation, as: []any{new(*proc.IndexedError), new(*proc.InvalidError)}},
		{name: "OutputAll with a nil Cmd among others", call: func(t *testing.T, k *badKit) error {
			rs, err := proc.OutputAll(k.ctx, []*proc.Cmd{k.script("out", "ran"), nil}, 2)
			var ie *proc.IndexedError
			if len(rs) != 2 || rs[0].StdoutText() != "ran" || rs[1] != nil || !errors.As(err, &ie) || ie.Index != 1 {
				t.Errorf("results %v, error %v: want the first run and command 1 refused", rs, err)
			}
			return err
		}, is: []error{proc.ErrInvalid}, as: []any{new(*proc.IndexedError), new(*proc.InvalidError)}, runs: 1},
		{name: "WaitAny with nothing", call: func(_ *testing.T, k *badKit) error {
			i, r, err := proc.WaitAny(k.ctx)
			if i != -1 || r != nil {
				return fmt.Errorf("test: WaitAny = %d, %v, %w", i, r, err)
			}
			return err
		}, is: []error{proc.ErrInvalid}, as: invalid()},
		{name: "WaitAny with a nil process", call: func(_ *testing.T, k *badKit) error {
			_, _, err := proc.WaitAny(k.ctx, nil)
			return err
		}, is: []error{proc.ErrInvalid}, as: invalid()},
		{name: "WaitAll with a nil process", call: func(_ *testing.T, k *badKit) error {
			rs, err := proc.WaitAll(k.ctx, nil)
			return noValue(rs, err)
		}, is: []error{proc.ErrInvalid}, as: invalid()},
		{name: "Pipe with one stage", call: func(_ *testing.T, k *badKit) error {
			r, err := proc.Pipe(k.script()).Output(k.ctx)
			return noValue(r, err)
		}, is: []error{proc.ErrInvalid}, as: invalid()},
		{name: "Pipe with a nil stage", call: func(_ *testing.T, k *badKit) error {
			r, err := proc.Pipe(k.script(), nil).Output(k.ctx)
			return noValue(r, err)
		}, is: []error{proc.ErrInvalid}, as: invalid()},
		{name: "Pipe with a negative timeout", call: func(_ *testing.T, k *badKit) error {
			r, err := proc.Pipe(k.script(), k.script()).Timeout(-1).Output(k.ctx)
			return noValue(r, err)
		}, is: []error{proc.ErrInvalid}, as: invalid()},
		{name: "Supervise with a negative option", call: func(_ *testing.T, k *badKit) error {
			_, err := supervise.Start(k.ctx, k.script(), supervise.Options{MaxRestarts: -1}).Wait(k.ctx)
			return err
		}, is: []error{supervise.ErrGaveUp, proc.ErrInvalid}, as: []any{new(*supervise.GaveUpError), new(*proc.InvalidError)}},

		// ---- names ----
		{name: "unknown encoding name", call: func(_ *testing.T, _ *badKit) error {
			e, err := encoding.Lookup("no-such-charset")
			return noValue(e, err)
		}, is: []error{encoding.ErrUnknown}, as: []any{new(*encoding.UnknownError)}},
		{name: "empty encoding name", call: func(_ *testing.T, _ *badKit) error {
			e, err := encoding.Lookup("")
			return noValue(e, err)
		}, is: []error{encoding.ErrUnknown}, as: []any{new(*encoding.UnknownError)}},
		{name: "unknown code page", call: func(_ *testing.T, _ *badKit) error {
			e, err := encoding.CodePage(-1)
			return noValue(e, err)
		}, is: []error{encoding.ErrUnknown}, as: []any{new(*encoding.UnknownError)}},

		// ---- cassettes (proctest) ----
		{name: "corrupt cassette", call: func(t *testing.T, k *badKit) error {
			c, err := proctest.OpenCassette(k.file(t, "corrupt.json", `{"version":1,"interactions":[`), proctest.CassetteOptions{Mode: proctest.Replay})
			return noValue(c, err)
		}, as: []any{new(*json.SyntaxError)}},
		{name: "cassette of another version", call: func(t *testing.T, k *badKit) error {
			c, err := proctest.OpenCassette(k.file(t, "v2.json", `{"version":2,"interactions":[]}`), proctest.CassetteOptions{Mode: proctest.Replay})
			return noValue(c, err)
		}, is: []error{proctest.ErrCassetteVersion}, as: []any{new(*proctest.CassetteVersionError)}},
		{name: "missing cassette", call: func(_ *testing.T, k *badKit) error {
			c, err := proctest.OpenCassette(filepath.Join(k.dir, "none.json"), proctest.CassetteOptions{Mode: proctest.Replay})
			return noValue(c, err)
		}, is: []error{fs.ErrNotExist}},
		{name: "cassette without the command", call: func(t *testing.T, k *badKit) error {
			c, err := proctest.OpenCassette(k.file(t, "empty.json", `{"version":1,"interactions":[]}`), proctest.CassetteOptions{Mode: proctest.Replay})
			if err != nil {
				t.Fatal(err)
			}
			r, err := k.script().Runner(c).Output(k.ctx)
			return noValue(r, err)
		}, is: []error{proctest.ErrCassetteMiss}, as: []any{new(*proctest.CassetteMissError)}},
		{name: "symlinked cassette", call: func(t *testing.T, k *badKit) error {
			const content = `{"version":1,"interactions":[]}`
			target := k.file(t, "target.json", content)
			link := filepath.Join(k.dir, "link.json")
			if err := os.Symlink(target, link); err != nil {
				if runtime.GOOS == "windows" {
					t.Skip("no symbolic link here (Windows needs a privilege or developer mode for one):", err)
				}
				t.Fatal(err)
			}
			defer os.Remove(link)
			if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
				t.Skip("Lstat does not report the link as one here (Wine), so nothing can refuse it:", err)
			}
			c, err := proctest.OpenCassette(link, proctest.CassetteOptions{Mode: proctest.Record, Runner: proc.NewRunner(k.b)})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := k.script("out", "x").Runner(c).Output(k.ctx); err != nil {
				t.Fatal(err)
			}
			err = c.Save()
			if b, rerr := os.ReadFile(target); rerr != nil || string(b) != content {
				t.Errorf("the link's target changed: %q, %v", b, rerr)
			}
			return err
		}, is: []error{fs.ErrInvalid}, runs: 1},
	}
}

// badKit is what the cases of one backend share.
type badKit struct {
	ctx context.Context
	b   *countingBackend // every Cmd runs on it
	g   *proc.Group      // a live group, on a countingBackend of its own
	gb  *countingBackend

	dir      string // the cases' files
	emptyDir string // an empty directory
	aFile    string // a regular file
	busy     string // a copy of the test binary held open for writing
	noExec   string // a copy of the test binary without the execute bit

	runs string // the current case's run-count file
}

func newBadKit(t *testing.T, b contain.Backend, busy, noExec string) *badKit {
	t.Helper()
	ctx := ctxFor(t, 10*patience)
	k := &badKit{ctx: ctx, b: &countingBackend{Backend: b}, gb: &countingBackend{Backend: b},
		dir: testchild.TempDir(t), busy: busy, noExec: noExec}
	k.emptyDir = filepath.Join(k.dir, "empty")
	if err := os.Mkdir(k.emptyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	k.aFile = k.file(t, "a-file", "")
	g, err := proc.NewGroup(ctx, proc.GroupOptions{Backend: k.gb})
	if err != nil {
		t.Fatal("NewGroup:", err)
	}
	k.g = g
	t.Cleanup(func() {
		if err := g.Close(ctxFor(t, patience)); err != nil {
			t.Error("closing the group:", err)
		}
		for _, cb := range []*countingBackend{k.b, k.gb} {
			if made, closed := cb.made.Load(), cb.closed.Load(); made != closed {
				t.Errorf("%d containers made, %d released", made, closed)
			}
		}
	})
	return k
}

// script is a helper child that first counts its run in k.runs, then runs
// ops.
func (k *badKit) script(ops ...string) *proc.Cmd {
	return script(append([]string{"failuntil", k.runs, "0"}, ops...)...).Backend(k.b)
}

// helper is script with program in place of the test binary: a copy of
// it, or a program that cannot be run at all.
func (k *badKit) helper(program string) *proc.Cmd {
	c := proc.Command(program, "failuntil", k.runs, "0")
	for _, kv := range testchild.EnvVars(testchild.ModeScript) {
		c = c.SetEnv(kv[0], kv[1])
	}
	return c.Backend(k.b)
}

// ran is how many times a helper of the current case has run.
func (k *badKit) ran() int {
	b, err := os.ReadFile(k.runs)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return n
}

// file writes content to name in k.dir and returns its path.
func (k *badKit) file(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(k.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// closedGroup returns a group, on k.b, that has been closed.
func (k *badKit) closedGroup(t *testing.T) *proc.Group {
	t.Helper()
	g, err := proc.NewGroup(k.ctx, proc.GroupOptions{Backend: k.b})
	if err != nil {
		t.Fatal("NewGroup:", err)
	}
	if err := g.Close(k.ctx); err != nil {
		t.Fatal("Close:", err)
	}
	return g
}

// badCounts is a snapshot of what was spawned and made.
type badCounts struct {
	runs                  int
	made, closed, started int64
}

func (k *badKit) counts() badCounts {
	return badCounts{
		runs:    k.ran(),
		made:    k.b.made.Load() + k.gb.made.Load(),
		closed:  k.b.closed.Load() + k.gb.closed.Load(),
		started: k.b.started.Load() + k.gb.started.Load(),
	}
}

// checkCounts checks what a call did since before: the helper ran runs
// times, each in a container (nothing else was placed in one), every
// container it made is released again, and, for a malformed command
// (nothing), none was made at all.
func (k *badKit) checkCounts(t *testing.T, what string, before badCounts, runs int, nothing bool) {
	t.Helper()
	now := k.counts()
	if what != "" {
		what += ": "
	}
	if got := now.runs - before.runs; got != runs {
		t.Errorf("%sthe helper ran %d times, want %d", what, got, runs)
	}
	if got := now.started - before.started; got != int64(runs) {
		t.Errorf("%s%d children placed in a container, want %d", what, got, runs)
	}
	if made, closed := now.made-before.made, now.closed-before.closed; made != closed {
		t.Errorf("%s%d containers made, %d released", what, made, closed)
	} else if nothing && made != 0 {
		t.Errorf("%s%d containers made for a command refused before spawning", what, made)
	}
}

// checkBadErr checks err against what a case expects.
func checkBadErr(t *testing.T, what string, err error, ok bool, is, not []error, as []any, transient bool) {
	t.Helper()
	if what != "" {
		what += ": "
	}
	if ok {
		if err != nil {
			t.Errorf("%serror %v, want none", what, err)
		}
		return
	}
	if err == nil {
		t.Errorf("%sno error, want one matching %v", what, is)
		return
	}
	for _, s := range is {
		if !errors.Is(err, s) {
			t.Errorf("%serror %q does not match %q", what, err, s)
		}
	}
	for _, s := range not {
		if errors.Is(err, s) {
			t.Errorf("%serror %q matches %q", what, err, s)
		}
	}
	for _, target := range as {
		if !errors.As(err, target) {
			t.Errorf("%serror %q (%T) is not a %v", what, err, err, reflect.TypeOf(target).Elem())
		}
	}
	if got := retry.TransientStart.Retryable(err); got != transient {
		t.Errorf("%sretry.TransientStart.Retryable(%q) = %v, want %v", what, err, got, transient)
	}
}

// noValue returns err, or an error of the test if a failed call returned
// a value besides it.
func noValue[T any](v T, err error) error {
	if err != nil && !reflect.ValueOf(&v).Elem().IsZero() {
		return fmt.Errorf("test: a failed call returned %v besides %w", v, err)
	}
	return err
}

// noProcess is noValue for a started process, which it also kills.
func noProcess(ctx context.Context, p *proc.RunningProcess, err error) error {
	if p == nil {
		return err
	}
	kerr := p.Kill(ctx)
	if err != nil {
		return errors.Join(fmt.Errorf("test: a failed Start returned a process besides %w", err), kerr)
	}
	return err
}

// writeExe copies the test binary to name in dir with mode perm. With
// hold, the copy is written through a handle that is returned still
// open: running the copy fails, the file being busy.
func writeExe(t *testing.T, dir, name string, perm os.FileMode, hold bool) (string, *os.File) {
	t.Helper()
	src, err := os.Open(testchild.Exe())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	p := filepath.Join(dir, name)
	dst, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		t.Fatal(err)
	}
	if hold {
		return p, dst
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return p, nil
}

// errBusy is what running a file open for writing fails with.
func errBusy() error {
	if runtime.GOOS == "windows" {
		return syscall.Errno(32) // ERROR_SHARING_VIOLATION
	}
	return syscall.ETXTBSY
}

// errTooLong is what running an over-long argument list fails with.
func errTooLong() error {
	if runtime.GOOS == "windows" {
		return syscall.Errno(206) // ERROR_FILENAME_EXCED_RANGE
	}
	return syscall.E2BIG
}

func tooLongSkip() string {
	if underWine() {
		return "Wine does not enforce Windows' limit of 32767 characters on a command line: the program runs"
	}
	return ""
}

// underWine reports whether the test runs under Wine (see
// badinput_windows_test.go).
var underWine = func() bool { return false }

// openFds lists the descriptors of this process and what they refer to
// (Linux; nil elsewhere).
func openFds(t *testing.T) map[string]string {
	t.Helper()
	if runtime.GOOS != "linux" {
		return nil
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	fds := make(map[string]string, len(ents))
	for _, e := range ents {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		fds[e.Name()] = target
	}
	return fds
}

// checkFds fails the test if descriptors were opened since before and
// not closed again within patience.
func checkFds(t *testing.T, before map[string]string) {
	t.Helper()
	if before == nil {
		return
	}
	var leaked []string
	deadline := time.Now().Add(patience)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		leaked = leaked[:0]
		for fd, target := range openFds(t) {
			if _, ok := before[fd]; !ok {
				leaked = append(leaked, fd+" -> "+target)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(wait)
	}
	if len(leaked) > 0 {
		slices.Sort(leaked)
		t.Errorf("descriptors left open by the bad inputs: %v", leaked)
	}
}

// countingBackend wraps a backend and counts the containers it makes
// (subs included), releases, and places a child in. A container is
// released by its own Close or by its parent's, which releases every sub
// still open (contain.Container.Sub).
type countingBackend struct {
	contain.Backend
	made, closed, started atomic.Int64
	mu                    sync.Mutex // guards every countingContainer's subs and released
}

func (b *countingBackend) NewContainer(ctx context.Context, opts contain.Options) (contain.Container, error) {
	ct, err := b.Backend.NewContainer(ctx, opts)
	if err != nil {
		return nil, err
	}
	b.made.Add(1)
	return &countingContainer{Container: ct, b: b}, nil
}

type countingContainer struct {
	contain.Container
	b        *countingBackend
	subs     []*countingContainer
	released bool
}

func (c *countingContainer) Start(cmd *exec.Cmd) error {
	err := c.Container.Start(cmd)
	if cmd.Process != nil {
		c.b.started.Add(1) // a child was created, placed or not
	}
	return err
}

func (c *countingContainer) Sub(ctx context.Context, opts contain.Options) (contain.Container, error) {
	sub, err := c.Container.Sub(ctx, opts)
	if err != nil {
		return nil, err
	}
	c.b.made.Add(1)
	s := &countingContainer{Container: sub, b: c.b}
	c.b.mu.Lock()
	c.subs = append(c.subs, s)
	c.b.mu.Unlock()
	return s, nil
}

func (c *countingContainer) Close(ctx context.Context) error {
	err := c.Container.Close(ctx)
	if err == nil {
		c.b.mu.Lock()
		c.release()
		c.b.mu.Unlock()
	}
	return err
}

// release counts c and its subs as released, each once.
func (c *countingContainer) release() {
	if !c.released {
		c.released = true
		c.b.closed.Add(1)
	}
	for _, s := range c.subs {
		s.release()
	}
}
