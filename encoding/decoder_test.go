package encoding

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// decodeAll decodes in in one call.
func decodeAll(e Encoding, in string) (string, int64) {
	d := e.NewDecoder()
	out := d.Decode(nil, []byte(in), true)
	return string(out), d.Replaced()
}

func mustLookup(t testing.TB, name string) Encoding {
	t.Helper()
	e, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestDecodeSamples(t *testing.T) {
	gb18030, _ := simplifiedchinese.GB18030.NewEncoder().String("中文😀")
	tests := []struct {
		enc      string
		in       string
		want     string
		replaced int64
	}{
		{"cp437", "\xC9\xCD\xCD\xBB\n\xBA\x01\xBA\n\xC8\xCD\xCD\xBC", "╔══╗\n║\x01║\n╚══╝", 0},
		{"cp437", "\x82t\x82", "été", 0},
		{"cp850", "\x82t\x82 \xD5", "été ı", 0},
		{"cp866", "\x8F\xE0\xA8\xA2\xA5\xE2, \xAC\xA8\xE0", "Привет, мир", 0},
		{"windows-1251", "\xCF\xF0\xE8\xE2\xE5\xF2 \x98", "Привет \uFFFD", 1},
		{"koi8-r", "\xF0\xD2\xC9\xD7\xC5\xD4", "Привет", 0},
		{"iso-8859-5", "\xBF\xE0\xD8\xD2\xD5\xE2", "Привет", 0},
		{"windows-1252", "\x80 caf\xE9 \x81", "€ café \uFFFD", 1},
		{"latin1", "\x80 caf\xE9", "\u0080 café", 0},
		{"iso-8859-15", "\xA4", "€", 0},
		{"iso-8859-2", "\x85", "\uFFFD", 1}, // x/text leaves the C1 range undefined
		{"shift_jis", "\x93\xFA\x96\x7B\x8C\xEA\x82\xA0", "日本語あ", 0},
		{"shift_jis", "\x82\x20\xFF", "\uFFFD \uFFFD", 2},
		{"euc-jp", "\xC6\xFC\xCB\xDC\xB8\xEC", "日本語", 0},
		{"iso-2022-jp", "\x1B$B;n\x1B(B ok", "試 ok", 0},
		{"gbk", "\xD6\xD0\xCE\xC4", "中文", 0},
		{"gb18030", gb18030, "中文😀", 0},
		{"big5", "\xA4\xA4\xA4\xE5", "中文", 0},
		{"euc-kr", "\xC7\xD1\xB1\xB9\xBE\xEE", "한국어", 0},
		{"hz-gb-2312", "~{VPND~}", "中文", 0},
		{"shift_jis", "\x93", "\uFFFD", 1}, // a lead byte at the end
		{"us-ascii", "ok\x80\xFF!", "ok\uFFFD\uFFFD!", 2},
		{"cp037", "\xC8\x85\x93\x93\x96\x25", "Hello\n", 0},
		{"macintosh", "\x8E", "é", 0},
	}
	for _, tt := range tests {
		got, rep := decodeAll(mustLookup(t, tt.enc), tt.in)
		if got != tt.want || rep != tt.replaced {
			t.Errorf("%s %q: got %q (%d replaced), want %q (%d)", tt.enc, tt.in, got, rep, tt.want, tt.replaced)
		}
	}
}

func TestDecodeUTF8(t *testing.T) {
	tests := []struct {
		in, want string
		replaced int64
	}{
		{"", "", 0},
		{"plain ascii", "plain ascii", 0},
		{"é€😀", "é€😀", 0},
		{"\xEF\xBB\xBFbom", "bom", 0},             // a leading BOM is removed
		{"a\xEF\xBB\xBF", "a\uFEFF", 0},           // elsewhere it is text
		{"\xEF\xBB\xBF\xEF\xBB\xBF", "\uFEFF", 0}, // only the first
		{"\xEF\xBB", "\uFFFD", 1},                 // a truncated BOM is a truncated character
		{"\xFF\xFEa", "\uFFFD\uFFFDa", 2},         // no UTF-16 override by default
		// The Unicode Standard's example of maximal subparts (section 3.9).
		{"\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64", "a\uFFFD\uFFFD\uFFFDb\uFFFDc\uFFFD\uFFFDd", 6},
		{"\xC0\xAF", "\uFFFD\uFFFD", 2},                     // overlong
		{"\xE0\x80\xAF", "\uFFFD\uFFFD\uFFFD", 3},           // overlong
		{"\xED\xA0\x80", "\uFFFD\uFFFD\uFFFD", 3},           // a surrogate
		{"\xF4\x90\x80\x80", "\uFFFD\uFFFD\uFFFD\uFFFD", 4}, // above U+10FFFF
		{"\xF0\x9F\x98", "\uFFFD", 1},                       // truncated at the end
		{"\xF0\x9F\x98x", "\uFFFDx", 1},                     // truncated inside
		{"\xEF\xBF\xBD", "\uFFFD", 0},                       // a genuine U+FFFD is not a replacement
	}
	for _, tt := range tests {
		got, rep := decodeAll(UTF8, tt.in)
		if got != tt.want || rep != tt.replaced {
			t.Errorf("%q: got %q (%d replaced), want %q (%d)", tt.in, got, rep, tt.want, tt.replaced)
		}
	}
}

func TestDecodeUTF16(t *testing.T) {
	tests := []struct {
		enc      Encoding
		in, want string
		replaced int64
	}{
		{UTF16LE, "h\x00i\x00\r\x00\n\x00", "hi\r\n", 0},
		{UTF16BE, "\x00h\x00i", "hi", 0},
		{UTF16LE, "\xFF\xFEh\x00", "h", 0},       // own BOM removed
		{UTF16LE, "\xFE\xFFh\x00", "\uFFFEh", 0}, // the other one is text (U+FFFE)
		{UTF16BE, "\xFE\xFF\x00h", "h", 0},
		{UTF16, "\xFF\xFEh\x00", "h", 0},   // sniffed LE
		{UTF16, "\xFE\xFF\x00h", "h", 0},   // sniffed BE
		{UTF16, "h\x00", "h", 0},           // no BOM: LE
		{UTF16LE, "=\xD8\x00\xDE", "😀", 0}, // surrogate pair
		{UTF16BE, "\xD8=\xDE\x00", "😀", 0},
		{UTF16LE, "=\xD8a\x00", "\uFFFDa", 1},    // high surrogate, then not a low one
		{UTF16LE, "\x00\xDEa\x00", "\uFFFDa", 1}, // lone low surrogate
		{UTF16LE, "=\xD8=\xD8\x00\xDE", "\uFFFD😀", 1},
		{UTF16LE, "=\xD8", "\uFFFD", 1},        // high surrogate at the end
		{UTF16LE, "a\x00b", "a\uFFFD", 1},      // odd byte at the end
		{UTF16LE, "=\xD8x", "\uFFFD\uFFFD", 2}, // both
		{UTF16LE, "\xAC\x20", "€", 0},
	}
	for _, tt := range tests {
		got, rep := decodeAll(tt.enc, tt.in)
		if got != tt.want || rep != tt.replaced {
			t.Errorf("%s %q: got %q (%d replaced), want %q (%d)", tt.enc, tt.in, got, rep, tt.want, tt.replaced)
		}
	}
}

func TestBOMOverride(t *testing.T) {
	cp := mustLookup(t, "cp1252").WithBOMOverride()
	tests := []struct {
		enc      Encoding
		in, want string
	}{
		{cp, "\xFF\xFEh\x00i\x00", "hi"},
		{cp, "\xFE\xFF\x00h\x00i", "hi"},
		{cp, "\xEF\xBB\xBFcaf\xC3\xA9", "café"},
		{cp, "caf\xE9", "café"}, // no BOM: cp1252
		{cp, "\xFF", "ÿ"},       // a BOM prefix at the end is text
		{cp, "\xEF\xBB", "ï»"},
		{UTF8.WithBOMOverride(), "\xFF\xFEh\x00", "h"},
		{UTF16BE.WithBOMOverride(), "\xFF\xFEh\x00", "h"},
		{UTF16LE.WithBOMOverride(), "\xEF\xBB\xBFh", "h"},
		{cp, "", ""},
	}
	for _, tt := range tests {
		got, _ := decodeAll(tt.enc, tt.in)
		if got != tt.want {
			t.Errorf("%s %q: got %q, want %q", tt.enc, tt.in, got, tt.want)
		}
	}
	// Without override, a legacy code page decodes the BOM bytes as text.
	if got, _ := decodeAll(mustLookup(t, "cp1252"), "\xEF\xBB\xBFa"); got != "ï»¿a" {
		t.Errorf("cp1252 without override: %q", got)
	}
}

func TestDecoderStartsOverAfterFinal(t *testing.T) {
	d := UTF16.NewDecoder()
	out := d.Decode(nil, []byte("\xFE\xFF\x00a\x00"), true) // BE, odd byte
	out = d.Decode(out, []byte("\xFF\xFEb\x00"), true)      // new stream: LE
	if string(out) != "a\uFFFDb" || d.Replaced() != 1 {
		t.Fatalf("got %q, %d replaced", out, d.Replaced())
	}
	d.Reset()
	if d.Replaced() != 0 {
		t.Fatalf("Reset kept the counter")
	}
	var zero Decoder
	if got := zero.Decode(nil, []byte("\xEF\xBB\xBFok\xFF"), true); string(got) != "ok\uFFFD" {
		t.Fatalf("zero Decoder: %q", got)
	}
}

// refUTF8 is an independent reference for UTF-8 decoding with maximal
// subpart replacement: a prefix is a maximal subpart candidate when some
// completion makes it a valid character.
func refUTF8(p []byte) (string, int64) {
	var b strings.Builder
	var n int64
	for len(p) > 0 {
		r, size := utf8.DecodeRune(p)
		if r != utf8.RuneError || size > 1 {
			b.Write(p[:size])
			p = p[size:]
			continue
		}
		m := 1
		for k := min(3, len(p)); k > 1; k-- {
			if completable(p[:k]) {
				m = k
				break
			}
		}
		b.WriteString("\uFFFD")
		n++
		p = p[m:]
	}
	return b.String(), n
}

func completable(q []byte) bool {
	conts := []byte{0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF}
	var try func(p []byte) bool
	try = func(p []byte) bool {
		if r, size := utf8.DecodeRune(p); size == len(p) && r != utf8.RuneError {
			return true
		}
		if len(p) == 4 {
			return false
		}
		for _, c := range conts {
			if try(append(p[:len(p):len(p)], c)) {
				return true
			}
		}
		return false
	}
	return try(q)
}

func TestDecodeUTF8MatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte{'a', '\n', 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC2, 0xDF, 0xE0, 0xE1, 0xED, 0xEF, 0xF0, 0xF1, 0xF4, 0xF5, 0xFF}
	for range 20000 {
		p := make([]byte, rng.IntN(12))
		for i := range p {
			p[i] = alphabet[rng.IntN(len(alphabet))]
		}
		if len(p) >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF {
			continue // the BOM is removed; the reference does not know
		}
		want, wantN := refUTF8(p)
		got, gotN := decodeAll(UTF8, string(p))
		if got != want || gotN != wantN {
			t.Fatalf("%q: got %q (%d), want %q (%d)", p, got, gotN, want, wantN)
		}
	}
}

