package proc

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestByteTapAfterTheTreeDied: once unblocked the tap never blocks; it
// keeps up to ReaderBuffer+readerSlack bytes and then drops, and the
// reader gets every kept byte and then an error matching
// ErrOutputTooLarge, never a silent short stream. A real child can hardly
// queue over 1 MiB in its pipe after its death, so this is tested on the
// tap itself.
func TestByteTapAfterTheTreeDied(t *testing.T) {
	tap := newByteTap("prog", Stdout)
	chunk := bytes.Repeat([]byte("x"), 100<<10)
	tap.write(chunk[:ReaderBuffer]) // fills it; one byte more would block
	tap.unblock()
	var wrote int
	for range 20 {
		tap.write(chunk)
		wrote += len(chunk)
	}
	tap.end()
	got, err := io.ReadAll(tap)
	if !errors.Is(err, ErrOutputTooLarge) || !strings.Contains(err.Error(), "dropped") {
		t.Fatalf("ReadAll error = %v; want one matching ErrOutputTooLarge", err)
	}
	if len(got) != ReaderBuffer+readerSlack {
		t.Fatalf("kept %d bytes; want %d", len(got), ReaderBuffer+readerSlack)
	}
	if tap.dropped != int64(ReaderBuffer+wrote-len(got)) {
		t.Fatalf("dropped %d; want %d", tap.dropped, ReaderBuffer+wrote-len(got))
	}
}

// TestByteTapBlocksUntilRead: while the tree lives a full tap blocks its
// writer until the reader makes room, and hands over every byte in
// order.
func TestByteTapBlocksUntilRead(t *testing.T) {
	tap := newByteTap("prog", Stdout)
	want := make([]byte, 3*ReaderBuffer+123)
	for i := range want {
		want[i] = byte(i * 7)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p := want; len(p) > 0; {
			n := min(len(p), 5000)
			tap.write(p[:n])
			p = p[n:]
		}
		tap.end()
	}()
	got, err := io.ReadAll(tap)
	<-done
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes (%v); want %d, equal", len(got), err, len(want))
	}
}

func TestSameWriterOfUncomparableWriters(t *testing.T) {
	var a, b bytes.Buffer
	f := writerFunc(func(p []byte) (int, error) { return len(p), nil })
	switch {
	case !sameWriter(&a, &a):
		t.Error("one *bytes.Buffer is not the same as itself")
	case sameWriter(&a, &b):
		t.Error("two buffers are the same")
	case sameWriter(f, f):
		t.Error("a func writer (not comparable) compared equal; want different, and no panic")
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
