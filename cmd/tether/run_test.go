package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/contain/host"
	"github.com/gotether/tether/internal/testchild"
)

// asTetherEnv makes the test binary run as the tether command itself:
// the signal and owner-death tests need tether in a process of its own.
// It is removed from the environment before the run, so the program that
// tether starts (the test binary again, in TETHER_TESTCHILD_MODE=script)
// becomes a helper child, not another tether.
const asTetherEnv = "TETHER_TEST_AS_TETHER"

func TestMain(m *testing.M) {
	if os.Getenv(asTetherEnv) != "" {
		_ = os.Unsetenv(asTetherEnv)
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	testchild.Main(m)
}

// syncBuffer is a bytes.Buffer safe to read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// tetherProc is tether running in a process of its own.
type tetherProc struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	wait           func() error
	started        time.Time
}

// startTether starts `tether run args...` as a separate process (the test
// binary as tether), with stdin from stdin (nil: the null device). Every
// process it and its tree start carry this test's owner tag, so the leak
// check at the end of the suite finds any survivor.
func startTether(t *testing.T, stdin io.Reader, args ...string) *tetherProc {
	t.Helper()
	return startTetherWith(t, func(cmd *exec.Cmd) { cmd.Stdin = stdin }, args...)
}

// startTetherWith is startTether with the command adjusted by setup
// before it starts (stdin, working directory, more environment).
func startTetherWith(t *testing.T, setup func(*exec.Cmd), args ...string) *tetherProc {
	t.Helper()
	cmd := exec.Command(testchild.Exe(), append([]string{"run"}, args...)...)
	cmd.Env = append(testchild.ChildEnv(testchild.ModeScript), asTetherEnv+"=1")
	tp := &tetherProc{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = tp.stdout, tp.stderr
	setup(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tp.started = time.Now()
	// If the test fails before tether exits, SIGTERM makes tether tear
	// its tree down; the reaper's kill is the fallback.
	tp.wait = testchild.Reap(t, cmd, func(context.Context) error {
		stopForCleanup(cmd.Process)
		return nil
	})
	return tp
}

// exitCode waits (at most Patience) for tether to exit and returns its
// exit status; -1 when it died of a signal.
func (tp *tetherProc) exitCode(t *testing.T) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- tp.wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &ee):
			return ee.ExitCode()
		}
		t.Fatalf("waiting for tether: %v", err)
	case <-time.After(testchild.Patience):
		t.Fatalf("tether did not exit within %v; stderr:\n%s", testchild.Patience, tp.stderr)
	}
	return -1
}

// runTether runs `tether run args...` to completion in its own process
// and returns its exit status.
func runTether(t *testing.T, stdin io.Reader, args ...string) (int, *tetherProc) {
	t.Helper()
	tp := startTether(t, stdin, args...)
	return tp.exitCode(t), tp
}

// script is the program part of a tether command line: the test binary
// as a ModeScript child running ops.
func script(ops ...string) []string {
	return append([]string{"--", testchild.Exe()}, testchild.Script(ops...)...)
}

// runIn runs `tether run args...` inside the test process, then releases
// what the run held until exit (the caught signals), which tether itself
// never does.
func runIn(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(append([]string{"run"}, args...), &out, &errb)
	releaseHeld()
	return code, out.String(), errb.String()
}

// releaseHeld undoes what the runs in this process held (see
// holdUntilExit).
func releaseHeld() {
	held.Lock()
	release := held.release
	held.release = nil
	held.Unlock()
	for _, f := range release {
		f()
	}
}

func TestRunExitStatusIsTheProgramsOwn(t *testing.T) {
	for _, code := range []int{0, 3, 42} {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			got, tp := runTether(t, nil, script("exit", strconv.Itoa(code))...)
			if got != code {
				t.Fatalf("tether exited %d, want %d; stderr:\n%s", got, code, tp.stderr)
			}
			if tp.stderr.String() != "" {
				t.Errorf("tether wrote to stderr on a plain exit: %q", tp.stderr)
			}
		})
	}
}

