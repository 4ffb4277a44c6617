package encoding

// A LineReader decodes a byte stream and cuts it into lines: a Decoder
// followed by a Splitter, the one persistent pipeline per stream that
// keeps characters, surrogate pairs, byte order marks and "\r\n" intact
// across chunk boundaries. It counts the raw bytes written, the lines
// emitted and the characters replaced. Valid UTF-8 goes from the written
// chunk to the emitted lines without being copied, except for a line that
// spans two chunks.
//
// The zero LineReader decodes UTF-8 with the default SplitterOptions. A
// LineReader is not safe for concurrent use.
type LineReader struct {
	dec   Decoder
	sp    Splitter
	bytes int64
	emit  func(Line)   // the caller's, during Write and Flush
	sink  func([]byte) // r.split, bound once
}

// NewLineReader returns a LineReader that decodes e and splits with opts.
func NewLineReader(e Encoding, opts SplitterOptions) *LineReader {
	r := &LineReader{}
	r.dec.init(e)
	r.sp.init(opts)
	r.sink = r.split
	return r
}

func (r *LineReader) split(text []byte) { r.sp.Write(text, r.emit) }

// Write decodes chunk and calls emit for every line it completes, in
// order. A line's Bytes are valid only until emit returns.
func (r *LineReader) Write(chunk []byte, emit func(Line)) {
	r.bytes += int64(len(chunk))
	if r.sink == nil {
		r.sink = r.split
	}
	r.emit = emit
	r.dec.feed(chunk, false, r.sink)
	r.emit = nil
}

// Flush ends the stream: it decodes what the decoder held back (an
// incomplete sequence becomes U+FFFD) and emits the last line, flagged
// Partial if it has no terminator. The LineReader is then ready for a new
// stream; its counters keep counting.
func (r *LineReader) Flush(emit func(Line)) {
	if r.sink == nil {
		r.sink = r.split
	}
	r.emit = emit
	r.dec.feed(nil, true, r.sink)
	r.sp.Flush(emit)
	r.emit = nil
}

// Encoding returns the encoding the reader decodes.
func (r *LineReader) Encoding() Encoding { return r.dec.enc }

// Bytes returns the number of raw bytes written.
func (r *LineReader) Bytes() int64 { return r.bytes }

// Lines returns the number of lines emitted, each Cut piece counting as
// one.
func (r *LineReader) Lines() int64 { return r.sp.lines }

// Replaced returns the number of U+FFFD substituted for invalid input
// (see Decoder.Replaced).
func (r *LineReader) Replaced() int64 { return r.dec.replaced }
