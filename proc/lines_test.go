package proc_test

import (
	"context"
	"encoding/hex"
	"errors"
	"iter"
	"log/slog"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/encoding"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

func texts(ls []proc.Line) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Text
	}
	return out
}

func TestLineStreamsEveryReaderSeesEveryLine(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		p, err := script("out", "a\nb\r\n", "err", "e1\n", "out", "c", "exit", "0").Backend(b).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		got := make([][]proc.Line, 3)
		for i := range 3 {
			wg.Go(func() { got[i] = slices.Collect(p.StdoutLines()) })
		}
		wg.Wait()
		for i, ls := range got {
			if !slices.Equal(texts(ls), []string{"a", "b", "c"}) {
				t.Fatalf("reader %d got %q", i, texts(ls))
			}
			if !ls[2].Partial || ls[0].Partial || ls[0].Seq != 1 || ls[2].Seq != 3 {
				t.Fatalf("reader %d flags/seq: %+v", i, ls)
			}
		}
		errs := slices.Collect(p.StderrLines())
		if !slices.Equal(texts(errs), []string{"e1"}) || errs[0].Stream != proc.Stderr {
			t.Fatalf("stderr lines %+v", errs)
		}
		r, err := p.Wait(ctx)
		if err != nil || r.Streams.Stdout.Lines != 3 || r.Streams.Stdout.Bytes != 6 || r.Streams.Stderr.Lines != 1 {
			t.Fatalf("result %+v %v", r.Streams, err)
		}
	})
}

func TestEventsOrderStartedLinesExited(t *testing.T) {
	ctx := ctxFor(t, patience)
	p, err := script("out", "x\n", "err", "y\n", "exit", "2").Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	evs := slices.Collect(p.Events())
	if len(evs) != 4 || evs[0].Kind != proc.EventStarted || evs[3].Kind != proc.EventExited {
		t.Fatalf("events %+v", evs)
	}
	var seen []string
	for _, ev := range evs[1:3] {
		seen = append(seen, ev.Line.Stream.String()+":"+ev.Line.Text)
	}
	slices.Sort(seen)
	if !slices.Equal(seen, []string{"stderr:y", "stdout:x"}) {
		t.Fatalf("line events %q", seen)
	}
	r, _ := p.Wait(ctx)
	if evs[3].Result != r || r.ExitCode != 2 {
		t.Fatalf("exited event result %+v, Wait %+v", evs[3].Result, r)
	}
}

func TestPanickingCallbackIsDisabledAndReported(t *testing.T) {
	var mu sync.Mutex
	var calls, good int
	r, err := script("lines", "5").
		OnLine(func(proc.Line) {
			mu.Lock()
			calls++
			mu.Unlock()
			panic("boom")
		}).
		OnLine(func(proc.Line) { mu.Lock(); good++; mu.Unlock() }).
		Output(ctxFor(t, patience))
	if err != nil || !r.Success() {
		t.Fatalf("%+v %v", r, err)
	}
	if calls != 1 || good != 5 || len(r.CallbackErrors) != 1 || !strings.Contains(r.CallbackErrors[0].Error(), "boom") {
		t.Fatalf("calls %d good %d errors %v", calls, good, r.CallbackErrors)
	}
	if !strings.HasPrefix(string(r.Stdout), "line 1\n") || r.Streams.Stdout.Lines != 5 {
		t.Fatalf("draining stopped: %q", r.Stdout)
	}
	// The error is one line; the stack is a field, and in the log.
	var ce *proc.CallbackError
	if !errors.As(r.CallbackErrors[0], &ce) || ce.Index != 0 || ce.Stream != proc.Stdout || ce.Value != "boom" {
		t.Fatalf("callback error %#v", r.CallbackErrors[0])
	}
	if msg := ce.Error(); strings.Contains(msg, "\n") || strings.Contains(msg, "goroutine") {
		t.Errorf("the error text holds the stack: %q", msg)
	}
	if !strings.Contains(string(ce.Stack), "goroutine") {
		t.Errorf("Stack holds no stack: %q", ce.Stack)
	}
}