func TestRunPassesStdinStdoutAndStderrThrough(t *testing.T) {
	code, tp := runTether(t, strings.NewReader("from stdin\n"),
		script("out", "to stdout\n", "err", "to stderr\n", "cat", "exit", "5")...)
	if code != 5 {
		t.Fatalf("exit %d, want 5; stderr:\n%s", code, tp.stderr)
	}
	if got, want := tp.stdout.String(), "to stdout\nfrom stdin\n"; got != want {
		t.Errorf("stdout %q, want %q", got, want)
	}
	if got, want := tp.stderr.String(), "to stderr\n"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
}

func TestRunNotFoundExits127(t *testing.T) {
	dir := testchild.TempDir(t)
	for _, prog := range []string{"tether-test-no-such-program", filepath.Join(dir, "missing")} {
		code, _, stderr := runIn(t, "--", prog, "arg")
		if code != exitNotFound {
			t.Errorf("%s: exit %d, want 127; stderr %q", prog, code, stderr)
		}
		if !strings.HasPrefix(stderr, "tether: ") || !strings.Contains(stderr, "not found") && !strings.Contains(stderr, "no such file") {
			t.Errorf("%s: stderr %q", prog, stderr)
		}
		if strings.Contains(stderr, dir) {
			// The program name is shown (as proc does), the directory
			// only as part of it; make sure it is nothing more.
			if strings.Count(stderr, dir) != 1 {
				t.Errorf("stderr repeats the path: %q", stderr)
			}
		}
	}
}

// TestRunTetherFailuresExit125 feeds every kind of bad command line. The
// values carry a marker that must never reach stderr: diagnostics name
// flags, never repeat values.
func TestRunTetherFailuresExit125(t *testing.T) {
	exe := testchild.Exe()
	missingDir := filepath.Join(testchild.TempDir(t), "SECRET-dir")
	cases := map[string][]string{
		"no program":            {},
		"only flags":            {"--timeout", "1s"},
		"unknown flag":          {"--bogus", "--", exe},
		"unknown flag value":    {"--bogus=SECRET", "--", exe},
		"flag without value":    {"--timeout"},
		"bad timeout":           {"--timeout", "SECRET", "--", exe},
		"negative timeout":      {"--timeout", "-1s", "--", exe},
		"bad grace":             {"--grace", "SECRET", "--", exe},
		"unknown signal":        {"--signal", "SECRET", "--", exe},
		"unknown signal number": {"--signal", "999", "--", exe},
		"unknown mechanism":     {"--mechanism", "SECRET", "--", exe},
		"bad memory size":       {"--memory-max", "12SECRET", "--", exe},
		"zero memory":           {"--memory-max", "0", "--", exe},
		"bad pids":              {"--pids-max", "SECRET", "--", exe},
		"zero pids":             {"--pids-max", "0", "--", exe},
		"bad cpu":               {"--cpu-max", "SECRET", "--", exe},
		"zero cpu":              {"--cpu-max", "0", "--", exe},
		"bad quiet":             {"--quiet=SECRET", "--", exe},
		"json not writable":     {"--json", filepath.Join(missingDir, "r.json"), "--", exe},
		"bad kill-after":        {"-k", "SECRET", "--", exe},
		"bad attached -k":       {"-kSECRET", "--", exe},
		"unknown signal -s":     {"-s", "SECRET", "--", exe},
		"grace and kill-after":  {"--grace", "1s", "--kill-after", "2s", "--", exe},
		"-k and grace":          {"-k", "1s", "--grace=1s", "--", exe},
		"bad preserve-status":   {"--preserve-status=SECRET", "--", exe},
		"env without =":         {"--env", "SECRET", "--", exe},
		"env empty name":        {"--env", "=SECRET", "--", exe},
		"env NUL":               {"--env", "A=SECRET\x00", "--", exe},
		"empty chdir":           {"--chdir=", "--", exe},
		"missing chdir":         {"--chdir", missingDir, "--", exe},
		"bad uid":               {"--uid", "SECRET", "--", exe},
		"uid -1":                {"--uid", "-1", "--", exe},
		"uid all ones":          {"--uid", "4294967295", "--", exe},
		"bad gid":               {"--gid", "1SECRET", "--", exe},
		"bad nice":              {"--nice", "SECRET", "--", exe},
		"nice too low":          {"--nice", "-21", "--", exe},
		"nice too high":         {"--nice", "20", "--", exe},
		"bad day count":         {"--timeout", "SECRETd", "--", exe},
	}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			code, stdout, stderr := runIn(t, args...)
			if code != exitTether {
				t.Errorf("exit %d, want 125; stderr %q", code, stderr)
			}
			if !strings.HasPrefix(stderr, "tether: ") || strings.Count(stderr, "\n") != 1 {
				t.Errorf("want one diagnostic line prefixed \"tether: \"; got %q", stderr)
			}
			if strings.Contains(stderr, "SECRET") {
				t.Errorf("stderr repeats a value from the command line: %q", stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q", stdout)
			}
			code, _, stderr = runIn(t, append([]string{"--quiet"}, args...)...)
			if code != exitTether || stderr != "" {
				t.Errorf("with --quiet: exit %d, stderr %q; want 125 and nothing", code, stderr)
			}
		})
	}
}

