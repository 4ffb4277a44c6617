package proctest_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
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
	return recordScriptedWith(t, proctest.CassetteOptions{Scrub: scrub})
}

// recordScriptedWith is recordScripted with more options (a StdinKey).
func recordScriptedWith(t *testing.T, opts proctest.CassetteOptions) string {
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
	opts.Mode, opts.Runner = proctest.Record, s
	cas, err := proctest.OpenCassette(path, opts)
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
	for _, want := range []string{`"version": 1`, `"env_names": [`, `"API_TOKEN"`, `"stdin": "bytes"`, `"stdout_base64"`} {
		if !strings.Contains(text, want) {
			t.Errorf("the file lacks %s:\n%s", want, text)
		}
	}
	// Nothing derived from stdin's bytes without a StdinKey: no digest,
	// keyed or not (2cf24dba... is the SHA-256 of "hello").
	for _, bad := range []string{"stdin_sha256", "stdin_hmac", "2cf24dba", "hello"} {
		if strings.Contains(text, bad) {
			t.Errorf("the file holds %q, derived from stdin:\n%s", bad, text)
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
		proc.Command(noSuchProgram, "stdin", "--token=s3cret-value").StdinLines(slices.Values([]string{"other input"})),
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
	if errs := tb.Errors(); len(errs) != 2 || !strings.Contains(errs[0], `"--all"`) || !strings.Contains(errs[1], `"lines"`) {
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

// TestCassetteReplayIgnoresStdinBytesWithoutAKey: without a StdinKey the
// cassette stores nothing of stdin's bytes, so replay matches a command
// whatever bytes it passes (the kind of stdin still matters).
func TestCassetteReplayIgnoresStdinBytesWithoutAKey(t *testing.T) {
	ctx := ctxFor(t)
	path := recordScripted(t, nil)
	cas := proctest.UseCassette(t, path, proctest.CassetteOptions{Mode: proctest.Replay})
	for _, in := range []string{"hello", "other input", ""} {
		out, err := proc.Command(noSuchProgram, "stdin", "--token=s3cret-value").StdinString(in).Runner(cas).Run(ctx)
		if err != nil || out != "read" {
			t.Errorf("stdin %q: %q, %v", in, out, err)
		}
	}
}

// TestCassetteStdinKeyChecksStdin: with a StdinKey the file holds the
// HMAC-SHA-256 of stdin keyed with it (not its plain SHA-256, and not the
// key); replay with the key matches the recorded bytes only; replay
// without it is refused with ErrCassetteStdinKey, and with another key
// misses.
func TestCassetteStdinKeyChecksStdin(t *testing.T) {
	ctx := ctxFor(t)
	key := []byte("k3y-0123456789abcdef0123456789abcdef")
	path := recordScriptedWith(t, proctest.CassetteOptions{StdinKey: key})
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("hello"))
	want := `"stdin_hmac_sha256": "` + hex.EncodeToString(mac.Sum(nil)) + `"`
	if text := string(b); !strings.Contains(text, want) || strings.Contains(text, "2cf24dba") ||
		strings.Contains(text, string(key)) || strings.Contains(text, hex.EncodeToString(key)) || strings.Contains(text, "stdin_sha256") {
		t.Errorf("the file does not hold the keyed digest %s alone:\n%s", want, text)
	}

	cas := proctest.UseCassette(t, path, proctest.CassetteOptions{Mode: proctest.Replay, StdinKey: key})
	cmd := proc.Command(noSuchProgram, "stdin", "--token=s3cret-value")
	if out, err := cmd.StdinString("hello").Runner(cas).Run(ctx); err != nil || out != "read" {
		t.Errorf("the recorded stdin: %q, %v", out, err)
	}
	tb := &fakeTB{TB: t}
	strict := proctest.UseCassette(tb, path, proctest.CassetteOptions{Mode: proctest.Replay, StdinKey: key})
	_, err = cmd.StdinString("other input").Runner(strict).Output(ctx)
	var miss *proctest.CassetteMissError
	if !errors.As(err, &miss) || !strings.Contains(miss.Diff, "StdinHMAC") || strings.Contains(err.Error(), "other input") {
		t.Errorf("other stdin: %v (diff %q)", err, miss.Diff)
	}

	if _, err := proctest.OpenCassette(path, proctest.CassetteOptions{Mode: proctest.Replay}); !errors.Is(err, proctest.ErrCassetteStdinKey) {
		t.Errorf("replay without the key: %v", err)
	}
	other := proctest.UseCassette(&fakeTB{TB: t}, path, proctest.CassetteOptions{Mode: proctest.Replay, StdinKey: []byte("another key, 32 bytes and more..")})
	if _, err := cmd.StdinString("hello").Runner(other).Output(ctx); !errors.Is(err, proctest.ErrCassetteMiss) {
		t.Errorf("replay with another key: %v", err)
	}
}

// TestCassetteOldStdinDigestIsIgnored: a file written before digests were
// keyed, with an unsalted stdin_sha256, still loads and replays (whatever
// the stdin bytes); the test log says the digest is there and ignored;
// recording the file again drops it.
func TestCassetteOldStdinDigestIsIgnored(t *testing.T) {
	ctx := ctxFor(t)
	path := filepath.Join(testchild.TempDir(t), "old.json")
	old := `{"version": 1, "interactions": [{"program": "` + noSuchProgram + `", "args": ["stdin"], "stdin": "bytes",
		"stdin_sha256": "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", "outcome": "exited", "exit_code": 0, "stdout": "read"}]}`
	if err := os.WriteFile(path, []byte(old), 0o600); err != nil {
		t.Fatal(err)
	}
	tb := &fakeTB{TB: t}
	cas := proctest.UseCassette(tb, path, proctest.CassetteOptions{Mode: proctest.Replay})
	for _, in := range []string{"hello", "anything else"} {
		if out, err := proc.Command(noSuchProgram, "stdin").StdinString(in).Runner(cas).Run(ctx); err != nil || out != "read" {
			t.Errorf("stdin %q: %q, %v", in, out, err)
		}
	}
	if logs := tb.Logs(); len(logs) != 1 || !strings.Contains(logs[0], "stdin_sha256") || !strings.Contains(logs[0], "record the cassette again") {
		t.Errorf("the test log says %q", logs)
	}
	if got := cas.Interactions(); len(got) != 1 || got[0].StdinHMAC != "" {
		t.Errorf("interactions %+v", got)
	}

	s := proctest.NewScript(t)
	s.On(noSuchProgram, "stdin").Reply(proctest.Stdout("read"))
	rec, err := proctest.OpenCassette(path, proctest.CassetteOptions{Mode: proctest.Record, Runner: s})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := proc.Command(noSuchProgram, "stdin").StdinString("hello").Runner(rec).Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rec.Save(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); strings.Contains(string(b), "stdin_sha256") || strings.Contains(string(b), "2cf24dba") {
		t.Errorf("the recording again kept the old digest:\n%s", b)
	}
}

// TestCassetteCombinedOutputAndRawReader: a real run with stderr sent to
// stdout is recorded with both streams in stdout and replayed the same
// way, through a raw stdout reader too; a command that keeps the streams
// apart does not match that recording.
func TestCassetteCombinedOutputAndRawReader(t *testing.T) {
	ctx := ctxFor(t)
	c := proc.Command(testchild.Exe(), "interleave", "3", "exit", "2")
	for _, kv := range testchild.EnvVars(testchild.ModeScript) {
		c = c.SetEnv(kv[0], kv[1])
	}
	combined := c.Stderr(proc.ToStdout())
	const want = "out 1\nerr 1\nout 2\nerr 2\nout 3\nerr 3\n"
	path := filepath.Join(testchild.TempDir(t), "combined.json")
	rec, err := proctest.OpenCassette(path, proctest.CassetteOptions{Mode: proctest.Record})
	if err != nil {
		t.Fatal(err)
	}
	r, err := combined.Runner(rec).Output(ctx)
	if err != nil || string(r.Stdout) != want || r.ExitCode != 2 {
		t.Fatalf("the recorded run: %v, %q", err, r.Stdout)
	}
	if err := rec.Save(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), `"stderr_to_stdout": true`) {
		t.Fatalf("the file does not say stderr went to stdout:\n%s", b)
	}

	cas := proctest.UseCassette(t, path, proctest.CassetteOptions{Mode: proctest.Replay})
	p, err := combined.Stdout(proc.ToReader()).Runner(cas).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	read, err := io.ReadAll(p.StdoutReader())
	if err != nil || string(read) != want {
		t.Fatalf("the replayed reader: %q, %v", read, err)
	}
	got, err := p.Wait(ctx)
	if err != nil || string(got.Stdout) != want || len(got.Stderr) != 0 || got.ExitCode != 2 {
		t.Fatalf("the replayed run: %v, %+v", err, got)
	}
	if st := p.Status(); st.Stdout.Lines != 6 || st.Stderr.Lines != 0 || string(st.Stdout.Tail) != want {
		t.Fatalf("the replayed status: %+v", st)
	}

	miss := proctest.UseCassette(&fakeTB{TB: t}, path, proctest.CassetteOptions{Mode: proctest.Replay})
	if _, err := c.Runner(miss).Output(ctx); !errors.Is(err, proctest.ErrCassetteMiss) {
		t.Fatalf("the command with separate streams: %v; want a cassette miss", err)
	}
}
