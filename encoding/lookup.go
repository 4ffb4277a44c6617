package encoding

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	xenc "golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"
)

// ErrUnknown is matched (errors.Is) by every error Lookup and CodePage
// return for a name they cannot resolve; the error itself is an
// *UnknownError.
var ErrUnknown = errors.New("encoding: unknown encoding")

// UnknownError is the error for an encoding name that Lookup cannot
// resolve. It matches [ErrUnknown].
type UnknownError struct {
	// Name is the name as given.
	Name string
	// Unsupported is true when the name is a registered encoding name
	// (IANA or WHATWG) that this package cannot decode, such as utf-32,
	// iso-2022-kr or x-user-defined; false when the name is not known.
	Unsupported bool
	// Suggestions are canonical names of supported encodings close to
	// Name (by edit distance or prefix), best first; at most five, maybe
	// none.
	Suggestions []string
}

// Error says which name failed and lists the suggestions.
func (e *UnknownError) Error() string {
	name := e.Name
	if len(name) > 64 {
		name = name[:64] + "..."
	}
	var b strings.Builder
	if e.Unsupported {
		fmt.Fprintf(&b, "encoding: unsupported encoding %q", name)
	} else {
		fmt.Fprintf(&b, "encoding: unknown encoding %q", name)
	}
	if len(e.Suggestions) > 0 {
		b.WriteString(" (did you mean ")
		for i, s := range e.Suggestions {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(s)
		}
		b.WriteString("?)")
	}
	return b.String()
}

// Is reports whether target is ErrUnknown.
func (e *UnknownError) Is(target error) bool { return target == ErrUnknown }

// Lookup returns the encoding with the given name. Matching ignores case,
// surrounding space and the separators '-', '_', '.', ':' and ' ', so
// "UTF-8", "utf8" and "Utf_8" are one name. It accepts:
//
//   - the canonical names ([Encoding.String]) and common aliases: utf-8,
//     utf-16, utf-16le, utf-16be, us-ascii, latin1 ... latin10, cyrillic,
//     koi8-r, koi8-u, shift_jis (sjis), euc-jp, iso-2022-jp, euc-kr, gbk
//     (gb2312), gb18030, hz-gb-2312, big5, macintosh, ...;
//   - Windows code page identifiers: cp437, cp850, cp866, cp1251, cp932,
//     cp65001 (UTF-8), cp1200 (UTF-16LE), ..., and the bare number
//     ("866"), as chcp prints it;
//   - windows-874 and windows-1250 to windows-1258, iso-8859-1 to
//     iso-8859-16 (there is no 11 or 12), ibmNNN;
//   - any other name in the IANA registry or the WHATWG Encoding Standard
//     that resolves to one of the above ("csIBM866", "x-mac-ukrainian",
//     "unicode-1-1-utf-8", ...).
//
// Two choices differ from golang.org/x/text's indexes: latin1 (and
// iso-8859-1, ascii, us-ascii) mean ISO-8859-1 and US-ASCII, not
// windows-1252 as WHATWG's table says; iso-8859-9 (latin5) is ISO-8859-9,
// not windows-1254; iso-8859-11 and tis-620 are unknown rather than
// silently windows-874 (a superset that decodes 0x80-0x9F differently).
// utf-16 without a byte order is [UTF16] (BOM-sniffing, little-endian by
// default).
//
// An unresolvable name returns the zero Encoding and an *UnknownError,
// which matches ErrUnknown and lists close names.
func Lookup(name string) (Encoding, error) {
	key := normalize(name)
	if id, ok := aliasIndex()[key]; ok {
		return Encoding{id: id}, nil
	}
	if key != "" && strings.Trim(key, "0123456789") == "" {
		if id, ok := aliasIndex()["cp"+strings.TrimLeft(key, "0")]; ok {
			return Encoding{id: id}, nil
		}
	}
	e, known := lookupIndexes(strings.TrimSpace(name))
	if e != nil {
		if id, ok := xtextIndex()[e]; ok {
			return Encoding{id: id}, nil
		}
		known = true
	}
	sugg := suggest(key)
	if h, ok := hints[key]; ok {
		sugg = append([]string{h}, slices.DeleteFunc(sugg, func(s string) bool { return s == h })...)
		sugg = sugg[:min(5, len(sugg))]
	}
	return Encoding{}, &UnknownError{Name: name, Unsupported: known, Suggestions: sugg}
}

