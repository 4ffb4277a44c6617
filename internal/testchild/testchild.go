// Package testchild makes the test binary its own child process, the way
// os/exec's tests do: Main runs a helper mode when the environment asks for
// one, and Command builds an exec.Cmd that re-executes the binary in such a
// mode. Children behave the same on every OS, and need no tool installed.
//
// Every child carries TETHER_TEST_OWNER=<pid of the test process> in its
// environment, so the suite can prove at the end that none of its
// processes is left behind (on Linux, by scanning /proc).
package testchild

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gotether/tether/internal/forker"
	"github.com/gotether/tether/internal/sysproc"
	"github.com/gotether/tether/internal/watchdog"
)

const (
	modeEnv  = "TETHER_TESTCHILD_MODE"
	ownerEnv = "TETHER_TEST_OWNER"
)

// Main runs the helper mode named in the environment and exits, or, in the
// test process itself, runs the tests and then checks that no goroutine,
// child process or tether-<pid>-* cgroup of its own was left behind. Call
// it from TestMain.
func Main(m *testing.M) { MainWith(m, nil) }

// Helper is a package's own helper mode: it gets the child's arguments
// and returns its exit code.
type Helper func(args []string) int

// MainWith is Main for a package with helper modes of its own (ones that
// need the package under test, which testchild cannot import). Command
// starts them by name like the built-in modes; a name in helpers takes
// precedence.
func MainWith(m *testing.M, helpers map[string]Helper) {
	if mode := os.Getenv(modeEnv); mode != "" {
		if h, ok := helpers[mode]; ok {
			os.Exit(h(os.Args[1:]))
		}
		os.Exit(runMode(mode, os.Args[1:]))
	}
	if owner := os.Getenv(ownerEnv); owner != "" {
		// A child of a test process that lost its helper mode (a Cmd
		// built without testchild's environment) would run the whole
		// suite again, whose tests start children again: a fork bomb.
		fmt.Fprintf(os.Stderr, "testchild: started by test process %s without a helper mode; refusing to run the tests again\n", owner)
		os.Exit(2)
	}
	code := m.Run()
	if code == 0 {
		// The owner-death watchdog legitimately lives as long as the test
		// process. Every registration must have been withdrawn by now;
		// then stopping it (EOF, as at exit) must end it promptly, so
		// that no watchdog outlives the suite. Stopping it also ends the
		// goroutine that reaps it, before goleak looks. Watchdogs of
		// helper owners inherit TETHER_TEST_OWNER and are found by
		// leftovers below.
		if n := watchdog.Registered(); n > 0 {
			fmt.Fprintf(os.Stderr, "testchild: %d watchdog registration(s) left\n", n)
			code = 1
		}
		ctx, cancel := context.WithTimeout(context.Background(), Patience)
		err := watchdog.Stop(ctx)
		cancel()
		if err != nil {
			fmt.Fprintln(os.Stderr, "testchild:", err)
			code = 1
		}
		// The forker's pool lives as long as the process, by design.
		if err := goleak.Find(goleak.IgnoreAnyFunction(forker.WorkerFunc)); err != nil {
			fmt.Fprintln(os.Stderr, "testchild: goroutines leaked:", err)
			code = 1
		}
		if left := leftovers(); len(left) > 0 {
			fmt.Fprintln(os.Stderr, "testchild: left behind:", strings.Join(left, "; "))
			code = 1
		}
	}
	os.Exit(code)
}

// Command returns a command that runs the test binary in helper mode with
// args. Its standard streams are unset (the null device).
func Command(mode string, args ...string) *exec.Cmd {
	cmd := exec.Command(Exe(), args...)
	cmd.Env = ChildEnv(mode)
	return cmd
}

// Exe is the test binary, the program of every helper child.
func Exe() string {
	exe, err := os.Executable()
	if err != nil {
		// Without /proc (a ModeNS root that has none) Linux cannot say;
		// ModeNS started the helper by its absolute path.
		if len(os.Args) > 0 && filepath.IsAbs(os.Args[0]) {
			return os.Args[0]
		}
		panic("testchild: " + err.Error())
	}
	return exe
}

// EnvVars returns the variables that make the test binary run as a helper
// child in mode, as name/value pairs (for APIs that set variables one by
// one, like proc.Cmd.SetEnv).
func EnvVars(mode string) [][2]string {
	owner := os.Getenv(ownerEnv)
	if owner == "" {
		owner = strconv.Itoa(os.Getpid())
	}
	vars := [][2]string{{modeEnv, mode}, {ownerEnv, owner}}
	if os.Getenv("GORACE") == "" {
		vars = append(vars, [2]string{"GORACE", "atexit_sleep_ms=0"})
	}
	return vars
}

// ChildEnv is the environment of a helper child in mode.
func ChildEnv(mode string) []string {
	owner := os.Getenv(ownerEnv)
	if owner == "" {
		owner = strconv.Itoa(os.Getpid())
	}
	return append(CleanEnv(modeEnv, ownerEnv), modeEnv+"="+mode, ownerEnv+"="+owner)
}

