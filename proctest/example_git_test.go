package proctest_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
	"github.com/gotether/tether/proctest"
)

// Git is a small typed wrapper of the git command line, the kind of code
// proctest exists to test: argument building plus parsing, with the
// runner swapped in tests.
type Git struct {
	Runner proc.Runner // nil: proc.DefaultRunner()
	Dir    string      // the work tree
}

func (g Git) command(args ...string) *proc.Cmd {
	c := proc.Command("git", args...).Dir(g.Dir)
	if g.Runner != nil {
		c = c.Runner(g.Runner)
	}
	return c
}

// CurrentBranch returns the checked-out branch ("" when HEAD is
// detached).
func (g Git) CurrentBranch(ctx context.Context) (string, error) {
	return g.command("branch", "--show-current").Run(ctx)
}

// FileStatus is one line of git status: the two-letter code and the path.
type FileStatus struct {
	Code string
	Path string
}

// Status lists the changed and untracked files.
func (g Git) Status(ctx context.Context) ([]FileStatus, error) {
	out, err := g.command("status", "--porcelain=v1").RunBytes(ctx)
	if err != nil {
		return nil, err
	}
	var files []FileStatus
	for line := range strings.Lines(string(out)) {
		line = strings.TrimRight(line, "\n")
		if len(line) > 3 {
			files = append(files, FileStatus{Code: strings.TrimSpace(line[:2]), Path: line[3:]})
		}
	}
	return files, nil
}

var wantStatus = []FileStatus{{Code: "A", Path: "added.txt"}, {Code: "??", Path: "new.txt"}}

func TestGitScripted(t *testing.T) {
	ctx := ctxFor(t)
	s := proctest.NewScript(t)
	s.On("git", "branch", "--show-current").Reply(proctest.Stdout("main\n"))
	s.On("git", "status", "--porcelain=v1").Reply(
		proctest.Stdout("A  added.txt\n?? new.txt\n"),
		proctest.Fail(128, "fatal: not a git repository\n"),
	)
	rec := proctest.NewRecorder(s)
	g := Git{Runner: rec, Dir: "/repo"}

	checkWrapper(ctx, t, g)
	if _, err := g.Status(ctx); err == nil || !strings.Contains(err.Error(), "not a git repository") {
		t.Errorf("Status outside a repository: %v", err)
	}
	rec.AssertCalls(t,
		[]string{"git", "branch", "--show-current"},
		[]string{"git", "status", "--porcelain=v1"},
		[]string{"git", "status", "--porcelain=v1"},
	)
	if c := rec.Calls()[0]; c.Dir != "/repo" {
		t.Errorf("ran in %q", c.Dir)
	}
}

// gitRepo makes a repository with one added and one untracked file, or
// skips the test when git is not installed.
func gitRepo(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skipf("git is not installed (%v); TestGitReplayed covers the wrapper from the cassette", err)
	}
	ctx := ctxFor(t)
	dir, err := filepath.EvalSymlinks(testchild.TempDir(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Join(dir, ".git")) })
	for _, args := range [][]string{{"-c", "init.defaultBranch=main", "init", "-q"}, {"add", "added.txt"}} {
		if args[0] == "add" {
			for _, f := range []string{"added.txt", "new.txt"} {
				if err := os.WriteFile(filepath.Join(dir, f), []byte(f+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := proc.Command("git", args...).Dir(dir).Run(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestGitRecorded runs the wrapper against the real git, recording the
// runs. With TETHER_RECORD=1 it writes testdata/git.json, the cassette
// TestGitReplayed replays; otherwise it records to a temporary file and
// checks that replaying it gives the same answers.
func TestGitRecorded(t *testing.T) {
	repo := gitRepo(t)
	ctx := ctxFor(t)
	path := filepath.Join(testchild.TempDir(t), "git.json")
	if proctest.ModeFromEnv() == proctest.Record {
		path = filepath.Join("testdata", "git.json")
	}
	rec := proctest.NewRecorder(nil)
	cas, err := proctest.OpenCassette(path, proctest.CassetteOptions{
		Mode: proctest.Record, Runner: rec, Scrub: proctest.ReplaceAll(repo, "/repo"),
	})
	if err != nil {
		t.Fatal(err)
	}
	check := func(g Git) {
		t.Helper()
		if b, err := g.CurrentBranch(ctx); err != nil || b != "main" {
			t.Errorf("CurrentBranch: %q, %v", b, err)
		}
		files, err := g.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(wantStatus, files); d != "" {
			t.Errorf("Status (-want +got):\n%s", d)
		}
	}
	check(Git{Runner: cas, Dir: repo})
	rec.AssertCalls(t, []string{"git", "branch", "--show-current"}, []string{"git", "status", "--porcelain=v1"})
	if err := cas.Save(); err != nil {
		t.Fatal(err)
	}
	replay := proctest.UseCassette(t, path, proctest.CassetteOptions{Mode: proctest.Replay})
	check(Git{Runner: replay, Dir: "/repo"})
}

// TestGitReplayed runs the wrapper from the committed cassette: no git
// is needed, and nothing is spawned.
func TestGitReplayed(t *testing.T) {
	ctx := ctxFor(t)
	cas := proctest.UseCassette(t, filepath.Join("testdata", "git.json"), proctest.CassetteOptions{Mode: proctest.Replay})
	g := Git{Runner: cas, Dir: "/repo"}
	checkWrapper(ctx, t, g)
}

// checkWrapper is what each of the three ways of testing the wrapper
// expects from it: the same answers, whoever produced the output.
func checkWrapper(ctx context.Context, t *testing.T, g Git) {
	t.Helper()
	if b, err := g.CurrentBranch(ctx); err != nil || b != "main" {
		t.Errorf("CurrentBranch: %q, %v", b, err)
	}
	files, err := g.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantStatus, files); d != "" {
		t.Errorf("Status (-want +got):\n%s", d)
	}
}
