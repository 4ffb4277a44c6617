package proc_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// Every bad input is a typed error before anything is spawned, and no
// container is left (testchild.Main checks cgroups and processes).
func TestBadInputIsATypedErrorBeforeSpawning(t *testing.T) {
	dir := testchild.TempDir(t)
	noExec := filepath.Join(dir, "noexec")
	if err := os.WriteFile(noExec, []byte("#!/bin/sh\necho hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, patience)
	for _, tc := range []struct {
		name string
		cmd  *proc.Cmd
		is   []error
	}{
		{"missing absolute path", proc.Command(filepath.Join(dir, "nope")), []error{proc.ErrNotFound}},
		{"not on PATH", proc.Command("tether-no-such-program-xyz"), []error{proc.ErrNotFound}},
		{"missing working directory", script("out", "x").Dir(filepath.Join(dir, "gone")), []error{proc.ErrStart, fs.ErrNotExist}},
		{"working directory is a file", script("out", "x").Dir(noExec), []error{proc.ErrStart}},
		{"empty program", proc.Command(""), []error{proc.ErrInvalid}},
		{"NUL in program", proc.Command("a\x00b"), []error{proc.ErrInvalid}},
		{"NUL in argument", script("out", "a\x00b"), []error{proc.ErrInvalid}},
		{"NUL in env value", script().SetEnv("K", "v\x00"), []error{proc.ErrInvalid}},
		{"NUL in env name", script().SetEnv("K\x00", "v"), []error{proc.ErrInvalid}},
		{"= in env name", script().SetEnv("A=B", "v"), []error{proc.ErrInvalid}},
		{"empty env name", script().SetEnv("", "v"), []error{proc.ErrInvalid}},
		{"negative timeout", script().Timeout(-time.Second), []error{proc.ErrInvalid}},
		{"negative grace", script().Grace(os.Interrupt, -time.Second), []error{proc.ErrInvalid}},
		{"negative cap", script().CapStdout(-1, proc.KeepHead), []error{proc.ErrInvalid}},
		{"nil tee", script().Stdout(proc.Tee(nil)), []error{proc.ErrInvalid}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := tc.cmd.Output(ctx)
			if r != nil || err == nil {
				t.Fatalf("Output = %v, %v; want no result and an error", r, err)
			}
			for _, want := range tc.is {
				if !errors.Is(err, want) {
					t.Errorf("error %q does not match %v", err, want)
				}
			}
		})
	}
}

func TestNotExecutableIsAPermissionError(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no execute bit: whether a file runs depends on its extension")
	}
	noExec := filepath.Join(testchild.TempDir(t), "noexec")
	if err := os.WriteFile(noExec, []byte("#!/bin/sh\necho hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := proc.Command(noExec).Output(ctxFor(t, patience))
	if !errors.Is(err, proc.ErrStart) || !errors.Is(err, fs.ErrPermission) || errors.Is(err, proc.ErrNotFound) {
		t.Fatalf("error %v, want ErrStart and fs.ErrPermission", err)
	}
}

func TestNotFoundListsSearchedDirectoriesWithoutPrintingThem(t *testing.T) {
	t.Setenv("PATH", "/secret/one"+string(os.PathListSeparator)+"/secret/two")
	_, err := proc.Command("tether-no-such-program-xyz").Output(ctxFor(t, patience))
	var nf *proc.NotFoundError
	if !errors.As(err, &nf) || !slices.Equal(nf.Searched, []string{"/secret/one", "/secret/two"}) {
		t.Fatalf("error %v, searched %v", err, nf)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("error text shows PATH: %q", err)
	}
}

func TestDirErrorNamesTheDirectoryNotTheProgram(t *testing.T) {
	missing := filepath.Join(testchild.TempDir(t), "private-dir")
	_, err := script("out", "x").Dir(missing).Output(ctxFor(t, patience))
	var de *proc.DirError
	if !errors.As(err, &de) || de.Dir != missing || errors.Is(err, proc.ErrNotFound) {
		t.Fatalf("error %v: want a DirError for %s that is not ErrNotFound", err, missing)
	}
	if strings.Contains(err.Error(), "private-dir") {
		t.Fatalf("error text shows the directory: %q", err)
	}
}

func TestOneShotStdinFailsLoudlyOnSecondRun(t *testing.T) {
	c := script("cat").Stdin(strings.NewReader("once"))
	ctx := ctxFor(t, patience)
	if out, err := c.Run(ctx); err != nil || out != "once" {
		t.Fatalf("first run = %q, %v", out, err)
	}
	// A copy made after Stdin shares the one-shot reader.
	if _, err := c.Timeout(time.Minute).Run(ctx); !errors.Is(err, proc.ErrInvalid) {
		t.Fatalf("second run = %v, want ErrInvalid", err)
	}
}

func TestReusableStdinSources(t *testing.T) {
	ctx := ctxFor(t, patience)
	file := filepath.Join(testchild.TempDir(t), "in")
	if err := os.WriteFile(file, []byte("from file"), 0o600); err != nil {
		t.Fatal(err)
	}
	lines := func(yield func(string) bool) {
		for _, l := range []string{"a", "b"} {
			if !yield(l) {
				return
			}
		}
	}
	for name, c := range map[string]*proc.Cmd{
		"file":   script("cat").StdinFile(file),
		"lines":  script("cat").StdinLines(lines),
		"string": script("cat").StdinString("s"),
	} {
		want := map[string]string{"file": "from file", "lines": "a\nb\n", "string": "s"}[name]
		for i := range 2 { // twice: each run gets its stdin afresh
			if r, err := c.Output(ctx); err != nil || string(r.Stdout) != want {
				t.Fatalf("%s run %d: %q, %v", name, i, r.Stdout, err)
			}
		}
	}
}

func TestEnvironment(t *testing.T) {
	ctx := ctxFor(t, patience)
	t.Setenv("TETHER_TEST_INHERITED", "inh")
	get := func(c *proc.Cmd, name string) string {
		t.Helper()
		out, err := c.WithArgs("env", name).Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if v := get(script(), "TETHER_TEST_INHERITED"); v != "inh" {
		t.Fatalf("inherited = %q", v)
	}
	if v := get(script().SetEnv("X", "1").SetEnv("X", "2"), "X"); v != "2" {
		t.Fatalf("set twice = %q", v)
	}
	if v := get(script().UnsetEnv("TETHER_TEST_INHERITED"), "TETHER_TEST_INHERITED"); v != "" {
		t.Fatalf("unset = %q", v)
	}
	// InheritEnv keeps only the allow-listed names; the helper-mode
	// variables are set again on top by script's SetEnv... so build the
	// command by hand here.
	allow := proc.Command(testchild.Exe(), "env", "TETHER_TEST_INHERITED").InheritEnv("PATH")
	for _, kv := range testchild.EnvVars(testchild.ModeScript) {
		allow = allow.SetEnv(kv[0], kv[1])
	}
	if out, err := allow.Run(ctx); err != nil || out != "" {
		t.Fatalf("allow-list leaked a variable: %q, %v", out, err)
	}
	cleared := proc.Command(testchild.Exe(), "env", "PATH").ClearEnv()
	for _, kv := range testchild.EnvVars(testchild.ModeScript) {
		cleared = cleared.SetEnv(kv[0], kv[1])
	}
	if out, err := cleared.Run(ctx); err != nil || out != "" {
		t.Fatalf("cleared environment still has PATH: %q, %v", out, err)
	}
}

func TestCmdIsImmutableAndPrintsNoSecrets(t *testing.T) {
	base := proc.Command("deploy", "--token", "hunter2")
	longer := base.WithArgs("--force").Timeout(time.Second).SetEnv("K", "v")
	if got := base.Args(); !slices.Equal(got, []string{"--token", "hunter2"}) {
		t.Fatalf("base changed: %v", got)
	}
	if got := longer.Args(); len(got) != 3 {
		t.Fatalf("copy: %v", got)
	}
	for _, s := range []string{base.String(), longer.String()} {
		if strings.Contains(s, "hunter2") || strings.Contains(s, "--token") {
			t.Fatalf("String shows arguments: %q", s)
		}
	}
	if got := longer.String(); got != `proc.Cmd("deploy", 3 args)` {
		t.Fatalf("String = %q", got)
	}
	if got := proc.Command("echo", "it's", "a b", "plain").CommandLine(); got != `echo 'it'\''s' 'a b' plain` {
		t.Fatalf("CommandLine = %q", got)
	}
}
