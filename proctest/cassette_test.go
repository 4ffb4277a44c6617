package proctest_test

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
	"github.com/gotether/tether/proctest"
)

// noSuchProgram is not installed anywhere: replaying it proves that a
// replay spawns nothing.
const noSuchProgram = "tether-proctest-no-such-program"

// recordScripted records a cassette of scripted runs (nothing real runs)
// and returns its path.
func recordScripted(t *testing.T, scrub func(*proctest.Interaction)) string {
	t.Helper()
	ctx := ctxFor(t)
	s := proctest.NewScript(t)
	s.On(noSuchProgram, "count").Reply(proctest.Stdout("1\n"), proctest.Stdout("2\n"))
	s.On(noSuchProgram, "fail").Reply(proctest.Fail(4, "bad\n"))
	s.On(noSuchProgram, "bin").Reply(proctest.Stdout("\xff\x00ok"))
	s.OnPrefix(noSuchProgram, "stdin").Reply(proctest.Stdout("read"))
	s.On(noSuchProgram, "stream").Reply(proctest.Stream(proctest.StdoutLine("a"), proctest.StdoutLine("b")))
	s.On("ffmpeg").Reply(proctest.NotFound())
	path := filepath.Join(testchild.TempDir(t), "c.json")
	cas, err := proctest.OpenCassette(path, proctest.CassetteOptions{Mode: proctest.Record, Runner: s, Scrub: scrub})
	if err != nil {
		t.Fatal(err)
	}
	run := func(c *proc.Cmd) {
		t.Helper()
		if _, err := c.Runner(cas).Output(ctx); err != nil && !errors.Is(err, proc.ErrNotFound) {
			t.Fatal(err)
		}
	}
	run(proc.Command(noSuchProgram, "count").SetEnv("API_TOKEN", "s3cret-value"))
	run(proc.Command(noSuchProgram, "count"))
	run(proc.Command(noSuchProgram, "fail"))
	run(proc.Command(noSuchProgram, "bin"))
	run(proc.Command(noSuchProgram, "stdin", "--token=s3cret-value").StdinString("hello"))
	run(proc.Command("ffmpeg"))
	p, err := proc.Command(noSuchProgram, "stream").Runner(cas).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	// The recording of a started run lands once it has ended.
	testchild.Poll(t, patience, "the started run to be recorded", func() bool { return len(cas.Interactions()) == 7 })
	if err := cas.Save(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCassetteReplaysWithoutSpawning(t *testing.T) {
	if _, err := exec.LookPath(noSuchProgram); err == nil {
		t.Fatalf("%s exists on PATH", noSuchProgram)
	}
	ctx := ctxFor(t)
	path := recordScripted(t, nil)
	cas := proctest.UseCassette(t, path, proctest.CassetteOptions{Mode: proctest.Replay})
	var outs []string
	for range 3 {
		out, err := proc.Command(noSuchProgram, "count").Runner(cas).Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out)
	}
	if strings.Join(outs, ",") != "1,2,2" {
		t.Errorf("a command recorded twice replays %v, want 1,2,2", outs)
	}
	if code, err := proc.Command(noSuchProgram, "fail").Runner(cas).ExitCode(ctx); err != nil || code != 4 {
		t.Errorf("fail: %d, %v", code, err)
	}
	if b, err := proc.Command(noSuchProgram, "bin").Runner(cas).RunBytes(ctx); err != nil || string(b) != "\xff\x00ok" {
		t.Errorf("binary output: %q, %v", b, err)
	}
	if out, err := proc.Command(noSuchProgram, "stdin", "--token=s3cret-value").StdinString("hello").Runner(cas).Run(ctx); err != nil || out != "read" {
		t.Errorf("stdin: %q, %v", out, err)
	}
	if _, err := proc.Command("ffmpeg").Runner(cas).Output(ctx); !errors.Is(err, proc.ErrNotFound) {
		t.Errorf("not found: %v", err)
	}
	p, err := proc.Command(noSuchProgram, "stream").Runner(cas).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for l := range p.StdoutLines() {
		lines = append(lines, l.Text)
	}
	if strings.Join(lines, ",") != "a,b" {
		t.Errorf("streamed lines: %v", lines)
	}
}

func TestCassetteFileIsPrivateVersionedAndHasNoEnvValues(t *testing.T) {
	path := recordScripted(t, nil)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{`"version": 1`, `"env_names": [`, `"API_TOKEN"`, `"stdin_sha256": "2cf24dba`, `"stdout_base64"`} {
		if !strings.Contains(text, want) {
			t.Errorf("the file lacks %s:\n%s", want, text)
		}
	}
	if strings.Count(text, "s3cret-value") != 1 {
		t.Errorf("the environment value is in the file, or the argument is not:\n%s", text)
	}
	if fi, err := os.Stat(path); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Errorf("mode %v, %v; want 0600", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("the directory holds %d entries (a temporary file left?)", len(entries))
	}
}

func TestCassetteScrubRedactsAndStillMatches(t *testing.T) {
	ctx := ctxFor(t)
	scrub := proctest.ReplaceAll("s3cret-value", "REDACTED")
	path := recordScripted(t, scrub)
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), "s3cret-value") || !strings.Contains(string(b), "--token=REDACTED") {
		t.Errorf("not scrubbed:\n%s", b)
	}
	cas := proctest.UseCassette(t, path, proctest.CassetteOptions{Mode: proctest.Replay, Scrub: scrub})
	if out, err := proc.Command(noSuchProgram, "stdin", "--token=s3cret-value").StdinString("hello").Runner(cas).Run(ctx); err != nil || out != "read" {
		t.Errorf("a scrubbed argument does not match: %q, %v", out, err)
	}
}

