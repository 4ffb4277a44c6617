package proc_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/proc"
)

func TestFakeProcessUsesTheRealStreamMachinery(t *testing.T) {
	ctx := ctxFor(t, patience)
	c := proc.Command("server").InteractiveStdin()
	f, err := proc.NewFakeProcess(ctx, c, 4242)
	if err != nil {
		t.Fatal(err)
	}
	p := f.Process()
	if p.Pid() != 4242 || p.Mechanism() != proc.FakeMechanism {
		t.Fatalf("pid %d mechanism %s", p.Pid(), p.Mechanism())
	}
	f.WriteStdout([]byte("booting\nlisten"))
	f.WriteStdout([]byte("ing on :80\n"))
	if l, err := p.WaitForOutput(ctx, "listening"); err != nil || l.Text != "listening on :80" || l.Seq != 2 {
		t.Fatalf("probe: %+v %v", l, err)
	}
	go func() { _ = p.Stdin().WriteLine("quit"); _ = p.Stdin().Close() }()
	if b, err := io.ReadAll(f.Stdin()); err != nil || string(b) != "quit\n" {
		t.Fatalf("stdin %q %v", b, err)
	}
	f.WriteStderr([]byte("bye"))
	f.End(proc.Exited, 0, "")
	r, err := p.Wait(ctx)
	if err != nil || !r.Success() || string(r.Stdout) != "booting\nlistening on :80\n" || string(r.Stderr) != "bye" || r.Mechanism != proc.FakeMechanism {
		t.Fatalf("%+v %v", r, err)
	}
	if got := slices.Collect(p.StderrLines()); len(got) != 1 || !got[0].Partial {
		t.Fatalf("stderr lines after the end: %+v", got)
	}
	if err := p.Signal(os.Interrupt); !errors.Is(err, contain.ErrClosed) {
		t.Fatalf("Signal after the end: %v", err)
	}
}

func TestFakeProcessKillAndCancel(t *testing.T) {
	ctx := ctxFor(t, patience)
	f, _ := proc.NewFakeProcess(ctx, proc.Command("sleep"), 1)
	if err := f.Process().Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if r, _ := f.Process().Wait(ctx); r.Outcome != proc.Signaled {
		t.Fatalf("after Kill: %v", r.Outcome)
	}
	cctx, cancel := context.WithCancel(ctx)
	g, _ := proc.NewFakeProcess(cctx, proc.Command("sleep"), 2)
	cancel()
	if _, err := g.Process().Wait(ctx); !errors.Is(err, proc.ErrCancelled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("after cancel: %v", err)
	}
	if r := proc.NewResult(proc.Command("grep").OKCodes(1), proc.Exited, 1, "", nil, nil); !r.Success() {
		t.Fatal("NewResult ignores the command's OK codes")
	}
}

// TestFakeKillWhileAWriteIsHeldBack: a fake's write blocked on a reader
// that stopped reading (a line reader under Block, a raw reader) does not
// keep Kill from ending the run; before, the end waited for the write's
// lock for ever.
func TestFakeKillWhileAWriteIsHeldBack(t *testing.T) {
	for name, c := range map[string]*proc.Cmd{
		"line reader": proc.Command("server").LineBuffer(2, 1<<20, proc.Block),
		"raw reader":  proc.Command("server").Stdout(proc.ToReader()),
	} {
		t.Run(name, func(t *testing.T) {
			ctx := ctxFor(t, patience)
			f, err := proc.NewFakeProcess(ctx, c, 1)
			if err != nil {
				t.Fatal(err)
			}
			p := f.Process()
			release := make(chan struct{})
			read := make(chan struct{})
			go func() {
				for range p.Lines() {
					close(read)
					<-release // holds its reader without reading
					return
				}
			}()
			wrote := make(chan struct{})
			go func() {
				defer close(wrote)
				for range 100 {
					f.WriteStdout(bytes.Repeat([]byte("line\n"), 10<<10))
				}
			}()
			<-read
			kctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if err := p.Kill(kctx); err != nil {
				t.Errorf("Kill with a write held back: %v", err)
			}
			close(release)
			<-wrote
		})
	}
}

func TestNewResultOfACombinedCommand(t *testing.T) {
	r := proc.NewResult(proc.Command("make").Stderr(proc.ToStdout()), proc.Exited, 2, "", []byte("out\n"), []byte("err\n"))
	if string(r.Stdout) != "out\nerr\n" || r.Stderr != nil || r.StdoutTotal != 8 || r.StderrTotal != 0 {
		t.Fatalf("NewResult of a combined command: stdout %q, stderr %q, totals %d/%d", r.Stdout, r.Stderr, r.StdoutTotal, r.StderrTotal)
	}
}
