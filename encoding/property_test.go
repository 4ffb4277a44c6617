package encoding

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	xenc "golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// A result is everything a LineReader reports for one stream.
type result struct {
	lines                  []got
	bytes, count, replaced int64
}

// run feeds in to a new LineReader, cut at the given offsets
// (increasing), and flushes.
func run(e Encoding, opts SplitterOptions, in []byte, cuts ...int) result {
	lr := NewLineReader(e, opts)
	var lines []got
	prev := 0
	for _, c := range append(cuts, len(in)) {
		lr.Write(in[prev:c], collect(&lines))
		prev = c
	}
	lr.Flush(collect(&lines))
	return result{lines, lr.Bytes(), lr.Lines(), lr.Replaced()}
}

func (r result) equal(o result) bool {
	return slices.Equal(r.lines, o.lines) && r.bytes == o.bytes && r.count == o.count && r.replaced == o.replaced
}

// joined is the text of the lines with their terminators.
func (r result) joined() string {
	var b strings.Builder
	for _, l := range r.lines {
		b.WriteString(l.Text)
		b.WriteString(l.Ending)
	}
	return b.String()
}

func utf16Bytes(s string, be, bom bool) []byte {
	u := utf16.Encode([]rune(s))
	if bom {
		u = append([]uint16{0xFEFF}, u...)
	}
	var p []byte
	for _, x := range u {
		if be {
			p = append(p, byte(x>>8), byte(x))
		} else {
			p = append(p, byte(x), byte(x>>8))
		}
	}
	return p
}

