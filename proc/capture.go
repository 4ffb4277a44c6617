package proc

import (
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// capture drains one pipe into a capped buffer.
type capture struct {
	r     *os.File // the read end of the child's pipe
	lines *liner   // nil unless the run streams lines
	// activity is the time of the last byte read, for IdleTimeout.
	activity *atomic.Int64
	limit    int64
	policy   CapPolicy
	tee      io.Writer
	// teeMu serialises the writes to tee; the captures of both streams
	// share it when they tee to one writer (see streams.teeLock).
	teeMu *sync.Mutex
	// tap is the caller's raw reader (ToReader), nil without one.
	tap *byteTap
	// prompt keeps the unterminated line for WaitForPrompt; nil unless
	// the run's handle is handed out (Start).
	prompt *promptWatch
	// over is called once when the cap is passed under CapFail.
	over func()

	mu        sync.Mutex
	buf       []byte // KeepHead/CapFail: the head; KeepTail: a ring
	start     int    // KeepTail: index of the oldest byte once wrapped
	total     int64
	truncated bool
	teeErr    error
	// tail holds the last bytes read, for Status; nil unless the run's
	// handle is handed out (Start).
	tail *tailRing
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
			c.prompt.write(dst[:n])
		}
		if err != nil {
			if c.lines != nil {
				c.lines.flush()
			}
			c.prompt.end()
			c.tap.end()
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

// commit accounts for n bytes read into the space space returned, and
// passes them on to the caller's reader (which may block: back-pressure).
func (c *capture) commit(p []byte) {
	c.mu.Lock()
	c.buf = c.buf[:len(c.buf)+len(p)]
	c.total += int64(len(p))
	c.tail.add(p)
	c.mu.Unlock()
	c.tap.write(p)
}

// write copies p to the tee, keeps it under the cap's policy, and passes
// it on to the caller's reader (which may block: back-pressure).
func (c *capture) write(p []byte) {
	if c.tee != nil && c.teeErr == nil {
		c.teeMu.Lock()
		_, err := c.tee.Write(p)
		c.teeMu.Unlock()
		if err != nil {
			c.teeErr = err
		}
	}
	c.keep(p)
	c.tap.write(p)
}

// keep counts p and keeps what the cap's policy keeps of it.
func (c *capture) keep(p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total += int64(len(p))
	c.tail.add(p)
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
