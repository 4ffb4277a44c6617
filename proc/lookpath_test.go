package proc_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// progIn copies the test binary into a fresh directory as a program of
// its own name, found only through that directory.
func progIn(t *testing.T) (dir, name string) {
	t.Helper()
	dir = testchild.TempDir(t)
	name = "tether-lookpath-probe"
	file := name
	if runtime.GOOS == "windows" {
		file += ".exe"
	}
	src, err := os.Open(testchild.Exe())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(filepath.Join(dir, file), os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return dir, name
}

// inScript makes c run as a ModeScript child.
func inScript(c *proc.Cmd) *proc.Cmd {
	for _, kv := range testchild.EnvVars(testchild.ModeScript) {
		c = c.SetEnv(kv[0], kv[1])
	}
	return c
}

// A program named without a path is found in the PATH the child gets:
// SetEnv("PATH", ...) changes where it is found, for every verb, as
// docs/errors.md suggests. Before, only the owner's PATH was searched.
func TestSetEnvPathFindsTheProgram(t *testing.T) {
	ctx := ctxFor(t, patience)
	dir, name := progIn(t)

	if _, err := inScript(proc.Command(name, "out", "x")).Output(ctx); !errors.Is(err, proc.ErrNotFound) {
		t.Fatalf("without the directory on PATH: %v, want ErrNotFound", err)
	}
	c := inScript(proc.Command(name, "out", "found")).SetEnv("PATH", dir)
	if out, err := c.Run(ctx); err != nil || out != "found" {
		t.Fatalf("Run with the child's PATH = %q, %v", out, err)
	}
	if code, err := c.ExitCode(ctx); err != nil || code != 0 {
		t.Fatalf("ExitCode with the child's PATH = %d, %v", code, err)
	}
	p, err := c.Start(ctx)
	if err != nil {
		t.Fatalf("Start with the child's PATH: %v", err)
	}
	if r, err := p.Wait(ctx); err != nil || !r.Success() {
		t.Fatalf("Wait: %+v %v", r, err)
	}
	// A cleared environment with a PATH of its own: the same.
	cleared := inScript(proc.Command(name, "out", "ok").ClearEnv()).SetEnv("PATH", dir)
	if out, err := cleared.Run(ctx); err != nil || out != "ok" {
		t.Fatalf("ClearEnv + PATH: %q, %v", out, err)
	}
	// A relative directory in the child's PATH is never searched: not
	// against the owner's directory, nor against the child's Dir. The
	// program sits in <parent>/<base>, the child runs in <parent> with
	// PATH=<base>, and the owner runs in <parent> too when it can (the
	// test's own directory may be on another drive on Windows).
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	var nf *proc.NotFoundError
	_, err = inScript(proc.Command(name)).Dir(parent).SetEnv("PATH", base).Output(ctx)
	if !errors.As(err, &nf) {
		t.Fatalf("relative PATH entry: %v, want a *NotFoundError", err)
	}
	if rel, err := filepath.Rel(mustGetwd(t), dir); err == nil {
		_, err = inScript(proc.Command(name)).SetEnv("PATH", rel).Output(ctx)
		if !errors.As(err, &nf) {
			t.Fatalf("relative PATH entry %q: %v, want a *NotFoundError", rel, err)
		}
	}
}

func mustGetwd(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}