func TestRunHelp(t *testing.T) {
	code, stdout, _ := runIn(t, "--help")
	if code != 0 || !strings.HasPrefix(stdout, "usage: tether run") {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	var out, errb bytes.Buffer
	if run([]string{"help"}, &out, &errb); !strings.Contains(out.String(), "run [flags] -- PROGRAM") {
		t.Errorf("tether help does not list run:\n%s", out.String())
	}
}

func TestRunSizes(t *testing.T) {
	for in, want := range map[string]int64{"1": 1, "512K": 512 << 10, "64M": 64 << 20, "64m": 64 << 20, "1.5G": 3 << 29, "2GiB": 2 << 30, "1T": 1 << 40, "10KB": 10 << 10} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "M", "-1M", "0", "1X", "NaN", "Inf", "1e30T"} {
		if got, err := parseSize(in); err == nil {
			t.Errorf("parseSize(%q) = %d, want an error", in, got)
		}
	}
	day := 24 * time.Hour
	for in, want := range map[string]time.Duration{
		"2s": 2 * time.Second, "2": 2 * time.Second, "0.5": 500 * time.Millisecond, "0": 0, "1m30s": 90 * time.Second,
		// coreutils timeout's suffixes: s, m and h are Go's, d is tether's.
		"1.5m": 90 * time.Second, "2h": 2 * time.Hour, "1d": day, "1.5d": 36 * time.Hour, "0d": 0, ".25d": 6 * time.Hour,
		"2e1d": 20 * day, "106751d": 106751 * day,
	} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"d", "-1d", "1dd", "1d2h", "1D", "106752d", "NaNd", "Infd", "1 d", "1s d"} {
		if got, err := parseDuration(in); err == nil {
			t.Errorf("parseDuration(%q) = %v, want an error", in, got)
		}
	}
}

// TestRunUnusableMechanismExits125 asks for each mechanism this host
// cannot use (jobobject on Linux): tether refuses with the reason, never
// falling back.
func TestRunUnusableMechanismExits125(t *testing.T) {
	ran := 0
	for _, a := range host.Inspect().Backends {
		if a.Usable {
			continue
		}
		ran++
		t.Run(string(a.Mechanism), func(t *testing.T) {
			pidfile := filepath.Join(testchild.TempDir(t), "pids")
			code, _, stderr := runIn(t, append([]string{"--mechanism", string(a.Mechanism)}, script("pids", pidfile)...)...)
			if code != exitTether {
				t.Fatalf("exit %d, want 125; stderr %q", code, stderr)
			}
			if !strings.Contains(stderr, string(a.Mechanism)+" is not usable") || !strings.Contains(stderr, a.Reason) {
				t.Errorf("stderr %q lacks the reason %q", stderr, a.Reason)
			}
			if _, err := os.Stat(pidfile); err == nil {
				t.Error("the program ran")
			}
		})
	}
	if ran == 0 {
		t.Skip("every mechanism is usable on this host")
	}
}

