package encoding

import (
	"encoding/binary"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// byteTable decodes a single-byte code page: the UTF-8 form of each of
// the 256 bytes, built once from the x/text charmap.
type byteTable struct {
	utf8 [256][4]byte
	size [256]uint8
	bad  [256]bool // the byte is undefined in the code page (x/text gives U+FFFD)
	// ascii is true when bytes 0x00-0x7F decode to themselves, so runs
	// of them can be copied (or passed through) as they are.
	ascii bool
}

func newByteTable(m *charmap.Charmap) *byteTable {
	t := &byteTable{ascii: true}
	for b := range 256 {
		r := m.DecodeByte(byte(b))
		t.size[b] = uint8(utf8.EncodeRune(t.utf8[b][:], r))
		t.bad[b] = r == utf8.RuneError
		if b < utf8.RuneSelf && r != rune(b) {
			t.ascii = false
		}
	}
	return t
}

// decode appends the UTF-8 form of src to out and returns it with the
// number of undefined bytes.
func (t *byteTable) decode(out, src []byte) ([]byte, int64) {
	var bad int64
	out = grow(out, 3*len(src)+1) // +1: the last copy writes four bytes
	n := len(out)
	out = out[:cap(out)]
	for i := 0; i < len(src); i++ {
		b := src[i]
		if t.ascii && b < utf8.RuneSelf {
			out[n] = b
			n++
			continue
		}
		if t.bad[b] {
			bad++
		}
		sz := int(t.size[b])
		copy(out[n:n+4], t.utf8[b][:])
		n += sz
	}
	return out[:n], bad
}

// asciiPrefix returns the length of the longest prefix of p that is
// ASCII, eight bytes at a time.
func asciiPrefix(p []byte) int {
	i := 0
	for ; i+8 <= len(p); i += 8 {
		if binary.LittleEndian.Uint64(p[i:])&0x8080808080808080 != 0 {
			break
		}
	}
	for ; i < len(p); i++ {
		if p[i] >= utf8.RuneSelf {
			return i
		}
	}
	return i
}

// grow returns b with room for at least n more bytes.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	g := make([]byte, len(b), max(2*cap(b), len(b)+n))
	copy(g, b)
	return g
}
