package encoding

import (
	"bytes"
	"errors"
	"unicode/utf8"

	"golang.org/x/text/transform"
)

// replacement is U+FFFD REPLACEMENT CHARACTER in UTF-8.
var replacement = []byte("\uFFFD")

// A Decoder turns a stream of bytes in one encoding into valid UTF-8,
// chunk by chunk. It keeps state across calls: a character, a UTF-16
// surrogate pair or a byte order mark split between two chunks decodes
// exactly as if it had arrived in one, so the output of a stream does not
// depend on how it was chunked.
//
// Byte order marks: a leading mark of the decoder's own encoding is
// removed (EF BB BF for UTF-8, FF FE for UTF-16LE, FE FF for UTF-16BE,
// either for UTF16, which takes its byte order from it). With
// [Encoding.WithBOMOverride], any of the three marks selects its encoding
// instead of the configured one. Legacy code pages do not look for a
// mark unless overridden. Up to three leading bytes are held back until
// the mark is recognised or ruled out.
//
// Invalid input becomes U+FFFD and is counted ([Decoder.Replaced]). A
// Decoder is not safe for concurrent use. The zero Decoder decodes UTF-8.
type Decoder struct {
	enc   Encoding
	cur   kind // the kind in use; 0 until initialised
	table *byteTable
	xt    transform.Transformer

	sniff bool // the leading byte order mark is not yet resolved
	head  [3]byte
	nhead int

	pend   [4]byte // an incomplete UTF-8 or UTF-16 sequence held back
	npend  int
	bridge [8]byte // pend followed by the first bytes of the next chunk
	carry  []byte  // kindMulti: bytes x/text left for the next chunk
	join   []byte  // kindMulti: carry followed by the next chunk
	out    []byte  // decoded text handed to the sink

	replaced int64
}

// NewDecoder returns a decoder for e, at the start of a stream.
func (e Encoding) NewDecoder() *Decoder {
	d := &Decoder{}
	d.init(e)
	return d
}

func (d *Decoder) init(e Encoding) {
	d.enc = e
	ent := entryOf(e)
	switch ent.kind {
	case kindSingle:
		d.table = ent.table()
	case kindMulti:
		d.xt = ent.x.NewDecoder()
	}
	d.restart()
}

// restart prepares for a new stream, keeping the counter.
func (d *Decoder) restart() {
	k := entryOf(d.enc).kind
	if k == kindUTF16 {
		k = kindUTF16LE
	}
	d.cur = k
	d.sniff = len(d.marks()) > 0
	d.nhead, d.npend = 0, 0
	d.carry = d.carry[:0]
	if d.xt != nil {
		d.xt.Reset()
	}
}

// Encoding returns the encoding the decoder was made for.
func (d *Decoder) Encoding() Encoding { return d.enc }

// Replaced returns the number of U+FFFD characters the decoder has
// substituted for invalid input since it was made or Reset.
//
// For UTF-8 it counts one per maximal ill-formed subsequence (a
// truncated sequence counts once, a stray byte once). For UTF-16, one per
// unpaired surrogate and one for an odd trailing byte. For US-ASCII, one
// per byte above 0x7F. For single-byte code pages, one per byte the code
// page leaves undefined (for ISO-8859-2 to -16 that includes the C1 range
// 0x80-0x9F, which golang.org/x/text maps to U+FFFD). For the multi-byte
// encodings decoded by golang.org/x/text, it is the number of U+FFFD in
// the decoded text: exact for shift_jis, euc-jp, iso-2022-jp, euc-kr,
// gbk, hz-gb-2312 and big5, which cannot encode U+FFFD; for gb18030 a
// genuine U+FFFD in the input (84 31 A4 37) is counted too.
func (d *Decoder) Replaced() int64 { return d.replaced }

// Reset returns the decoder to the start of a new stream and zeroes its
// counter.
func (d *Decoder) Reset() {
	if d.cur == 0 {
		d.init(d.enc)
	}
	d.restart()
	d.replaced = 0
}

