package proc_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// interleaved is what the script op "interleave n" writes, in the order
// of its write system calls.
func interleaved(n int) string {
	var b strings.Builder
	for k := 1; k <= n; k++ {
		b.WriteString("out " + strconv.Itoa(k) + "\nerr " + strconv.Itoa(k) + "\n")
	}
	return b.String()
}

// TestToStdoutKeepsTheChildsWriteOrder: with stderr on stdout's pipe the
// capture is exactly the child's writes in the order it made them, for
// every verb's way of reading (the capture, the line readers, OnLine).
func TestToStdoutKeepsTheChildsWriteOrder(t *testing.T) {
	const n = 2000
	want := interleaved(n)
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		var onLine []proc.Line
		c := script("interleave", strconv.Itoa(n)).Stderr(proc.ToStdout()).Backend(b)
		r, err := c.OnLine(func(l proc.Line) { onLine = append(onLine, l) }).Output(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if string(r.Stdout) != want {
			t.Fatalf("combined stdout is not the child's write order (%d bytes, want %d):\n%s", len(r.Stdout), len(want), firstDiff(string(r.Stdout), want))
		}
		if len(r.Stderr) != 0 || r.StderrTotal != 0 || r.StdoutTotal != int64(len(want)) {
			t.Fatalf("stderr %q, totals %d/%d; want everything on stdout", r.Stderr, r.StdoutTotal, r.StderrTotal)
		}
		if got := linesText(onLine); got != want {
			t.Fatalf("OnLine order differs:\n%s", firstDiff(got, want))
		}
		if r.Streams.Stdout.Lines != 2*n || r.Streams.Stderr.Lines != 0 {
			t.Fatalf("line counts %+v; want %d lines, all on stdout", r.Streams, 2*n)
		}

		p, err := c.Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		lines := slices.Collect(p.Lines())
		if got := linesText(lines); got != want {
			t.Fatalf("Lines order differs:\n%s", firstDiff(got, want))
		}
		for _, l := range lines {
			if l.Stream != proc.Stdout {
				t.Fatalf("line %+v attributed to %s; one pipe carries both, so all are stdout's", l, l.Stream)
			}
		}
		if got := slices.Collect(p.StderrLines()); len(got) != 0 {
			t.Fatalf("StderrLines gave %d lines; want none", len(got))
		}
		if _, err := p.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func linesText(ls []proc.Line) string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString(l.Text + "\n")
	}
	return b.String()
}

// firstDiff shows where got and want part.
func firstDiff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(0, i-40)
	return "at byte " + strconv.Itoa(i) + ": got …" + strconv.Quote(got[from:min(len(got), i+40)]) + ", want …" + strconv.Quote(want[from:min(len(want), i+40)])
}

// TestSharedTeeWriterIsRaceFree: one bytes.Buffer teed from both streams
// is written by one stream at a time (as os/exec does when Stdout ==
// Stderr). Without the shared lock the race detector reports the two
// drains writing the buffer at once.
func TestSharedTeeWriterIsRaceFree(t *testing.T) {
	const n = 3000
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		var buf bytes.Buffer
		r, err := script("interleave", strconv.Itoa(n)).Stdout(proc.Tee(&buf)).Stderr(proc.Tee(&buf)).Backend(b).Output(ctxFor(t, patience))
		if err != nil {
			t.Fatal(err)
		}
		if int64(buf.Len()) != r.StdoutTotal+r.StderrTotal || buf.Len() != len(interleaved(n)) {
			t.Fatalf("the shared writer got %d bytes; stdout %d + stderr %d", buf.Len(), r.StdoutTotal, r.StderrTotal)
		}
		// Each stream's own order survives the interleaving (each write
		// is whole: the child's writes are single lines, well under a
		// pipe's atomic size).
		var outs, errs []string
		for l := range strings.Lines(buf.String()) {
			switch {
			case strings.HasPrefix(l, "out "):
				outs = append(outs, l)
			case strings.HasPrefix(l, "err "):
				errs = append(errs, l)
			default:
				t.Fatalf("torn line %q in the shared writer", l)
			}
		}
		if strings.Join(outs, "") != string(r.Stdout) || strings.Join(errs, "") != string(r.Stderr) {
			t.Fatal("a stream's order differs between the shared writer and its capture")
		}
	})
}

