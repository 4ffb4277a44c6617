package encoding

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// A splitLine is an emitted Line, copied.
type splitLine struct {
	Text, Ending string
	Cut, Partial bool
}

func (l splitLine) String() string {
	flags := ""
	if l.Cut {
		flags += " cut"
	}
	if l.Partial {
		flags += " partial"
	}
	return fmt.Sprintf("%q+%q%s", l.Text, l.Ending, flags)
}

// splitModel is what the Splitter documents, written the simple way: cut
// the whole text at the terminators, then cut each line longer than max
// at the last character boundary at or before max (after the first
// character if that alone is longer), each piece but the last flagged
// Cut; an unterminated tail is Partial.
func splitModel(text string, term Terminators, max int) []splitLine {
	if max <= 0 {
		max = DefaultMaxLine
	}
	var out []splitLine
	emit := func(line, ending string, partial bool) {
		for len(line) > max {
			k := max
			for k > 0 && !utf8.RuneStart(line[k]) {
				k--
			}
			if k == 0 {
				_, k = utf8.DecodeRuneInString(line)
			}
			if k == len(line) {
				break
			}
			out = append(out, splitLine{Text: line[:k], Cut: true})
			line = line[k:]
		}
		out = append(out, splitLine{Text: line, Ending: ending, Partial: partial})
	}
	for text != "" {
		ends := "\n"
		if term == CR {
			ends = "\n\r"
		}
		i := strings.IndexAny(text, ends)
		switch {
		case i < 0:
			emit(text, "", true)
			return out
		case text[i] == '\n' && term == LF && i > 0 && text[i-1] == '\r':
			emit(text[:i-1], "\r\n", false)
		case text[i] == '\n':
			emit(text[:i], "\n", false)
		case strings.HasPrefix(text[i:], "\r\n"):
			emit(text[:i], "\r\n", false)
			i++
		default:
			emit(text[:i], "\r", false)
		}
		text = text[i+1:]
	}
	return out
}

// splitChunks writes text to s in chunks ending at cuts (increasing), then
// flushes, and returns the lines.
func splitChunks(s *Splitter, text []byte, cuts []int) []splitLine {
	var lines []splitLine
	emit := func(l Line) {
		lines = append(lines, splitLine{Text: string(l.Bytes), Ending: l.Ending, Cut: l.Cut, Partial: l.Partial})
	}
	prev := 0
	for _, c := range append(cuts, len(text)) {
		s.Write(text[prev:c], emit)
		prev = c
	}
	s.Flush(emit)
	return lines
}

// runeCuts returns increasing character boundaries in (0, len(text))
// drawn from seed: a Decoder never splits a character between writes.
func runeCuts(text []byte, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	every := 1 + rng.IntN(6)
	var cuts []int
	for i := 1; i < len(text); i++ {
		if utf8.RuneStart(text[i]) && rng.IntN(every) == 0 {
			cuts = append(cuts, i)
		}
	}
	return cuts
}

// FuzzSplitter checks the Splitter on any valid UTF-8 text (invalid input
// is made valid first, as a Decoder would), any terminators and maximum
// line length, written whole, in random chunks and after a Flush: it
// never panics; it emits exactly the lines of a simple model of its
// documentation (so every line is at most MaxLine bytes unless one
// character, no terminator is inside a line, and Cut and Partial are set
// where they belong); the lines and their endings join to the input; the
// chunking does not matter; Lines counts the lines; and a Splitter is
// ready for a new stream after Flush.
func FuzzSplitter(f *testing.F) {
	for i, s := range []string{
		"",
		"hello\nworld\r\n",
		"10%\r20%\r100%\r\ndone\n",
		"\r\n\r\r\n\n\r\r\r\n\r",
		"abcde\r\nabcdefg\r\n\r\n1234567\r\r\nab€\r\nabc😀\r\n",
		"€€€€\r",
		"😀😀\n😀",
		"line without end",
		"a\x00b\tc\vd\fe\u0085f\u2028g\u2029h\n",
		"\xff\xfe\xc0\x80\xed\xa0\x80\n",
		strings.Repeat("x", 70) + "\r" + strings.Repeat("é", 40) + "\r\n",
	} {
		f.Add([]byte(s), uint8(i), uint16(i*7), uint64(i))
	}
	f.Fuzz(func(t *testing.T, data []byte, mode uint8, maxLine uint16, seed uint64) {
		text := data
		if !utf8.Valid(text) {
			text = bytes.ToValidUTF8(text, []byte("\uFFFD"))
		}
		// Zero and negative maxima mean the default.
		opts := SplitterOptions{Terminators: Terminators(mode % 3), MaxLine: int(maxLine%80) - 1}
		want := splitModel(string(text), opts.Terminators, opts.MaxLine)
		s := NewSplitter(opts)
		whole := splitChunks(s, text, nil)
		if !slices.Equal(whole, want) {
			t.Fatalf("%q %+v:\n got %v\nwant %v", text, opts, whole, want)
		}
		if s.Lines() != int64(len(whole)) {
			t.Fatalf("%q %+v: Lines() = %d, emitted %d", text, opts, s.Lines(), len(whole))
		}
		var joined strings.Builder
		for _, l := range whole {
			joined.WriteString(l.Text + l.Ending)
		}
		if joined.String() != string(text) {
			t.Fatalf("%q %+v: lines join to %q", text, opts, joined.String())
		}
		cuts := runeCuts(text, seed)
		if again := splitChunks(s, text, cuts); !slices.Equal(again, want) {
			t.Fatalf("%q %+v, after a Flush, cut at %v:\n got %v\nwant %v", text, opts, cuts, again, want)
		}
		if opts == (SplitterOptions{}) {
			var zero Splitter
			if got := splitChunks(&zero, text, cuts); !slices.Equal(got, want) {
				t.Fatalf("%q: the zero Splitter, cut at %v:\n got %v\nwant %v", text, cuts, got, want)
			}
		}
	})
}
