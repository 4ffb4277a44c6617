package encoding

import (
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestLookupNamesAndAliases(t *testing.T) {
	tests := []struct{ name, want string }{
		{"utf-8", "utf-8"}, {"UTF8", "utf-8"}, {" Utf_8 ", "utf-8"}, {"cp65001", "utf-8"},
		{"unicode-1-1-utf-8", "utf-8"},
		{"utf-16", "utf-16"}, {"UTF-16LE", "utf-16le"}, {"utf-16be", "utf-16be"},
		{"cp1200", "utf-16le"}, {"unicodeFFFE", "utf-16be"},
		{"ucs-2", "utf-16le"}, // WHATWG label, through htmlindex
		{"ascii", "us-ascii"}, {"US-ASCII", "us-ascii"}, {"ANSI_X3.4-1968", "us-ascii"},
		{"cp437", "cp437"}, {"IBM437", "cp437"}, {"437", "cp437"},
		{"cp850", "cp850"}, {"ibm00858", "cp858"}, {"cp866", "cp866"}, {"csIBM866", "cp866"},
		{"cp1251", "windows-1251"}, {"windows-1251", "windows-1251"}, {"x-cp1251", "windows-1251"},
		{"cp1252", "windows-1252"}, {"windows-1250", "windows-1250"}, {"Windows-1258", "windows-1258"},
		{"windows-874", "windows-874"},
		// x/text htmlindex says windows-1252 for all of these; they are not.
		{"latin1", "iso-8859-1"}, {"ISO-8859-1", "iso-8859-1"}, {"iso8859-1", "iso-8859-1"},
		{"ISO_8859-1:1987", "iso-8859-1"}, {"l1", "iso-8859-1"}, {"cp819", "iso-8859-1"},
		{"latin5", "iso-8859-9"}, {"iso-8859-9", "iso-8859-9"},
		{"iso-8859-2", "iso-8859-2"}, {"iso-8859-5", "iso-8859-5"}, {"cyrillic", "iso-8859-5"},
		{"iso-8859-8-i", "iso-8859-8"}, {"iso-8859-15", "iso-8859-15"}, {"latin9", "iso-8859-15"},
		{"iso-8859-16", "iso-8859-16"}, {"ISO_8859-5:1988", "iso-8859-5"},
		{"koi8-r", "koi8-r"}, {"KOI8_R", "koi8-r"}, {"koi8-u", "koi8-u"}, {"cp20866", "koi8-r"},
		{"shift_jis", "shift_jis"}, {"Shift-JIS", "shift_jis"}, {"sjis", "shift_jis"},
		{"cp932", "shift_jis"}, {"windows-31j", "shift_jis"},
		{"euc-jp", "euc-jp"}, {"iso-2022-jp", "iso-2022-jp"},
		{"gbk", "gbk"}, {"gb2312", "gbk"}, {"cp936", "gbk"}, {"gb18030", "gb18030"},
		{"big5", "big5"}, {"cp950", "big5"}, {"euc-kr", "euc-kr"}, {"cp949", "euc-kr"},
		{"ks_c_5601-1987", "euc-kr"}, {"hz-gb-2312", "hz-gb-2312"},
		{"x-mac-cyrillic", "x-mac-cyrillic"}, {"x-mac-ukrainian", "x-mac-cyrillic"},
		{"macintosh", "macintosh"}, {"cp1047", "cp1047"}, {"ebcdic-cp-us", "cp037"},
	}
	for _, tt := range tests {
		e, err := Lookup(tt.name)
		if err != nil {
			t.Errorf("Lookup(%q): %v", tt.name, err)
			continue
		}
		if e.String() != tt.want {
			t.Errorf("Lookup(%q) = %s, want %s", tt.name, e, tt.want)
		}
	}
}

func TestLookupUnknownNamesSuggestCloseOnes(t *testing.T) {
	tests := []struct {
		name        string
		unsupported bool
		first       string // expected first suggestion, "" for none
		contains    string // expected among the suggestions
	}{
		{"cp1521", false, "windows-1251", ""},
		{"windws-1251", false, "windows-1251", ""},
		{"utf-9", false, "", "utf-8"},
		{"shift-jiss", false, "shift_jis", ""},
		{"latin", false, "", "iso-8859-1"},
		{"koi8-x", false, "", "koi8-r"},
		{"iso-8859-11", true, "windows-874", ""},
		{"tis-620", true, "windows-874", ""},
		{"utf-32", true, "", ""},
		{"iso-2022-kr", true, "", ""},    // htmlindex: the "replacement" encoding
		{"x-user-defined", true, "", ""}, // known to htmlindex, not decoded here
		{"zzzzzzzz", false, "", ""},
		{"", false, "", ""},
	}
	for _, tt := range tests {
		e, err := Lookup(tt.name)
		if err == nil {
			t.Errorf("Lookup(%q) = %s, want an error", tt.name, e)
			continue
		}
		if !errors.Is(err, ErrUnknown) {
			t.Errorf("Lookup(%q): %v does not match ErrUnknown", tt.name, err)
		}
		var ue *UnknownError
		if !errors.As(err, &ue) {
			t.Fatalf("Lookup(%q): %T is not *UnknownError", tt.name, err)
		}
		if ue.Name != tt.name || ue.Unsupported != tt.unsupported {
			t.Errorf("Lookup(%q): Name %q Unsupported %v, want %q %v", tt.name, ue.Name, ue.Unsupported, tt.name, tt.unsupported)
		}
		if len(ue.Suggestions) > 5 {
			t.Errorf("Lookup(%q): %d suggestions, want at most 5", tt.name, len(ue.Suggestions))
		}
		if tt.first != "" && (len(ue.Suggestions) == 0 || ue.Suggestions[0] != tt.first) {
			t.Errorf("Lookup(%q) suggests %q, want %q first", tt.name, ue.Suggestions, tt.first)
		}
		if tt.contains != "" && !slices.Contains(ue.Suggestions, tt.contains) {
			t.Errorf("Lookup(%q) suggests %q, want %q among them", tt.name, ue.Suggestions, tt.contains)
		}
		if e != (Encoding{}) {
			t.Errorf("Lookup(%q) returned %v with its error, want the zero Encoding", tt.name, e)
		}
		for _, s := range ue.Suggestions {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not list suggestion %q", err, s)
			}
		}
	}
}