// TestToStdoutFollowsStdout: stderr goes wherever stdout goes, on the
// same open file: a file (one offset, as `>file 2>&1`), the null device,
// and a pipeline's next stage (`2>&1 |`).
func TestToStdoutFollowsStdout(t *testing.T) {
	ctx := ctxFor(t, patience)
	want := interleaved(200)
	file := filepath.Join(testchild.TempDir(t), "both")
	r, err := script("interleave", "200").Stdout(proc.ToFile(file)).Stderr(proc.ToStdout()).Output(ctx)
	if err != nil || len(r.Stdout) != 0 || len(r.Stderr) != 0 {
		t.Fatalf("Output to a file: %v, stdout %q, stderr %q", err, r.Stdout, r.Stderr)
	}
	if got, _ := os.ReadFile(file); string(got) != want {
		t.Fatalf("the file is not the child's write order:\n%s", firstDiff(string(got), want))
	}

	r, err = script("interleave", "200").Stdout(proc.Discard()).Stderr(proc.ToStdout()).Output(ctx)
	if err != nil || len(r.Stdout)+len(r.Stderr) != 0 || r.StderrTotal != 0 {
		t.Fatalf("Discard: %v, stdout %q, stderr %q", err, r.Stdout, r.Stderr)
	}

	pr, err := proc.Pipe(script("interleave", "200").Stderr(proc.ToStdout()), script("cat")).Output(ctx)
	if err != nil || !pr.Success() {
		t.Fatalf("pipeline: %v %+v", err, pr)
	}
	if string(pr.Stdout) != want || len(pr.Stages[0].Stderr) != 0 {
		t.Fatalf("the pipe to the next stage did not carry both streams in order:\n%s", firstDiff(string(pr.Stdout), want))
	}
}

// TestToStdoutFailureShowsTheCombinedTail: Exec keeps stdout captured
// when stderr goes to it, so the error still shows what the child said.
func TestToStdoutFailureShowsTheCombinedTail(t *testing.T) {
	ctx := ctxFor(t, patience)
	err := script("out", "working\n", "err", "fatal: no space left\n", "exit", "4").Stderr(proc.ToStdout()).Exec(ctx)
	var ee *proc.ExitError
	if !errors.As(err, &ee) || ee.Code != 4 {
		t.Fatalf("Exec = %v; want an *ExitError with code 4", err)
	}
	if !strings.Contains(err.Error(), "fatal: no space left") || string(ee.StdoutTail) != "working\nfatal: no space left\n" || len(ee.StderrTail) != 0 {
		t.Fatalf("error %q, tails %q / %q; want the combined tail", err, ee.StdoutTail, ee.StderrTail)
	}
}

func TestToStdoutInvalidUses(t *testing.T) {
	ctx := ctxFor(t, patience)
	for name, c := range map[string]*proc.Cmd{
		"stdout to itself":        script().Stdout(proc.ToStdout()),
		"a cap on merged stderr":  script().Stderr(proc.ToStdout()).CapStderr(10, proc.KeepTail),
		"the cap before the sink": script().CapStderr(10, proc.KeepTail).Stderr(proc.ToStdout()),
	} {
		if _, err := c.Output(ctx); !errors.Is(err, proc.ErrInvalid) {
			t.Errorf("%s: Output error = %v; want ErrInvalid", name, err)
		}
	}
	// Stdout's cap caps the combined stream.
	r, err := script("interleave", "100").Stderr(proc.ToStdout()).CapStdout(20, proc.KeepHead).Output(ctx)
	if err != nil || string(r.Stdout) != interleaved(100)[:20] || !r.StdoutTruncated || r.StdoutTotal != int64(len(interleaved(100))) {
		t.Fatalf("capped combined stream: %v, %q, truncated %v, total %d", err, r.Stdout, r.StdoutTruncated, r.StdoutTotal)
	}
}

// TestDetachToStdout: a detached process's stderr follows its stdout to
// a file.
func TestDetachToStdout(t *testing.T) {
	ctx := ctxFor(t, patience)
	file := filepath.Join(testchild.TempDir(t), "out")
	pid, err := proc.Detach(ctx, script("out", "o\n", "err", "e\n").Stdout(proc.ToFile(file)).Stderr(proc.ToStdout()))
	if err != nil {
		t.Fatal(err)
	}
	testchild.WaitDead(t, patience, pid)
	if b, _ := os.ReadFile(file); string(b) != "o\ne\n" {
		t.Fatalf("file %q; want both streams", b)
	}
}