// Decode appends the UTF-8 decoding of src to dst and returns the
// extended slice; dst and src must not overlap. Bytes that may begin a
// character (or a byte order mark) continued in the next chunk are held
// back. With final set, src is the end of the stream: held bytes are
// flushed (an incomplete sequence becomes U+FFFD), and the next call
// starts a new stream, looking for a byte order mark again.
func (d *Decoder) Decode(dst, src []byte, final bool) []byte {
	d.feed(src, final, func(p []byte) { dst = append(dst, p...) })
	return dst
}

// feed decodes src and hands the text to sink in one or more pieces.
// A piece may alias src (valid UTF-8 is passed through) or the decoder's
// scratch space; it is valid only until sink returns.
func (d *Decoder) feed(src []byte, final bool, sink func([]byte)) {
	if d.cur == 0 {
		d.init(d.enc)
	}
	if d.sniff {
		src = d.sniffMark(src, final)
		if d.sniff {
			return // all of src went into head
		}
		if d.nhead > 0 {
			n := d.nhead
			d.nhead = 0
			d.body(d.head[:n], false, sink)
		}
	}
	d.body(src, final, sink)
	if final {
		d.restart()
	}
}

// A mark is a byte order mark and the kind it selects.
type mark struct {
	bytes string
	kind  kind
}

var (
	marksAll   = []mark{{"\xEF\xBB\xBF", kindUTF8}, {"\xFF\xFE", kindUTF16LE}, {"\xFE\xFF", kindUTF16BE}}
	marksUTF8  = marksAll[0:1]
	marksLE    = marksAll[1:2]
	marksBE    = marksAll[2:3]
	marksUTF16 = marksAll[1:3]
)

// marks returns the byte order marks the decoder looks for.
func (d *Decoder) marks() []mark {
	if d.enc.bomOverride {
		return marksAll
	}
	switch entryOf(d.enc).kind {
	case kindUTF8:
		return marksUTF8
	case kindUTF16LE:
		return marksLE
	case kindUTF16BE:
		return marksBE
	case kindUTF16:
		return marksUTF16
	}
	return nil
}

// sniffMark moves bytes from src to head, one at a time, until head is a
// byte order mark (which is dropped and selects the kind) or cannot be
// the start of one (head is then data), or src runs out. It returns the
// rest of src.
func (d *Decoder) sniffMark(src []byte, final bool) []byte {
	marks := d.marks()
	for {
		head := string(d.head[:d.nhead])
		possible := false
		for _, m := range marks {
			if head == m.bytes {
				d.cur, d.nhead, d.sniff = m.kind, 0, false
				return src
			}
			if len(head) < len(m.bytes) && m.bytes[:len(head)] == head {
				possible = true
			}
		}
		if !possible || (len(src) == 0 && final) {
			d.sniff = false
			return src
		}
		if len(src) == 0 {
			return src
		}
		d.head[d.nhead] = src[0]
		d.nhead++
		src = src[1:]
	}
}

// body decodes src with the kind in use.
func (d *Decoder) body(src []byte, final bool, sink func([]byte)) {
	switch d.cur {
	case kindUTF8:
		d.utf8(src, final, sink)
	case kindUTF16LE:
		d.utf16(src, final, false, sink)
	case kindUTF16BE:
		d.utf16(src, final, true, sink)
	case kindASCII:
		d.ascii(src, sink)
	case kindSingle:
		d.single(src, sink)
	case kindMulti:
		d.multi(src, final, sink)
	}
}

// ascii passes ASCII runs through and replaces every other byte.
func (d *Decoder) ascii(src []byte, sink func([]byte)) {
	for len(src) > 0 {
		n := asciiPrefix(src)
		if n > 0 {
			sink(src[:n])
			src = src[n:]
			continue
		}
		sink(replacement)
		d.replaced++
		src = src[1:]
	}
}

// single decodes a single-byte code page through its table, passing a
// leading ASCII run through when the code page agrees with ASCII.
func (d *Decoder) single(src []byte, sink func([]byte)) {
	if d.table.ascii {
		n := asciiPrefix(src)
		if n > 0 {
			sink(src[:n])
			src = src[n:]
		}
	}
	if len(src) == 0 {
		return
	}
	out, bad := d.table.decode(d.out[:0], src)
	d.out = out
	d.replaced += bad
	sink(out)
}