// The panic's stack goes to the log with the warning.
func TestPanickingCallbackStackIsLogged(t *testing.T) {
	var rec recorder
	log := slog.New(slog.NewTextHandler(&rec, nil))
	r, err := script("lines", "1").OnLine(func(proc.Line) { panic(errors.New("bad line")) }).Logger(log).Output(ctxFor(t, patience))
	if err != nil || len(r.CallbackErrors) != 1 {
		t.Fatalf("%+v %v", r, err)
	}
	if err := r.CallbackErrors[0]; err.Error() != "proc: OnLine callback 0 panicked on stdout and was disabled: bad line" {
		t.Errorf("error text %q", err)
	}
	var ce *proc.CallbackError
	if !errors.As(r.CallbackErrors[0], &ce) || !errors.Is(ce, ce.Value.(error)) {
		t.Error("the error does not unwrap to the panic's error")
	}
	text := rec.buf.String()
	if !strings.Contains(text, "line callback panicked") || !strings.Contains(text, "stack=") || !strings.Contains(text, "goroutine") {
		t.Errorf("the warning lacks the stack:\n%s", text)
	}
}

// subscribed starts a reader of p's events now and returns its pull
// function: the first event (EventStarted) is taken at once, so the
// reader exists before the test lets the child write.
func subscribed(t *testing.T, p *proc.RunningProcess) func() (proc.Event, bool) {
	t.Helper()
	next, stop := iter.Pull(p.Events())
	t.Cleanup(stop)
	if ev, ok := next(); !ok || ev.Kind != proc.EventStarted {
		t.Fatalf("first event %+v", ev)
	}
	return next
}

func TestOverflowPolicies(t *testing.T) {
	ctx := ctxFor(t, patience)
	for _, tc := range []struct {
		policy proc.Overflow
		want   []string
	}{
		{proc.DropNewest, []string{"line 1", "line 2"}},
		{proc.DropOldest, []string{"line 9", "line 10"}},
	} {
		p, err := script("waitin", "lines", "10").InteractiveStdin().LineBuffer(2, 1<<20, tc.policy).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		next := subscribed(t, p) // a reader that reads only after the run
		if err := p.Stdin().WriteLine("go"); err != nil {
			t.Fatal(err)
		}
		r, _ := p.Wait(ctx)
		var got []string
		for ev, ok := next(); ok && ev.Kind == proc.EventLine; ev, ok = next() {
			got = append(got, ev.Line.Text)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("policy %v: reader got %q, want %q", tc.policy, got, tc.want)
		}
		if r.Streams.Stdout.Dropped != 8 {
			t.Errorf("policy %v: dropped %d, want exactly 8", tc.policy, r.Streams.Stdout.Dropped)
		}
	}
	// FailOverflow kills the tree and fails the run.
	p, err := script("waitin", "lines", "50", "block").InteractiveStdin().LineBuffer(1, 1<<20, proc.FailOverflow).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	subscribed(t, p)
	if err := p.Stdin().WriteLine("go"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(ctx); !errors.Is(err, proc.ErrOutputTooLarge) {
		t.Fatalf("FailOverflow: %v", err)
	}
}

func TestUnreadBlockingStreamDoesNotStallKillOrWait(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		p, err := script("lines", "100000", "block").LineBuffer(1, 1<<20, proc.Block).Backend(b).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		subscribed(t, p) // a reader that never reads
		testchild.Poll(t, patience, "output to start", func() bool { return p.Counters().Stdout.Lines > 0 })
		began := time.Now()
		if err := p.Kill(ctx); err != nil {
			t.Fatal(err)
		}
		r, err := p.Wait(ctx)
		if err != nil || r.Outcome != proc.Signaled {
			t.Fatalf("%+v %v", r, err)
		}
		if el := time.Since(began); el > 2*time.Second {
			t.Fatalf("Kill and Wait took %v with an unread blocking reader", el)
		}
	})
}