// hints are the first suggestion for names refused on purpose.
var hints = map[string]string{
	"iso885911": "windows-874", // a superset, but not the same
	"tis620":    "windows-874",
}

// CodePage returns the encoding of a Windows code page identifier, such
// as GetConsoleOutputCP, GetACP or chcp report it: 437, 850, 866, 1251,
// 932, 65001 (UTF-8), 1200 (UTF-16LE), ... An identifier this package
// cannot decode returns an *UnknownError matching ErrUnknown.
func CodePage(id int) (Encoding, error) {
	return Lookup("cp" + strconv.Itoa(id))
}

// lookupIndexes asks x/text's IANA and WHATWG indexes. It returns the
// encoding they name, or nil and whether either knew the name. A WHATWG
// answer of windows-1252, windows-1254 or windows-874 is refused: every
// label that honestly means one of those is in the registry, and the
// others (latin1, iso-8859-9, tis-620, ...) are WHATWG's remappings.
func lookupIndexes(name string) (e xenc.Encoding, known bool) {
	// ianaindex returns (nil, nil) for a name it knows but has no
	// decoder for.
	if e, err := ianaindex.IANA.Encoding(name); err == nil {
		if e != nil {
			return e, true
		}
		known = true
	}
	if e, err := htmlindex.Get(name); err == nil && e != nil {
		switch canon, _ := htmlindex.Name(e); canon {
		case "windows-1252", "windows-1254", "windows-874":
			return nil, true
		}
		return e, true
	}
	return nil, known
}

// normalize folds a name for matching: lower case, without separators.
func normalize(name string) string {
	name = strings.TrimSpace(name)
	var b strings.Builder
	b.Grow(len(name))
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_' || c == '.' || c == ':' || c == ' ':
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// aliasIndex maps every normalised name and alias to its registry id.
var aliasIndex = sync.OnceValue(func() map[string]uint8 {
	m := make(map[string]uint8, 4*len(registry))
	for id, e := range registry {
		m[normalize(e.name)] = uint8(id)
		for _, a := range e.aliases {
			m[normalize(a)] = uint8(id)
		}
	}
	return m
})

// xtextIndex maps the x/text encodings that the indexes return to
// registry ids, including x/text's Unicode encodings, which this package
// decodes itself.
var xtextIndex = sync.OnceValue(func() map[xenc.Encoding]uint8 {
	m := map[xenc.Encoding]uint8{
		unicode.UTF8:    idUTF8,
		unicode.UTF8BOM: idUTF8,
		unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM): idUTF16LE,
		unicode.UTF16(unicode.LittleEndian, unicode.UseBOM):    idUTF16,
		unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM): idUTF16,
		unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM):    idUTF16BE,
		unicode.UTF16(unicode.BigEndian, unicode.UseBOM):       idUTF16,
		unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM):    idUTF16,
	}
	for id, e := range registry {
		if e.x != nil {
			m[e.x] = uint8(id)
		}
	}
	return m
})

// suggest returns up to five canonical names whose name or alias is
// within a small edit distance of key, or starts with it, or is a prefix
// of it: the closest ones only, in name order.
func suggest(key string) []string {
	if key == "" {
		return nil
	}
	limit := 1
	if len(key) >= 5 {
		limit = 2
	}
	type cand struct {
		dist int
		name string
	}
	best := map[string]int{}
	for alias, id := range aliasIndex() {
		d := distance(key, alias)
		switch {
		case d <= limit:
		case len(key) >= 3 && strings.HasPrefix(alias, key):
			d = limit + 1 + len(alias) - len(key)
		case len(alias) >= 3 && strings.HasPrefix(key, alias):
			d = limit + 1 + len(key) - len(alias)
		default:
			continue
		}
		name := registry[id].name
		if old, ok := best[name]; !ok || d < old {
			best[name] = d
		}
	}
	cands := make([]cand, 0, len(best))
	for n, d := range best {
		cands = append(cands, cand{d, n})
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if a.dist != b.dist {
			return a.dist - b.dist
		}
		return strings.Compare(a.name, b.name)
	})
	var out []string
	for _, c := range cands {
		if len(out) == 5 || c.dist > cands[0].dist {
			break // only the closest
		}
		out = append(out, c.name)
	}
	return out
}

// distance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and transpositions of adjacent
// bytes each cost one.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
	var rows [3][65]int
	prev2, prev, cur := &rows[0], &rows[1], &rows[2]
	for j := 0; j <= len(b); j++ {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
