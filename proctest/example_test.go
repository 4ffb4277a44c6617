package proctest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/gotether/tether/proc"
	"github.com/gotether/tether/proctest"
)

// A Script answers commands from rules; code under test gets it as its
// proc.Runner. In a test, pass t to NewScript so that an unexpected
// command fails the test with a diff against the nearest rule.
func ExampleScript() {
	ctx := context.Background()
	s := proctest.NewScript(nil) // a test passes its t
	s.On("git", "branch", "--show-current").Reply(proctest.Stdout("main\n"))
	s.OnPrefix("git", "push").Reply(
		proctest.Fail(1, "rejected\n"), // the first push fails,
		proctest.Stdout(""),            // every later one succeeds
	)
	s.OnPrefix("ffmpeg").Reply(proctest.NotFound())

	branch, _ := proc.Command("git", "branch", "--show-current").Runner(s).Run(ctx)
	fmt.Println("branch:", branch)
	for range 2 {
		err := proc.Command("git", "push", "origin", branch).Runner(s).Exec(ctx)
		fmt.Println("push:", err)
	}
	_, err := proc.Command("ffmpeg", "-i", "in.mp4").Runner(s).Run(ctx)
	fmt.Println("ffmpeg installed:", !errors.Is(err, proc.ErrNotFound))
	_, err = proc.Command("rm", "-rf", "/").Runner(s).Run(ctx)
	fmt.Println("unexpected:", errors.Is(err, proctest.ErrUnexpected))
	// Output:
	// branch: main
	// push: proc: git exited with code 1: rejected
	// push: <nil>
	// ffmpeg installed: false
	// unexpected: true
}

// Streamed replies go through the same line machinery as a real process,
// so readiness probes, iterators and OnLine callbacks work unchanged.
func ExampleStream() {
	ctx := context.Background()
	s := proctest.NewScript(nil)
	s.On("server").Reply(proctest.Pending().After(
		proctest.StdoutLine("loading"),
		proctest.Pause(10*time.Millisecond),
		proctest.StdoutLine("listening on :8080"),
	))
	ctx, stop := context.WithCancel(ctx)
	p, _ := proc.Command("server").Runner(s).Start(ctx)
	line, _ := p.WaitForOutput(ctx, "listening")
	fmt.Println("ready:", line.Text)
	stop()
	r, err := p.Wait(context.Background())
	fmt.Println(r.Outcome, errors.Is(err, context.Canceled))
	// Output:
	// ready: listening on :8080
	// cancelled true
}

// A Recorder wraps any runner and records what ran.
func ExampleRecorder() {
	ctx := context.Background()
	s := proctest.NewScript(nil)
	s.Fallback(proctest.Stdout(""))
	rec := proctest.NewRecorder(s) // NewRecorder(nil) records real runs
	_ = proc.Command("kubectl", "apply", "-f", "app.yaml").Dir("deploy").Runner(rec).Exec(ctx)
	for _, c := range rec.Calls() {
		fmt.Println(c.Verb, c.Argv(), "in", c.Dir)
	}
	// In a test: rec.AssertCalled(t, "kubectl", "apply", "-f", "app.yaml")
	// Output:
	// Output [kubectl apply -f app.yaml] in deploy
}

// A Cassette records runs once and replays them without running
// anything. In a test, UseCassette picks the mode from TETHER_RECORD and
// saves the recording when the test ends; here a Script stands in for
// the real program.
func ExampleCassette() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "cassette")
	path := filepath.Join(dir, "git.json")
	defer os.Remove(dir)
	defer os.Remove(path)

	real := proctest.NewScript(nil) // usually nil: proc.DefaultRunner()
	real.On("git", "rev-parse", "HEAD").Reply(proctest.Stdout("4a4daec\n"))
	rec, _ := proctest.OpenCassette(path, proctest.CassetteOptions{Mode: proctest.Record, Runner: real})
	_, _ = proc.Command("git", "rev-parse", "HEAD").Runner(rec).Run(ctx)
	_ = rec.Save()

	replay, _ := proctest.OpenCassette(path, proctest.CassetteOptions{Mode: proctest.Replay})
	head, _ := proc.Command("git", "rev-parse", "HEAD").Runner(replay).Run(ctx)
	fmt.Println("HEAD:", head)
	_, err := proc.Command("git", "rev-parse", "main").Runner(replay).Run(ctx)
	fmt.Println("miss:", errors.Is(err, proctest.ErrCassetteMiss))
	// Output:
	// HEAD: 4a4daec
	// miss: true
}

// By default a cassette stores nothing of stdin's bytes and replay does
// not check them. With a StdinKey it stores an HMAC of them keyed with
// it, and replay matches only the recorded bytes. The key stays out of
// the file (and of the repository: in a test, read it from a CI secret).
func ExampleCassetteOptions() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "cassette")
	path := filepath.Join(dir, "login.json")
	defer os.Remove(dir)
	defer os.Remove(path)
	key := []byte("0123456789abcdef0123456789abcdef") // os.Getenv("CASSETTE_STDIN_KEY")

	real := proctest.NewScript(nil)
	real.On("vault", "login", "-").Reply(proctest.Stdout("ok\n"))
	rec, _ := proctest.OpenCassette(path, proctest.CassetteOptions{Mode: proctest.Record, Runner: real, StdinKey: key})
	_, _ = proc.Command("vault", "login", "-").StdinString("s3cret").Runner(rec).Run(ctx)
	_ = rec.Save()

	replay, _ := proctest.OpenCassette(path, proctest.CassetteOptions{Mode: proctest.Replay, StdinKey: key})
	out, _ := proc.Command("vault", "login", "-").StdinString("s3cret").Runner(replay).Run(ctx)
	fmt.Println("same stdin:", out)
	_, err := proc.Command("vault", "login", "-").StdinString("guess").Runner(replay).Run(ctx)
	fmt.Println("other stdin, miss:", errors.Is(err, proctest.ErrCassetteMiss))
	_, err = proctest.OpenCassette(path, proctest.CassetteOptions{Mode: proctest.Replay})
	fmt.Println("no key:", errors.Is(err, proctest.ErrCassetteStdinKey))
	// Output:
	// same stdin: ok
	// other stdin, miss: true
	// no key: true
}

// A DryRun prints what would run, for a --dry-run flag.
func ExampleDryRun() {
	ctx := context.Background()
	dryRun := true // from a --dry-run flag
	runner := proc.DefaultRunner()
	if dryRun {
		runner = proctest.NewDryRun(os.Stdout)
	}
	_ = proc.Command("echo", "hello").Runner(runner).Exec(ctx)
	// Output:
	// echo hello
}