func TestMaxLineCutsAFlood(t *testing.T) {
	ctx := ctxFor(t, patience)
	p, err := script("outn", "300000").MaxLine(100000).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ls := slices.Collect(p.StdoutLines())
	if len(ls) != 3 || !ls[0].Cut || !ls[1].Cut || len(ls[0].Text) != 100000 || len(ls[2].Text) != 100000 {
		t.Fatalf("%d lines: cut %v", len(ls), func() []bool {
			var f []bool
			for _, l := range ls {
				f = append(f, l.Cut)
			}
			return f
		}())
	}
}

func TestCarriageReturnTerminators(t *testing.T) {
	ctx := ctxFor(t, patience)
	collect := func(c *proc.Cmd) []string {
		p, err := c.Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return texts(slices.Collect(p.StdoutLines()))
	}
	bar := script("out", "10%\r20%\r30%\r\ndone\n")
	if got := collect(bar.LineTerminators(encoding.CR)); !slices.Equal(got, []string{"10%", "20%", "30%", "done"}) {
		t.Fatalf("CR: %q", got)
	}
	if got := collect(bar); !slices.Equal(got, []string{"10%\r20%\r30%", "done"}) {
		t.Fatalf("default: %q", got)
	}
}

func TestUTF16OutputIsDecodedBeforeSplitting(t *testing.T) {
	// "hi\r\n" "é" "\n" in UTF-16LE with a BOM.
	raw := []byte{0xff, 0xfe, 'h', 0, 'i', 0, '\r', 0, '\n', 0, 0xe9, 0, '\n', 0}
	c := script("outhex", hex.EncodeToString(raw)).Encoding(encoding.UTF16LE)
	p, err := c.Start(ctxFor(t, patience))
	if err != nil {
		t.Fatal(err)
	}
	if got := texts(slices.Collect(p.StdoutLines())); !slices.Equal(got, []string{"hi", "é"}) {
		t.Fatalf("lines %q", got)
	}
	r, err := c.Output(ctxFor(t, patience))
	if err != nil || r.StdoutText() != "hi\r\né\n" || string(r.Stdout) != string(raw) {
		t.Fatalf("text %q raw %x: %v", r.StdoutText(), r.Stdout, err)
	}
}

func TestInteractiveStdin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		p, err := script("cat").InteractiveStdin().Backend(b).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		in := p.Stdin()
		if err := in.WriteLine("hello"); err != nil {
			t.Fatal(err)
		}
		if l, err := p.WaitForLine(ctx, func(l proc.Line) bool { return l.Text == "hello" }); err != nil || l.Text != "hello" {
			t.Fatalf("echo: %v %v", l, err)
		}
		if err := in.SendControl('d'); err != nil {
			t.Fatal(err)
		}
		if err := in.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := p.Wait(ctx)
		if err != nil || !r.Success() || string(r.Stdout) != "hello\n\x04" {
			t.Fatalf("%q %v", r.Stdout, err)
		}
		if err := in.WriteLine("late"); !errors.Is(err, contain.ErrClosed) {
			t.Fatalf("write after close: %v", err)
		}
	})
	p, err := script("out", "x").Start(ctxFor(t, patience))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Stdin().WriteLine("no"); err == nil {
		t.Fatal("stdin of a non-interactive command accepted a write")
	}
	_, _ = p.Wait(ctxFor(t, patience))
}

func TestReadinessProbes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		p, err := script("sleep", "150ms", "listen", "127.0.0.1:0", "out", "ready\n", "block").Backend(b).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		l, err := p.WaitForMatch(ctx, regexp.MustCompile(`listening on 127\.0\.0\.1:\d+`))
		if err != nil {
			t.Fatal(err)
		}
		addr := strings.TrimPrefix(l.Text, "listening on ")
		if err := p.WaitForPort(ctx, addr); err != nil {
			t.Fatal(err)
		}
		if _, err := p.WaitForOutput(ctx, "ready"); err != nil {
			t.Fatal(err)
		}
		if err := p.WaitFor(ctx, func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
		// A probe that times out does not kill the process.
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if _, err := p.WaitForOutput(short, "never"); !errors.Is(err, proc.ErrNotReady) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("deadline: %v", err)
		}
		if !testchild.Alive(p.Pid()) {
			t.Fatal("a probe's deadline killed the process")
		}
		_ = p.Kill(ctx)
	})
}