// CleanEnv is this process's environment for a re-executed test binary:
// without the variables named in drop, and with GORACE set so that a
// race-enabled child does not sleep a second at exit (its default, to
// wait for late reports), unless GORACE is set already. Children exit on
// purpose, often.
func CleanEnv(drop ...string) []string {
	env := []string{}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if slices.Contains(drop, name) {
			continue
		}
		env = append(env, kv)
	}
	if os.Getenv("GORACE") == "" {
		env = append(env, "GORACE=atexit_sleep_ms=0")
	}
	return env
}

// The helper modes.
const (
	// ModeSleep blocks until killed.
	ModeSleep = "sleep"
	// ModeExit exits with the code in its first argument.
	ModeExit = "exit"
	// ModeTree starts a grandchild, a grandchild that calls setsid and one
	// that calls setpgid (on Windows: a plain and a detached grandchild in
	// a new process group), writes "role pid" lines to the file in its
	// first argument once all are running, and blocks.
	ModeTree = "tree"
	// ModeAppend appends a line to the file in its first argument every
	// millisecond, until killed.
	ModeAppend = "append"
	// ModeSpin burns CPU for the duration in its first argument, then
	// exits 0.
	ModeSpin = "spin"
	// ModeAlloc allocates and touches the number of bytes in its first
	// argument, prints "allocated", and blocks.
	ModeAlloc = "alloc"
	// ModeSpawn starts the number of ModeSleep grandchildren in its first
	// argument; it exits 4 as soon as one fails to start, else blocks.
	ModeSpawn = "spawn"
	// modeEscapee is a grandchild that leaves its parent's group and blocks.
	modeEscapee = "escapee"
)

// treeRoles are the grandchildren ModeTree starts, besides the child: a
// plain one and one per escape role.
var treeRoles = append([]string{"grandchild"}, EscapeRoles...)

func runMode(mode string, args []string) int {
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		fmt.Fprintf(os.Stderr, "testchild: mode %s needs argument %d\n", mode, i+1)
		os.Exit(2)
		return ""
	}
	switch mode {
	case ModeSleep:
		return Block()
	case ModeExit:
		n, _ := strconv.Atoi(arg(0))
		return n
	case ModeTree:
		return runTree(arg(0))
	case modeEscapee:
		if err := Escape(arg(0)); err != nil {
			fmt.Fprintln(os.Stderr, "testchild: escape:", err)
			return 3
		}
		reportEscape()
		return Block()
	case ModeAppend:
		f, err := os.OpenFile(arg(0), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		for i := 0; ; i++ {
			fmt.Fprintf(f, "%d\n", i)
			time.Sleep(time.Millisecond)
		}
	case ModeAlloc:
		n, err := strconv.Atoi(arg(0))
		if err != nil {
			return 2
		}
		buf := make([]byte, n)
		for i := 0; i < n; i += 4096 {
			buf[i] = 1
		}
		fmt.Println("allocated")
		return Block()
	case ModeSpawn:
		n, err := strconv.Atoi(arg(0))
		if err != nil {
			return 2
		}
		for range n {
			if err := Command(ModeSleep).Start(); err != nil {
				fmt.Fprintln(os.Stderr, "testchild: spawn:", err)
				return 4
			}
		}
		return Block()
	case ModeScript:
		return runScript(args)
	case ModeNS:
		return runNS(args)
	case ModeFds, ModeArgv, ModeCreds:
		return runSecurity(mode, args)
	case ModeAttrs:
		return runAttrs()
	case ModeSpin:
		d, err := time.ParseDuration(arg(0))
		if err != nil {
			return 2
		}
		Spin(d)
		return 0
	}
	fmt.Fprintln(os.Stderr, "testchild: unknown mode", mode)
	return 2
}

// escapeReportEnv, when set, names the descriptor an escapee reports on
// instead of stdout (ModeScript's holdsid keeps stdout for holding).
const escapeReportEnv = "TETHER_TESTCHILD_ESCAPE_FD"

func reportEscape() {
	v := os.Getenv(escapeReportEnv)
	if v == "none" {
		return
	}
	if fd, err := strconv.Atoi(v); err == nil {
		f := os.NewFile(uintptr(fd), "escape-report")
		_, _ = f.WriteString("escaped\n")
		_ = f.Close()
		return
	}
	fmt.Println("escaped")
}