// TestRunUnenforceableLimitExits125: where the default backend cannot
// enforce a limit (on the project's hybrid-cgroup machines it can enforce
// none), tether refuses before spawning, with proc's *contain.LimitError
// reason.
func TestRunUnenforceableLimitExits125(t *testing.T) {
	b := host.Default().Backend
	support := map[contain.LimitKind]contain.LimitSupport{}
	for _, l := range b.Availability().Limits {
		support[l.Kind] = l
	}
	for _, c := range []struct {
		flag, value string
		kind        contain.LimitKind
	}{
		{"--memory-max", "64M", contain.MemoryLimit},
		{"--pids-max", "100", contain.ProcessLimit},
		{"--cpu-max", "0.5", contain.CPULimit},
	} {
		t.Run(c.flag, func(t *testing.T) {
			if s := support[c.kind]; s.Supported {
				t.Skipf("%s can enforce %s limits on this host, so there is no refusal to test", b.Mechanism(), c.kind)
			}
			pidfile := filepath.Join(testchild.TempDir(t), "pids")
			code, _, stderr := runIn(t, append([]string{c.flag, c.value}, script("pids", pidfile)...)...)
			if code != exitTether {
				t.Fatalf("exit %d, want 125; stderr %q", code, stderr)
			}
			if !strings.Contains(stderr, "cannot enforce") || !strings.Contains(stderr, string(b.Mechanism())) {
				t.Errorf("stderr %q does not say which mechanism cannot enforce what", stderr)
			}
			if _, err := os.Stat(pidfile); err == nil {
				t.Error("the program ran although its limit cannot be enforced")
			}
		})
	}
}

// report is the --json file, with every field optional so that null and
// absent can be told apart.
type report map[string]any

func readReport(t *testing.T, path string) report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("--json wrote invalid JSON: %v\n%s", err, b)
	}
	for _, k := range []string{"program", "pid", "mechanism", "exit_code", "signal", "timed_out", "duration_ms", "cpu_ms", "peak_memory_bytes"} {
		if _, ok := r[k]; !ok {
			t.Errorf("--json lacks %q:\n%s", k, b)
		}
	}
	return r
}

func TestRunJSON(t *testing.T) {
	path := filepath.Join(testchild.TempDir(t), "result.json")
	code, tp := runTether(t, nil, append([]string{"--json", path}, script("exit", "3")...)...)
	if code != 3 {
		t.Fatalf("exit %d; stderr:\n%s", code, tp.stderr)
	}
	r := readReport(t, path)
	def := host.Default().Backend
	if r["program"] != testchild.Exe() || r["mechanism"] != string(def.Mechanism()) || r["exit_code"] != 3.0 ||
		r["signal"] != nil || r["timed_out"] != false || r["status"] != 3.0 || r["error"] != nil {
		t.Errorf("report %v", r)
	}
	if pid, ok := r["pid"].(float64); !ok || pid <= 0 {
		t.Errorf("pid %v", r["pid"])
	}
	if d, ok := r["duration_ms"].(float64); !ok || d <= 0 {
		t.Errorf("duration_ms %v", r["duration_ms"])
	}
	if c := r["cpu_ms"]; c != nil {
		if _, ok := c.(float64); !ok {
			t.Errorf("cpu_ms %v", c)
		}
	}
	// Peak memory needs the memory controller (cgroup v2) or a job
	// object; where the default backend cannot limit memory it cannot
	// measure its peak either, and the report must say null, not 0.
	memory := false
	for _, l := range def.Availability().Limits {
		memory = memory || l.Kind == contain.MemoryLimit && l.Supported
	}
	if !memory && r["peak_memory_bytes"] != nil {
		t.Errorf("peak_memory_bytes %v, want null on this host", r["peak_memory_bytes"])
	}
	t.Logf("report: %v", r)
}

// TestRunJSONOnStartFailure: the file is written even when nothing ran,
// with the error and nulls.
func TestRunJSONOnStartFailure(t *testing.T) {
	path := filepath.Join(testchild.TempDir(t), "result.json")
	code, _, _ := runIn(t, "--quiet", "--json", path, "--", "tether-test-no-such-program")
	if code != exitNotFound {
		t.Fatalf("exit %d", code)
	}
	r := readReport(t, path)
	if r["pid"] != nil || r["exit_code"] != nil || r["status"] != 127.0 || r["error"] == nil {
		t.Errorf("report %v", r)
	}
}