func encodeWith(t testing.TB, x xenc.Encoding, s string) []byte {
	t.Helper()
	p, err := x.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A propertyCase is one input and the encoding it is written in.
type propertyCase struct {
	name string
	enc  Encoding
	in   []byte
}

func propertyCases(t testing.TB) []propertyCase {
	text := "héllo wörld\r\nnext 😀 line\rprogress 50%\r100%\r\n\n€ ok\r"
	long := strings.Repeat("ab€😀", 9) + "\r\n" + strings.Repeat("x", 20) + "\r" + strings.Repeat("é", 11)
	cases := []propertyCase{
		{"utf8", UTF8, []byte(text)},
		{"utf8 bom", UTF8, []byte("\xEF\xBB\xBF" + text)},
		{"utf8 long lines", UTF8, []byte(long)},
		{"utf8 invalid", UTF8, []byte("a\xF1\x80\x80\xE1\x80\xC2b\x80c\x80\xBFd\r\n\xF0\x9F\x98\n\xED\xA0\x80\r\xEF\xBB\xBF\xff\xfe")},
		{"utf8 truncated tail", UTF8, []byte("line\n\xF0\x9F\x98")},
		{"lines of MaxLine before CRLF", UTF8, []byte("abcde\r\nabcdefg\r\n\r\n1234567\r\r\nab€\r\nabc😀\r\n")},
		{"crlf runs", UTF8, []byte("\r\n\r\r\n\n\r\r\r\n\r")},
		{"utf16le bom", UTF16, utf16Bytes(text, false, true)},
		{"utf16be bom", UTF16, utf16Bytes(text, true, true)},
		{"utf16 no bom", UTF16, utf16Bytes(long, false, false)},
		{"utf16le", UTF16LE, utf16Bytes(text+long, false, false)},
		{"utf16be", UTF16BE, utf16Bytes(text, true, false)},
		{"utf16le bad surrogates", UTF16LE, []byte("=\xD8a\x00\x00\xDC\n\x00=\xD8=\xD8\x00\xDE\r\x00\n\x00=\xD8")},
		{"utf16le odd", UTF16LE, []byte("a\x00\n\x00b")},
		{"override utf16 in cp1252", mustLookup(t, "cp1252").WithBOMOverride(), utf16Bytes(text, false, true)},
		{"override none in cp1252", mustLookup(t, "cp1252").WithBOMOverride(), []byte("\xEF\xBBcaf\xE9\r\n\x81\n")},
		{"cp866", mustLookup(t, "cp866"), []byte("\x8F\xE0\xA8\xA2\xA5\xE2\r\n\xAC\xA8\xE0\r50%\r")},
		{"ascii", mustLookup(t, "ascii"), []byte("ok\r\n\x80\xFF\rx")},
		{"shift_jis", mustLookup(t, "shift_jis"), append(encodeWith(t, japanese.ShiftJIS, "日本語\r\nテスト\rあ"), 0x82, '\n', 0x93)},
		{"iso-2022-jp", mustLookup(t, "iso-2022-jp"), encodeWith(t, japanese.ISO2022JP, "日本語\r\nabc\nテスト")},
		{"gb18030", mustLookup(t, "gb18030"), encodeWith(t, simplifiedchinese.GB18030, "中文😀\r\n€ ok\r")},
		{"hz", mustLookup(t, "hz-gb-2312"), []byte("~{VPND~}\r\n~{VP~}x\n")},
	}
	return cases
}

var propertyOptions = []SplitterOptions{
	{},
	{Terminators: CR},
	{Terminators: LFOnly},
	{MaxLine: 5},
	{Terminators: CR, MaxLine: 7},
	{Terminators: LFOnly, MaxLine: 1},
}

// TestChunkingDoesNotChangeLines is the central property: however the
// input is cut into chunks, the lines (text and flags) and the counters
// are those of the input written whole.
func TestChunkingDoesNotChangeLines(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, c := range propertyCases(t) {
		for _, opts := range propertyOptions {
			whole := run(c.enc, opts, c.in)
			if whole.bytes != int64(len(c.in)) {
				t.Fatalf("%s: %d bytes counted, want %d", c.name, whole.bytes, len(c.in))
			}
			if whole.count != int64(len(whole.lines)) {
				t.Fatalf("%s: Lines() %d, emitted %d", c.name, whole.count, len(whole.lines))
			}
			// Nothing lost: the lines and terminators are the decoded text.
			if dec, _ := decodeAll(c.enc, string(c.in)); whole.joined() != dec {
				t.Fatalf("%s %+v: lines join to %q, decoded text is %q", c.name, opts, whole.joined(), dec)
			}
			check := func(cuts ...int) {
				if got := run(c.enc, opts, c.in, cuts...); !got.equal(whole) {
					t.Fatalf("%s %+v cut at %v:\n got %s (bytes %d lines %d replaced %d)\nwant %s (bytes %d lines %d replaced %d)",
						c.name, opts, cuts, format(got.lines), got.bytes, got.count, got.replaced,
						format(whole.lines), whole.bytes, whole.count, whole.replaced)
				}
			}
			for i := 0; i <= len(c.in); i++ {
				check(i)
			}
			every := make([]int, len(c.in))
			for i := range every {
				every[i] = i
			}
			check(every...)
			for range 200 {
				var cuts []int
				for i := 1; i < len(c.in); i++ {
					if rng.IntN(4) == 0 {
						cuts = append(cuts, i)
					}
				}
				check(cuts...)
			}
		}
	}
}

// TestValidUTF8IsReproducedExactly: for valid UTF-8 without a BOM, the
// lines and their terminators are the input, byte for byte.
func TestValidUTF8IsReproducedExactly(t *testing.T) {
	for _, c := range propertyCases(t) {
		if c.enc != UTF8 || strings.HasPrefix(string(c.in), "\xEF\xBB\xBF") || !validUTF8(c.in) {
			continue
		}
		for _, opts := range propertyOptions {
			if got := run(c.enc, opts, c.in, len(c.in)/2).joined(); got != string(c.in) {
				t.Errorf("%s %+v: got %q", c.name, opts, got)
			}
		}
	}
}

func validUTF8(p []byte) bool { return validUTF8Prefix(p) == len(p) }

// TestVeryLongLines cuts a multi-megabyte line with multi-byte characters
// at the default maximum, chunked like a pipe.
func TestVeryLongLines(t *testing.T) {
	line := strings.Repeat("€😀é", 200_000) // 1.8 MB
	in := []byte(line + "\r\n" + line)
	var cuts []int
	for i := 32 << 10; i < len(in); i += 32 << 10 {
		cuts = append(cuts, i)
	}
	for _, opts := range []SplitterOptions{{}, {Terminators: CR}} {
		whole := run(UTF8, opts, in)
		got := run(UTF8, opts, in, cuts...)
		if !got.equal(whole) {
			t.Fatalf("%+v: chunked lines differ", opts)
		}
		if got.joined() != string(in) {
			t.Fatalf("%+v: text lost", opts)
		}
		for i, l := range got.lines {
			if len(l.Text) > DefaultMaxLine || (l.Cut && len(l.Text) < DefaultMaxLine-3) {
				t.Fatalf("line %d: %d bytes, cut %v", i, len(l.Text), l.Cut)
			}
		}
		if n := len(got.lines); n != 4 || !got.lines[0].Cut || got.lines[1].Ending != "\r\n" || !got.lines[3].Partial {
			t.Fatalf("%+v: %d lines", opts, n)
		}
	}
}
