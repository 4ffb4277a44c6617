package encoding_test

import (
	"fmt"
	"strings"

	"github.com/gotether/tether/encoding"
)

// A cp866 child (a Russian Windows console) read in two chunks: the
// lines come out as UTF-8, split at "\r\n".
func Example() {
	enc, err := encoding.Lookup("cp866")
	if err != nil {
		fmt.Println(err)
		return
	}
	lr := encoding.NewLineReader(enc, encoding.SplitterOptions{})
	print := func(l encoding.Line) { fmt.Printf("%q partial=%v\n", l.Text(), l.Partial) }
	lr.Write([]byte("\x8F\xE0\xA8\xA2\xA5\xE2\r"), print)
	lr.Write([]byte("\n\xAC\xA8\xE0"), print)
	lr.Flush(print)
	fmt.Println(lr.Lines(), "lines from", lr.Bytes(), "bytes")
	// Output:
	// "Привет" partial=false
	// "мир" partial=true
	// 2 lines from 11 bytes
}

func ExampleLookup() {
	for _, name := range []string{"latin1", "CP437", "utf16", "windws-1251"} {
		e, err := encoding.Lookup(name)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println(name, "->", e)
	}
	// Output:
	// latin1 -> iso-8859-1
	// CP437 -> cp437
	// utf16 -> utf-16
	// encoding: unknown encoding "windws-1251" (did you mean windows-1251?)
}

// A UTF-16 surrogate pair split between two reads decodes whole; the
// byte order mark chose little-endian and was removed.
func ExampleDecoder() {
	d := encoding.UTF16.NewDecoder()
	var out []byte
	out = d.Decode(out, []byte("\xFF\xFEh\x00i\x00=\xD8"), false)
	out = d.Decode(out, []byte("\x00\xDE\xFF"), true) // and an odd byte at the end
	fmt.Printf("%+q, %d replaced\n", out, d.Replaced())
	// Output: "hi\U0001f600\ufffd", 1 replaced
}

// Progress bars redraw with "\r": the CR terminators make each redraw a
// line.
func ExampleSplitter() {
	s := encoding.NewSplitter(encoding.SplitterOptions{Terminators: encoding.CR})
	print := func(l encoding.Line) { fmt.Printf("%q ended by %q\n", l.Bytes, l.Ending) }
	for _, chunk := range []string{"10%\r20", "%\r100%\r", "\ndone\n"} {
		s.Write([]byte(chunk), print)
	}
	s.Flush(print)
	// Output:
	// "10%" ended by "\r"
	// "20%" ended by "\r"
	// "100%" ended by "\r\n"
	// "done" ended by "\n"
}

// A newline-free flood is cut at MaxLine, and each piece is flagged.
func ExampleSplitterOptions() {
	s := encoding.NewSplitter(encoding.SplitterOptions{MaxLine: 8})
	print := func(l encoding.Line) { fmt.Printf("%q cut=%v partial=%v\n", l.Bytes, l.Cut, l.Partial) }
	s.Write([]byte(strings.Repeat("x", 20)), print)
	s.Flush(print)
	// Output:
	// "xxxxxxxx" cut=true partial=false
	// "xxxxxxxx" cut=true partial=false
	// "xxxx" cut=false partial=true
}
