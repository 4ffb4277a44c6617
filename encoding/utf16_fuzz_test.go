package encoding

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

// utf16Model decodes p as the Decoder documents it for e (UTF16LE,
// UTF16BE or UTF16), one code unit at a time: the encoding's leading
// byte order mark is dropped (for UTF16 it picks the byte order, little
// endian without one), a surrogate pair is one character, and every
// unpaired surrogate and an odd trailing byte is U+FFFD.
func utf16Model(e Encoding, p []byte) (string, int64) {
	be := e == UTF16BE
	switch {
	case e == UTF16LE && bytes.HasPrefix(p, []byte{0xFF, 0xFE}),
		e == UTF16BE && bytes.HasPrefix(p, []byte{0xFE, 0xFF}),
		e == UTF16 && bytes.HasPrefix(p, []byte{0xFF, 0xFE}):
		p = p[2:]
	case e == UTF16 && bytes.HasPrefix(p, []byte{0xFE, 0xFF}):
		p, be = p[2:], true
	}
	units := make([]uint16, 0, len(p)/2)
	for i := 0; i+1 < len(p); i += 2 {
		if be {
			units = append(units, uint16(p[i])<<8|uint16(p[i+1]))
		} else {
			units = append(units, uint16(p[i+1])<<8|uint16(p[i]))
		}
	}
	var b strings.Builder
	var bad int64
	for i := 0; i < len(units); i++ {
		u := rune(units[i])
		switch {
		case utf16.IsSurrogate(u) && u < 0xDC00 && i+1 < len(units) && units[i+1] >= 0xDC00 && units[i+1] < 0xE000:
			b.WriteRune(utf16.DecodeRune(u, rune(units[i+1])))
			i++
		case utf16.IsSurrogate(u):
			b.WriteRune(utf8.RuneError)
			bad++
		default:
			b.WriteRune(u)
		}
	}
	if len(p)%2 == 1 {
		b.WriteRune(utf8.RuneError)
		bad++
	}
	return b.String(), bad
}

// utf16Encode writes s (valid UTF-8) as UTF-16 with a byte order mark.
func utf16Encode(s string, be bool) []byte {
	out := []byte{0xFF, 0xFE}
	if be {
		out = []byte{0xFE, 0xFF}
	}
	for _, u := range utf16.Encode([]rune(s)) {
		if be {
			out = append(out, byte(u>>8), byte(u))
		} else {
			out = append(out, byte(u), byte(u>>8))
		}
	}
	return out
}

// FuzzUTF16 decodes any bytes as UTF-16 (little endian, big endian, or
// by byte order mark), whole and in random chunks of any size (a chunk
// may end inside a code unit or a surrogate pair): it never panics; the
// output is valid UTF-8 and exactly that of a simple model, with the same
// count of replacements; and any valid UTF-8 text, written as UTF-16 with
// a byte order mark, decodes back to itself with nothing replaced.
func FuzzUTF16(f *testing.F) {
	for i, s := range []string{
		"",
		"\xff\xfeh\x00i\x00\r\x00\n\x00=\xd8\x00\xde\n\x00",
		"\xfe\xff\x00h\xd8=\xde\x00\x00\r",
		"=\xd8=\xd8\x00\xdc\x00\xdex",
		"\x00\xdc=\xd8",
		"a\x00\n\x00b",
		"\xff\xfe\xff\xfe",
		"\xfe",
		"\xff",
		"\x00\xd8\x00",
		"\xac\x20\xff\xff\xfe\xff\x00\x00",
	} {
		f.Add([]byte(s), uint8(i), uint64(i))
	}
	encs := []Encoding{UTF16LE, UTF16BE, UTF16}
	f.Fuzz(func(t *testing.T, data []byte, sel uint8, seed uint64) {
		e := encs[int(sel)%len(encs)]
		want, wantBad := utf16Model(e, data)
		d := e.NewDecoder()
		whole := d.Decode(nil, data, true)
		if !utf8.Valid(whole) {
			t.Fatalf("%v %q: invalid UTF-8 %q", e, data, whole)
		}
		if string(whole) != want || d.Replaced() != wantBad {
			t.Fatalf("%v %q: got %q (%d replaced), want %q (%d)", e, data, whole, d.Replaced(), want, wantBad)
		}
		rng := rand.New(rand.NewPCG(seed, uint64(len(data))))
		d.Reset()
		var chunked []byte
		for rest := data; ; {
			n := min(len(rest), rng.IntN(6)) // empty chunks too
			final := n == len(rest)
			chunked = d.Decode(chunked, rest[:n], final)
			if rest = rest[n:]; final {
				break
			}
		}
		if string(chunked) != want || d.Replaced() != wantBad {
			t.Fatalf("%v %q in chunks: got %q (%d replaced), want %q (%d)", e, data, chunked, d.Replaced(), want, wantBad)
		}
		text := string(bytes.ToValidUTF8(data, []byte("\uFFFD")))
		for _, be := range []bool{false, true} {
			if e == UTF16LE && be || e == UTF16BE && !be {
				continue
			}
			in := utf16Encode(text, be)
			rd := e.NewDecoder()
			if out := rd.Decode(nil, in, true); string(out) != text || rd.Replaced() != 0 {
				t.Fatalf("%v: %q written as %q decodes to %q (%d replaced)", e, text, in, out, rd.Replaced())
			}
		}
	})
}
