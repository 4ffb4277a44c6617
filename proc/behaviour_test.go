package proc_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

func TestCapturePolicies(t *testing.T) {
	ctx := ctxFor(t, patience)
	const n = 1 << 20
	head, err := script("out", "HEAD", "outn", "1048576", "out", "TAIL").CapStdout(1000, proc.KeepHead).Output(ctx)
	if err != nil || !head.StdoutTruncated || head.StdoutTotal != n+8 || len(head.Stdout) != 1000 || !bytes.HasPrefix(head.Stdout, []byte("HEAD")) {
		t.Fatalf("KeepHead: err %v truncated %v total %d len %d", err, head.StdoutTruncated, head.StdoutTotal, len(head.Stdout))
	}
	tail, err := script("out", "HEAD", "outn", "1048576", "out", "TAIL").CapStdout(1000, proc.KeepTail).Output(ctx)
	if err != nil || !tail.StdoutTruncated || len(tail.Stdout) != 1000 || !bytes.HasSuffix(tail.Stdout, []byte("xxTAIL")) {
		t.Fatalf("KeepTail: err %v truncated %v len %d suffix %q", err, tail.StdoutTruncated, len(tail.Stdout), tail.Stdout[max(0, len(tail.Stdout)-6):])
	}
	under, err := script("out", "small").CapStdout(1000, proc.KeepTail).Output(ctx)
	if err != nil || under.StdoutTruncated || string(under.Stdout) != "small" {
		t.Fatalf("under the cap: %+v %v", under, err)
	}
}

func TestCapFailKillsTheTree(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		pids := testchild.PidFile(t)
		r, err := script("hold", "pids", pids, "outn", "10485760", "block").
			CapStdout(64<<10, proc.CapFail).Backend(b).Output(ctxFor(t, patience))
		if !errors.Is(err, proc.ErrOutputTooLarge) || !errors.Is(err, proc.ErrExit) {
			t.Fatalf("error %v, want ErrOutputTooLarge", err)
		}
		if r == nil || r.Success() || len(r.Stdout) != 64<<10 || !r.StdoutTruncated {
			t.Fatalf("result %+v", r)
		}
		for role, pid := range testchild.ReadPidFile(t, pids, patience) {
			if testchild.Alive(pid) {
				t.Errorf("%s %d alive after the cap fired", role, pid)
			}
		}
	})
}

func TestOutputModes(t *testing.T) {
	ctx := ctxFor(t, patience)
	dir := testchild.TempDir(t)
	file := filepath.Join(dir, "out")
	if _, err := script("out", "one").Stdout(proc.ToFile(file)).Output(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := script("out", "two").Stdout(proc.AppendFile(file)).Output(ctx); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(file); string(b) != "onetwo" {
		t.Fatalf("file = %q", b)
	}
	var tee bytes.Buffer
	r, err := script("out", "teed").Stdout(proc.Tee(&tee)).Output(ctx)
	if err != nil || tee.String() != "teed" || string(r.Stdout) != "teed" {
		t.Fatalf("tee %q result %q %v", tee.String(), r.Stdout, err)
	}
	r, err = script("out", "gone", "err", "kept").Stdout(proc.Discard()).Output(ctx)
	if err != nil || len(r.Stdout) != 0 || string(r.Stderr) != "kept" {
		t.Fatalf("discard: %q %q %v", r.Stdout, r.Stderr, err)
	}
}

func TestStartWaitKillSignal(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		pids := testchild.PidFile(t)
		p, err := script("hold", "pids", pids, "block").Backend(b).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p.Pid() <= 0 || p.Mechanism() != b.Mechanism() || p.StartTime().IsZero() {
			t.Fatalf("handle: pid %d mechanism %s", p.Pid(), p.Mechanism())
		}
		tree := testchild.ReadPidFile(t, pids, patience)
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		if _, err := p.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait with a short context = %v", err)
		}
		if !testchild.Alive(p.Pid()) {
			t.Fatal("Wait's context ending killed the process")
		}
		select {
		case <-p.Done():
			t.Fatal("Done closed while running")
		default:
		}
		if err := p.Kill(ctx); err != nil {
			t.Fatal(err)
		}
		<-p.Done()
		r, err := p.Wait(ctx)
		if err != nil || r.Outcome != proc.Signaled {
			t.Fatalf("after Kill: %+v %v", r, err)
		}
		for role, pid := range tree {
			if testchild.Alive(pid) {
				t.Errorf("%s %d alive after Kill", role, pid)
			}
		}
		if err := p.Signal(graceSignal()); !errors.Is(err, contain.ErrClosed) {
			t.Fatalf("Signal after the end = %v", err)
		}
	})
}

func TestUnenforceableLimitFailsBeforeSpawning(t *testing.T) {
	a := proc.DefaultRunner()
	_ = a
	_, err := script("out", "x").Limits(contain.MemoryMax(64 << 20)).Output(ctxFor(t, patience))
	if err == nil {
		t.Skip("this host enforces memory limits; the VM suite covers enforcement")
	}
	var le *contain.LimitError
	if !errors.As(err, &le) || !errors.Is(err, proc.ErrStart) || !errors.Is(err, contain.ErrUnsupported) {
		t.Fatalf("error %v, want a LimitError", err)
	}
	if _, err := script().Limits(contain.MaxProcesses(0)).Output(ctxFor(t, patience)); !errors.Is(err, contain.ErrInvalidLimit) {
		t.Fatalf("invalid limit: %v", err)
	}
}