func TestWaitForSocket(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Wine 8 has no AF_UNIX sockets: socket() fails with WSAEAFNOSUPPORT (10047); Windows 10 and later have them")
	}
	ctx := ctxFor(t, patience)
	sock := filepath.Join(testchild.TempDir(t), "s.sock")
	p, err := script("sleep", "100ms", "listenunix", sock, "block").Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitForSocket(ctx, sock); err != nil {
		t.Fatal(err)
	}
	_ = p.Kill(ctx)
}

func TestProbesFailAsSoonAsTheChildExits(t *testing.T) {
	ctx := ctxFor(t, patience)
	for name, probe := range map[string]func(p *proc.RunningProcess) error{
		"line":   func(p *proc.RunningProcess) error { _, err := p.WaitForOutput(ctx, "listening"); return err },
		"port":   func(p *proc.RunningProcess) error { return p.WaitForPort(ctx, "127.0.0.1:1") },
		"socket": func(p *proc.RunningProcess) error { return p.WaitForSocket(ctx, "/nonexistent/tether.sock") },
		"func": func(p *proc.RunningProcess) error {
			return p.WaitFor(ctx, func(context.Context) error { return errors.New("not yet") })
		},
	} {
		p, err := script("out", "starting\n", "exit", "3").Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		err = probe(p)
		var nr *proc.NotReadyError
		if !errors.As(err, &nr) || !strings.Contains(nr.Reason, "exited") {
			t.Errorf("%s: %v, want NotReady because the process exited", name, err)
		}
		if el := time.Since(began); el > 5*time.Second {
			t.Errorf("%s: gave up after %v", name, el)
		}
	}
}

func TestFirstLine(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		pids := testchild.PidFile(t)
		l, err := script("hold", "pids", pids, "lines", "3", "out", "version 1.2.3\n", "block").Backend(b).
			FirstLine(ctx, func(l proc.Line) bool { return strings.HasPrefix(l.Text, "version ") })
		if err != nil || l.Text != "version 1.2.3" {
			t.Fatalf("FirstLine = %q, %v", l.Text, err)
		}
		for role, pid := range testchild.ReadPidFile(t, pids, patience) {
			if testchild.Alive(pid) {
				t.Errorf("%s %d alive after FirstLine", role, pid)
			}
		}
		_, err = script("lines", "3").Backend(b).FirstLine(ctx, func(l proc.Line) bool { return l.Text == "nope" })
		if !errors.Is(err, proc.ErrNoMatch) {
			t.Fatalf("no match: %v", err)
		}
		_, err = script("block").Timeout(100*time.Millisecond).Backend(b).FirstLine(ctx, func(proc.Line) bool { return true })
		if !errors.Is(err, proc.ErrNoMatch) || !errors.Is(err, proc.ErrTimeout) {
			t.Fatalf("timeout: %v", err)
		}
	})
}

