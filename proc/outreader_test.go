package proc_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gotether/tether/contain"
	"github.com/gotether/tether/internal/testchild"
	"github.com/gotether/tether/proc"
)

// TestToReaderDecodesTheRawStream: a json.Decoder reads stdout as the
// child writes it, and the capture still holds every byte.
func TestToReaderDecodesTheRawStream(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		var ops []string
		var want bytes.Buffer
		for k := range 300 {
			doc := `{"n":` + strconv.Itoa(k) + `,"s":"` + strings.Repeat("ü", k%40) + `"}` + "\n"
			ops = append(ops, "out", doc)
			want.WriteString(doc)
		}
		p, err := script(ops...).Stdout(proc.ToReader()).Backend(b).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(p.StdoutReader())
		n := 0
		for {
			var v struct {
				N int
				S string
			}
			err := dec.Decode(&v)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("decode %d: %v", n, err)
			}
			if v.N != n || len([]rune(v.S)) != n%40 {
				t.Fatalf("document %d = %+v", n, v)
			}
			n++
		}
		r, err := p.Wait(ctx)
		if err != nil || n != 300 {
			t.Fatalf("decoded %d documents, Wait %v", n, err)
		}
		if !bytes.Equal(r.Stdout, want.Bytes()) {
			t.Fatalf("the capture lost bytes to the reader: %d of %d", len(r.Stdout), want.Len())
		}
		if got := p.StdoutReader(); got != p.StdoutReader() {
			t.Fatal("StdoutReader returned a different reader on a second call")
		}
	})
}

// TestToReaderBackPressure: a reader that does not read holds the child
// back (its writes block once the reader's buffer and the pipe are
// full); reading lets it finish, with nothing lost.
func TestToReaderBackPressure(t *testing.T) {
	const total = 4 << 20
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		p, err := script("outn", strconv.Itoa(total), "err", "done\n").Stdout(proc.ToReader()).CapStdout(0, proc.KeepHead).Backend(b).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		testchild.Poll(t, patience, "the reader's buffer to fill", func() bool { return p.Status().Stdout.Bytes >= proc.ReaderBuffer })
		// Not a synchronisation: a check that, left alone for a while,
		// the child stays blocked.
		time.Sleep(300 * time.Millisecond)
		st := p.Status()
		if st.State != proc.StateRunning || st.Stdout.Bytes >= total || st.Stderr.Bytes != 0 {
			t.Fatalf("with nobody reading, the child went on: %+v", st)
		}
		if st.Stdout.Bytes > proc.ReaderBuffer+64<<10 {
			t.Fatalf("tether read %d bytes ahead of the reader; want at most the reader's buffer and one read", st.Stdout.Bytes)
		}
		n, err := io.Copy(io.Discard, p.StdoutReader())
		if err != nil || n != total {
			t.Fatalf("read %d bytes (%v); want %d", n, err, total)
		}
		r, err := p.Wait(ctx)
		if err != nil || !r.Success() || string(r.Stderr) != "done\n" || r.StdoutTotal != total || len(r.Stdout) != 0 {
			t.Fatalf("Wait: %v, %+v", err, r)
		}
	})
}

// TestToReaderNeverReadDoesNotHoldTheRunEnd: a reader nobody reads stops
// holding the drain back once the tree is dead, so a timeout still ends
// the run, and the bytes the pipe still held are all the reader's.
func TestToReaderNeverReadDoesNotHoldTheRunEnd(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		ctx := ctxFor(t, patience)
		p, err := script("outn", strconv.Itoa(64<<20)).Stdout(proc.ToReader()).Timeout(300 * time.Millisecond).Backend(b).Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r, err := p.Wait(ctx)
		if err != nil || r.Outcome != proc.TimedOut {
			t.Fatalf("Wait = %v, %+v; want a timed-out run", err, r)
		}
		got, err := io.ReadAll(p.StdoutReader())
		if err != nil {
			t.Fatalf("reading after the run: %v", err)
		}
		if int64(len(got)) != r.StdoutTotal || !bytes.Equal(got, r.Stdout[:len(got)]) {
			t.Fatalf("the reader kept %d bytes of the %d read", len(got), r.StdoutTotal)
		}
		if len(got) < proc.ReaderBuffer {
			t.Fatalf("only %d bytes reached the reader; the child wrote at least %d", len(got), proc.ReaderBuffer)
		}
	})
}