// recorder collects every log record's text.
type recorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}

func TestLogsNeverContainSecrets(t *testing.T) {
	var rec recorder
	log := slog.New(slog.NewTextHandler(&rec, &slog.HandlerOptions{Level: slog.LevelDebug}))
	dir := testchild.TempDir(t)
	secretDir := filepath.Join(dir, "secret-dir-value")
	if err := os.Mkdir(secretDir, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, patience)
	c := script("out", "secret-output-value", "err", "secret-stderr-value", "exit", "3").
		SetEnv("TOKEN", "secret-env-value").Dir(secretDir).Logger(log)
	if _, err := c.Output(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := script("block").Timeout(50*time.Millisecond).SetEnv("T", "secret-env-value").Logger(log).Output(ctx); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	p, err := script("block", "secret-arg-value").Logger(log).Start(cctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	_, _ = p.Wait(ctx)
	text := rec.buf.String()
	for _, ev := range []string{"spawned", "exited", "timeout", "cancelled"} {
		if !strings.Contains(text, ev) {
			t.Errorf("no %q event logged:\n%s", ev, text)
		}
	}
	for _, secret := range []string{"secret-output-value", "secret-stderr-value", "secret-env-value", "secret-dir-value", "secret-arg-value"} {
		if strings.Contains(text, secret) {
			t.Errorf("log contains %s:\n%s", secret, text)
		}
	}
	if !strings.Contains(text, "mechanism=") || !strings.Contains(text, "pid=") {
		t.Errorf("events lack mechanism or pid:\n%s", text)
	}
}

// The command line is logged only when asked, through the scrub when
// one is given, and the child gets the real arguments either way.
func TestLogCommandLineIsOptIn(t *testing.T) {
	ctx := ctxFor(t, patience)
	logged := func(c *proc.Cmd) (string, []string) {
		t.Helper()
		var rec recorder
		r, err := c.Logger(slog.New(slog.NewTextHandler(&rec, nil))).Output(ctx)
		if err != nil || r.Err() != nil {
			t.Fatal(err, r.Err())
		}
		reps, err := testchild.ParseReports(r.Stdout)
		if err != nil || len(reps) != 1 {
			t.Fatalf("reports %v, %v", reps, err)
		}
		args, err := reps[0].DecodedArgs()
		if err != nil {
			t.Fatal(err)
		}
		return rec.buf.String(), args
	}
	argv := []string{"--token", "secret-token", "-p=secret-p", "it's", "--token"}
	c := child(testchild.ModeArgv, argv...)

	text, args := logged(c)
	if strings.Contains(text, "command_line") || strings.Contains(text, "secret") {
		t.Errorf("the command line was logged without LogCommandLine:\n%s", text)
	}
	text, _ = logged(c.LogCommandLine(nil))
	// The text handler quotes the value as strconv.Quote does.
	want := "command_line=" + strconv.Quote(proc.Command(testchild.Exe(), argv...).CommandLine())
	if !strings.Contains(text, want) {
		t.Errorf("LogCommandLine(nil) logged\n%s\nwant it to contain\n%s", text, want)
	}
	text, got := logged(c.LogCommandLine(proc.RedactFlagValues("--token", "-p")))
	want = "command_line=" + strconv.Quote(proc.Command(testchild.Exe(), "--token", "REDACTED", "-p=REDACTED", "it's", "--token").CommandLine())
	if !strings.Contains(text, want) || strings.Contains(text, "secret") {
		t.Errorf("a scrubbed command line logged\n%s\nwant it to contain\n%s", text, want)
	}
	if !slices.Equal(got, argv) || !slices.Equal(args, argv) {
		t.Errorf("the child got %q and %q, want %q", args, got, argv)
	}

	// Without a Logger the scrub is not even called.
	calls := 0
	if _, err := c.LogCommandLine(func(a []string) []string { calls++; return a }).Output(ctx); err != nil || calls != 0 {
		t.Errorf("without a Logger: %v, scrub called %d times", err, calls)
	}
}

// A scrub that panics does so before anything is spawned.
func TestLogCommandLineScrubPanicSpawnsNothing(t *testing.T) {
	marker := filepath.Join(testchild.TempDir(t), "ran")
	c := script("failuntil", marker, "0").Logger(slog.New(slog.DiscardHandler)).
		LogCommandLine(func([]string) []string { panic("scrub failed") })
	func() {
		defer func() {
			if v := recover(); v != "scrub failed" {
				t.Errorf("recovered %v, want the scrub's panic", v)
			}
		}()
		_, _ = c.Output(ctxFor(t, patience))
	}()
	if _, err := os.Stat(marker); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the program ran (%v)", err)
	}
}

func TestExitErrorPreviewIsBoundedAndEscaped(t *testing.T) {
	noisy := strings.Repeat("a", 500) + "\x1b[31mred\u202eevil\r\nend"
	r, err := script("err", noisy, "exit", "1").Output(ctxFor(t, patience))
	if err != nil {
		t.Fatal(err)
	}
	msg := r.Err().Error()
	if strings.ContainsAny(msg, "\x1b\r\u202e") {
		t.Fatalf("control or bidi characters in the error: %q", msg)
	}
	if !strings.Contains(msg, `\x1b[31mred\u202eevil\r\nend`) {
		t.Fatalf("escaped preview missing: %q", msg)
	}
	if len(msg) > 300 {
		t.Fatalf("error is %d bytes long: the preview must stay around 200", len(msg))
	}
}
