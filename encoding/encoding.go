package encoding

import (
	"sync"

	xenc "golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// An Encoding names a text encoding and makes decoders for it. It is a
// small comparable value: use it as a map key or compare it with ==.
// The zero Encoding is [UTF8].
//
// Get one from the package variables, [Lookup], [CodePage] or
// [ConsoleOutput]; [Encoding.WithBOMOverride] derives the variant whose
// decoders let a leading byte order mark choose the encoding.
type Encoding struct {
	id          uint8
	bomOverride bool
}

// The encodings this package decodes itself.
var (
	// UTF8 is UTF-8. A leading byte order mark (EF BB BF) is removed.
	// Invalid bytes become U+FFFD, one per maximal ill-formed subsequence
	// (the Unicode and WHATWG rule), and are counted.
	UTF8 = Encoding{id: idUTF8}
	// UTF16LE is little-endian UTF-16. A leading FF FE is removed.
	// Unpaired surrogates and an odd byte at the end of the stream become
	// U+FFFD and are counted.
	UTF16LE = Encoding{id: idUTF16LE}
	// UTF16BE is big-endian UTF-16. A leading FE FF is removed.
	UTF16BE = Encoding{id: idUTF16BE}
	// UTF16 is UTF-16 whose byte order is taken from a leading byte order
	// mark (FF FE: little-endian, FE FF: big-endian; the mark is removed),
	// and is little-endian when there is none. Little-endian is the
	// default, unlike the Unicode standard's big-endian, because the
	// programs that write UTF-16 to a pipe without a mark are Windows
	// programs (cmd /u, PowerShell, .NET), and those write little-endian.
	UTF16 = Encoding{id: idUTF16}
)

// String returns the encoding's canonical name, as [Lookup] accepts it:
// "utf-8", "utf-16le", "cp437", "windows-1251", "iso-8859-1",
// "shift_jis", ... The BOM-override variant has the same name.
func (e Encoding) String() string { return entryOf(e).name }

// WithBOMOverride returns e with BOM override: its decoders look at the
// first bytes of the stream, and a UTF-8 (EF BB BF), UTF-16LE (FF FE) or
// UTF-16BE (FE FF) byte order mark there selects that encoding instead of
// e and is removed. Without a mark, e is used. This is for children that
// may or may not write UTF-16 (PowerShell 5, some .NET programs) while
// the rest of their output is in a legacy code page.
func (e Encoding) WithBOMOverride() Encoding {
	e.bomOverride = true
	return e
}

// BOMOverride reports whether e's decoders let a byte order mark choose
// the encoding (see [Encoding.WithBOMOverride]).
func (e Encoding) BOMOverride() bool { return e.bomOverride }

// kind says how a decoder decodes.
type kind uint8

const (
	kindUTF8    kind = iota + 1
	kindUTF16LE      // also the effective kind of UTF16 without a BOM
	kindUTF16BE
	kindUTF16 // BOM-sniffing; resolved to LE or BE before decoding
	kindASCII
	kindSingle // a single-byte code page, decoded through a table
	kindMulti  // a multi-byte encoding, decoded by golang.org/x/text
)

// An entry describes one supported encoding. Its index in registry is the
// Encoding's id.
type entry struct {
	name    string
	kind    kind
	x       xenc.Encoding // kindSingle, kindMulti
	aliases []string      // names Lookup accepts besides name
	table   func() *byteTable
}

const (
	idUTF8 = iota
	idUTF16LE
	idUTF16BE
	idUTF16
)

func entryOf(e Encoding) *entry {
	if int(e.id) >= len(registry) {
		return &registry[idUTF8]
	}
	return &registry[e.id]
}

func own(name string, k kind, aliases ...string) entry {
	return entry{name: name, kind: k, aliases: aliases}
}

func single(name string, m *charmap.Charmap, aliases ...string) entry {
	return entry{name: name, kind: kindSingle, x: m, aliases: aliases,
		table: sync.OnceValue(func() *byteTable { return newByteTable(m) })}
}

func multi(name string, x xenc.Encoding, aliases ...string) entry {
	return entry{name: name, kind: kindMulti, x: x, aliases: aliases}
}

// registry lists every supported encoding. Aliases are matched after
// normalisation (lower case; '-', '_', '.', ':' and spaces removed), so
// "ISO_8859-1", "iso8859-1" and "iso-8859-1" are one alias. Names of the
// form cpNNN are the Windows code page identifiers, as GetConsoleOutputCP
// and chcp report them.
var registry = []entry{
	idUTF8: own("utf-8", kindUTF8, "utf8", "unicode-1-1-utf-8", "unicode11utf8",
		"unicode20utf8", "x-unicode20utf8", "csutf8", "cp65001"),
	idUTF16LE: own("utf-16le", kindUTF16LE, "cp1200", "ucs-2le"),
	idUTF16BE: own("utf-16be", kindUTF16BE, "cp1201", "ucs-2be", "unicodefffe"),
	idUTF16:   own("utf-16", kindUTF16),
	own("us-ascii", kindASCII, "ascii", "ansi_x3.4-1968", "ansi_x3.4-1986", "iso646-us",
		"iso_646.irv:1991", "us", "csascii", "iso-ir-6", "ibm367", "cp367", "cp20127"),

	// IBM and DOS (OEM) code pages: what Windows consoles use.
	single("cp437", charmap.CodePage437, "ibm437", "cspc8codepage437"),
	single("cp850", charmap.CodePage850, "ibm850", "cspc850multilingual"),
	single("cp852", charmap.CodePage852, "ibm852", "cspcp852"),
	single("cp855", charmap.CodePage855, "ibm855", "csibm855"),
	single("cp858", charmap.CodePage858, "ibm858", "ibm00858", "ccsid00858", "cp00858",
		"pc-multilingual-850+euro"),
	single("cp860", charmap.CodePage860, "ibm860", "csibm860"),
	single("cp862", charmap.CodePage862, "ibm862", "cspc862latinhebrew"),
	single("cp863", charmap.CodePage863, "ibm863", "csibm863"),
	single("cp865", charmap.CodePage865, "ibm865", "csibm865"),
	single("cp866", charmap.CodePage866, "ibm866", "csibm866"),
	single("cp037", charmap.CodePage037, "ibm037", "ebcdic-cp-us", "ebcdic-cp-ca",
		"ebcdic-cp-wt", "ebcdic-cp-nl", "csibm037"),
	single("cp1047", charmap.CodePage1047, "ibm1047"),
	single("cp1140", charmap.CodePage1140, "ibm01140", "ccsid01140", "cp01140",
		"ebcdic-us-37+euro"),

	// Windows (ANSI) code pages.
	single("windows-874", charmap.Windows874, "cp874", "dos-874"),
	single("windows-1250", charmap.Windows1250, "cp1250", "x-cp1250", "win1250"),
	single("windows-1251", charmap.Windows1251, "cp1251", "x-cp1251", "win1251"),
	single("windows-1252", charmap.Windows1252, "cp1252", "x-cp1252", "win1252"),
	single("windows-1253", charmap.Windows1253, "cp1253", "x-cp1253", "win1253"),
	single("windows-1254", charmap.Windows1254, "cp1254", "x-cp1254", "win1254"),
	single("windows-1255", charmap.Windows1255, "cp1255", "x-cp1255", "win1255"),
	single("windows-1256", charmap.Windows1256, "cp1256", "x-cp1256", "win1256"),
	single("windows-1257", charmap.Windows1257, "cp1257", "x-cp1257", "win1257"),
	single("windows-1258", charmap.Windows1258, "cp1258", "x-cp1258", "win1258"),

	// ISO 8859. latin1 is ISO-8859-1 here, not windows-1252 as in WHATWG's
	// (and x/text htmlindex's) table: a program that says latin1 means it.
	single("iso-8859-1", charmap.ISO8859_1, "latin1", "l1", "iso-ir-100", "csisolatin1",
		"ibm819", "cp819", "cp28591", "iso_8859-1:1987"),
	single("iso-8859-2", charmap.ISO8859_2, "latin2", "l2", "iso-ir-101", "csisolatin2",
		"cp28592", "iso_8859-2:1987"),
	single("iso-8859-3", charmap.ISO8859_3, "latin3", "l3", "iso-ir-109", "csisolatin3",
		"cp28593", "iso_8859-3:1988"),
	single("iso-8859-4", charmap.ISO8859_4, "latin4", "l4", "iso-ir-110", "csisolatin4",
		"cp28594", "iso_8859-4:1988"),
	single("iso-8859-5", charmap.ISO8859_5, "cyrillic", "iso-ir-144", "csisolatincyrillic",
		"cp28595", "iso_8859-5:1988"),
	// The -e and -i variants differ from the base only in how text is
	// laid out for display (explicit or implicit direction), not in
	// decoding.
	single("iso-8859-6", charmap.ISO8859_6, "arabic", "iso-ir-127", "ecma-114", "asmo-708",
		"csisolatinarabic", "cp28596", "iso_8859-6:1987", "iso-8859-6-e", "iso-8859-6-i",
		"csiso88596e", "csiso88596i"),
	single("iso-8859-7", charmap.ISO8859_7, "greek", "greek8", "elot_928", "ecma-118",
		"iso-ir-126", "csisolatingreek", "sun_eu_greek", "cp28597", "iso_8859-7:1987"),
	single("iso-8859-8", charmap.ISO8859_8, "hebrew", "iso-ir-138", "csisolatinhebrew",
		"visual", "cp28598", "cp38598", "iso_8859-8:1988", "iso-8859-8-e", "iso-8859-8-i",
		"logical", "csiso88598e", "csiso88598i"),
	single("iso-8859-9", charmap.ISO8859_9, "latin5", "l5", "iso-ir-148", "csisolatin5",
		"cp28599", "iso_8859-9:1989"),
	single("iso-8859-10", charmap.ISO8859_10, "latin6", "l6", "iso-ir-157", "csisolatin6"),
	single("iso-8859-13", charmap.ISO8859_13, "latin7", "l7", "cp28603"),
	single("iso-8859-14", charmap.ISO8859_14, "latin8", "l8", "iso-ir-199", "iso-celtic"),
	single("iso-8859-15", charmap.ISO8859_15, "latin9", "l9", "csisolatin9", "cp28605"),
	single("iso-8859-16", charmap.ISO8859_16, "latin10", "l10", "iso-ir-226"),

	single("koi8-r", charmap.KOI8R, "koi8", "koi", "cskoi8r", "cp20866"),
	single("koi8-u", charmap.KOI8U, "koi8-ru", "cp21866"),
	single("macintosh", charmap.Macintosh, "mac", "csmacintosh", "x-mac-roman", "cp10000"),
	single("x-mac-cyrillic", charmap.MacintoshCyrillic, "x-mac-ukrainian", "cp10007"),

	// Multi-byte East Asian encodings, decoded by golang.org/x/text (its
	// WHATWG versions: shift_jis is Microsoft's cp932 repertoire, euc-kr
	// is cp949 (UHC), gbk is cp936, big5 includes HKSCS).
	multi("shift_jis", japanese.ShiftJIS, "sjis", "ms_kanji", "csshiftjis", "windows-31j",
		"cp932", "ms932", "x-sjis", "x-ms-cp932"),
	multi("euc-jp", japanese.EUCJP, "eucjp", "cseucpkdfmtjapanese", "x-euc-jp", "cp51932"),
	multi("iso-2022-jp", japanese.ISO2022JP, "csiso2022jp", "cp50220", "cp50221", "cp50222"),
	multi("euc-kr", korean.EUCKR, "cseuckr", "ks_c_5601-1987", "ks_c_5601-1989", "ksc5601",
		"korean", "iso-ir-149", "csksc56011987", "windows-949", "cp949", "uhc",
		"cp51949"),
	multi("gbk", simplifiedchinese.GBK, "cp936", "ms936", "windows-936", "x-gbk", "gb2312",
		"csgb2312", "chinese", "euc-cn", "x-euc-cn", "iso-ir-58", "gb_2312-80", "gb_2312",
		"csiso58gb231280"),
	multi("gb18030", simplifiedchinese.GB18030, "cp54936", "windows-54936"),
	multi("hz-gb-2312", simplifiedchinese.HZGB2312, "hz", "cp52936"),
	multi("big5", traditionalchinese.Big5, "big5-hkscs", "cn-big5", "csbig5", "x-x-big5",
		"cp950", "ms950"),
}
