package proc

import (
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
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
)

// Output is where a stream goes; build one with Capture, Inherit, Discard,
// ToFile, AppendFile or Tee.
type Output struct {
	mode outMode
	path string
	w    io.Writer
}

// Capture keeps the stream in the Result (the default).
func Capture() Output { return Output{mode: modeCapture} }

// Inherit passes the owner's own stream to the child.
func Inherit() Output { return Output{mode: modeInherit} }

// Discard sends the stream to the null device.
func Discard() Output { return Output{mode: modeDiscard} }

// ToFile writes the stream to the file at path, created or truncated on
// every run.
func ToFile(path string) Output { return Output{mode: modeFile, path: path} }

// AppendFile appends the stream to the file at path, created if needed.
func AppendFile(path string) Output { return Output{mode: modeAppend, path: path} }

// Tee captures the stream and also copies every byte to w as it arrives,
// before any decoding. A slow w slows the draining of the child's pipe;
// a w that fails stops the copying to w, not the capture.
func Tee(w io.Writer) Output { return Output{mode: modeTee, w: w} }

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

func (s outSpec) apply(o Output) outSpec {
	s.mode, s.path, s.w, s.set = o.mode, o.path, o.w, true
	return s
}

// captures reports whether the stream is read by tether through a pipe.
func (s outSpec) captures() bool { return s.mode == modeCapture || s.mode == modeTee }

// capture drains one pipe into a capped buffer.
type capture struct {
	r     *os.File // the read end of the child's pipe
	lines *liner   // nil unless the run streams lines
	// activity is the time of the last byte read, for IdleTimeout.
	activity *atomic.Int64
	limit    int64
	policy   CapPolicy
	tee      io.Writer
	// over is called once when the cap is passed under CapFail.
	over func()

	mu        sync.Mutex
	buf       []byte // KeepHead/CapFail: the head; KeepTail: a ring
	start     int    // KeepTail: index of the oldest byte once wrapped
	total     int64
	truncated bool
	teeErr    error
}

// drain reads the pipe to EOF (or error) and closes it. Under KeepHead
// and CapFail it reads straight into the capture buffer while there is
// room, growing it by doubling (append grows large slices by only 1.25x,
// which made a 200 MiB capture allocate 1.5 GB); past the cap it reads
// into a scratch buffer and only counts.
func (c *capture) drain() {
	defer c.r.Close()
	var scratch []byte
	for {
		dst := c.space()
		direct := dst != nil
		if !direct {
			if scratch == nil {
				scratch = make([]byte, 64<<10)
			}
			dst = scratch
		}
		n, err := c.r.Read(dst)
		if n > 0 {
			if c.activity != nil {
				c.activity.Store(time.Now().UnixNano())
			}
			if direct {
				c.commit(dst[:n])
			} else {
				c.write(dst[:n])
			}
			if c.lines != nil {
				c.lines.write(dst[:n])
			}
		}
		if err != nil {
			if c.lines != nil {
				c.lines.flush()
			}
			return
		}
	}
}

// space returns free room at the end of the head buffer to read into (up
// to the cap), or nil when the bytes must go through write (KeepTail, a
// full buffer, a tee).
func (c *capture) space() []byte {
	if c.policy == KeepTail || c.tee != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	room := c.limit - int64(len(c.buf))
	if room <= 0 {
		return nil
	}
	// Start small (most runs print little; a 64 KiB start per stream
	// showed in the profiles of many concurrent runs) and double.
	if cap(c.buf) == len(c.buf) && int64(cap(c.buf)) < c.limit {
		n := min(c.limit, max(int64(4<<10), 2*int64(cap(c.buf))))
		grown := make([]byte, len(c.buf), n)
		copy(grown, c.buf)
		c.buf = grown
	}
	free := c.buf[len(c.buf):cap(c.buf)]
	if int64(len(free)) > room {
		free = free[:room]
	}
	return free
}

// commit accounts for n bytes read into the space space returned.
func (c *capture) commit(p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf = c.buf[:len(c.buf)+len(p)]
	c.total += int64(len(p))
}

func (c *capture) write(p []byte) {
	if c.tee != nil && c.teeErr == nil {
		if _, err := c.tee.Write(p); err != nil {
			c.teeErr = err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total += int64(len(p))
	room := c.limit - int64(len(c.buf))
	switch c.policy {
	case KeepTail:
		c.writeTail(p)
		return
	default:
		if int64(len(p)) <= room {
			c.buf = append(c.buf, p...)
			return
		}
		if room > 0 {
			c.buf = append(c.buf, p[:room]...)
		}
		if !c.truncated {
			c.truncated = true
			if c.policy == CapFail && c.over != nil {
				c.over()
			}
		}
	}
}

// writeTail keeps the last limit bytes in a ring.
func (c *capture) writeTail(p []byte) {
	lim := int(c.limit)
	if lim <= 0 {
		c.truncated = c.truncated || len(p) > 0
		return
	}
	if len(p) >= lim {
		if c.buf == nil || cap(c.buf) < lim {
			c.buf = make([]byte, 0, lim)
		}
		c.buf = append(c.buf[:0], p[len(p)-lim:]...)
		c.start = 0
		c.truncated = c.truncated || c.total > int64(lim)
		return
	}
	if len(c.buf) < lim {
		room := lim - len(c.buf)
		if len(p) <= room {
			c.buf = append(c.buf, p...)
			return
		}
		c.buf = append(c.buf, p[:room]...)
		p = p[room:]
	}
	c.truncated = true
	for len(p) > 0 {
		n := copy(c.buf[c.start:], p)
		p = p[n:]
		c.start = (c.start + n) % lim
	}
}

// bytes returns the kept bytes in order. It is called once, after the
// drain has ended, so the head buffer is handed over without a copy.
func (c *capture) bytes() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.policy != KeepTail || c.start == 0 {
		return c.buf
	}
	out := make([]byte, 0, len(c.buf))
	out = append(out, c.buf[c.start:]...)
	return append(out, c.buf[:c.start]...)
}

func (c *capture) stats() (total int64, truncated bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total, c.truncated
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
	case modeCapture, modeTee:
		r, w, err := os.Pipe()
		return w, r, err
	case modePipe:
		return s.pipe, nil, nil
	}
	return nil, nil, errors.New("proc: unknown output mode")
}
