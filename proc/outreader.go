package proc

import (
	"fmt"
	"io"
	"os"
	"sync"
)

// ReaderBuffer is how many bytes a stream's raw reader (ToReader) holds
// unread while the tree lives. When it is full, tether stops reading the
// child's pipe until the caller reads: the pipe fills and the child
// blocks on its next write, as with os/exec's StdoutPipe.
const ReaderBuffer = 64 << 10

// readerSlack is how many bytes a raw reader takes beyond ReaderBuffer
// once the tree is dead and tether no longer holds the drain back: what
// was still queued in the pipe. It covers the largest pipe an
// unprivileged child can ask for (1 MiB, Linux's default
// /proc/sys/fs/pipe-max-size; 64 KiB is the default size).
const readerSlack = 1 << 20

// ToReader captures the stream, as Capture does, and also hands its raw
// bytes to the caller as an io.Reader, from the first byte: call
// RunningProcess.StdoutReader (or StderrReader) on the run Start
// returned, and feed it to json.NewDecoder, io.Copy or a parser. It is
// os/exec's StdoutPipe for a contained run. The rules:
//
//   - Back-pressure. The reader holds up to ReaderBuffer bytes unread;
//     past that tether stops reading the pipe until the caller reads, so
//     the pipe fills and the child blocks on its next write. Capture,
//     Tee, the line readers and OnLine callbacks of that stream wait with
//     it (they are fed by the same drain). Read the reader to its end, or
//     Close it when done: a closed reader takes nothing more and never
//     holds the child back again.
//   - The end. Read returns io.EOF once the stream has ended and every
//     byte was read: the child and everything that held its pipe are
//     gone, or the tree is dead and tether stopped reading (a pipe held
//     by a process outside the container, see docs/streaming.md). It
//     never waits for a grandchild that outlived the tree. Bytes still
//     unread when the run ends stay readable after Wait returns.
//   - After the tree's death the reader no longer holds anything back
//     (so Wait and Kill never wait for a slow reader): it takes what
//     was still queued in the pipe, up to 1 MiB beyond ReaderBuffer, and
//     past that drops bytes; Read then returns the error of a stream cut
//     short (matching ErrOutputTooLarge) instead of io.EOF, after the
//     bytes it kept. A run whose reader keeps up never sees it.
//   - The capture is unchanged: Result.Stdout holds the bytes under the
//     stream's cap and policy (CapStdout(0, KeepHead) keeps none, for a
//     stream too large to keep), and line readers see the stream as
//     usual.
//
// Only Start hands out the handle, and with it the reader; the other
// verbs (Output, Run, ...) and a pipeline's stages treat ToReader as
// Capture, so nothing waits for a reader nobody has. A scripted run
// (proctest) feeds its reader the same way.
func ToReader() Sink { return Sink{mode: modeReader} }

// StdoutReader returns the raw reader of stdout for a Cmd whose stdout is
// ToReader(): the same reader on every call, safe for one reading
// goroutine at a time (Close may be called from any). See ToReader for
// back-pressure and the end of the stream. For any other stdout its Read
// fails with an *InvalidError.
func (p *RunningProcess) StdoutReader() io.ReadCloser { return p.streams.reader(p.cmd, Stdout) }

// StderrReader is StdoutReader for stderr (Stderr(ToReader())).
func (p *RunningProcess) StderrReader() io.ReadCloser { return p.streams.reader(p.cmd, Stderr) }

// reader returns stream st's raw reader, or one that fails.
func (s *streams) reader(c *Cmd, st Stream) io.ReadCloser {
	cp := s.out
	if st == Stderr {
		cp = s.err
	}
	if cp == nil || cp.tap == nil {
		return failedReader{err: &InvalidError{Program: c.name, Reason: st.String() + " is not read through a reader (use Cmd." +
			map[Stream]string{Stdout: "Stdout", Stderr: "Stderr"}[st] + "(proc.ToReader()) and Start)"}}
	}
	return cp.tap
}

// failedReader is the reader of a stream that has none.
type failedReader struct{ err error }

func (f failedReader) Read([]byte) (int, error) { return 0, f.err }
func (f failedReader) Close() error             { return nil }

// byteTap is a stream's raw reader: a bounded buffer the drain writes to
// (blocking while it is full and the tree lives) and the caller reads.
type byteTap struct {
	program string
	stream  Stream

	mu        sync.Mutex
	cond      *sync.Cond
	buf       []byte // unread bytes are buf[off:]
	off       int
	unblocked bool  // the tree is dead: write never blocks again
	ended     bool  // no more bytes will come
	closed    bool  // the caller closed the reader
	dropped   int64 // bytes dropped past the slack, after the tree died
}

func newByteTap(program string, st Stream) *byteTap {
	t := &byteTap{program: program, stream: st}
	t.cond = sync.NewCond(&t.mu)
	return t
}

// write hands p to the reader, blocking while its buffer is full and the
// tree lives. A nil tap does nothing.
func (t *byteTap) write(p []byte) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(p) > 0 && !t.closed {
		limit := ReaderBuffer
		if t.unblocked {
			limit += readerSlack
		}
		room := limit - (len(t.buf) - t.off)
		if room <= 0 {
			if t.unblocked {
				t.dropped += int64(len(p))
				return
			}
			t.cond.Wait()
			continue
		}
		if t.off > 0 && len(t.buf)+min(room, len(p)) > cap(t.buf) {
			// Move the unread bytes to the front rather than grow.
			t.buf = t.buf[:copy(t.buf, t.buf[t.off:])]
			t.off = 0
		}
		n := min(room, len(p))
		t.buf = append(t.buf, p[:n]...)
		p = p[n:]
		t.cond.Broadcast()
	}
}

// unblock lets write stop blocking: the tree is dead.
func (t *byteTap) unblock() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.unblocked = true
	t.cond.Broadcast()
}

// end marks the end of the stream: Read returns io.EOF (or the error of
// a stream cut short) once the buffer is empty.
func (t *byteTap) end() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ended = true
	t.cond.Broadcast()
}

// Read reads what the child wrote, blocking until there is something to
// read or the stream has ended.
func (t *byteTap) Read(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for !t.closed && !t.ended && t.off == len(t.buf) && len(b) > 0 {
		t.cond.Wait()
	}
	switch {
	case t.closed:
		return 0, os.ErrClosed
	case len(b) == 0:
		return 0, nil
	case t.off < len(t.buf):
		n := copy(b, t.buf[t.off:])
		t.off += n
		if t.off == len(t.buf) {
			t.buf, t.off = t.buf[:0], 0
		}
		t.cond.Broadcast() // room for a blocked drain
		return n, nil
	case t.dropped > 0:
		return 0, fmt.Errorf("proc: %s: the %s reader fell more than %d bytes behind after the tree died; %d bytes were dropped: %w",
			t.program, t.stream, ReaderBuffer+readerSlack, t.dropped, ErrOutputTooLarge)
	}
	return 0, io.EOF
}

// Close ends the reading: the reader takes nothing more (the stream is
// still captured) and never holds the child back again. Read then fails
// with os.ErrClosed. Close may be called from any goroutine, any number
// of times.
func (t *byteTap) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	t.buf, t.off = nil, 0
	t.cond.Broadcast()
	return nil
}