func TestCassetteMissIsTypedAndNamesTheNearest(t *testing.T) {
	ctx := ctxFor(t)
	path := recordScripted(t, nil)
	tb := &fakeTB{TB: t}
	cas := proctest.UseCassette(tb, path, proctest.CassetteOptions{Mode: proctest.Replay})
	for _, c := range []*proc.Cmd{
		proc.Command(noSuchProgram, "count", "--all"),
		proc.Command(noSuchProgram, "stdin", "--token=s3cret-value").StdinString("other input"),
	} {
		_, err := c.Runner(cas).Output(ctx)
		var miss *proctest.CassetteMissError
		if !errors.Is(err, proctest.ErrCassetteMiss) || !errors.As(err, &miss) || miss.Nearest < 0 || miss.NearestProgram != noSuchProgram {
			t.Fatalf("%s: %v", c, err)
		}
		if strings.Contains(err.Error(), "--all") || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "TETHER_RECORD=1") {
			t.Errorf("error text: %v", err)
		}
		if miss.Diff == "" {
			t.Errorf("%s: no diff", c)
		}
	}
	if errs := tb.Errors(); len(errs) != 2 || !strings.Contains(errs[0], `"--all"`) || !strings.Contains(errs[1], "StdinSHA256") {
		t.Errorf("the test was told: %q", errs)
	}
}

func TestCassetteRejectsUnknownVersionsAndSymlinks(t *testing.T) {
	dir := testchild.TempDir(t)
	path := filepath.Join(dir, "v9.json")
	if err := os.WriteFile(path, []byte(`{"version": 9, "interactions": []}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := proctest.OpenCassette(path, proctest.CassetteOptions{Mode: proctest.Replay})
	var ve *proctest.CassetteVersionError
	if !errors.Is(err, proctest.ErrCassetteVersion) || !errors.As(err, &ve) || ve.Version != 9 {
		t.Errorf("version 9: %v", err)
	}
	if _, err := proctest.OpenCassette(filepath.Join(dir, "missing.json"), proctest.CassetteOptions{Mode: proctest.Replay}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file in Replay mode: %v", err)
	}

	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(path, link); err != nil {
		t.Skipf("cannot make a symbolic link here: %v", err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		// Measured under Wine 8: os.Symlink succeeds, but Lstat of the
		// link fails, so there is no link for Save to see and refuse.
		t.Skipf("os.Symlink reported success but Lstat sees no symbolic link (%v)", err)
	}
	cas, err := proctest.OpenCassette(link, proctest.CassetteOptions{Mode: proctest.Record, Runner: proctest.NewScript(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if err := cas.Save(); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("Save through a symlink: %v", err)
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), `"version": 9`) {
		t.Errorf("the link's target was changed: %s", b)
	}
}

func TestCassetteAutoRecordsOnceThenReplays(t *testing.T) {
	path := filepath.Join(testchild.TempDir(t), "auto.json")
	opts := proctest.CassetteOptions{Mode: proctest.Auto, Runner: proctest.NewScript(nil)}
	cas, err := proctest.OpenCassette(path, opts)
	if err != nil || cas.Mode() != proctest.Record {
		t.Fatalf("no file: %v, %v", cas.Mode(), err)
	}
	if err := cas.Save(); err != nil {
		t.Fatal(err)
	}
	if cas, err := proctest.OpenCassette(path, opts); err != nil || cas.Mode() != proctest.Replay {
		t.Fatalf("with a file: %v, %v", cas.Mode(), err)
	}
	t.Setenv(proctest.RecordEnv, "1")
	if m := proctest.ModeFromEnv(); m != proctest.Record {
		t.Errorf("%s=1: %v", proctest.RecordEnv, m)
	}
	t.Setenv(proctest.RecordEnv, "")
	if m := proctest.ModeFromEnv(); m != proctest.Replay {
		t.Errorf("%s unset: %v", proctest.RecordEnv, m)
	}
}
