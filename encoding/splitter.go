package encoding

import (
	"bytes"
	"unicode/utf8"
)

// Terminators selects what ends a line.
type Terminators int

// The terminator sets.
const (
	// LF ends a line at "\n" or "\r\n" (the default). A "\r" not followed
	// by "\n" is part of the line.
	LF Terminators = iota
	// CR also ends a line at a lone "\r", so each redraw of a progress
	// bar ("10%\r20%\r") is a line of its own. "\r\n" is still one
	// terminator. A line ended by "\r" is delivered once the next byte
	// has shown it is not "\r\n" (or at Flush).
	CR
	// LFOnly ends a line at "\n" only; a "\r" before it stays in the line.
	LFOnly
)

// String returns "lf", "cr" or "lf-only".
func (t Terminators) String() string {
	switch t {
	case LF:
		return "lf"
	case CR:
		return "cr"
	case LFOnly:
		return "lf-only"
	}
	return "Terminators(invalid)"
}

// DefaultMaxLine is the default longest line: 1 MiB of UTF-8.
const DefaultMaxLine = 1 << 20

// SplitterOptions configures a Splitter. The zero value is the default:
// LF terminators, lines of at most DefaultMaxLine bytes.
type SplitterOptions struct {
	// Terminators says what ends a line; the zero value is LF.
	Terminators Terminators
	// MaxLine is the longest line in bytes of UTF-8, terminator not
	// included; 0 or less means DefaultMaxLine. A longer line is cut
	// into pieces of at most MaxLine bytes, each but the last flagged
	// Cut; a piece is never cut inside a character, so with a MaxLine
	// below 4 a piece holds at least one whole character even if that
	// is longer.
	MaxLine int
}

// A Line is one line of decoded text.
type Line struct {
	// Bytes is the line's text, valid UTF-8, without its terminator. It
	// may alias the chunk that was written or the splitter's buffer, so
	// it is valid only until the emit function returns: copy it (or call
	// Text) to keep it.
	Bytes []byte
	// Ending is the terminator that ended the line: "\n", "\r\n" or "\r";
	// "" when Cut or Partial. Bytes followed by Ending, for every line in
	// order, is exactly the text that was written.
	Ending string
	// Cut is true when the line was longer than MaxLine and this is a
	// piece of it: the line continues in the next Line.
	Cut bool
	// Partial is true for the unterminated tail of the stream, delivered
	// by Flush.
	Partial bool
}

// Text returns a copy of the line's text as a string.
func (l Line) Text() string { return string(l.Bytes) }

// A Splitter cuts a stream of UTF-8 text into lines. It keeps the
// unterminated end of one Write for the next, so the lines do not depend
// on how the text was chunked: "\r\n" split across two writes is one
// terminator. Lines wholly inside a written chunk are delivered without
// copying. A Splitter is not safe for concurrent use.
type Splitter struct {
	term Terminators
	max  int
	// buf holds the unterminated start of the current line. Under LF it
	// may end with a "\r" that the next byte will show to be a terminator
	// or text.
	buf []byte
	// cr is set under CR when buf is a whole line ended by "\r" and the
	// next byte decides whether the ending is "\r" or "\r\n".
	cr bool
	// lines counts the lines emitted.
	lines int64
}

// Lines returns the number of lines emitted, each Cut piece counting as
// one.
func (s *Splitter) Lines() int64 { return s.lines }

// NewSplitter returns a splitter with the given options.
func NewSplitter(opts SplitterOptions) *Splitter {
	s := &Splitter{}
	s.init(opts)
	return s
}

func (s *Splitter) init(opts SplitterOptions) {
	s.term = opts.Terminators
	s.max = opts.MaxLine
	if s.max <= 0 {
		s.max = DefaultMaxLine
	}
}

// Write splits text, which must be valid UTF-8 (a Decoder's output),
// calling emit for every line it completes, in order, and keeping the
// unterminated rest for the next Write or Flush. A line longer than
// MaxLine is emitted in Cut pieces as soon as they are known.
func (s *Splitter) Write(text []byte, emit func(Line)) {
	if s.max == 0 {
		s.init(SplitterOptions{})
	}
	switch s.term {
	case CR:
		s.writeCR(text, emit)
	case LFOnly:
		s.writeLF(text, false, emit)
	default:
		s.writeLF(text, true, emit)
	}
}

