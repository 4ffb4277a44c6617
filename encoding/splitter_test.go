package encoding

import (
	"fmt"
	"strings"
	"testing"
)

// A got is a Line copied out of emit, printed compactly.
type got struct {
	Text    string
	Ending  string
	Cut     bool
	Partial bool
}

func (g got) String() string {
	s := fmt.Sprintf("%q%q", g.Text, g.Ending)
	if g.Cut {
		s += "+cut"
	}
	if g.Partial {
		s += "+partial"
	}
	return s
}

func collect(dst *[]got) func(Line) {
	return func(l Line) { *dst = append(*dst, got{string(l.Bytes), l.Ending, l.Cut, l.Partial}) }
}

// split runs text through a Splitter in the given chunks.
func split(opts SplitterOptions, chunks ...string) []got {
	var out []got
	s := NewSplitter(opts)
	for _, c := range chunks {
		s.Write([]byte(c), collect(&out))
	}
	s.Flush(collect(&out))
	return out
}

func format(gs []got) string {
	parts := make([]string, len(gs))
	for i, g := range gs {
		parts[i] = g.String()
	}
	return strings.Join(parts, " ")
}

func TestSplitterTerminators(t *testing.T) {
	tests := []struct {
		term Terminators
		in   string
		want string
	}{
		{LF, "", ""},
		{LF, "a\nb\r\nc", `"a""\n" "b""\r\n" "c"""+partial`},
		{LF, "a\n\n", `"a""\n" """\n"`},
		{LF, "\r\n", `"""\r\n"`},
		{LF, "a\rb\n", `"a\rb""\n"`},   // a lone CR is text
		{LF, "a\r", `"a\r"""+partial`}, // also at the end
		{LF, "a\r\r\n", `"a\r""\r\n"`},
		{CR, "10%\r20%\r100%\n", `"10%""\r" "20%""\r" "100%""\n"`},
		{CR, "a\r\nb\rc", `"a""\r\n" "b""\r" "c"""+partial`},
		{CR, "a\r", `"a""\r"`},
		{CR, "\r\r\n\n", `"""\r" """\r\n" """\n"`},
		{CR, "\rprogress", `"""\r" "progress"""+partial`},
		{LFOnly, "a\r\nb\rc\n", `"a\r""\n" "b\rc""\n"`},
		{LFOnly, "\n", `"""\n"`},
	}
	for _, tt := range tests {
		if g := format(split(SplitterOptions{Terminators: tt.term}, tt.in)); g != tt.want {
			t.Errorf("%v %q:\n got %s\nwant %s", tt.term, tt.in, g, tt.want)
		}
	}
}

func TestSplitterCRLFAcrossWrites(t *testing.T) {
	for _, term := range []Terminators{LF, CR} {
		g := format(split(SplitterOptions{Terminators: term}, "line\r", "\nnext\r", "\n"))
		if want := `"line""\r\n" "next""\r\n"`; g != want {
			t.Errorf("%v: got %s, want %s", term, g, want)
		}
	}
}

func TestSplitterCutsLongLines(t *testing.T) {
	tests := []struct {
		max  int
		term Terminators
		in   string
		want string
	}{
		{4, LF, "abcd\n", `"abcd""\n"`}, // exactly MaxLine: not cut
		{4, LF, "abcdefghij\n", `"abcd"""+cut "efgh"""+cut "ij""\n"`},
		{4, LF, "abcdefgh\n", `"abcd"""+cut "efgh""\n"`},
		{4, LF, "abcd\r\n", `"abcd""\r\n"`}, // the CR of CRLF does not count
		{4, LF, "abcd\rx\n", `"abcd"""+cut "\rx""\n"`},
		{4, LF, "abcdef", `"abcd"""+cut "ef"""+partial`},
		{4, CR, "abcdef\rgh", `"abcd"""+cut "ef""\r" "gh"""+partial`},
		{4, LF, "abé€x\n", `"abé"""+cut "€x""\n"`}, // never inside a character
		{2, LF, "€€\n", `"€"""+cut "€""\n"`},       // a character longer than MaxLine
		{1, LF, "😀a\n", `"😀"""+cut "a""\n"`},
	}
	for _, tt := range tests {
		opts := SplitterOptions{Terminators: tt.term, MaxLine: tt.max}
		if g := format(split(opts, tt.in)); g != tt.want {
			t.Errorf("max %d %q:\n got %s\nwant %s", tt.max, tt.in, g, tt.want)
		}
	}
}

func TestSplitterFloodIsBounded(t *testing.T) {
	s := NewSplitter(SplitterOptions{MaxLine: 1000})
	chunk := []byte(strings.Repeat("x", 4096))
	var pieces int
	for range 1000 {
		s.Write(chunk, func(l Line) {
			if !l.Cut || len(l.Bytes) != 1000 {
				t.Fatalf("piece %d: %d bytes, cut %v", pieces, len(l.Bytes), l.Cut)
			}
			pieces++
		})
	}
	if cap(s.buf) > 1000+2*len(chunk) {
		t.Errorf("buffer grew to %d bytes", cap(s.buf))
	}
	if pieces != 4095 { // the last 1000 bytes may be a whole line yet
		t.Errorf("%d pieces, want 4095", pieces)
	}
	var tail []got
	s.Flush(collect(&tail))
	if len(tail) != 1 || len(tail[0].Text) != 1000 || !tail[0].Partial {
		t.Errorf("Flush gave %v", tail)
	}
}

func TestSplitterDefaults(t *testing.T) {
	var s Splitter // the zero Splitter is usable, with the defaults
	var out []got
	s.Write([]byte(strings.Repeat("y", DefaultMaxLine+1)+"\r\n"), collect(&out))
	s.Flush(collect(&out))
	if len(out) != 2 || len(out[0].Text) != DefaultMaxLine || !out[0].Cut || out[1].Text != "y" || out[1].Ending != "\r\n" {
		t.Fatalf("got %d lines: %v", len(out), out)
	}
	for _, tt := range []Terminators{LF, CR, LFOnly, 7} {
		if tt.String() == "" {
			t.Errorf("%d has no name", tt)
		}
	}
}

func TestZeroLineReaderIsUTF8(t *testing.T) {
	var lr LineReader
	var out []got
	lr.Write([]byte("\xEF\xBB\xBFa\r\nb"), collect(&out))
	lr.Flush(collect(&out))
	if g, want := format(out), `"a""\r\n" "b"""+partial`; g != want || lr.Lines() != 2 || lr.Bytes() != 7 {
		t.Fatalf("got %s (%d lines, %d bytes), want %s", g, lr.Lines(), lr.Bytes(), want)
	}
}

func TestLineReaderCounts(t *testing.T) {
	lr := NewLineReader(UTF16, SplitterOptions{})
	var out []got
	in := []byte("\xFF\xFEa\x00\n\x00=\xD8\x00\xDE\r\x00\n\x00\x00\xDCz\x00")
	for i := range in {
		lr.Write(in[i:i+1], collect(&out))
	}
	lr.Flush(collect(&out))
	want := `"a""\n" "😀""\r\n" "�z"""+partial`
	if g := format(out); g != want {
		t.Fatalf("got %s, want %s", g, want)
	}
	if lr.Bytes() != int64(len(in)) || lr.Lines() != 3 || lr.Replaced() != 1 || lr.Encoding() != UTF16 {
		t.Fatalf("bytes %d lines %d replaced %d", lr.Bytes(), lr.Lines(), lr.Replaced())
	}
}
