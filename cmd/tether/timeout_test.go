package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gotether/tether/internal/testchild"
)

// attrsOf runs the test binary as a ModeAttrs helper under tether with
// extra flags (the mode set through tether's own --env) and returns what
// it reports about itself.
func attrsOf(t *testing.T, flags ...string) testchild.Report {
	t.Helper()
	args := append(flags, "--env", "TETHER_TESTCHILD_MODE="+testchild.ModeAttrs, "--", testchild.Exe())
	code, tp := runTether(t, nil, args...)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, tp.stderr)
	}
	var r testchild.Report
	if err := json.Unmarshal([]byte(tp.stdout.String()), &r); err != nil {
		t.Fatalf("the helper's report %q: %v", tp.stdout, err)
	}
	return r
}

// TestRunEnv: --env sets a variable in the program's environment, over
// an inherited one, in order (the last of a name wins); the value may
// hold "=".
func TestRunEnv(t *testing.T) {
	t.Setenv("TETHER_TEST_INHERITED", "from tether")
	code, tp := runTether(t, nil, append([]string{"--env", "TETHER_TEST_A=one", "--env=TETHER_TEST_A=two=2", "--env", "TETHER_TEST_INHERITED=over"},
		script("env", "TETHER_TEST_A", "out", "|", "env", "TETHER_TEST_INHERITED")...)...)
	if code != 0 || tp.stdout.String() != "two=2|over" {
		t.Fatalf("exit %d, stdout %q; want 0 and %q; stderr:\n%s", code, tp.stdout, "two=2|over", tp.stderr)
	}
}

// TestRunEnvPATHFindsTheProgram: a bare program name is looked up in the
// PATH --env gives the program, not in tether's own.
func TestRunEnvPATHFindsTheProgram(t *testing.T) {
	dir := testchild.TempDir(t)
	name := "tether-test-envpath"
	file := name
	if runtime.GOOS == "windows" {
		file += ".exe"
	}
	linkOrCopy(t, testchild.Exe(), filepath.Join(dir, file))
	code, tp := runTether(t, nil, "--env", "PATH="+dir, "--", name, "exit", "7")
	if code != 7 {
		t.Fatalf("with --env PATH: exit %d, want 7 (the program, found in that PATH); stderr:\n%s", code, tp.stderr)
	}
	if code, tp = runTether(t, nil, "--", name, "exit", "7"); code != exitNotFound {
		t.Fatalf("without --env PATH: exit %d, want 127; stderr:\n%s", code, tp.stderr)
	}
}

// linkOrCopy puts the file src at dst: a hard link where the file system
// allows one, a copy elsewhere. On Windows always a copy: a link to the
// running test binary's image cannot be removed while it runs, so the
// temporary directory could not be.
func linkOrCopy(t *testing.T, src, dst string) {
	t.Helper()
	if runtime.GOOS != "windows" && os.Link(src, dst) == nil {
		return
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestRunChdir: --chdir is the program's working directory; a directory
// that does not exist fails with 125 before anything is spawned, naming
// the flag, not the path.
func TestRunChdir(t *testing.T) {
	dir := testchild.TempDir(t)
	r := attrsOf(t, "--chdir", dir)
	want, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := filepath.EvalSymlinks(r.Cwd); !strings.EqualFold(got, want) {
		t.Errorf("the program ran in %q (%q), want %q", r.Cwd, got, want)
	}

	missing := filepath.Join(dir, "SECRET-missing")
	pidfile := filepath.Join(dir, "pids")
	code, stdout, stderr := runIn(t, append([]string{"--chdir", missing}, script("pids", pidfile)...)...)
	if code != exitTether || stdout != "" {
		t.Fatalf("missing --chdir: exit %d, stdout %q; want 125; stderr %q", code, stdout, stderr)
	}
	if !strings.HasPrefix(stderr, "tether: cannot run ") || !strings.Contains(stderr, "--chdir directory") || strings.Contains(stderr, "SECRET") {
		t.Errorf("missing --chdir: stderr %q; want the flag named, not the path", stderr)
	}
	if _, err := os.Stat(pidfile); err == nil {
		t.Error("the program ran although its --chdir directory is missing")
	}
}