func TestDecodeUTF16MatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	units := []uint16{'a', '\n', 0xE9, 0x20AC, 0xD800, 0xD83D, 0xDBFF, 0xDC00, 0xDE00, 0xDFFF, 0xFFFD, 0xFEFF}
	for range 20000 {
		u := make([]uint16, rng.IntN(8))
		for i := range u {
			u[i] = units[rng.IntN(len(units))]
		}
		if len(u) > 0 && u[0] == 0xFEFF {
			u[0] = 'b'
		}
		want := string(utf16.Decode(u))
		wantN := int64(countPairless(u))
		for _, be := range []bool{false, true} {
			var p []byte
			for _, x := range u {
				if be {
					p = append(p, byte(x>>8), byte(x))
				} else {
					p = append(p, byte(x), byte(x>>8))
				}
			}
			e := UTF16LE
			if be {
				e = UTF16BE
			}
			got, gotN := decodeAll(e, string(p))
			if got != want || gotN != wantN {
				t.Fatalf("%s %x: got %q (%d), want %q (%d)", e, u, got, gotN, want, wantN)
			}
		}
	}
}

// countPairless counts the unpaired surrogates in u: what utf16.Decode
// replaces (a genuine U+FFFD in u is not a replacement).
func countPairless(u []uint16) int {
	n := 0
	for i := 0; i < len(u); i++ {
		switch {
		case 0xD800 <= u[i] && u[i] < 0xDC00 && i+1 < len(u) && 0xDC00 <= u[i+1] && u[i+1] < 0xE000:
			i++
		case 0xD800 <= u[i] && u[i] < 0xE000:
			n++
		}
	}
	return n
}

