package encoding

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// fuzzEncodings are the encodings the fuzz targets choose from: every
// kind of decoder, and BOM override.
func fuzzEncodings(t testing.TB) []Encoding {
	return []Encoding{
		UTF8, UTF16, UTF16LE, UTF16BE,
		UTF8.WithBOMOverride(),
		mustLookup(t, "cp1252").WithBOMOverride(),
		mustLookup(t, "cp866"),
		mustLookup(t, "us-ascii"),
		mustLookup(t, "shift_jis"),
		mustLookup(t, "gb18030"),
		mustLookup(t, "iso-2022-jp"),
		mustLookup(t, "big5"),
	}
}

// randomCuts returns increasing offsets in (0, n) drawn from seed.
func randomCuts(n int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, seed>>7|1))
	var cuts []int
	every := 1 + rng.IntN(8)
	for i := 1; i < n; i++ {
		if rng.IntN(every) == 0 {
			cuts = append(cuts, i)
		}
	}
	return cuts
}

func addSeeds(f *testing.F) {
	seeds := [][]byte{
		nil,
		[]byte("hello\nworld\r\n"),
		[]byte("\xEF\xBB\xBFbom\r\n\r\r\n\r"),
		[]byte("a\xF1\x80\x80\xE1\x80\xC2b\x80c\x80\xBFd"),
		[]byte("\xFF\xFEh\x00i\x00\r\x00\n\x00=\xD8\x00\xDE\n\x00"),
		[]byte("\xFE\xFF\x00h\xD8=\xDE\x00\x00\r"),
		[]byte("=\xD8=\xD8\x00\xDC\x00\xDEx"),
		[]byte("10%\r20%\r100%\n"),
		[]byte("\x93\xFA\x96\x7B\x8C\xEA\r\n\x82"),
		[]byte("\x1B$B;n\x1B(B\n\x1B$B"),
		[]byte("\x81\x30\x81\x30\x84\x31\xA4\x37\r"),
	}
	for i, s := range seeds {
		f.Add(s, uint8(i), uint8(i%3), uint16(i*3), uint64(i))
	}
}

// FuzzLineReader checks, for any input, encoding, terminators, maximum
// line length and chunking: no panic; every line valid UTF-8, no longer
// than the maximum (unless one character), with a consistent ending and
// flags; the lines and terminators join to the decoded text (for valid
// UTF-8 without a BOM: to the input); the byte counter equals the input
// length; and the chunked result equals the whole one.
func FuzzLineReader(f *testing.F) {
	addSeeds(f)
	encs := fuzzEncodings(f)
	f.Fuzz(func(t *testing.T, data []byte, encSel, mode uint8, maxLine uint16, seed uint64) {
		enc := encs[int(encSel)%len(encs)]
		opts := SplitterOptions{Terminators: Terminators(mode % 3), MaxLine: int(maxLine % 70)}
		whole := run(enc, opts, data)
		if whole.bytes != int64(len(data)) {
			t.Fatalf("Bytes() = %d, want %d", whole.bytes, len(data))
		}
		if whole.count != int64(len(whole.lines)) {
			t.Fatalf("Lines() = %d, emitted %d", whole.count, len(whole.lines))
		}
		max := opts.MaxLine
		if max <= 0 {
			max = DefaultMaxLine
		}
		for i, l := range whole.lines {
			if !utf8.ValidString(l.Text) {
				t.Fatalf("line %d not valid UTF-8: %q", i, l.Text)
			}
			if len(l.Text) > max && utf8.RuneCountInString(l.Text) > 1 {
				t.Fatalf("line %d: %d bytes, max %d", i, len(l.Text), max)
			}
			switch {
			case l.Cut && (l.Ending != "" || l.Partial):
				t.Fatalf("line %d: cut with ending %q partial %v", i, l.Ending, l.Partial)
			case l.Partial && (l.Ending != "" || i != len(whole.lines)-1):
				t.Fatalf("line %d of %d: partial with ending %q", i, len(whole.lines), l.Ending)
			case !l.Cut && !l.Partial && l.Ending == "":
				t.Fatalf("line %d: no ending and no flag", i)
			case l.Ending == "\r" && opts.Terminators != CR:
				t.Fatalf("line %d: ended by a lone CR under %v", i, opts.Terminators)
			case l.Ending == "\r\n" && opts.Terminators == LFOnly:
				t.Fatalf("line %d: ended by CRLF under LFOnly", i)
			}
		}
		dec, _ := decodeAll(enc, string(data))
		if whole.joined() != dec {
			t.Fatalf("lines join to %q, decoded text is %q", whole.joined(), dec)
		}
		if enc == UTF8 && utf8.Valid(data) && !bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")) && whole.joined() != string(data) {
			t.Fatalf("valid UTF-8 %q came out as %q", data, whole.joined())
		}
		cuts := randomCuts(len(data), seed)
		if got := run(enc, opts, data, cuts...); !got.equal(whole) {
			t.Fatalf("cut at %v:\n got %s\nwant %s", cuts, format(got.lines), format(whole.lines))
		}
	})
}

// FuzzDecoder checks, for any input, encoding and chunking: no panic; the
// output is valid UTF-8; chunked output and counter equal the whole
// ones; valid UTF-8 passes through unchanged and uncounted, and invalid
// UTF-8 is counted.
func FuzzDecoder(f *testing.F) {
	addSeeds(f)
	encs := fuzzEncodings(f)
	f.Fuzz(func(t *testing.T, data []byte, encSel, _ uint8, _ uint16, seed uint64) {
		enc := encs[int(encSel)%len(encs)]
		d := enc.NewDecoder()
		whole := d.Decode(nil, data, true)
		n := d.Replaced()
		if !utf8.Valid(whole) {
			t.Fatalf("output not valid UTF-8: %q", whole)
		}
		d2 := enc.NewDecoder()
		var chunked []byte
		prev := 0
		for _, c := range append(randomCuts(len(data), seed), len(data)) {
			chunked = d2.Decode(chunked, data[prev:c], false)
			prev = c
		}
		chunked = d2.Decode(chunked, nil, true)
		if !bytes.Equal(chunked, whole) || d2.Replaced() != n {
			t.Fatalf("chunked %q (%d replaced), whole %q (%d)", chunked, d2.Replaced(), whole, n)
		}
		if enc == UTF8 {
			body := bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
			switch valid := utf8.Valid(body); {
			case valid && (n != 0 || !bytes.Equal(whole, body)):
				t.Fatalf("valid %q came out as %q (%d replaced)", body, whole, n)
			case !valid && n == 0:
				t.Fatalf("invalid %q not counted", body)
			}
		}
		// Decoding again after final starts a new stream, the same way.
		if again := d.Decode(nil, data, true); !bytes.Equal(again, whole) || d.Replaced() != 2*n {
			t.Fatalf("second stream %q, first %q", again, whole)
		}
	})
}