func TestIdleTimeout(t *testing.T) {
	ctx := ctxFor(t, patience)
	// The idle clock starts at the spawn: on a loaded machine the child
	// may not have written "one" within 200 ms, so the idle timeout grows
	// until it has.
	var r *proc.Result
	var err error
	for idle := 200 * time.Millisecond; ; idle *= 4 {
		r, err = script("out", "one\n", "block").IdleTimeout(idle).Output(ctx)
		if err != nil || r.Outcome != proc.IdleTimedOut || !errors.Is(r.Err(), proc.ErrIdle) {
			t.Fatalf("%v %v %v", r.Outcome, r.Err(), err)
		}
		if string(r.Stdout) == "one\n" || idle > 2*time.Second {
			break
		}
	}
	if string(r.Stdout) != "one\n" {
		t.Fatalf("stdout %q", r.Stdout)
	}
	// Output that keeps coming is not idle, although the run lasts longer
	// than the idle timeout: 16 writes 150 ms apart (2.4 s) against 1 s,
	// then against 2 s. A gap can stretch past 1 s on a loaded machine,
	// hence the second try; a timer that output does not reset fails both.
	var ops []string
	want := ""
	for i := range 16 {
		ops = append(ops, "out", strconv.Itoa(i%10), "sleep", "150ms")
		want += strconv.Itoa(i % 10)
	}
	for _, idle := range []time.Duration{time.Second, 2 * time.Second} {
		r, err = script(ops...).IdleTimeout(idle).Output(ctx)
		if err == nil && r.Success() && string(r.Stdout) == want {
			return
		}
		t.Logf("idle timeout %v: %v %q %v", idle, r.Outcome, r.Stdout, err)
	}
	t.Fatal("output every 150 ms did not keep the run from idling out")
}

func TestProfileSamplesTheTree(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		p, err := child(testchild.ModeSpin, "400ms").Backend(b).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		prof, err := p.Profile(ctx, 50*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if len(prof.Samples) < 3 || prof.Duration < 300*time.Millisecond {
			t.Fatalf("%d samples over %v", len(prof.Samples), prof.Duration)
		}
		if cpu, ok := prof.CPU.Get(); ok {
			t.Logf("%s: %d samples, CPU %v, peak memory %v", b.Mechanism(), len(prof.Samples), cpu, prof.PeakMemory)
		} else if b.Mechanism() == contain.CgroupV2 || b.Mechanism() == contain.Systemd {
			// A cgroup counts CPU always; a process group may not (off
			// Linux), nor may a Job Object under Wine, which reports none.
			t.Fatalf("%s measures CPU", b.Mechanism())
		}
		_, _ = p.Wait(ctx)
	})
}

func TestWaitReturnsWhileAGrandchildHoldsTheStream(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, 3*patience)
		// A grandchild left holding stdout would keep Wait for the drain's
		// 5 s limit. The bound tells the two apart on a loaded machine
		// (a load of 20 made one Wait take 3 s), the best of three runs
		// counting.
		var el time.Duration
		var pids string
		for attempt := 1; attempt <= 3; attempt++ {
			pids = testchild.PidFile(t)
			p, err := script("hold", "pids", pids, "out", "bye\n").Backend(b).Start(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := make(chan []string, 1)
			go func() { got <- texts(slices.Collect(p.StdoutLines())) }()
			began := time.Now()
			r, err := p.Wait(ctx)
			if err != nil || !r.Success() {
				t.Fatalf("%+v %v", r, err)
			}
			el = time.Since(began)
			if lines := <-got; !slices.Equal(lines, []string{"bye"}) {
				t.Fatalf("lines %q", lines)
			}
			if el <= 2*time.Second {
				break
			}
			t.Logf("attempt %d: Wait took %v", attempt, el)
		}
		if el > 2*time.Second {
			t.Fatalf("Wait took %v", el)
		}
		for role, pid := range testchild.ReadPidFile(t, pids, patience) {
			if testchild.Alive(pid) {
				t.Errorf("%s %d alive", role, pid)
			}
		}
	})
}

func TestInteractiveStdinUnderOutputIsClosedAtOnce(t *testing.T) {
	began := time.Now()
	r, err := script("cat", "out", "done").InteractiveStdin().Output(ctxFor(t, patience))
	if err != nil || !r.Success() || string(r.Stdout) != "done" {
		t.Fatalf("%+v %v", r, err)
	}
	if el := time.Since(began); el > 5*time.Second {
		t.Fatalf("cat waited %v for a stdin nobody could write", el)
	}
}
