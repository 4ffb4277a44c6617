package proc_test

import (
	"bytes"
	"sync"
	"testing"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// TestStatusOfARunningProcess: the snapshot of a live run, then of the
// ended one, which is the Result's.
func TestStatusOfARunningProcess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		p, err := script("out", "hello\nwor", "err", "oops\n", "block").Backend(b).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		testchild.Poll(t, patience, "the output to arrive", func() bool {
			st := p.Status()
			return st.Stdout.Bytes == 9 && st.Stderr.Lines == 1
		})
		st := p.Status()
		if st.State != proc.StateRunning || st.Pid != p.Pid() || st.Mechanism != b.Mechanism() || st.Result != nil ||
			!st.StartTime.Equal(p.StartTime()) || st.Elapsed <= 0 {
			t.Fatalf("status of the live run: %+v", st)
		}
		if st.Stdout.Lines != 1 || string(st.Stdout.Tail) != "hello\nwor" || string(st.Stderr.Tail) != "oops\n" || st.Stderr.Bytes != 5 {
			t.Fatalf("streams of the live run: %+v", st)
		}
		if later := p.Status(); later.Elapsed < st.Elapsed {
			t.Fatalf("elapsed went back: %v then %v", st.Elapsed, later.Elapsed)
		}
		if err := p.Kill(ctx); err != nil {
			t.Fatal(err)
		}
		r, _ := p.Wait(ctx)
		st = p.Status()
		if st.State != proc.StateEnded || st.Result != r || st.Elapsed != r.Duration {
			t.Fatalf("status of the ended run: state %v, result %p (Wait's %p), elapsed %v (duration %v)", st.State, st.Result, r, st.Elapsed, r.Duration)
		}
		if st.Stdout.Bytes != r.StdoutTotal || st.Stdout.Lines != r.Streams.Stdout.Lines || st.Stdout.Lines != 2 ||
			st.Stderr.Bytes != r.StderrTotal || st.Stderr.Lines != r.Streams.Stderr.Lines {
			t.Fatalf("the ended status disagrees with the Result: %+v vs totals %d/%d, lines %+v", st, r.StdoutTotal, r.StderrTotal, r.Streams)
		}
		if !bytes.Equal(st.Stdout.Tail, r.Stdout) {
			t.Fatalf("tail %q, result %q", st.Stdout.Tail, r.Stdout)
		}
		if p.Status().Elapsed != st.Elapsed {
			t.Fatal("the ended status changed")
		}
	})
}

// TestStatusTailIsBounded: the tail keeps the last StatusTail bytes.
func TestStatusTailIsBounded(t *testing.T) {
	ctx := ctxFor(t, patience)
	p, err := script("lines", "5000").Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := p.Status()
	if len(st.Stdout.Tail) != proc.StatusTail || !bytes.HasSuffix(r.Stdout, st.Stdout.Tail) || !bytes.HasSuffix(st.Stdout.Tail, []byte("line 5000\n")) {
		t.Fatalf("tail of %d bytes, ends %q", len(st.Stdout.Tail), st.Stdout.Tail[max(0, len(st.Stdout.Tail)-20):])
	}
	st.Stdout.Tail[0] = '!'
	if p.Status().Stdout.Tail[0] == '!' {
		t.Fatal("the tail is not a copy")
	}
	if st.Stderr.Tail != nil || st.Stderr.Bytes != 0 {
		t.Fatalf("stderr status %+v; want nothing", st.Stderr)
	}
}

// TestStatusFromManyGoroutines: Status is race-free while both streams
// flow and the run ends, and its counts never go back.
func TestStatusFromManyGoroutines(t *testing.T) {
	ctx := ctxFor(t, patience)
	p, err := script("interleave", "20000").Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			var last proc.Status
			for {
				st := p.Status()
				if st.Stdout.Bytes < last.Stdout.Bytes || st.Stderr.Lines < last.Stderr.Lines || st.State < last.State {
					t.Errorf("status went back: %+v after %+v", st, last)
					return
				}
				last = st
				if st.State == proc.StateEnded {
					return
				}
			}
		})
	}
	r, err := p.Wait(ctx)
	wg.Wait()
	if err != nil || r.Streams.Stderr.Lines != 20000 {
		t.Fatalf("Wait %v, %+v", err, r.Streams)
	}
}

// TestStatusOfUnreadStreams: a stream sent elsewhere counts nothing, and
// with stderr on stdout, stdout counts both.
func TestStatusOfUnreadStreams(t *testing.T) {
	ctx := ctxFor(t, patience)
	p, err := script("interleave", "10").Stdout(proc.Discard()).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if st := p.Status(); st.Stdout.Bytes != 0 || st.Stdout.Tail != nil || st.Stderr.Lines != 10 {
		t.Fatalf("status %+v", st)
	}
	p, err = script("interleave", "10").Stderr(proc.ToStdout()).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if st := p.Status(); st.Stdout.Lines != 20 || string(st.Stdout.Tail) != interleaved(10) || st.Stderr.Bytes != 0 {
		t.Fatalf("status %+v", st)
	}
}

func TestRunStateString(t *testing.T) {
	for s, want := range map[proc.RunState]string{proc.StateRunning: "running", proc.StateStopping: "stopping", proc.StateEnded: "ended", 0: "unknown"} {
		if s.String() != want {
			t.Errorf("%d.String() = %q; want %q", int(s), s.String(), want)
		}
	}
}
