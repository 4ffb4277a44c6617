package encoding

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
)

// benchSize is the stream each benchmark iteration reads: 1 GiB.
const benchSize = 1 << 30

// benchChunk is the read size, a typical pipe read.
const benchChunk = 32 << 10

// A patternReader yields size bytes of pat repeated, copying into the
// caller's buffer as a read from a pipe would.
type patternReader struct {
	pat       []byte
	off, left int
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && r.left > 0 {
		c := copy(p[n:min(len(p), n+r.left)], r.pat[r.off:])
		n += c
		r.left -= c
		r.off = (r.off + c) % len(r.pat)
	}
	return n, nil
}

// logLines returns 64 distinct log lines of 80 to 120 bytes, each built
// from the words given.
func logLines(words []string) []byte {
	var b strings.Builder
	for i := range 64 {
		var line strings.Builder
		fmt.Fprintf(&line, "2026-07-01T12:%02d:%02d.%03dZ INFO worker=%d", i%60, (i*7)%60, i*13%1000, i%17)
		target := 80 + (i*29)%41
		for j := 0; line.Len() < target; j++ {
			line.WriteString(" ")
			line.WriteString(words[(i+j)%len(words)])
		}
		b.WriteString(line.String())
		b.WriteString("\n")
	}
	return []byte(b.String())
}

var (
	asciiWords = strings.Fields("processed request id=7f3a9c status=ok latency=12ms bytes=4096 cache=hit")
	utf8Words  = strings.Fields("обработан запрос статус=ок задержка=12мс 処理済み リクエスト café naïve")
)

// scanLines reads r with a bufio.Scanner in benchChunk reads and returns
// the number of lines and of bytes in them.
func scanLines(r io.Reader) (lines, n int) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, benchChunk), DefaultMaxLine)
	for sc.Scan() {
		lines++
		n += len(sc.Bytes())
	}
	return lines, n
}

// scanValidLines is scanLines plus a UTF-8 validity check per line: the
// cheapest way to get text, not bytes, from a bufio.Scanner.
func scanValidLines(r io.Reader) (lines, n int) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, benchChunk), DefaultMaxLine)
	for sc.Scan() {
		if utf8.Valid(sc.Bytes()) {
			lines++
		}
		n += len(sc.Bytes())
	}
	return lines, n
}

// readLines reads r in benchChunk reads through a LineReader and returns
// the number of lines and of bytes in them.
func readLines(r io.Reader, e Encoding) (lines, n int) {
	lr := NewLineReader(e, SplitterOptions{})
	emit := func(l Line) {
		lines++
		n += len(l.Bytes)
	}
	buf := make([]byte, benchChunk)
	for {
		m, err := r.Read(buf)
		lr.Write(buf[:m], emit)
		if err != nil {
			break
		}
	}
	lr.Flush(emit)
	return lines, n
}

// BenchmarkLineReader reads 1 GiB of 80-120-byte log lines from an
// io.Reader in 32 KiB reads, side by side: a plain bufio.Scanner
// ("bufio-scanner", the baseline: bytes, no decoding, "\n" and "\r\n"
// lines), the same with utf8.Valid on each line ("bufio-scanner+valid"),
// and a UTF-8 LineReader ("tether": validation, U+FFFD replacement,
// "\n"/"\r\n", line cap). The "ascii" lines are plain ASCII; the "utf8"
// ones are mostly Cyrillic and Japanese words. Issue 4's target: tether ≥
// 0.8 × bufio-scanner in MB/s.
func BenchmarkLineReader(b *testing.B) {
	for _, data := range []struct {
		name string
		pat  []byte
	}{{"ascii", logLines(asciiWords)}, {"utf8", logLines(utf8Words)}} {
		// Whole copies of the pattern, so the stream ends with a line.
		size := benchSize / len(data.pat) * len(data.pat)
		check := 1 << 20 / len(data.pat) * len(data.pat)
		wantLines, wantBytes := scanLines(&patternReader{pat: data.pat, left: check})
		if l, n := readLines(&patternReader{pat: data.pat, left: check}, UTF8); l != wantLines || n != wantBytes {
			b.Fatalf("%s: tether read %d lines %d bytes, bufio.Scanner %d, %d", data.name, l, n, wantLines, wantBytes)
		}
		b.Run(data.name+"/bufio-scanner", func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				scanLines(&patternReader{pat: data.pat, left: size})
			}
		})
		b.Run(data.name+"/bufio-scanner+valid", func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				scanValidLines(&patternReader{pat: data.pat, left: size})
			}
		})
		b.Run(data.name+"/tether", func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				readLines(&patternReader{pat: data.pat, left: size}, UTF8)
			}
		})
	}
}

// BenchmarkDecodeLines measures the other decoders on 64 MiB of lines
// (no baseline: bufio.Scanner cannot read these encodings).
func BenchmarkDecodeLines(b *testing.B) {
	const size = 64 << 20
	ascii := logLines(asciiWords)
	sjis, _ := japanese.ShiftJIS.NewEncoder().Bytes(logLines(strings.Fields("処理済み リクエスト 状態=正常 遅延=12ms")))
	cp1251, _ := charmap.Windows1251.NewEncoder().Bytes(logLines(strings.Fields("обработан запрос статус=ок задержка=12мс")))
	for _, c := range []struct {
		name string
		enc  Encoding
		pat  []byte
	}{
		{"utf16le", UTF16LE, utf16Bytes(string(logLines(utf8Words)), false, false)},
		{"windows-1251", mustLookup(b, "windows-1251"), cp1251},
		{"cp437-ascii", mustLookup(b, "cp437"), ascii},
		{"shift_jis", mustLookup(b, "shift_jis"), sjis},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				readLines(&patternReader{pat: c.pat, left: size}, c.enc)
			}
		})
	}
}