// TestToReaderEOFWhenTheTreeIsDead: a grandchild that holds stdout keeps
// the pipe open after the child exits; the reader reaches EOF anyway
// once the tree is dead (killed with it, or, a setsid escapee under
// process groups, once tether stops reading), never when the grandchild
// lets go.
func TestToReaderEOFWhenTheTreeIsDead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b contain.Backend) {
		for _, hold := range []string{"hold", "holdsid"} {
			t.Run(hold, func(t *testing.T) {
				ctx := ctxFor(t, patience)
				pids := testchild.PidFile(t)
				p, err := script(hold, "pids", pids, "out", "bye").Stdout(proc.ToReader()).Backend(b).Start(ctx)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(p.StdoutReader())
				if err != nil || string(got) != "bye" {
					t.Fatalf("ReadAll = %q, %v", got, err)
				}
				if _, err := p.Wait(ctx); err != nil {
					t.Fatal(err)
				}
				holder := testchild.ReadPidFile(t, pids, patience)[hold]
				if testchild.Alive(holder) {
					if hold == "hold" {
						t.Errorf("the grandchild %d outlived its tree", holder)
					}
					// An escapee of a process group: the documented weakness.
					testchild.KillPids(holder)
					testchild.WaitDead(t, patience, holder)
				}
			})
		}
	})
}

// TestToReaderClosedEarly: a reader closed before the end takes nothing
// more and never holds the child back; the capture is complete.
func TestToReaderClosedEarly(t *testing.T) {
	ctx := ctxFor(t, patience)
	const total = 2 << 20
	p, err := script("outn", strconv.Itoa(total)).Stdout(proc.ToReader()).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rd := p.StdoutReader()
	if _, err := io.ReadFull(rd, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if err := rd.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := p.Wait(ctx)
	if err != nil || !r.Success() || len(r.Stdout) != total {
		t.Fatalf("Wait: %v, %d bytes captured", err, len(r.Stdout))
	}
	if _, err := rd.Read(make([]byte, 1)); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Read after Close = %v; want os.ErrClosed", err)
	}
}

// TestToReaderStderrAndOtherVerbs: stderr has a reader too; a stream
// without ToReader has none; Output treats ToReader as Capture (nobody
// could read, so nothing waits).
func TestToReaderStderrAndOtherVerbs(t *testing.T) {
	ctx := ctxFor(t, patience)
	p, err := script("out", "o", "err", "e").Stderr(proc.ToReader()).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(p.StderrReader()); err != nil || string(got) != "e" {
		t.Fatalf("stderr reader: %q, %v", got, err)
	}
	if _, err := p.StdoutReader().Read(make([]byte, 1)); !errors.Is(err, proc.ErrInvalid) {
		t.Fatalf("stdout without ToReader: Read = %v; want ErrInvalid", err)
	}
	if _, err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := script("outn", strconv.Itoa(1<<20)).Stdout(proc.ToReader()).Output(ctx)
	if err != nil || len(r.Stdout) != 1<<20 {
		t.Fatalf("Output with ToReader: %v, %d bytes", err, len(r.Stdout))
	}
	// With stderr on stdout, the reader carries both.
	p, err = script("interleave", "50").Stdout(proc.ToReader()).Stderr(proc.ToStdout()).Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(p.StdoutReader()); err != nil || string(got) != interleaved(50) {
		t.Fatalf("combined reader: %v\n%s", err, firstDiff(string(got), interleaved(50)))
	}
	if _, err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
}