// writeLF splits at "\n", and also at "\r\n" when crlf is set.
func (s *Splitter) writeLF(text []byte, crlf bool, emit func(Line)) {
	if len(s.buf) > 0 {
		// Complete the held line first.
		i := bytes.IndexByte(text, '\n')
		if i < 0 {
			s.hold(text, emit)
			return
		}
		s.buf = append(s.buf, text[:i]...)
		s.lineLF(s.buf, crlf, emit)
		s.buf = s.buf[:0]
		text = text[i+1:]
	}
	// Lines inside text, emitted without copying.
	for {
		i := bytes.IndexByte(text, '\n')
		if i < 0 {
			break
		}
		line := text[:i]
		text = text[i+1:]
		if len(line) > s.max {
			s.lineLF(line, crlf, emit)
			continue
		}
		s.lines++
		if crlf && i > 0 && line[i-1] == '\r' {
			emit(Line{Bytes: line[:i-1], Ending: "\r\n"})
		} else {
			emit(Line{Bytes: line, Ending: "\n"})
		}
	}
	if len(text) > 0 {
		s.hold(text, emit)
	}
}

// lineLF emits a line that ended at "\n", with "\r\n" if crlf is set and
// the line ends with "\r".
func (s *Splitter) lineLF(line []byte, crlf bool, emit func(Line)) {
	if crlf && len(line) > 0 && line[len(line)-1] == '\r' {
		s.line(line[:len(line)-1], "\r\n", false, emit)
	} else {
		s.line(line, "\n", false, emit)
	}
}

// writeCR splits at "\n", "\r\n" and "\r".
func (s *Splitter) writeCR(text []byte, emit func(Line)) {
	// Next positions of '\n' and '\r' in text, found once each.
	nl, cr := -2, -2
	off := 0
	for off < len(text) {
		if s.cr {
			s.cr = false
			if text[off] == '\n' {
				s.line(s.buf, "\r\n", false, emit)
				off++
			} else {
				s.line(s.buf, "\r", false, emit)
			}
			s.buf = s.buf[:0]
			continue
		}
		if nl != -1 && nl < off {
			if nl = bytes.IndexByte(text[off:], '\n'); nl >= 0 {
				nl += off
			}
		}
		if cr != -1 && cr < off {
			if cr = bytes.IndexByte(text[off:], '\r'); cr >= 0 {
				cr += off
			}
		}
		i := nl
		if i < 0 || (cr >= 0 && cr < i) {
			i = cr
		}
		if i < 0 {
			s.hold(text[off:], emit)
			return
		}
		line := text[off:i]
		if len(s.buf) > 0 {
			s.buf = append(s.buf, line...)
			line = s.buf
		}
		switch {
		case text[i] == '\n':
			s.line(line, "\n", false, emit)
			off = i + 1
		case i+1 == len(text):
			// "\r" at the end: wait for the next byte.
			if len(s.buf) == 0 {
				s.buf = append(s.buf, line...)
			}
			s.cr = true
			return
		case text[i+1] == '\n':
			s.line(line, "\r\n", false, emit)
			off = i + 2
		default:
			s.line(line, "\r", false, emit)
			off = i + 1
		}
		s.buf = s.buf[:0]
	}
}

// hold keeps text, the unterminated start of a line, and emits Cut pieces
// while the text that is certainly part of the line exceeds the maximum.
func (s *Splitter) hold(text []byte, emit func(Line)) {
	s.buf = append(s.buf, text...)
	certain := len(s.buf)
	if s.term == LF && certain > 0 && s.buf[certain-1] == '\r' {
		certain-- // may turn out to be half of "\r\n"
	}
	if certain <= s.max {
		return
	}
	off := 0
	for certain-off > s.max {
		k := cutPoint(s.buf[off:], s.max)
		if off+k >= certain {
			break // one character longer than MaxLine: more may follow
		}
		s.lines++
		emit(Line{Bytes: s.buf[off : off+k], Cut: true})
		off += k
	}
	s.buf = s.buf[:copy(s.buf, s.buf[off:])]
}

// line emits a complete line, in Cut pieces if it is too long. A piece
// is cut only when text of the line follows it, as in hold.
func (s *Splitter) line(line []byte, ending string, partial bool, emit func(Line)) {
	for len(line) > s.max {
		k := cutPoint(line, s.max)
		if k == len(line) {
			break // one character longer than MaxLine
		}
		s.lines++
		emit(Line{Bytes: line[:k], Cut: true})
		line = line[k:]
	}
	s.lines++
	emit(Line{Bytes: line, Ending: ending, Partial: partial})
}

// cutPoint returns where to cut p (valid UTF-8, longer than max): the last
// character boundary at or before max, or after the first character if
// that alone is longer.
func cutPoint(p []byte, max int) int {
	k := max
	for k > 0 && !utf8.RuneStart(p[k]) {
		k--
	}
	if k == 0 {
		_, k = utf8.DecodeRune(p)
	}
	return k
}

// Flush ends the stream: it emits the held line, if any (Partial when it
// has no terminator), and readies the splitter for a new stream.
func (s *Splitter) Flush(emit func(Line)) {
	if s.max == 0 {
		s.init(SplitterOptions{})
	}
	switch {
	case s.cr:
		s.line(s.buf, "\r", false, emit)
	case len(s.buf) > 0:
		s.line(s.buf, "", true, emit)
	}
	s.cr = false
	s.buf = s.buf[:0]
}