func TestSingleByteTablesMatchXText(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for _, e := range registry {
		if e.kind != kindSingle {
			continue
		}
		want, err := e.x.NewDecoder().Bytes(all)
		if err != nil {
			t.Fatal(err)
		}
		got, n := decodeAll(mustLookup(t, e.name), string(all))
		if got != string(want) {
			t.Errorf("%s: decodes differently from x/text", e.name)
		}
		m := e.x.(*charmap.Charmap)
		var bad int64
		for _, b := range all {
			if m.DecodeByte(b) == utf8.RuneError {
				bad++
			}
		}
		if n != bad {
			t.Errorf("%s: %d replaced, want %d", e.name, n, bad)
		}
	}
}

func TestMultiByteMatchesXText(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, e := range registry {
		if e.kind != kindMulti {
			continue
		}
		for range 300 {
			p := make([]byte, rng.IntN(40))
			for i := range p {
				p[i] = byte(rng.IntN(256))
				if rng.IntN(3) == 0 {
					p[i] = "~{}$B(\x1b\n"[rng.IntN(8)]
				}
			}
			want, _ := e.x.NewDecoder().Bytes(p)
			got, n := decodeAll(mustLookup(t, e.name), string(p))
			if got != string(want) {
				t.Fatalf("%s %q: got %q, x/text %q", e.name, p, got, want)
			}
			if int(n) != bytes.Count(want, replacement) {
				t.Fatalf("%s %q: %d replaced, want %d", e.name, p, n, bytes.Count(want, replacement))
			}
		}
	}
}

func TestDecodeAllocations(t *testing.T) {
	src := bytes.Repeat([]byte("a line of valid text, é\n"), 1000)
	dst := make([]byte, 0, 2*len(src))
	d := UTF8.NewDecoder()
	d.Decode(dst, src, false)
	if n := testing.AllocsPerRun(100, func() { d.Decode(dst[:0], src, false) }); n != 0 {
		t.Errorf("UTF-8 Decode: %v allocations per call, want 0", n)
	}
	lr := NewLineReader(UTF8, SplitterOptions{})
	var lines int
	emit := func(Line) { lines++ }
	chunk := src[:1000] // ends inside a line, so the splitter holds a tail
	lr.Write(chunk, emit)
	if n := testing.AllocsPerRun(100, func() { lr.Write(chunk, emit) }); n != 0 {
		t.Errorf("LineReader.Write: %v allocations per call, want 0", n)
	}
}
