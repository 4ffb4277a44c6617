package proc

import (
	"errors"
	"io"
	"os"
	"strconv"
)

// DefaultCap is the default capture cap per stream: 32 MiB. Stdout keeps
// the head past it, stderr the tail (errors tend to be at the end).
const DefaultCap = 32 << 20

// CapPolicy says what happens to a captured stream past its cap.
type CapPolicy int

// The cap policies.
const (
	// KeepHead keeps the first bytes and counts the rest.
	KeepHead CapPolicy = iota + 1
	// KeepTail keeps the last bytes.
	KeepTail
	// CapFail kills the tree as soon as the cap is passed; the run fails
	// with ErrOutputTooLarge (the first bytes are kept).
	CapFail
)

// String names the policy ("keep head"); an unknown value prints as
// CapPolicy(n).
func (p CapPolicy) String() string {
	switch p {
	case KeepHead:
		return "keep head"
	case KeepTail:
		return "keep tail"
	case CapFail:
		return "fail"
	}
	return "CapPolicy(" + strconv.Itoa(int(p)) + ")"
}

type outMode int

const (
	modeCapture outMode = iota + 1
	modeInherit
	modeDiscard
	modeFile
	modeAppend
	modeTee
	// modePipe: the write end of a pipeline's OS pipe (Pipe only). The
	// run closes the parent's copy right after the spawn.
	modePipe
	// modeStdout: stderr on stdout's descriptor (ToStdout, combined.go).
	modeStdout
	// modeReader: captured, and also read raw by the caller (ToReader,
	// outreader.go).
	modeReader
)

// Sink is where a child's stdout or stderr goes (Cmd.Stdout, Cmd.Stderr);
// build one with Capture, Inherit, Discard, ToFile, AppendFile or Tee.
type Sink struct {
	mode outMode
	path string
	w    io.Writer
}

// Capture keeps the stream in the Result (the default).
func Capture() Sink { return Sink{mode: modeCapture} }

// Inherit passes the owner's own stream to the child.
func Inherit() Sink { return Sink{mode: modeInherit} }

// Discard sends the stream to the null device.
func Discard() Sink { return Sink{mode: modeDiscard} }

// ToFile writes the stream to the file at path, created or truncated on
// every run.
func ToFile(path string) Sink { return Sink{mode: modeFile, path: path} }

// AppendFile appends the stream to the file at path, created if needed.
func AppendFile(path string) Sink { return Sink{mode: modeAppend, path: path} }

// Tee captures the stream and also copies every byte to w as it arrives,
// before any decoding. A slow w slows the draining of the child's pipe;
// a w that fails stops the copying to w, not the capture. When stdout
// and stderr tee to one writer (Tee(&buf) for both, or any two equal
// writers), its Write is called by one stream at a time, as os/exec does
// when Stdout == Stderr, so a bytes.Buffer is safe; the writes of the two
// streams then interleave in the order tether read them, which is not
// always the order the child wrote them (use Stderr(ToStdout()) for
// that). A writer shared by several runs must be safe for concurrent use
// itself.
func Tee(w io.Writer) Sink { return Sink{mode: modeTee, w: w} }

type outSpec struct {
	mode   outMode
	path   string
	w      io.Writer
	limit  int64
	policy CapPolicy
	pipe   *os.File
	// capSet: the cap was set explicitly (CapStdout, CapStderr), so a
	// pipeline keeps it instead of its smaller stage default.
	capSet bool
	// set: the destination was chosen explicitly (Stdout, Stderr), so
	// Detach can tell an asked-for capture from the default one.
	set bool
}

func (s outSpec) apply(o Sink) outSpec {
	s.mode, s.path, s.w, s.set = o.mode, o.path, o.w, true
	return s
}

// captures reports whether the stream is read by tether through a pipe.
func (s outSpec) captures() bool {
	return s.mode == modeCapture || s.mode == modeTee || s.mode == modeReader
}

// open returns the file the child writes the stream to (owner's own file
// for Inherit, nil for the null device) and, for captured streams, the
// read end of the pipe.
func (s outSpec) open(owner *os.File) (child *os.File, read *os.File, err error) {
	switch s.mode {
	case modeInherit:
		return owner, nil, nil
	case modeDiscard:
		return nil, nil, nil
	case modeFile:
		f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o666)
		return f, nil, err
	case modeAppend:
		f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o666)
		return f, nil, err
	case modeCapture, modeTee, modeReader:
		r, w, err := os.Pipe()
		return w, r, err
	case modePipe:
		return s.pipe, nil, nil
	}
	return nil, nil, errors.New("proc: unknown output mode")
}

// Stdout returns a copy whose stdout goes to the sink o: Capture() (the
// default), Inherit(), Discard(), ToFile(path), AppendFile(path), Tee(w)
// or ToReader(). ToStdout() is for Stderr only: here it makes the run
// fail with ErrInvalid.
func (c *Cmd) Stdout(o Sink) *Cmd {
	return c.with(func(n *Cmd) { n.stdout = n.stdout.apply(o) })
}

// Stderr is Stdout for stderr, and also takes ToStdout(): stderr on
// stdout's descriptor, as a shell's 2>&1 (see ToStdout).
func (c *Cmd) Stderr(o Sink) *Cmd {
	return c.with(func(n *Cmd) { n.stderr = n.stderr.apply(o) })
}

// CapStdout returns a copy that captures at most limit bytes of stdout and
// applies policy to the rest: KeepHead, KeepTail, or CapFail (kill the
// tree; the run fails with ErrOutputTooLarge). The child is never blocked:
// past the cap the pipe is still drained and the bytes counted.
func (c *Cmd) CapStdout(limit int64, policy CapPolicy) *Cmd {
	return c.with(func(n *Cmd) { n.stdout.limit, n.stdout.policy, n.stdout.capSet = limit, policy, true })
}

// CapStderr is CapStdout for stderr.
func (c *Cmd) CapStderr(limit int64, policy CapPolicy) *Cmd {
	return c.with(func(n *Cmd) { n.stderr.limit, n.stderr.policy, n.stderr.capSet = limit, policy, true })
}
