//go:build windows

package proc_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// forwarder is a batch file that passes its arguments (%*) on to the test
// binary in ModeArgv, which reports them exactly as it parsed them (by
// the CommandLineToArgvW rules, like most Windows programs): a batch
// file that wraps a program, the common kind (npm.cmd and the like).
const forwarder = "@echo off\r\n\"%TETHER_SECURITY_EXE%\" %*\r\n"

// batch is a Cmd running the batch file at path with args, whose ModeArgv
// helper reports them.
func batch(path string, args ...string) *proc.Cmd {
	c := proc.Command(path, args...).SetEnv("TETHER_SECURITY_EXE", testchild.Exe())
	for _, kv := range testchild.EnvVars(testchild.ModeArgv) {
		c = c.SetEnv(kv[0], kv[1])
	}
	return c
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
}

// subdir makes a directory in a testchild.TempDir (which removes only
// files) and removes it, with its files, before that cleanup runs.
func subdir(t *testing.T, parent, name string) string {
	t.Helper()
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
		_ = os.Remove(dir)
	})
	return dir
}

// Windows runs a .bat or .cmd file through cmd.exe, which parses its
// command line by its own rules: & | < > ^ ( ) run commands, redirect or
// vanish, and %VAR% expands. os/exec quotes arguments for
// CommandLineToArgvW only, so with it `a b" & echo X > f & "` runs the
// echo (measured under Wine 8; Go refuses no argument). tether starts
// cmd.exe itself with every such argument quoted: each one below reaches
// the program the batch file passes %* to byte for byte, and nothing
// runs. What quoting cannot protect ('"', '%', line breaks and other
// control characters) is refused before spawning with an *InvalidError
// that does not show the argument.
//
// Wine 8's cmd.exe was measured to agree with Windows on everything
// tested here; where it differs (it keeps a line feed inside quotes,
// which Windows' cmd.exe treats as the end of the command), tether
// refuses the argument anyway.
func TestSecurityBatchArgumentsAreQuotedOrRefused(t *testing.T) {
	dir := testchild.TempDir(t)
	marker := filepath.Join(dir, "INJECTED")
	accepted := []string{
		"plain", "two words", "",
		"& echo INJECTED > " + marker,
		"x&echo.>" + marker,
		"x|echo.>" + marker,
		"x||echo.>" + marker,
		"x&&echo.>" + marker,
		"a>" + marker,
		"a<nul", "a^b", "^", "^^", "a^", "(x)", ")", "a;b", "a,b", "a=b", " a ",
		"!OS!", "!", "!!", `tr\`, `tr\\`, `two words\`, `\\server\share`, `C:\Program Files\x\`,
		"a\tb", "é ü 世界", "--flag=1", "/c", "/?", "@echo", "*", "?", "'", "~", "[x]", "{x}", "$x", "`x`",
	}
	refused := []string{
		"%PATH%", "%OS%", "100%", "%", `a"b`, `"`, `""`, `"&echo.>` + marker,
		`a b" & echo INJECTED > ` + marker + ` & "`,
		"a\nb", "a\rb", "a\x1bb", "\x7f",
	}

	plain := filepath.Join(dir, "forward.bat")
	writeFile(t, plain, forwarder)
	upper := filepath.Join(dir, "FORWARD2.CMD")
	writeFile(t, upper, forwarder)
	odd := subdir(t, dir, "odd & (dir) ^ !x! ; , =")
	inOdd := filepath.Join(odd, "forward.bat")
	writeFile(t, inOdd, forwarder)
	programs := map[string]*proc.Cmd{
		".bat":                    batch(plain),
		"upper-case .CMD":         batch(upper),
		"found on PATH":           batch("forward"),
		"metacharacters in path":  batch(inOdd),
		"relative to Dir":         batch(`.\forward.bat`).Dir(dir),
		"relative to Dir, nested": batch(filepath.Join(filepath.Base(odd), "forward.bat")).Dir(dir),
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	ctx := ctxFor(t, patience)
	for name, c := range programs {
		t.Run(name, func(t *testing.T) {
			rep := oneReport(t, c.WithArgs(accepted...))
			got, err := rep.DecodedArgs()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, accepted) {
				for i := range max(len(got), len(accepted)) {
					var g, w string
					if i < len(got) {
						g = got[i]
					}
					if i < len(accepted) {
						w = accepted[i]
					}
					if g != w {
						t.Errorf("argument %d = %q, want %q", i, g, w)
					}
				}
				t.Fatalf("got %d arguments, want %d", len(got), len(accepted))
			}
			for _, a := range refused {
				r, err := c.WithArgs("ok", a).Output(ctx)
				var ie *proc.InvalidError
				if r != nil || !errors.Is(err, proc.ErrInvalid) || !errors.As(err, &ie) {
					t.Errorf("argument %q: Output = %v, %v; want an *InvalidError", a, r, err)
					continue
				}
				if strings.Contains(err.Error(), a) && strings.Trim(a, `"%`) != "" {
					t.Errorf("argument %q: the error shows it: %v", a, err)
				}
			}
			if _, err := os.Stat(marker); err == nil {
				t.Fatal("an argument ran a command: the marker file exists")
			}
		})
	}
}

// Windows drops trailing dots and spaces from file names, so "x.bat."
// names x.bat, and a check of the extension alone would miss it. Either
// the path is not found, or it runs as the batch file it is, quoted.
func TestSecurityBatchFileWithTrailingDotIsStillQuoted(t *testing.T) {
	dir := testchild.TempDir(t)
	marker := filepath.Join(dir, "INJECTED")
	path := filepath.Join(dir, "forward.bat")
	writeFile(t, path, forwarder)
	for _, p := range []string{path + ".", path + " ", path + ". ."} {
		args := []string{"x&echo.>" + marker, "a b"}
		r, err := batch(p, args...).Output(ctxFor(t, patience))
		switch {
		case errors.Is(err, proc.ErrNotFound):
			t.Logf("%q: not found (%v)", p, err)
			continue
		case err != nil:
			t.Fatalf("%q: %v", p, err)
		}
		reps, err := testchild.ParseReports(r.Stdout)
		if err != nil || len(reps) != 1 {
			t.Fatalf("%q: reports %v, %v from %q (stderr %q)", p, reps, err, r.Stdout, r.Stderr)
		}
		got, _ := reps[0].DecodedArgs()
		if !slices.Equal(got, args) {
			t.Errorf("%q: arguments %q, want %q", p, got, args)
		}
		if _, err := os.Stat(marker); err == nil {
			t.Fatalf("%q: an argument ran a command", p)
		}
	}
}

// A batch file whose path holds '%' is refused: cmd.exe would expand it.
func TestSecurityBatchPathWithPercentIsRefused(t *testing.T) {
	dir := subdir(t, testchild.TempDir(t), "p%OS%q")
	path := filepath.Join(dir, "forward.bat")
	writeFile(t, path, forwarder)
	r, err := batch(path, "x").Output(ctxFor(t, patience))
	if r != nil || !errors.Is(err, proc.ErrInvalid) {
		t.Fatalf("Output = %v, %v; want ErrInvalid", r, err)
	}
}
