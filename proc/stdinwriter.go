package proc

import (
	"io"
	"os"
	"sync"

	"github.com/gotether/tether/contain"
)

// StdinWriter writes to a running child's stdin. Its methods are safe for
// concurrent use. After Close, or once the run has ended, writes fail with
// an error matching contain.ErrClosed (or os.ErrClosed); for a command
// started without InteractiveStdin, with an *InvalidError.
type StdinWriter struct {
	mu  sync.Mutex
	w   *os.File // nil when stdin is not interactive
	err error
}

// Write writes b to the child's stdin. It blocks while the pipe is full
// (the child is not reading).
func (s *StdinWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	w, err := s.w, s.err
	s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	return w.Write(b)
}

// WriteString writes str.
func (s *StdinWriter) WriteString(str string) (int, error) { return s.Write([]byte(str)) }

// WriteLine writes line followed by "\n".
func (s *StdinWriter) WriteLine(line string) error {
	_, err := s.Write([]byte(line + "\n"))
	return err
}

// SendControl writes the control character Ctrl-c as one byte: 'C' (or
// 'c') gives 0x03, 'D' gives 0x04, '[' gives ESC. Without a terminal this
// is just a byte; no signal is generated (use RunningProcess.Signal). On
// a terminal run (Cmd.Terminal) the terminal acts on it as on a key
// press, unless the child turned that off (raw mode): Ctrl-C sends
// SIGINT and Ctrl-\ SIGQUIT to the child's foreground process group,
// Ctrl-D at the start of a line is the end of input. Ctrl-Z does nothing
// there: the kernel discards a terminal's stop signal for a process
// group with no parent in its session, which a terminal run's is.
func (s *StdinWriter) SendControl(c byte) error {
	if c >= 'a' && c <= 'z' {
		c -= 'a' - 'A'
	}
	if c < '@' || c > '_' {
		return &InvalidError{Reason: "SendControl takes a letter or one of @[\\]^_"}
	}
	_, err := s.Write([]byte{c & 0x1f})
	return err
}

// Close closes stdin: the child reads EOF. On a terminal run (Cmd.Terminal)
// it only closes tether's writing side: the terminal stays the child's
// stdin and gives no EOF (send Ctrl-D with SendControl('D') at the start
// of a line for that).
func (s *StdinWriter) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return nil
	}
	s.err = contain.ErrClosed
	return s.w.Close()
}

// shut is Close at the end of the run.
func (s *StdinWriter) shut() { _ = s.Close() }

// Stdin returns the writer for the child's stdin. Unless the Cmd asked
// for InteractiveStdin or Terminal, every method of the writer fails. On
// a terminal run what it writes is typed into the terminal.
func (p *RunningProcess) Stdin() *StdinWriter { return p.stdin.writer }

var _ io.Writer = (*StdinWriter)(nil)
