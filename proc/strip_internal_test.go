package proc

import (
	"strings"
	"testing"
)

func TestStripControls(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text", "plain text"},
		{"\x1b[1;31mred\x1b[0m", "red"},
		{"a\x1b[2Kb\x1b[10;20Hc", "abc"},                     // erase line, cursor position
		{"\x1b[?25lhidden cursor\x1b[?25h", "hidden cursor"}, // private parameters
		{"\x1b]0;window title\x07text", "text"},              // OSC ended by BEL
		{"\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"}, // OSC 8 hyperlink, ended by ST
		{"\x1bPq#0;2;0;0;0\x1b\\after", "after"},             // DCS (sixel)
		{"\x1b(Bx\x1b)0y", "xy"},                             // charset designation
		{"\x1b7saved\x1b8", "saved"},                         // two-byte escapes
		{"tab\there\r\nnext\rredraw\n", "tab\there\r\nnext\rredraw\n"},
		{"bell\x07 back\bspace del\x7f nul\x00", "bell backspace del nul"},
		{"\x1b[31", ""},                    // unfinished at the end: dropped
		{"\x1b[3\n1m", "\n"},               // a newline inside a CSI is executed
		{"\x1b[31\x18text", "text"},        // CAN cancels
		{"\x1b]unterminated\x1b[1mx", "x"}, // ESC ends a string, begins a CSI
		{"é\x1b[1mü\x1b[0m→", "éü→"},       // UTF-8 untouched
		{"\x1b\x1b[1mx", "x"},              // ESC ESC
		{"\x1bé", "é"},                     // ESC then a non-ASCII byte
		{"\x1b[1é", "é"},                   // a CSI broken by a non-ASCII byte
	} {
		if got := stripControls(tc.in); got != tc.want {
			t.Errorf("stripControls(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzStripControls: the output has no ESC, no C0 control but "\n",
// "\t" and "\r", and no DEL; it is a subsequence of the input; stripping
// it again changes nothing; and feeding the input in two pieces gives
// the same as feeding it whole (a sequence split across reads is still
// removed).
func FuzzStripControls(f *testing.F) {
	for _, s := range []string{"", "\x1b[1;31mred\x1b[0m\r\n", "\x1b]0;t\x07x", "\x1bPq\x1b\\y", "a\x1b", "é\x1b[é"} {
		f.Add(s, 1)
	}
	f.Fuzz(func(t *testing.T, in string, cut int) {
		out := stripControls(in)
		for i := 0; i < len(out); i++ {
			if b := out[i]; (b < 0x20 && !isKeptControl(b)) || b == 0x7f {
				t.Fatalf("stripControls(%q) = %q keeps control %#x", in, out, b)
			}
		}
		rest := in
		for _, r := range []byte(out) {
			i := strings.IndexByte(rest, r)
			if i < 0 {
				t.Fatalf("stripControls(%q) = %q is not a subsequence of the input", in, out)
			}
			rest = rest[i+1:]
		}
		if again := stripControls(out); again != out {
			t.Fatalf("not idempotent: %q then %q", out, again)
		}
		if len(in) > 0 {
			cut = (cut%len(in) + len(in)) % len(in)
		} else {
			cut = 0
		}
		var s stripper
		pieces := s.appendStripped(nil, in[:cut])
		pieces = s.appendStripped(pieces, in[cut:])
		if string(pieces) != out {
			t.Fatalf("in two pieces at %d: %q, whole: %q", cut, pieces, out)
		}
	})
}
