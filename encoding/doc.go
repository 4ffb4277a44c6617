// Package encoding turns the bytes a child process writes into lines of
// valid UTF-8 text.
//
// A child writes in whatever encoding its platform, locale or author chose:
// UTF-8 on current Unix systems, the console's OEM code page (cp437, cp850,
// cp866, ...) or UTF-16LE for many Windows tools, a legacy code page
// (windows-1251, koi8-r, shift_jis, gbk, ...) for older programs. This
// package names those encodings ([Lookup], [CodePage], [ConsoleOutput]),
// decodes them chunk by chunk ([Decoder]) and cuts the text into lines
// ([Splitter]); [LineReader] is the two together, the pipeline that tether's
// proc package runs for every captured stream.
//
// Three rules shape it:
//
//   - Decode before splitting. In UTF-16 a newline is two bytes, and a byte
//     0x0A can be half of another character, so lines are found in the
//     decoded text, never in the raw bytes.
//   - One decoder and one splitter per stream, kept for the stream's life.
//     A character, a surrogate pair, a byte order mark or a "\r\n" cut
//     between two reads decodes exactly as if it had arrived whole: the
//     output never depends on how the pipe happened to chunk the bytes.
//   - Nothing is lost silently. Invalid input becomes U+FFFD and is
//     counted ([Decoder.Replaced]); a line longer than the limit is cut and
//     each piece flagged ([Line.Cut]); an unterminated tail at the end of
//     the stream is delivered and flagged ([Line.Partial]).
//
// UTF-8, UTF-16 and US-ASCII are decoded by this package itself, with a
// zero-copy path for valid UTF-8; the single-byte code pages use tables
// built once from golang.org/x/text's charmaps; the multi-byte East Asian
// encodings use golang.org/x/text's decoders.
//
// Example: decode cp866 output (Russian Windows console) into lines.
//
//	enc, err := encoding.Lookup("cp866")
//	if err != nil {
//		return err // an *UnknownError listing close names
//	}
//	lr := encoding.NewLineReader(enc, encoding.SplitterOptions{})
//	buf := make([]byte, 32<<10)
//	for {
//		n, err := pipe.Read(buf)
//		lr.Write(buf[:n], func(l encoding.Line) { fmt.Println(l.Text()) })
//		if err != nil {
//			break
//		}
//	}
//	lr.Flush(func(l encoding.Line) { fmt.Println(l.Text()) })
package encoding
