package proc_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// The security guarantees of docs/security.md, tested on real processes.
// security_linux_test.go has the descriptor and credential tests,
// security_windows_test.go the batch-file ones.

// oneReport runs c (a security helper child) and returns its one report.
func oneReport(t *testing.T, c *proc.Cmd) testchild.Report {
	t.Helper()
	r, err := c.Output(ctxFor(t, patience))
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome != proc.Exited || r.ExitCode != 0 {
		t.Fatalf("helper ended %v (code %d), stderr %q", r.Outcome, r.ExitCode, r.Stderr)
	}
	reps, err := testchild.ParseReports(r.Stdout)
	if err != nil || len(reps) != 1 {
		t.Fatalf("reports %v, %v from %q: want one", reps, err, r.Stdout)
	}
	return reps[0]
}

// No shell stands between tether and the program: words a shell would
// act on reach the child byte for byte, nothing they describe runs, and
// the child's parent is this process itself.
func TestSecurityNoShellArgumentsArriveByteExact(t *testing.T) {
	dir := testchild.TempDir(t)
	// Something for a glob to match, were there a shell to expand it.
	if err := os.WriteFile(filepath.Join(dir, "a.txt"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	marker := func(n string) string { return filepath.Join(dir, "ran-"+n) }
	args := []string{
		"; touch " + marker("semicolon"),
		"$(touch " + marker("subst") + ")",
		"`touch " + marker("backtick") + "`",
		"| touch " + marker("pipe"),
		"&& touch " + marker("and"),
		"|| touch " + marker("or"),
		"\ntouch " + marker("newline"),
		"'; touch " + marker("squote") + "; '",
		`"; touch ` + marker("dquote") + `; "`,
		"> " + marker("redirect"),
		"& echo x > " + marker("amp"),
		"x&echo.>" + marker("cmdamp"),
		"*.txt", "*", "?", "[a]*", "~", "~root",
		"$HOME", "${PATH}", "%PATH%", "!OS!", "^", "a^b",
		`\`, `tr\`, `\\server\share`, `a\"b`, `"`, `""`, "'",
		"", " ", "\t", "two words", "--help", "-rf",
		"rm -rf x; echo done",
		"é ü 世界",
		strings.Repeat("long ", 4000),
	}
	if runtime.GOOS != "windows" {
		// Windows passes arguments as UTF-16: only valid text survives.
		args = append(args, "\xff\xfe invalid UTF-8", "\x01\x7f control")
	}
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		rep := oneReport(t, child(testchild.ModeArgv, args...).Dir(dir).Backend(b))
		got, err := rep.DecodedArgs()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, args) {
			for i := range max(len(got), len(args)) {
				var g, w string
				if i < len(got) {
					g = got[i]
				}
				if i < len(args) {
					w = args[i]
				}
				if g != w {
					t.Errorf("argument %d = %q, want %q", i, g, w)
				}
			}
			t.Fatalf("got %d arguments, want %d", len(got), len(args))
		}
		if rep.Ppid != os.Getpid() {
			t.Errorf("child's parent is %d, want this process %d: something stood in between", rep.Ppid, os.Getpid())
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "ran-") {
				t.Errorf("%s exists: a shell ran a command from an argument", e.Name())
			}
		}
	})
}

// writeDotProgram writes a program named secprog (secprog.bat on Windows)
// into dir that prints "ran" and creates ran.marker in its working
// directory.
func writeDotProgram(t *testing.T, dir string) {
	t.Helper()
	name, body := "secprog", "#!/bin/sh\necho ran > ran.marker\necho ran\n"
	if runtime.GOOS == "windows" {
		name, body = "secprog.bat", "@echo off\r\necho ran>ran.marker\r\necho ran\r\n"
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
}

// A PATH lookup that would find the program through "." or an empty (or
// any relative) PATH entry, that is relative to the working directory,
// is refused with an error matching exec.ErrDot and spawns nothing; an
// explicit ./ path runs the same program, relative to Dir when one is
// set, as with os/exec. Windows also searches the current directory
// before PATH by default, which is refused the same.
func TestSecurityPathLookupRefusesDot(t *testing.T) {
	dir := testchild.TempDir(t)
	writeDotProgram(t, dir)
	elsewhere := testchild.TempDir(t)
	t.Chdir(dir)
	sep := string(os.PathListSeparator)
	paths := map[string]string{
		"dot":           ".",
		"dot among":     elsewhere + sep + "." + sep + elsewhere,
		"leading empty": sep + elsewhere,
		"trailing":      elsewhere + sep,
		"inner empty":   elsewhere + sep + sep + elsewhere,
		"dot slash":     "." + string(filepath.Separator),
	}
	if runtime.GOOS == "windows" {
		// Not on PATH at all: found in the current directory only.
		paths["implicit current directory"] = elsewhere
	}
	ctx := ctxFor(t, patience)
	for name, path := range paths {
		t.Run(name, func(t *testing.T) {
			t.Setenv("PATH", path)
			for _, c := range []*proc.Cmd{proc.Command("secprog"), proc.Command("secprog").Dir(elsewhere)} {
				r, err := c.Output(ctx)
				var nf *proc.NotFoundError
				if r != nil || !errors.Is(err, exec.ErrDot) || !errors.Is(err, proc.ErrNotFound) || !errors.As(err, &nf) {
					t.Fatalf("Output = %v, %v; want a *NotFoundError matching exec.ErrDot", r, err)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "ran.marker")); err == nil {
				t.Fatal("the program ran")
			}
		})
	}
	prog := "." + string(filepath.Separator) + "secprog"
	if runtime.GOOS == "windows" {
		prog += ".bat"
	}
	t.Setenv("PATH", ".")
	for _, where := range []string{"in its directory", "relative to Dir"} {
		c := proc.Command(prog)
		if where == "relative to Dir" {
			// As os/exec has it: a relative path is relative to Dir.
			t.Chdir(elsewhere)
			c = c.Dir(dir)
		}
		out, err := c.Run(ctx)
		if err != nil || out != "ran" {
			t.Fatalf("explicit %s %s: %q, %v", prog, where, out, err)
		}
		marker := filepath.Join(dir, "ran.marker")
		if _, err := os.Stat(marker); err != nil {
			t.Fatalf("explicit %s %s did not run: %v", prog, where, err)
		}
		if err := os.Remove(marker); err != nil {
			t.Fatal(err)
		}
	}
}