// multi decodes through golang.org/x/text, carrying the bytes it leaves
// unconsumed (an incomplete sequence) over to the next chunk.
func (d *Decoder) multi(src []byte, final bool, sink func([]byte)) {
	if len(d.carry) > 0 {
		d.join = append(append(d.join[:0], d.carry...), src...)
		src = d.join
	}
	out, n := d.transform(d.out[:0], src, final)
	d.carry = append(d.carry[:0], src[n:]...)
	d.out = out
	d.replaced += int64(bytes.Count(out, replacement))
	if len(out) > 0 {
		sink(out)
	}
}

// transform runs the x/text decoder over src, growing out as needed, and
// returns out and the number of bytes of src consumed.
func (d *Decoder) transform(out, src []byte, final bool) ([]byte, int) {
	out = grow(out, 3*len(src)+16)
	n := 0
	for {
		nDst, nSrc, err := d.xt.Transform(out[len(out):cap(out)], src[n:], final)
		out = out[:len(out)+nDst]
		n += nSrc
		switch {
		case err == nil:
			return out, n
		case errors.Is(err, transform.ErrShortDst):
			out = grow(out, max(64, cap(out)))
		case errors.Is(err, transform.ErrShortSrc) && !final:
			return out, n
		default:
			// x/text's decoders replace invalid input themselves and do
			// not ask for more at the end of the stream; should one do
			// either, the byte it stopped at is replaced, so nothing is
			// skipped silently and the loop ends.
			out = append(out, replacement...)
			if n == len(src) {
				return out, n
			}
			n++
		}
	}
}

// utf8 passes valid UTF-8 through and replaces each maximal ill-formed
// subsequence with U+FFFD.
func (d *Decoder) utf8(src []byte, final bool, sink func([]byte)) {
	if d.npend > 0 {
		src = d.utf8Bridge(src, final, sink)
		if d.npend > 0 {
			return
		}
	}
	for len(src) > 0 {
		n := validUTF8Prefix(src)
		if n > 0 {
			sink(src[:n])
			src = src[n:]
			if len(src) == 0 {
				return
			}
		}
		m, st := subpart(src)
		switch {
		case st == incomplete && !final:
			d.npend = copy(d.pend[:], src)
			return
		case st == complete: // not reached: validUTF8Prefix stops at no complete character
			sink(src[:m])
		default:
			sink(replacement)
			d.replaced++
		}
		src = src[m:]
	}
}

// utf8Bridge completes the held-back sequence with the first bytes of src
// and returns the rest of src.
func (d *Decoder) utf8Bridge(src []byte, final bool, sink func([]byte)) []byte {
	n := copy(d.bridge[:], d.pend[:d.npend])
	k := copy(d.bridge[n:4], src)
	t := d.bridge[:n+k]
	m, st := subpart(t)
	switch st {
	case incomplete:
		// Four bytes would have settled it, so src is used up.
		if final {
			sink(replacement)
			d.replaced++
			d.npend = 0
		} else {
			d.npend = copy(d.pend[:], t)
		}
		return nil
	case complete:
		sink(t[:m])
	default:
		sink(replacement)
		d.replaced++
	}
	d.npend = 0
	return src[m-n:]
}