// runTree starts the grandchildren and reports every pid.
func runTree(pidfile string) int {
	lines := []string{"child " + strconv.Itoa(os.Getpid())}
	for _, role := range treeRoles {
		cmd := Command(ModeSleep)
		var out io.Reader
		if role != "grandchild" {
			cmd = Command(modeEscapee, role)
			EscapeAtStart(cmd, role)
			out, _ = cmd.StdoutPipe()
		}
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "testchild: start", role, err)
			return 3
		}
		// An escapee reports once it has left the group, so the pid file
		// is written only when the tree is in its final shape.
		if out != nil {
			line, err := bufio.NewReader(out).ReadString('\n')
			if err != nil || line != "escaped\n" {
				fmt.Fprintln(os.Stderr, "testchild: escapee", role, "did not escape:", line, err)
				return 3
			}
		}
		lines = append(lines, role+" "+strconv.Itoa(cmd.Process.Pid))
	}
	// The escapees report success by their pgid/session changing; the test
	// checks that itself. Write atomically so a reader sees all or nothing.
	tmp := pidfile + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		return 3
	}
	if err := os.Rename(tmp, pidfile); err != nil {
		return 3
	}
	return Block()
}

// Tree is the set of pids a ModeTree child reported, by role.
type Tree map[string]int

// Pids returns every pid of the tree.
func (tr Tree) Pids() []int {
	out := make([]int, 0, len(tr))
	for _, p := range tr {
		out = append(out, p)
	}
	return out
}

// PidFile returns a fresh path, in TempDir, for a ModeTree pid file.
func PidFile(t testing.TB) string {
	return filepath.Join(TempDir(t), "tree.pids")
}

// TempDir stands in for t.TempDir, whose cleanup fails under Wine 8: Go
// 1.26's os.RemoveAll deletes through a call Wine does not implement
// ("unlinkat ...: Invalid function"), while os.Remove works. The
// directory is flat: the helpers write files, never subdirectories.
func TempDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tether-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
		if err := os.Remove(dir); err != nil {
			t.Errorf("removing the test's temporary directory: %v", err)
		}
	})
	return dir
}

// WaitTree polls pidfile until the tree has reported every pid, or fails
// the test after timeout.
func WaitTree(t testing.TB, pidfile string, timeout time.Duration) Tree {
	t.Helper()
	return pollPids(t, pidfile, timeout, "tree pid file", func(tr Tree) bool { return len(tr) == 1+len(treeRoles) })
}

// ReadPidFile polls until the "role pid" file at path exists (written
// atomically by ModeTree or ModeScript's pids op) and returns its lines.
func ReadPidFile(t testing.TB, path string, timeout time.Duration) Tree {
	t.Helper()
	return pollPids(t, path, timeout, "pid file", func(tr Tree) bool { return tr != nil })
}

// pollPids reads the "role pid" file at path until complete says its
// lines are all there, or fails the test after timeout.
func pollPids(t testing.TB, path string, timeout time.Duration, what string, complete func(Tree) bool) Tree {
	t.Helper()
	var tr Tree
	Poll(t, timeout, what, func() bool {
		tr = readPids(t, path)
		return complete(tr)
	})
	return tr
}

// TryReadPidFile returns the lines of the "role pid" file at path, or nil
// while it does not exist yet.
func TryReadPidFile(t testing.TB, path string) Tree {
	t.Helper()
	return readPids(t, path)
}

// readPids parses a "role pid" file, or returns nil while it is absent.
func readPids(t testing.TB, path string) Tree {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	tr := Tree{}
	for _, ln := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		role, p, ok := strings.Cut(ln, " ")
		n, err := strconv.Atoi(p)
		if !ok || err != nil {
			t.Fatalf("bad pid file line %q", ln)
		}
		tr[role] = n
	}
	return tr
}

// Poll calls cond until it returns true, or fails the test after timeout.
func Poll(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for wait := time.Millisecond; ; wait = min(wait*2, 50*time.Millisecond) {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(wait)
	}
}

// WaitDead polls until every pid is dead (a zombie counts as dead).
func WaitDead(t testing.TB, timeout time.Duration, pids ...int) {
	t.Helper()
	Poll(t, timeout, fmt.Sprintf("pids %v to die", pids), func() bool {
		for _, p := range pids {
			if sysproc.Alive(p) {
				return false
			}
		}
		return true
	})
}

// Alive is sysproc.Alive, for tests.
func Alive(pid int) bool { return sysproc.Alive(pid) }

// KillPids kills pids this test started itself (escapees), by pid, and
// registers nothing. Errors for already-dead pids are ignored.
func KillPids(pids ...int) {
	for _, p := range pids {
		if pr, err := os.FindProcess(p); err == nil {
			_ = pr.Kill()
			_ = pr.Release()
		}
	}
}

// Block parks a child until it is killed. A bare select {} would not:
// with no other goroutine and no timer the runtime declares a deadlock and
// exits 2 (only a race-enabled binary, whose runtime keeps a helper
// thread, survives it). A pending timer keeps the deadlock check quiet.
func Block() int {
	for {
		time.Sleep(time.Hour)
	}
}

// Spin burns CPU for d.
func Spin(d time.Duration) {
	x := 0
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := range 100000 {
			x += i
		}
	}
	_ = x
}