func TestUnknownErrorTextIsBounded(t *testing.T) {
	_, err := Lookup(strings.Repeat("x", 1000) + "\x1b[2J")
	if err == nil || len(err.Error()) > 200 {
		t.Fatalf("error = %q, want a short one", err)
	}
	if strings.ContainsRune(err.Error(), 0x1b) {
		t.Fatalf("error %q contains a raw escape", err)
	}
}

func TestRegistryNamesAreConsistent(t *testing.T) {
	seen := map[string]string{}
	for id, e := range registry {
		for _, a := range append([]string{e.name}, e.aliases...) {
			k := normalize(a)
			if other, ok := seen[k]; ok && other != e.name {
				t.Errorf("alias %q of %s is also an alias of %s", a, e.name, other)
			}
			seen[k] = e.name
		}
		enc, err := Lookup(e.name)
		if err != nil || enc != (Encoding{id: uint8(id)}) || enc.String() != e.name {
			t.Errorf("Lookup(%q) = %v, %v; want the entry itself", e.name, enc, err)
		}
		if e.kind == kindSingle && e.table().size[0] != 1 {
			t.Errorf("%s: table not built", e.name)
		}
	}
}

func TestCodePage(t *testing.T) {
	tests := []struct {
		cp   int
		want string
	}{{437, "cp437"}, {850, "cp850"}, {866, "cp866"}, {1251, "windows-1251"}, {932, "shift_jis"},
		{936, "gbk"}, {949, "euc-kr"}, {950, "big5"}, {65001, "utf-8"}, {1200, "utf-16le"},
		{1201, "utf-16be"}, {20127, "us-ascii"}, {28591, "iso-8859-1"}, {54936, "gb18030"}}
	for _, tt := range tests {
		e, err := CodePage(tt.cp)
		if err != nil || e.String() != tt.want {
			t.Errorf("CodePage(%d) = %v, %v; want %s", tt.cp, e, err, tt.want)
		}
	}
	if _, err := CodePage(12345); !errors.Is(err, ErrUnknown) {
		t.Errorf("CodePage(12345): %v, want ErrUnknown", err)
	}
}

func TestConsoleOutput(t *testing.T) {
	e, err := ConsoleOutput()
	if runtime.GOOS != "windows" {
		if err != nil || e != UTF8 {
			t.Fatalf("ConsoleOutput() = %v, %v; want utf-8 and no error off Windows", e, err)
		}
		return
	}
	switch {
	case err == nil:
		t.Logf("console output code page: %s", e)
	case errors.Is(err, ErrNoConsole), errors.Is(err, ErrUnknown):
		t.Logf("ConsoleOutput: %v", err)
	default:
		t.Fatalf("ConsoleOutput: %v, want ErrNoConsole or ErrUnknown", err)
	}
}

func TestEncodingValues(t *testing.T) {
	if (Encoding{}) != UTF8 || (Encoding{}).String() != "utf-8" {
		t.Errorf("the zero Encoding is %v, want utf-8", Encoding{})
	}
	o := UTF8.WithBOMOverride()
	if o == UTF8 || !o.BOMOverride() || UTF8.BOMOverride() || o.String() != "utf-8" {
		t.Errorf("WithBOMOverride: %v (override %v)", o, o.BOMOverride())
	}
	m := map[Encoding]bool{UTF8: true, UTF16: true, UTF16LE: true, UTF16BE: true}
	if len(m) != 4 {
		t.Errorf("the four UTF encodings are not distinct")
	}
}