// validUTF8Prefix returns the length of the longest prefix of p made of
// complete, valid UTF-8 characters.
func validUTF8Prefix(p []byte) int {
	// The common case: valid text, maybe cut inside its last character.
	end := len(p)
	if end > 0 && p[end-1] >= utf8.RuneSelf {
		j := end - 1
		for j > 0 && j > end-4 && p[j]&0xC0 == 0x80 {
			j--
		}
		if _, st := subpart(p[j:]); st == incomplete {
			end = j
		}
	}
	if utf8.Valid(p[:end]) {
		return end
	}
	i := 0
	for i < len(p) {
		i += asciiPrefix(p[i:])
		if i == len(p) {
			break
		}
		r, size := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return i
}

type seqStatus uint8

const (
	invalid    seqStatus = iota // p[:m] is a maximal ill-formed subsequence
	incomplete                  // p is a valid prefix of a character, cut short
	complete                    // p[:m] is a valid character
)

// subpart classifies the UTF-8 sequence at the start of p (non-empty),
// following Unicode's table of well-formed byte sequences (The Unicode
// Standard, table 3-7): a valid character of length m, the start of one
// that p cuts short, or a maximal ill-formed subsequence of length m.
func subpart(p []byte) (m int, st seqStatus) {
	c := p[0]
	if c < utf8.RuneSelf {
		return 1, complete
	}
	need := 0
	lo, hi := byte(0x80), byte(0xBF)
	switch {
	case 0xC2 <= c && c <= 0xDF:
		need = 1
	case c == 0xE0:
		need, lo = 2, 0xA0
	case c == 0xED:
		need, hi = 2, 0x9F // no surrogates
	case 0xE1 <= c && c <= 0xEF:
		need = 2
	case c == 0xF0:
		need, lo = 3, 0x90
	case 0xF1 <= c && c <= 0xF3:
		need = 3
	case c == 0xF4:
		need, hi = 3, 0x8F // nothing above U+10FFFF
	default:
		return 1, invalid
	}
	for i := 1; i <= need; i++ {
		if i == len(p) {
			return i, incomplete
		}
		if p[i] < lo || p[i] > hi {
			return i, invalid
		}
		lo, hi = 0x80, 0xBF
	}
	return need + 1, complete
}

// utf16 decodes UTF-16 (big-endian if be) into the scratch buffer and
// hands it to sink in one piece.
func (d *Decoder) utf16(src []byte, final, be bool, sink func([]byte)) {
	out := d.out[:0]
	if d.npend > 0 {
		n := copy(d.bridge[:], d.pend[:d.npend])
		k := copy(d.bridge[n:], src[:min(len(src), 4)])
		t := d.bridge[:n+k]
		var c int
		out, c = d.utf16Units(out, t, final && k == len(src), be)
		if c < n {
			// Not enough to settle the held-back bytes: src is used up.
			d.npend = copy(d.pend[:], t[c:])
			src = nil
		} else {
			d.npend = 0
			src = src[c-n:]
		}
	}
	if d.npend == 0 {
		var c int
		out, c = d.utf16Units(out, src, final, be)
		d.npend = copy(d.pend[:], src[c:])
	}
	d.out = out
	if len(out) > 0 {
		sink(out)
	}
}

// utf16Units appends the decoding of the whole code units of p to out and
// returns it with the number of bytes consumed. Unless final, a trailing
// odd byte and a trailing high surrogate (which may pair with the next
// unit) are left unconsumed; at the end of the stream each becomes
// U+FFFD, as does every unpaired surrogate.
func (d *Decoder) utf16Units(out, p []byte, final, be bool) ([]byte, int) {
	out = grow(out, len(p)/2*3+3)
	n := len(out)
	buf := out[:cap(out)]
	i := 0
	for i+1 < len(p) {
		var u rune
		if be {
			u = rune(p[i])<<8 | rune(p[i+1])
		} else {
			u = rune(p[i+1])<<8 | rune(p[i])
		}
		switch {
		case u < utf8.RuneSelf:
			buf[n] = byte(u)
			n++
			i += 2
			continue
		case u < 0xD800 || u >= 0xE000:
			n += utf8.EncodeRune(buf[n:], u)
			i += 2
			continue
		case u < 0xDC00: // a high surrogate: pairs with a low one
			if i+3 >= len(p) {
				if !final {
					return buf[:n], i
				}
				break
			}
			var v rune
			if be {
				v = rune(p[i+2])<<8 | rune(p[i+3])
			} else {
				v = rune(p[i+3])<<8 | rune(p[i+2])
			}
			if 0xDC00 <= v && v < 0xE000 {
				n += utf8.EncodeRune(buf[n:], 0x10000+(u-0xD800)<<10+(v-0xDC00))
				i += 4
				continue
			}
		}
		n += copy(buf[n:], replacement)
		d.replaced++
		i += 2
	}
	if final && i < len(p) {
		n += copy(buf[n:], replacement)
		d.replaced++
		i = len(p)
	}
	return buf[:n], i
}
